package policy_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/policy"
)

func TestCheckOnTheZeroConfigReturnsPlanetScaleDefaults(t *testing.T) {
	e := mustNew(t, policy.Config{})
	got := e.Check("app", "web", autocommitWrite)
	want := policy.Decision{
		Mode:               policy.ModeEnforce,
		MaxRows:            100_000,
		MaxResultBytes:     64 << 20,
		MaxWriteRows:       100_000,
		StatementTimeout:   900 * time.Second,
		TransactionTimeout: 20 * time.Second,
		WrapWrite:          true,
	}
	assertLimits(t, got, want)
}

func TestCheckAppliesOnlyTheLimitsThatConcernTheStatement(t *testing.T) {
	enforce := mustNew(t, policy.Config{})
	warn := mustNew(t, policy.Config{Settings: policy.Settings{Mode: mode(policy.ModeWarn)}})
	noWriteLimit := mustNew(t, policy.Config{Settings: policy.Settings{MaxRowsPerWrite: new(int64(0))}})
	const rows, bytes, tx, stmt = 100_000, 64 << 20, 20 * time.Second, 900 * time.Second
	for _, tc := range []struct {
		name   string
		engine *policy.Engine
		st     policy.Statement
		want   policy.Decision
	}{
		{"autocommit read: no write limit, statement timeout", enforce, autocommitRead,
			policy.Decision{Mode: policy.ModeEnforce, MaxRows: rows, MaxResultBytes: bytes, StatementTimeout: stmt, TransactionTimeout: tx}},
		{"autocommit write in enforce mode is wrapped", enforce, autocommitWrite,
			policy.Decision{Mode: policy.ModeEnforce, MaxRows: rows, MaxResultBytes: bytes, MaxWriteRows: rows, StatementTimeout: stmt, TransactionTimeout: tx, WrapWrite: true}},
		{"read in a transaction: no statement timeout", enforce, txRead,
			policy.Decision{Mode: policy.ModeEnforce, MaxRows: rows, MaxResultBytes: bytes, TransactionTimeout: tx}},
		{"write in a transaction is limited but not wrapped", enforce, txWrite,
			policy.Decision{Mode: policy.ModeEnforce, MaxRows: rows, MaxResultBytes: bytes, MaxWriteRows: rows, TransactionTimeout: tx}},
		{"autocommit write in warn mode is not wrapped", warn, autocommitWrite,
			policy.Decision{Mode: policy.ModeWarn, MaxRows: rows, MaxResultBytes: bytes, MaxWriteRows: rows, StatementTimeout: stmt, TransactionTimeout: tx}},
		{"autocommit write without a write limit is not wrapped", noWriteLimit, autocommitWrite,
			policy.Decision{Mode: policy.ModeEnforce, MaxRows: rows, MaxResultBytes: bytes, StatementTimeout: stmt, TransactionTimeout: tx}},
		{"autocommit write bounded within the limit is not wrapped", enforce, policy.Statement{Write: true, MaxRowsWritten: 1},
			policy.Decision{Mode: policy.ModeEnforce, MaxRows: rows, MaxResultBytes: bytes, MaxWriteRows: rows, StatementTimeout: stmt, TransactionTimeout: tx}},
		{"autocommit write bounded at the limit is not wrapped", enforce, policy.Statement{Write: true, MaxRowsWritten: rows},
			policy.Decision{Mode: policy.ModeEnforce, MaxRows: rows, MaxResultBytes: bytes, MaxWriteRows: rows, StatementTimeout: stmt, TransactionTimeout: tx}},
		{"autocommit write bounded beyond the limit is wrapped", enforce, policy.Statement{Write: true, MaxRowsWritten: rows + 1},
			policy.Decision{Mode: policy.ModeEnforce, MaxRows: rows, MaxResultBytes: bytes, MaxWriteRows: rows, StatementTimeout: stmt, TransactionTimeout: tx, WrapWrite: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertLimits(t, tc.engine.Check("app", "web", tc.st), tc.want)
		})
	}
}

func TestCheckInOffModeReturnsNoLimitsAtAll(t *testing.T) {
	e := mustNew(t, policy.Config{
		Settings:  policy.Settings{MaxRowsPerQuery: new(int64(10))},
		Overrides: []policy.Override{{Database: "scratch", Settings: policy.Settings{Mode: mode(policy.ModeOff)}}},
	})
	for _, st := range []policy.Statement{autocommitRead, autocommitWrite, txRead, txWrite} {
		got := e.Check("scratch", "web", st)
		assertLimits(t, got, policy.Decision{Mode: policy.ModeOff})
		o := got.Observe()
		for range 1000 {
			if v := o.Row(1 << 20); v != nil {
				t.Fatalf("off mode: Row returned %v", v)
			}
		}
		if v := o.Written(1 << 40); v != nil {
			t.Fatalf("off mode: Written returned %v", v)
		}
		if v := got.StatementTimedOut(time.Hour); v != nil {
			t.Fatalf("off mode: StatementTimedOut returned %v", v)
		}
		if v := got.TransactionTimedOut(time.Hour); v != nil {
			t.Fatalf("off mode: TransactionTimedOut returned %v", v)
		}
	}
	if n := e.Stats().Total; n != 0 {
		t.Fatalf("off mode counted %d violations, want 0", n)
	}
	// The global policy still applies to other databases.
	if got := e.Check("app", "web", autocommitRead).MaxRows; got != 10 {
		t.Fatalf("app MaxRows = %d, want 10", got)
	}
}

// precedenceConfig sets each field at a different layer so that every
// (database, user) combination resolves each field from a known layer.
func precedenceConfig() policy.Config {
	return policy.Config{
		Settings: policy.Settings{
			MaxRowsPerQuery:  new(int64(1000)),
			StatementTimeout: new(60 * time.Second),
		},
		Overrides: []policy.Override{
			{Database: "analytics", User: "etl", Settings: policy.Settings{
				Mode:           mode(policy.ModeEnforce),
				MaxResultBytes: new(int64(0)),
			}},
			{Database: "analytics", Settings: policy.Settings{
				Mode:            mode(policy.ModeWarn),
				MaxRowsPerQuery: new(int64(5000)),
				MaxResultBytes:  new(int64(1 << 20)),
			}},
			{User: "etl", Settings: policy.Settings{
				MaxRowsPerQuery:    new(int64(0)),
				MaxRowsPerWrite:    new(int64(0)),
				TransactionTimeout: new(10 * time.Minute),
			}},
			{User: "loader", Settings: policy.Settings{
				MaxRowsPerQuery: new(int64(7000)),
				MaxRowsPerWrite: new(int64(500_000)),
			}},
		},
	}
}

func TestOverridesTakePrecedenceFieldByFieldMostSpecificFirst(t *testing.T) {
	e := mustNew(t, precedenceConfig())
	const (
		pair   = "override database=analytics user=etl"
		db     = "override database=analytics"
		etl    = "override user=etl"
		loader = "override user=loader"
	)
	type field struct{ value, source string }
	for _, tc := range []struct {
		name, database, user string
		want                 policy.Decision
		rows                 [6]field // mode, rows, write, bytes, tx, stmt
	}{
		{
			name: "no override applies", database: "app", user: "web",
			want: policy.Decision{Mode: policy.ModeEnforce, MaxRows: 1000, MaxWriteRows: 100_000, MaxResultBytes: 64 << 20,
				TransactionTimeout: 20 * time.Second, StatementTimeout: time.Minute, WrapWrite: true},
			rows: [6]field{{"enforce", "default"}, {"1000", "config"}, {"100000", "default"}, {"64MiB", "default"}, {"20s", "default"}, {"60s", "config"}},
		},
		{
			name: "database override only", database: "analytics", user: "web",
			want: policy.Decision{Mode: policy.ModeWarn, MaxRows: 5000, MaxWriteRows: 100_000, MaxResultBytes: 1 << 20,
				TransactionTimeout: 20 * time.Second, StatementTimeout: time.Minute},
			rows: [6]field{{"warn", db}, {"5000", db}, {"100000", "default"}, {"1MiB", db}, {"20s", "default"}, {"60s", "config"}},
		},
		{
			name: "user override only", database: "app", user: "etl",
			want: policy.Decision{Mode: policy.ModeEnforce, MaxRows: 0, MaxWriteRows: 0, MaxResultBytes: 64 << 20,
				TransactionTimeout: 10 * time.Minute, StatementTimeout: time.Minute},
			rows: [6]field{{"enforce", "default"}, {"0 (unlimited)", etl}, {"0 (unlimited)", etl}, {"64MiB", "default"}, {"600s", etl}, {"60s", "config"}},
		},
		{
			name: "user beats database where both set a field, database fills the rest", database: "analytics", user: "loader",
			want: policy.Decision{Mode: policy.ModeWarn, MaxRows: 7000, MaxWriteRows: 500_000, MaxResultBytes: 1 << 20,
				TransactionTimeout: 20 * time.Second, StatementTimeout: time.Minute},
			rows: [6]field{{"warn", db}, {"7000", loader}, {"500000", loader}, {"1MiB", db}, {"20s", "default"}, {"60s", "config"}},
		},
		{
			name: "pair beats user beats database beats global", database: "analytics", user: "etl",
			want: policy.Decision{Mode: policy.ModeEnforce, MaxRows: 0, MaxWriteRows: 0, MaxResultBytes: 0,
				TransactionTimeout: 10 * time.Minute, StatementTimeout: time.Minute},
			rows: [6]field{{"enforce", pair}, {"0 (unlimited)", etl}, {"0 (unlimited)", etl}, {"0 (unlimited)", pair}, {"600s", etl}, {"60s", "config"}},
		},
		{
			name: "names match exactly, letter case included", database: "Analytics", user: "ETL",
			want: policy.Decision{Mode: policy.ModeEnforce, MaxRows: 1000, MaxWriteRows: 100_000, MaxResultBytes: 64 << 20,
				TransactionTimeout: 20 * time.Second, StatementTimeout: time.Minute, WrapWrite: true},
			rows: [6]field{{"enforce", "default"}, {"1000", "config"}, {"100000", "default"}, {"64MiB", "default"}, {"20s", "default"}, {"60s", "config"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertLimits(t, e.Check(tc.database, tc.user, autocommitWrite), tc.want)
			names := [6]string{"mode", "max_rows_per_query", "max_rows_per_write", "max_result_bytes", "transaction_timeout", "statement_timeout"}
			got := e.RowsFor(tc.database, tc.user)
			if len(got) != len(names) {
				t.Fatalf("RowsFor returned %d rows, want %d: %v", len(got), len(names), got)
			}
			for i, r := range got {
				want := policy.Row{Name: names[i], Value: tc.rows[i].value, Source: tc.rows[i].source}
				if r != want {
					t.Errorf("RowsFor row %d = %+v, want %+v", i, r, want)
				}
			}
		})
	}
}

func TestOverrideOrderDoesNotMatter(t *testing.T) {
	cfg := precedenceConfig()
	reversed := precedenceConfig()
	for i, j := 0, len(reversed.Overrides)-1; i < j; i, j = i+1, j-1 {
		reversed.Overrides[i], reversed.Overrides[j] = reversed.Overrides[j], reversed.Overrides[i]
	}
	a, b := mustNew(t, cfg), mustNew(t, reversed)
	for _, db := range []string{"app", "analytics"} {
		for _, user := range []string{"web", "etl", "loader"} {
			assertLimits(t, b.Check(db, user, autocommitWrite), a.Check(db, user, autocommitWrite))
		}
	}
}

func TestReloadAppliesToTheNextCheckButNotToRunningStatements(t *testing.T) {
	e := mustNew(t, policy.Config{Settings: policy.Settings{MaxRowsPerQuery: new(int64(10))}})
	running := e.Check("app", "web", autocommitRead).Observe()

	if err := e.Reload(policy.Config{Settings: policy.Settings{MaxRowsPerQuery: new(int64(3))}}); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if got := e.Check("app", "web", autocommitRead).MaxRows; got != 3 {
		t.Fatalf("MaxRows after reload = %d, want 3", got)
	}
	for i := 1; i <= 10; i++ {
		if v := running.Row(1); v != nil {
			t.Fatalf("statement started before the reload: row %d violated %v", i, v)
		}
	}
	if v := running.Row(1); v == nil || v.Max != 10 {
		t.Fatalf("row 11 of the running statement = %v, want a violation of the old limit 10", v)
	}
	next := e.Check("app", "web", autocommitRead).Observe()
	for range 3 {
		next.Row(1)
	}
	if v := next.Row(1); v == nil || v.Max != 3 {
		t.Fatalf("row 4 after the reload = %v, want a violation of the new limit 3", v)
	}
}

func TestReloadWithAnInvalidConfigKeepsThePolicyInForce(t *testing.T) {
	e := mustNew(t, policy.Config{Settings: policy.Settings{MaxRowsPerQuery: new(int64(10))}})
	err := e.Reload(policy.Config{Settings: policy.Settings{MaxRowsPerQuery: new(int64(-1))}})
	if err == nil {
		t.Fatal("Reload accepted a negative limit")
	}
	if got := e.Check("app", "web", autocommitRead).MaxRows; got != 10 {
		t.Fatalf("MaxRows after a rejected reload = %d, want 10", got)
	}
}

func TestReloadUnderConcurrentChecksNeverMixesTwoPolicies(t *testing.T) {
	// Each config sets rows, bytes and the write limit to the same number,
	// so a Decision mixing two configs would show unequal values.
	config := func(n int64) policy.Config {
		return policy.Config{
			Settings: policy.Settings{MaxRowsPerQuery: new(n), MaxResultBytes: new(n), MaxRowsPerWrite: new(n)},
			Overrides: []policy.Override{
				{User: "etl", Settings: policy.Settings{MaxRowsPerQuery: new(n + 1), MaxResultBytes: new(n + 1)}},
				{Database: "analytics", Settings: policy.Settings{MaxRowsPerWrite: new(n + 1)}},
			},
		}
	}
	e := mustNew(t, config(1000))
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			users := []string{"web", "etl"}
			dbs := []string{"app", "analytics"}
			for i := 0; !stop.Load(); i++ {
				db, user := dbs[i%2], users[(i/2)%2]
				d := e.Check(db, user, autocommitWrite)
				base := d.MaxRows
				if user == "etl" {
					base--
				}
				wantWrite := base
				if db == "analytics" {
					wantWrite++
				}
				if base != 1000 && base != 2000 || d.MaxResultBytes != d.MaxRows || d.MaxWriteRows != wantWrite {
					errs <- fmt.Errorf("goroutine %d: torn decision for %s/%s: %+v", g, db, user, d)
					return
				}
			}
		})
	}
	for i := range 200 {
		if err := e.Reload(config(int64(1000 * (1 + i%2)))); err != nil {
			t.Fatalf("Reload: %v", err)
		}
		time.Sleep(50 * time.Microsecond)
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// assertLimits compares the exported fields of two Decisions.
func assertLimits(t *testing.T, got, want policy.Decision) {
	t.Helper()
	type limits struct {
		Mode                                  policy.Mode
		MaxRows, MaxResultBytes, MaxWriteRows int64
		StatementTimeout, TransactionTimeout  time.Duration
		WrapWrite                             bool
	}
	g := limits{got.Mode, got.MaxRows, got.MaxResultBytes, got.MaxWriteRows, got.StatementTimeout, got.TransactionTimeout, got.WrapWrite}
	w := limits{want.Mode, want.MaxRows, want.MaxResultBytes, want.MaxWriteRows, want.StatementTimeout, want.TransactionTimeout, want.WrapWrite}
	if g != w {
		t.Errorf("decision = %+v\n      want %+v", g, w)
	}
}
