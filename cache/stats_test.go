package cache_test

import (
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/cache"
)

func TestStatsCountOverallByTableAndByRule(t *testing.T) {
	c, clock := newCache(t, cache.Config{
		Rules: []cache.Rule{
			{Name: "dash", Tables: []cache.TableID{"public.sales"}, Lifetime: cache.Lifetime{TTL: 5 * time.Minute}},
			{Name: "private", Tables: []cache.TableID{"public.auth_session"}, Disabled: true},
		},
	})
	sales := request(t, "SELECT sum(amount) FROM sales JOIN artifact USING (artifact_id)", "public.sales", "public.artifact")
	artifact := request(t, "SELECT * FROM artifact", "public.artifact")
	private := request(t, "SELECT * FROM auth_session", "public.auth_session")

	store(t, c, sales, "sales rows")       // miss, rule dash
	store(t, c, artifact, "artifact rows") // miss, rule default
	mustHit(t, c, sales, "sales rows")     // hit, dash, both tables
	mustHit(t, c, sales, "sales rows")
	mustHit(t, c, artifact, "artifact rows")
	mustStatus(t, c.Lookup(private), cache.StatusDisabled)
	clock.Advance(61 * time.Second)
	stale := c.Lookup(artifact) // stale, default
	mustStatus(t, stale, cache.StatusStale)
	stale.Fill.Abort()
	c.Invalidate("app", "public.sales")
	leader := c.Lookup(sales)
	follow := c.Lookup(sales)
	mustStatus(t, leader, cache.StatusMiss)
	mustStatus(t, follow, cache.StatusFollow)
	leader.Fill.Abort()

	s := c.Stats()
	wantTotal := cache.Counters{Hits: 3, StaleHits: 1, Misses: 3, CoalescedWaits: 1, Bypassed: 1, Invalidations: 1, Entries: 1}
	wantTotal.Bytes = s.Bytes
	if s.Counters != wantTotal {
		t.Errorf("overall = %+v, want %+v", s.Counters, wantTotal)
	}
	if s.Refreshes != 1 || s.Aborted != 2 || s.MaxBytes != cache.DefaultMaxBytes {
		t.Errorf("refreshes %d, aborted %d, max bytes %d; want 1, 2, default", s.Refreshes, s.Aborted, s.MaxBytes)
	}
	if got, want := s.HitRatio(), 4.0/8.0; got != want {
		t.Errorf("hit ratio = %v, want %v", got, want)
	}

	tables := map[cache.TableID]cache.Counters{}
	for _, ts := range s.Tables {
		if ts.Database != "app" {
			t.Errorf("table %s in database %q", ts.Table, ts.Database)
		}
		tables[ts.Table] = ts.Counters
	}
	if len(tables) != 2 {
		t.Fatalf("tables = %v, want public.sales and public.artifact only (the disabled table never stored)", s.Tables)
	}
	if got := tables["public.sales"]; got.Hits != 2 || got.Misses != 1 || got.CoalescedWaits != 1 || got.Invalidations != 1 || got.Entries != 0 || got.Bytes != 0 {
		t.Errorf("public.sales = %+v", got)
	}
	if got := tables["public.artifact"]; got.Hits != 3 || got.StaleHits != 1 || got.Entries != 1 || got.Bytes != s.Bytes {
		t.Errorf("public.artifact = %+v", got)
	}

	rules := map[string]cache.Counters{}
	for _, rs := range s.Rules {
		rules[rs.Rule] = rs.Counters
	}
	if got := rules["dash"]; got.Hits != 2 || got.Misses != 2 || got.CoalescedWaits != 1 || got.Invalidations != 1 || got.Entries != 0 {
		t.Errorf("rule dash = %+v", got)
	}
	if got := rules["default"]; got.Hits != 1 || got.StaleHits != 1 || got.Misses != 1 || got.Entries != 1 {
		t.Errorf("rule default = %+v", got)
	}
	if got := rules["private"]; got.Bypassed != 1 {
		t.Errorf("rule private = %+v", got)
	}
	for _, name := range []string{"cache", "database", "hint"} {
		if _, ok := rules[name]; !ok {
			t.Errorf("reserved rule %q has no statistics record", name)
		}
	}
}

func TestStatsCountEvictions(t *testing.T) {
	c, _ := newCache(t, cache.Config{MaxBytes: 16 << 10, MaxEntryBytes: 4 << 10})
	payload := string(make([]byte, 3<<10))
	for i := range 20 {
		store(t, c, request(t, "SELECT "+string(rune('a'+i)), "public.a"), payload)
	}
	s := c.Stats()
	if s.Evictions == 0 || s.Evictions != 20-s.Entries {
		t.Fatalf("evictions %d with %d entries left of 20", s.Evictions, s.Entries)
	}
	if s.Tables[0].Evictions != s.Evictions {
		t.Fatalf("table evictions %d, overall %d", s.Tables[0].Evictions, s.Evictions)
	}
}

func TestHitRatioOfNoLookupsIsZero(t *testing.T) {
	if got := (cache.Counters{}).HitRatio(); got != 0 {
		t.Fatalf("HitRatio() = %v, want 0", got)
	}
}
