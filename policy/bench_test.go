package policy_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/policy"
)

// benchConfig has overrides of every kind, as a busy deployment might.
func benchConfig() policy.Config {
	cfg := policy.Config{Overrides: []policy.Override{
		{User: "etl", Settings: policy.Settings{MaxRowsPerQuery: new(int64(0)), MaxRowsPerWrite: new(int64(0))}},
		{Database: "analytics", Settings: policy.Settings{Mode: mode(policy.ModeWarn)}},
		{Database: "analytics", User: "bi", Settings: policy.Settings{StatementTimeout: new(time.Hour)}},
	}}
	for i := range 50 {
		cfg.Overrides = append(cfg.Overrides,
			policy.Override{User: fmt.Sprintf("svc%02d", i), Settings: policy.Settings{MaxRowsPerQuery: new(int64(1000 + i))}},
			policy.Override{Database: fmt.Sprintf("tenant%02d", i), Settings: policy.Settings{MaxResultBytes: new(int64(1 << 20))}})
	}
	return cfg
}

// checkCases are the lookup paths of Check: no overrides at all, overrides
// that miss, a user override, a database and a user override merged, and
// a pair override.
var checkCases = []struct {
	name           string
	cfg            func() policy.Config
	database, user string
}{
	{"no overrides", func() policy.Config { return policy.Config{} }, "app", "web"},
	{"overrides miss", benchConfig, "app", "web"},
	{"user override", benchConfig, "app", "etl"},
	{"database and user merged", benchConfig, "analytics", "etl"},
	{"pair override", benchConfig, "analytics", "bi"},
}

var sinkDecision policy.Decision

func BenchmarkCheck(b *testing.B) {
	for _, c := range checkCases {
		b.Run(c.name, func(b *testing.B) {
			e := mustNew(b, c.cfg())
			b.ReportAllocs()
			for b.Loop() {
				sinkDecision = e.Check(c.database, c.user, autocommitWrite)
			}
		})
	}
}

func BenchmarkCheckParallel(b *testing.B) {
	e := mustNew(b, benchConfig())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var d policy.Decision
		for pb.Next() {
			d = e.Check("analytics", "etl", autocommitRead)
		}
		_ = d
	})
}

var sinkViolation *policy.Violation

func BenchmarkObserverRow(b *testing.B) {
	e := mustNew(b, policy.Config{})
	o := e.Check("app", "web", autocommitRead).Observe()
	b.ReportAllocs()
	for b.Loop() {
		// A fresh Observer every 50,000 rows keeps the benchmark below the
		// default limits, measuring the path every DataRow takes.
		if o.Rows() == 50_000 {
			o = e.Check("app", "web", autocommitRead).Observe()
		}
		sinkViolation = o.Row(120)
	}
}

func BenchmarkStatement(b *testing.B) {
	// One typical statement: Check, a 20-row result, CommandComplete.
	e := mustNew(b, benchConfig())
	b.ReportAllocs()
	for b.Loop() {
		o := e.Check("app", "web", autocommitRead).Observe()
		for range 20 {
			sinkViolation = o.Row(120)
		}
	}
}

func TestCheckAndRowDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	for _, c := range checkCases {
		e := mustNew(t, c.cfg())
		if n := testing.AllocsPerRun(1000, func() {
			sinkDecision = e.Check(c.database, c.user, autocommitWrite)
		}); n != 0 {
			t.Errorf("Check (%s) allocates %.1f times per call, want 0", c.name, n)
		}
	}
	e := mustNew(t, policy.Config{})
	o := e.Check("app", "web", autocommitRead).Observe()
	if n := testing.AllocsPerRun(1000, func() { sinkViolation = o.Row(100) }); n != 0 {
		t.Errorf("Observer.Row allocates %.1f times per call, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() {
		o := e.Check("app", "web", autocommitWrite).Observe()
		sinkViolation = o.Written(10)
	}); n != 0 {
		t.Errorf("Observe and Written allocate %.1f times per statement, want 0", n)
	}
}
