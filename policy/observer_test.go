package policy_test

import (
	"testing"

	"github.com/pgwarp/pgwarp/policy"
)

func TestObserverAllowsTheLimitAndReportsLimitPlusOneExactlyOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   policy.Settings
		st    policy.Statement
		feed  func(o *policy.Observer) *policy.Violation // one unit of the limit
		limit policy.Limit
		max   int64
	}{
		{
			name: "rows", cfg: policy.Settings{MaxRowsPerQuery: new(int64(1000))}, st: autocommitRead,
			feed: func(o *policy.Observer) *policy.Violation { return o.Row(10) }, limit: policy.LimitRowsPerQuery, max: 1000,
		},
		{
			name: "result bytes", cfg: policy.Settings{MaxResultBytes: new(int64(1000))}, st: autocommitRead,
			feed: func(o *policy.Observer) *policy.Violation { return o.Row(1) }, limit: policy.LimitResultBytes, max: 1000,
		},
		{
			name: "rows written", cfg: policy.Settings{MaxRowsPerWrite: new(int64(1000))}, st: autocommitWrite,
			feed: func(o *policy.Observer) *policy.Violation { return o.Written(1) }, limit: policy.LimitRowsPerWrite, max: 1000,
		},
	} {
		for _, m := range []policy.Mode{policy.ModeEnforce, policy.ModeWarn} {
			t.Run(tc.name+"/"+m.String(), func(t *testing.T) {
				cfg := tc.cfg
				cfg.Mode = mode(m)
				e := mustNew(t, policy.Config{Settings: cfg})
				o := e.Check("app", "web", tc.st).Observe()
				for i := int64(1); i <= tc.max; i++ {
					if v := tc.feed(&o); v != nil {
						t.Fatalf("unit %d of a limit of %d: got %v, want nil", i, tc.max, v)
					}
				}
				v := tc.feed(&o)
				if v == nil {
					t.Fatalf("unit %d of a limit of %d: got nil, want a violation", tc.max+1, tc.max)
				}
				if v.Limit != tc.limit || v.Mode != m || v.Observed != tc.max+1 || v.Max != tc.max {
					t.Fatalf("violation = {Limit: %v, Mode: %v, Observed: %d, Max: %d}, want {%v, %v, %d, %d}",
						v.Limit, v.Mode, v.Observed, v.Max, tc.limit, m, tc.max+1, tc.max)
				}
				for i := range 5000 {
					if again := tc.feed(&o); again != nil {
						t.Fatalf("unit %d after the violation: reported again: %v", tc.max+2+int64(i), again)
					}
				}
				if n := e.Stats().Total; n != 1 {
					t.Fatalf("Stats().Total = %d, want 1", n)
				}
			})
		}
	}
}

func TestObserverCountsWrittenRowsOfTheWholeStatement(t *testing.T) {
	e := mustNew(t, policy.Config{Settings: policy.Settings{MaxRowsPerWrite: new(int64(100))}})
	o := e.Check("app", "web", autocommitWrite).Observe()
	if v := o.Written(60); v != nil {
		t.Fatalf("Written(60) = %v", v)
	}
	v := o.Written(41)
	if v == nil || v.Observed != 101 {
		t.Fatalf("Written(41) after 60 = %v, want a violation at 101 rows", v)
	}
	if got := o.RowsWritten(); got != 101 {
		t.Fatalf("RowsWritten() = %d, want 101", got)
	}
}

func TestObserverOnlyCountsWritesOfStatementsCheckedAsWrites(t *testing.T) {
	e := mustNew(t, policy.Config{Settings: policy.Settings{MaxRowsPerWrite: new(int64(1))}})
	o := e.Check("app", "web", autocommitRead).Observe()
	if v := o.Written(1_000_000); v != nil {
		t.Fatalf("Written on a statement checked as a read = %v, want nil", v)
	}
}

func TestObserverInEnforceModeReportsOnlyTheFirstViolation(t *testing.T) {
	e := mustNew(t, policy.Config{Settings: policy.Settings{
		MaxRowsPerQuery: new(int64(10)),
		MaxResultBytes:  new(int64(1000)),
		MaxRowsPerWrite: new(int64(5)),
	}})
	o := e.Check("app", "web", autocommitWrite).Observe()
	for range 10 {
		o.Row(10)
	}
	if v := o.Row(10); v == nil || v.Limit != policy.LimitRowsPerQuery {
		t.Fatalf("row 11 = %v, want the row limit", v)
	}
	// The proxy drains the cancelled statement; nothing else is reported.
	for range 1000 {
		if v := o.Row(1000); v != nil {
			t.Fatalf("while draining: %v", v)
		}
	}
	if v := o.Written(100); v != nil {
		t.Fatalf("Written after an enforced violation = %v", v)
	}
	if got := e.Stats().Total; got != 1 {
		t.Fatalf("Stats().Total = %d, want 1", got)
	}
	if o.Rows() != 1011 || o.Bytes() != 1_000_110 {
		t.Fatalf("Rows(), Bytes() = %d, %d; want 1011, 1000110", o.Rows(), o.Bytes())
	}
}

func TestObserverInWarnModeReportsEachLimitOnce(t *testing.T) {
	e := mustNew(t, policy.Config{Settings: policy.Settings{
		Mode:            mode(policy.ModeWarn),
		MaxRowsPerQuery: new(int64(10)),
		MaxResultBytes:  new(int64(1000)),
		MaxRowsPerWrite: new(int64(5)),
	}})
	o := e.Check("app", "web", autocommitWrite).Observe()
	var got []policy.Limit
	for range 200 {
		if v := o.Row(10); v != nil {
			got = append(got, v.Limit)
		}
	}
	for range 3 {
		if v := o.Written(5); v != nil {
			got = append(got, v.Limit)
		}
	}
	want := []policy.Limit{policy.LimitRowsPerQuery, policy.LimitResultBytes, policy.LimitRowsPerWrite}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("violations reported = %v, want %v", got, want)
	}
}

func TestObserverInWarnModeCountsBothLimitsCrossedByOneRow(t *testing.T) {
	e := mustNew(t, policy.Config{Settings: policy.Settings{
		Mode:            mode(policy.ModeWarn),
		MaxRowsPerQuery: new(int64(1)),
		MaxResultBytes:  new(int64(100)),
	}})
	var hooked []policy.Limit
	e.OnViolation = func(v *policy.Violation) { hooked = append(hooked, v.Limit) }
	o := e.Check("app", "web", autocommitRead).Observe()
	o.Row(50)
	v := o.Row(51)
	if v == nil || v.Limit != policy.LimitRowsPerQuery {
		t.Fatalf("Row = %v, want the row limit first", v)
	}
	if len(hooked) != 2 || hooked[0] != policy.LimitRowsPerQuery || hooked[1] != policy.LimitResultBytes {
		t.Fatalf("hook saw %v, want both limits", hooked)
	}
	if v := o.Row(1); v != nil {
		t.Fatalf("next row reported again: %v", v)
	}
}

func TestObserverWithUnlimitedLimitsNeverReports(t *testing.T) {
	e := mustNew(t, policy.Config{Settings: policy.Settings{
		MaxRowsPerQuery: new(int64(0)),
		MaxResultBytes:  new(int64(0)),
		MaxRowsPerWrite: new(int64(0)),
	}})
	d := e.Check("app", "etl", autocommitWrite)
	if d.WrapWrite {
		t.Fatal("WrapWrite with an unlimited write limit")
	}
	o := d.Observe()
	for range 1_000_000 {
		if v := o.Row(1 << 20); v != nil {
			t.Fatalf("Row: %v", v)
		}
	}
	if v := o.Written(1 << 50); v != nil {
		t.Fatalf("Written: %v", v)
	}
}

func TestZeroDecisionObservesNothing(t *testing.T) {
	var d policy.Decision
	o := d.Observe()
	for range 1000 {
		if v := o.Row(1 << 30); v != nil {
			t.Fatalf("Row: %v", v)
		}
	}
	if v := o.Written(1 << 40); v != nil {
		t.Fatalf("Written: %v", v)
	}
	if d.StatementTimedOut(1<<62) != nil || d.TransactionTimedOut(1<<62) != nil {
		t.Fatal("timeout constructors of the zero Decision returned a violation")
	}
}
