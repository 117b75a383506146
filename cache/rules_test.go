package cache_test

import (
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/cache"
)

func rulesConfig() cache.Config {
	tables := func(names ...cache.TableID) []cache.TableID { return names }
	return cache.Config{
		DisabledDatabases: []string{"legacy"},
		Rules: []cache.Rule{
			{Name: "dash", Tables: tables("public.sales"), Lifetime: cache.Lifetime{TTL: 5 * time.Minute, StaleWhileRevalidate: new(time.Minute)}},
			{Name: "sessions", Tables: tables("public.auth_session"), Disabled: true},
			{Name: "short", Tables: tables("public.prices"), Lifetime: cache.Lifetime{TTL: 10 * time.Second}},
			{Name: "noswr", Tables: tables("public.ticks"), Lifetime: cache.Lifetime{StaleWhileRevalidate: new(time.Duration(0))}},
			{Name: "report-fp", Fingerprints: []string{"fp-report"}, Lifetime: cache.Lifetime{TTL: 30 * time.Minute}},
			{Name: "off-fp", Fingerprints: []string{"fp-off"}, Disabled: true},
			{Name: "reporting-sales", Database: "reporting", Tables: tables("public.sales"), Lifetime: cache.Lifetime{TTL: 20 * time.Minute}},
		},
	}
}

func TestResolveAppliesThePrecedenceOfHintsRulesAndDefaults(t *testing.T) {
	tests := []struct {
		name        string
		db          string
		tables      []cache.TableID
		fingerprint string
		hint        cache.Hint
		want        cache.Decision
	}{
		{
			name: "no rule applies: the default lifetime",
			want: cache.Decision{TTL: time.Minute, StaleWhileRevalidate: 15 * time.Second, Rule: "default"},
		},
		{
			name:   "a table rule sets both fields",
			tables: []cache.TableID{"public.sales"},
			want:   cache.Decision{TTL: 5 * time.Minute, StaleWhileRevalidate: time.Minute, Rule: "dash"},
		},
		{
			name:   "the shortest TTL and the shortest window among table rules win, each on its own",
			tables: []cache.TableID{"public.sales", "public.prices"},
			want:   cache.Decision{TTL: 10 * time.Second, StaleWhileRevalidate: time.Minute, Rule: "short"},
		},
		{
			name:   "a table rule with a zero window turns stale serving off",
			tables: []cache.TableID{"public.ticks", "public.sales"},
			want:   cache.Decision{TTL: 5 * time.Minute, StaleWhileRevalidate: 0, Rule: "dash"},
		},
		{
			name:   "a disabled table rule disables a statement reading it with other tables",
			tables: []cache.TableID{"public.sales", "public.auth_session"},
			want:   cache.Decision{Disabled: true, Rule: "sessions"},
		},
		{
			name:        "a fingerprint rule's TTL beats the table rules; the window falls through to them",
			tables:      []cache.TableID{"public.sales"},
			fingerprint: "fp-report",
			want:        cache.Decision{TTL: 30 * time.Minute, StaleWhileRevalidate: time.Minute, Rule: "report-fp"},
		},
		{
			name:        "a disabled fingerprint rule beats a hint TTL",
			fingerprint: "fp-off",
			hint:        cache.Hint{TTL: time.Minute},
			want:        cache.Decision{Disabled: true, Rule: "off-fp"},
		},
		{
			name:   "a disabled table rule beats a hint TTL",
			tables: []cache.TableID{"public.auth_session"},
			hint:   cache.Hint{TTL: time.Minute},
			want:   cache.Decision{Disabled: true, Rule: "sessions"},
		},
		{
			name:        "a hint TTL beats the fingerprint rule and keeps the table window",
			tables:      []cache.TableID{"public.sales"},
			fingerprint: "fp-report",
			hint:        cache.Hint{TTL: 2 * time.Minute},
			want:        cache.Decision{TTL: 2 * time.Minute, StaleWhileRevalidate: time.Minute, Rule: "hint"},
		},
		{
			name: "a hint TTL above max_ttl is lowered to it",
			hint: cache.Hint{TTL: 5 * time.Hour, StaleWhileRevalidate: new(3 * time.Hour)},
			want: cache.Decision{TTL: time.Hour, StaleWhileRevalidate: time.Hour, Rule: "hint"},
		},
		{
			name:   "a hint window of zero turns stale serving off",
			tables: []cache.TableID{"public.sales"},
			hint:   cache.Hint{StaleWhileRevalidate: new(time.Duration(0))},
			want:   cache.Decision{TTL: 5 * time.Minute, StaleWhileRevalidate: 0, Rule: "hint"},
		},
		{
			name: "negative hints are ignored",
			hint: cache.Hint{TTL: -time.Second, StaleWhileRevalidate: new(-time.Second)},
			want: cache.Decision{TTL: time.Minute, StaleWhileRevalidate: 15 * time.Second, Rule: "default"},
		},
		{
			name:   "a nocache hint beats every rule",
			tables: []cache.TableID{"public.auth_session"},
			hint:   cache.Hint{NoCache: true, TTL: time.Minute},
			want:   cache.Decision{Disabled: true, Rule: "hint"},
		},
		{
			name: "a disabled database disables everything in it",
			db:   "legacy",
			hint: cache.Hint{TTL: time.Minute},
			want: cache.Decision{Disabled: true, Rule: "database"},
		},
		{
			name:   "a rule for the request's database shadows the rule for every database",
			db:     "reporting",
			tables: []cache.TableID{"public.sales"},
			want:   cache.Decision{TTL: 20 * time.Minute, StaleWhileRevalidate: 15 * time.Second, Rule: "reporting-sales"},
		},
		{
			name:   "a rule for another database does not apply",
			db:     "other",
			tables: []cache.TableID{"public.sales"},
			want:   cache.Decision{TTL: 5 * time.Minute, StaleWhileRevalidate: time.Minute, Rule: "dash"},
		},
	}
	c, _ := newCache(t, rulesConfig())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := tt.db
			if db == "" {
				db = "app"
			}
			req := cache.Request{Database: db, Tables: tt.tables, Fingerprint: tt.fingerprint, Hint: tt.hint}
			if got := c.Resolve(req); got != tt.want {
				t.Fatalf("Resolve() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDisabledConfigDisablesEveryLookup(t *testing.T) {
	c, _ := newCache(t, cache.Config{Disabled: true})
	r := c.Lookup(request(t, "SELECT 1"))
	mustStatus(t, r, cache.StatusDisabled)
	if r.Rule != "cache" || r.Fill != nil || r.Entry != nil || r.Flight != nil {
		t.Fatalf("disabled lookup = %+v, want only the status and rule cache", r)
	}
}

func TestLookupUsesTheResolvedTTL(t *testing.T) {
	c, clock := newCache(t, rulesConfig())
	sales := request(t, "SELECT sum(amount) FROM sales", "public.sales")
	store(t, c, sales, "rows")
	clock.Advance(4 * time.Minute) // past the default TTL, within the rule's
	mustHit(t, c, sales, "rows")
	hinted := sales
	hinted.Hint = cache.Hint{TTL: 3 * time.Minute, StaleWhileRevalidate: new(time.Duration(0))}
	r := c.Lookup(hinted)
	mustStatus(t, r, cache.StatusMiss)
	r.Fill.Abort()
}
