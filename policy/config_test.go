package policy_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/policy"
)

func TestValidateAcceptsTheZeroConfigAndTheIssueExample(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  policy.Config
	}{
		{"zero config", policy.Config{}},
		{"issue 5 example", policy.Config{
			Settings: policy.Settings{
				Mode:               mode(policy.ModeEnforce),
				MaxRowsPerQuery:    new(int64(100000)),
				MaxRowsPerWrite:    new(int64(100000)),
				MaxResultBytes:     new(int64(64 << 20)),
				TransactionTimeout: new(20 * time.Second),
				StatementTimeout:   new(900 * time.Second),
			},
			Overrides: []policy.Override{
				{User: "etl", Settings: policy.Settings{MaxRowsPerQuery: new(int64(0)), MaxRowsPerWrite: new(int64(0)), MaxResultBytes: new(int64(0))}},
				{Database: "analytics", Settings: policy.Settings{Mode: mode(policy.ModeWarn)}},
			},
		}},
		{"zero timeouts mean unlimited", policy.Config{Settings: policy.Settings{
			TransactionTimeout: new(time.Duration(0)), StatementTimeout: new(time.Duration(0)),
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestValidateNamesTheFieldAndTheProblem(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  policy.Config
		want []string // every line of the joined error, in order
	}{
		{
			name: "negative global row limit",
			cfg:  policy.Config{Settings: policy.Settings{MaxRowsPerQuery: new(int64(-1))}},
			want: []string{"policy.max_rows_per_query: must be 0 (unlimited) or a positive number of rows, got -1"},
		},
		{
			name: "negative write limit and byte limit in an override",
			cfg: policy.Config{Overrides: []policy.Override{
				{User: "etl", Settings: policy.Settings{MaxRowsPerWrite: new(int64(-5)), MaxResultBytes: new(int64(-1))}},
			}},
			want: []string{
				`policy.overrides[0].max_rows_per_write: must be 0 (unlimited) or a positive number of rows, got -5 in the override for user "etl"`,
				`policy.overrides[0].max_result_bytes: must be 0 (unlimited) or a positive number of bytes, got -1 in the override for user "etl"`,
			},
		},
		{
			name: "negative timeout",
			cfg:  policy.Config{Settings: policy.Settings{TransactionTimeout: new(-time.Second)}},
			want: []string{"policy.transaction_timeout: must be 0 (unlimited) or a positive duration, got -1s"},
		},
		{
			name: "timeout that lost its unit",
			cfg: policy.Config{Overrides: []policy.Override{
				{Database: "app", User: "web", Settings: policy.Settings{StatementTimeout: new(time.Duration(20))}},
			}},
			want: []string{`policy.overrides[0].statement_timeout: must be 0 (unlimited) or at least 1ms, got 20ns in the override for database "app" and user "web"; write durations with a unit, e.g. 20s`},
		},
		{
			name: "unknown mode",
			cfg:  policy.Config{Settings: policy.Settings{Mode: mode(policy.Mode(7))}},
			want: []string{"policy.mode: must be enforce, warn or off, got Mode(7)"},
		},
		{
			name: "override without database or user",
			cfg: policy.Config{Overrides: []policy.Override{
				{Settings: policy.Settings{Mode: mode(policy.ModeWarn)}},
			}},
			want: []string{"policy.overrides[0]: names neither a database nor a user; set database, user, or both"},
		},
		{
			name: "override that sets nothing",
			cfg: policy.Config{Overrides: []policy.Override{
				{Database: "analytics"},
			}},
			want: []string{`policy.overrides[0]: sets neither a mode nor a limit for database "analytics"; remove it or set one (a misspelt key?)`},
		},
		{
			name: "two overrides for the same pair",
			cfg: policy.Config{Overrides: []policy.Override{
				{Database: "app", User: "etl", Settings: policy.Settings{Mode: mode(policy.ModeWarn)}},
				{User: "etl", Settings: policy.Settings{Mode: mode(policy.ModeOff)}},
				{Database: "app", User: "etl", Settings: policy.Settings{MaxRowsPerQuery: new(int64(10))}},
			}},
			want: []string{`policy.overrides[2]: repeats policy.overrides[0] for database "app" and user "etl"; merge the two entries`},
		},
		{
			name: "every problem is reported, not just the first",
			cfg: policy.Config{
				Settings:  policy.Settings{MaxRowsPerQuery: new(int64(-1))},
				Overrides: []policy.Override{{}, {User: "etl", Settings: policy.Settings{MaxResultBytes: new(int64(-2))}}},
			},
			want: []string{
				"policy.max_rows_per_query: must be 0 (unlimited) or a positive number of rows, got -1",
				"policy.overrides[0]: names neither a database nor a user; set database, user, or both",
				`policy.overrides[1].max_result_bytes: must be 0 (unlimited) or a positive number of bytes, got -2 in the override for user "etl"`,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("Validate() =\n%s\nwant\n%s", err, strings.Join(tc.want, "\n"))
			}
			var ce *policy.ConfigError
			if !errors.As(err, &ce) || !strings.HasPrefix(ce.Field, "policy") {
				t.Fatalf("errors.As(%v, *ConfigError) found %+v, want a field under policy", err, ce)
			}
			if _, nerr := policy.New(tc.cfg); nerr == nil || nerr.Error() != err.Error() {
				t.Fatalf("New() error = %v, want Validate's %v", nerr, err)
			}
		})
	}
}

func TestParseModeAndString(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want policy.Mode
	}{
		{"enforce", policy.ModeEnforce},
		{"warn", policy.ModeWarn},
		{"off", policy.ModeOff},
		{" WARN ", policy.ModeWarn},
	} {
		got, err := policy.ParseMode(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseMode(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		var m policy.Mode
		if err := m.UnmarshalText([]byte(tc.in)); err != nil || m != tc.want {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", tc.in, m, err, tc.want)
		}
		text, err := tc.want.MarshalText()
		if err != nil || string(text) != strings.TrimSpace(strings.ToLower(tc.in)) {
			t.Errorf("%v.MarshalText() = %q, %v", tc.want, text, err)
		}
	}
	if _, err := policy.ParseMode("enforcing"); err == nil || err.Error() != `policy: mode "enforcing" is not one of enforce, warn, off` {
		t.Errorf("ParseMode(enforcing) error = %v", err)
	}
	if _, err := policy.Mode(9).MarshalText(); err == nil {
		t.Error("Mode(9).MarshalText() succeeded, want an error")
	}
	if got := policy.Mode(9).String(); got != "Mode(9)" {
		t.Errorf("Mode(9).String() = %q", got)
	}
}

func TestLimitNamesAndCodes(t *testing.T) {
	for _, tc := range []struct {
		limit      policy.Limit
		name, code string
	}{
		{policy.LimitRowsPerQuery, "max_rows_per_query", "54000"},
		{policy.LimitRowsPerWrite, "max_rows_per_write", "54000"},
		{policy.LimitResultBytes, "max_result_bytes", "54000"},
		{policy.LimitTransactionTimeout, "transaction_timeout", "25P04"},
		{policy.LimitStatementTimeout, "statement_timeout", "57014"},
	} {
		if got := tc.limit.String(); got != tc.name {
			t.Errorf("Limit(%d).String() = %q, want %q", tc.limit, got, tc.name)
		}
		if got := tc.limit.Code(); got != tc.code {
			t.Errorf("%v.Code() = %q, want %q", tc.limit, got, tc.code)
		}
	}
	if got := policy.Limit(42).String(); got != "Limit(42)" {
		t.Errorf("Limit(42).String() = %q", got)
	}
}
