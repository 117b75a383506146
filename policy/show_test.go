package policy_test

import (
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/policy"
)

func TestRowsRenderThePolicyInForceWithSources(t *testing.T) {
	e := mustNew(t, policy.Config{
		Settings: policy.Settings{
			MaxResultBytes:   new(int64(1 << 30)),
			StatementTimeout: new(90 * time.Second),
		},
		Overrides: []policy.Override{
			{User: "etl", Settings: policy.Settings{MaxRowsPerQuery: new(int64(0)), MaxRowsPerWrite: new(int64(0)), MaxResultBytes: new(int64(0))}},
			{Database: "analytics", Settings: policy.Settings{Mode: mode(policy.ModeWarn)}},
			{Database: "analytics", User: "bi", Settings: policy.Settings{MaxResultBytes: new(int64(1000)), TransactionTimeout: new(2500 * time.Millisecond)}},
		},
	})
	want := []policy.Row{
		{"mode", "enforce", "default"},
		{"max_rows_per_query", "100000", "default"},
		{"max_rows_per_write", "100000", "default"},
		{"max_result_bytes", "1GiB", "config"},
		{"transaction_timeout", "20s", "default"},
		{"statement_timeout", "90s", "config"},
		{"max_rows_per_query", "0 (unlimited)", "override user=etl"},
		{"max_rows_per_write", "0 (unlimited)", "override user=etl"},
		{"max_result_bytes", "0 (unlimited)", "override user=etl"},
		{"mode", "warn", "override database=analytics"},
		{"max_result_bytes", "1000", "override database=analytics user=bi"},
		{"transaction_timeout", "2.5s", "override database=analytics user=bi"},
	}
	got := e.Rows()
	if len(got) != len(want) {
		t.Fatalf("Rows() returned %d rows, want %d:\n%v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestRowsFollowReload(t *testing.T) {
	e := mustNew(t, policy.Config{})
	if err := e.Reload(policy.Config{Settings: policy.Settings{Mode: mode(policy.ModeOff)}}); err != nil {
		t.Fatal(err)
	}
	if got := e.Rows()[0]; got != (policy.Row{Name: "mode", Value: "off", Source: "config"}) {
		t.Fatalf("first row after reload = %+v", got)
	}
}
