package cache_test

import (
	"errors"
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/cache"
)

func TestZeroConfigIsValidAndGetsHyperdriveDefaults(t *testing.T) {
	if err := (cache.Config{}).Validate(); err != nil {
		t.Fatalf("Validate(zero) = %v", err)
	}
	c, _ := newCache(t, cache.Config{})
	got := c.Config()
	if got.MaxBytes != 256<<20 || got.MaxEntryBytes != 8<<20 || got.MaxTTL != time.Hour {
		t.Errorf("limits = %d/%d/%s, want 256 MiB/8 MiB/1h", got.MaxBytes, got.MaxEntryBytes, got.MaxTTL)
	}
	if got.Default.TTL != 60*time.Second || got.Default.StaleWhileRevalidate == nil || *got.Default.StaleWhileRevalidate != 15*time.Second {
		t.Errorf("default lifetime = %s/%v, want 60s/15s", got.Default.TTL, got.Default.StaleWhileRevalidate)
	}
}

func TestMaxEntryBytesDefaultsToMaxBytesWhenThatIsSmaller(t *testing.T) {
	c, _ := newCache(t, cache.Config{MaxBytes: 1 << 20})
	if got := c.Config().MaxEntryBytes; got != 1<<20 {
		t.Fatalf("MaxEntryBytes = %d, want 1 MiB", got)
	}
}

func TestConfigReturnsACopyTheCallerCannotChange(t *testing.T) {
	c, _ := newCache(t, cache.Config{Rules: []cache.Rule{{Tables: []cache.TableID{"public.a"}, Lifetime: cache.Lifetime{TTL: time.Minute}}}})
	got := c.Config()
	got.Rules[0].Tables[0] = "public.b"
	*got.Default.StaleWhileRevalidate = time.Hour
	again := c.Config()
	if again.Rules[0].Tables[0] != "public.a" || *again.Default.StaleWhileRevalidate != 15*time.Second {
		t.Fatal("changing the returned Config changed the cache's configuration")
	}
}

func TestValidateRejectsConfigsWithAnExplanation(t *testing.T) {
	table := func(name string) []cache.TableID { return []cache.TableID{cache.TableID(name)} }
	tests := []struct {
		name  string
		cfg   cache.Config
		field string
	}{
		{"negative max_bytes", cache.Config{MaxBytes: -1}, "cache.max_bytes:"},
		{"negative max_entry_bytes", cache.Config{MaxEntryBytes: -1}, "cache.max_entry_bytes:"},
		{"negative max_ttl", cache.Config{MaxTTL: -time.Second}, "cache.max_ttl:"},
		{"entry bound above the cache bound", cache.Config{MaxBytes: 1 << 20, MaxEntryBytes: 2 << 20}, "cache.max_entry_bytes: 2097152 exceeds max_bytes"},
		{"default ttl above max_ttl", cache.Config{Default: cache.Lifetime{TTL: 2 * time.Hour}}, "cache.default.ttl: 2h0m0s exceeds max_ttl"},
		{"default ttl above a raised max_ttl", cache.Config{MaxTTL: 2 * time.Hour, Default: cache.Lifetime{TTL: 3 * time.Hour}}, "cache.default.ttl:"},
		{"negative default window", cache.Config{Default: cache.Lifetime{StaleWhileRevalidate: new(-time.Second)}}, "cache.default.stale_while_revalidate:"},
		{"empty disabled database", cache.Config{DisabledDatabases: []string{""}}, "cache.disabled_databases[0]:"},
		{"rule for nothing", cache.Config{Rules: []cache.Rule{{Name: "x", Disabled: true}}}, "cache.rules[0]: names no tables and no fingerprints"},
		{"rule for tables and fingerprints", cache.Config{Rules: []cache.Rule{{Tables: table("public.a"), Fingerprints: []string{"ab12"}, Disabled: true}}}, "names both tables and fingerprints"},
		{"rule that changes nothing", cache.Config{Rules: []cache.Rule{{Tables: table("public.a")}}}, "changes nothing"},
		{"disabled rule with a ttl", cache.Config{Rules: []cache.Rule{{Tables: table("public.a"), Disabled: true, Lifetime: cache.Lifetime{TTL: time.Minute}}}}, "is disabled but sets ttl"},
		{"rule ttl above max_ttl", cache.Config{Rules: []cache.Rule{{Tables: table("public.a"), Lifetime: cache.Lifetime{TTL: 90 * time.Minute}}}}, "cache.rules[0].ttl: 1h30m0s exceeds max_ttl (1h0m0s)"},
		{"rule window above max_ttl", cache.Config{Rules: []cache.Rule{{Tables: table("public.a"), Lifetime: cache.Lifetime{StaleWhileRevalidate: new(2 * time.Hour)}}}}, "cache.rules[0].stale_while_revalidate:"},
		{"empty table", cache.Config{Rules: []cache.Rule{{Tables: table(""), Disabled: true}}}, "cache.rules[0].tables[0]: is empty"},
		{"empty fingerprint", cache.Config{Rules: []cache.Rule{{Fingerprints: []string{""}, Disabled: true}}}, "cache.rules[0].fingerprints[0]: is empty"},
		{"two rules for one table", cache.Config{Rules: []cache.Rule{
			{Tables: table("public.a"), Disabled: true},
			{Tables: table("public.a"), Lifetime: cache.Lifetime{TTL: time.Minute}},
		}}, `cache.rules[1].tables[0]: table "public.a" already has rules[0]`},
		{"two rules for one fingerprint", cache.Config{Rules: []cache.Rule{
			{Name: "a", Fingerprints: []string{"ab12"}, Disabled: true},
			{Name: "b", Fingerprints: []string{"ab12"}, Disabled: true},
		}}, `fingerprint "ab12" already has rules[0]`},
		{"duplicate rule names", cache.Config{Rules: []cache.Rule{
			{Name: "dash", Tables: table("public.a"), Disabled: true},
			{Name: "dash", Tables: table("public.b"), Disabled: true},
		}}, `cache.rules[1].name: "dash" is already the name of rules[0]`},
		{"reserved rule name", cache.Config{Rules: []cache.Rule{{Name: "default", Tables: table("public.a"), Disabled: true}}}, `"default" is reserved`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if !contains(err, tt.field) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.field)
			}
			var ce *cache.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Validate() = %v, want a *ConfigError inside", err)
			}
			if _, err := cache.New(tt.cfg); err == nil {
				t.Fatal("New accepted the invalid config")
			}
		})
	}
}

func TestValidateAcceptsTheSameTableInDifferentDatabases(t *testing.T) {
	cfg := cache.Config{Rules: []cache.Rule{
		{Database: "app", Tables: []cache.TableID{"public.a"}, Disabled: true},
		{Database: "reporting", Tables: []cache.TableID{"public.a"}, Lifetime: cache.Lifetime{TTL: time.Minute}},
		{Tables: []cache.TableID{"public.a"}, Lifetime: cache.Lifetime{TTL: 2 * time.Minute}},
	}}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
}

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	cfg := cache.Config{
		Default:           cache.Lifetime{TTL: 2 * time.Hour},
		DisabledDatabases: []string{""},
		Rules:             []cache.Rule{{Tables: []cache.TableID{""}, Disabled: true}},
	}
	err := cfg.Validate()
	for _, want := range []string{"default.ttl", "disabled_databases[0]", "rules[0].tables[0]"} {
		if !contains(err, want) {
			t.Errorf("Validate() = %v, missing %q", err, want)
		}
	}
}
