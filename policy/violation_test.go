package policy_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/policy"
)

// crossRows feeds o rows of size bytes until it reports a violation.
func crossRows(t *testing.T, o *policy.Observer, size int) *policy.Violation {
	t.Helper()
	for range 10_000_000 {
		if v := o.Row(size); v != nil {
			return v
		}
	}
	t.Fatal("no violation after 10M rows")
	return nil
}

func TestViolationsCarryPostgresErrorFields(t *testing.T) {
	e := mustNew(t, policy.Config{Overrides: []policy.Override{
		{User: "etl", Settings: policy.Settings{MaxRowsPerWrite: new(int64(500))}},
		{Database: "analytics", Settings: policy.Settings{Mode: mode(policy.ModeWarn)}},
	}})
	for _, tc := range []struct {
		name     string
		violate  func(t *testing.T) *policy.Violation
		code     string
		message  string
		detail   []string // substrings, in order
		hint     []string
		mode     policy.Mode
		source   string
		inTx     bool
		observed int64
	}{
		{
			name: "rows returned",
			violate: func(t *testing.T) *policy.Violation {
				o := e.Check("app", "web", autocommitRead).Observe()
				return crossRows(t, &o, 10)
			},
			code:    "54000",
			message: "pgwarp: query returned more than 100000 rows (limit max_rows_per_query)",
			detail:  []string{`The limit for database "app" and user "web" is 100000 rows per query, set by the built-in default.`, "canceled the statement when row 100001 arrived."},
			hint:    []string{"keyset (cursor-based) pagination", "WHERE (day, id) > ($1, $2) ORDER BY day, id LIMIT 1000", "Avoid OFFSET"},
			mode:    policy.ModeEnforce, source: "default", observed: 100_001,
		},
		{
			name: "rows returned inside a transaction abort it",
			violate: func(t *testing.T) *policy.Violation {
				o := e.Check("app", "web", txRead).Observe()
				return crossRows(t, &o, 10)
			},
			code:    "54000",
			message: "pgwarp: query returned more than 100000 rows (limit max_rows_per_query)",
			detail:  []string{"canceled the statement", "The transaction is now aborted; roll it back to continue."},
			hint:    []string{"keyset"},
			mode:    policy.ModeEnforce, source: "default", inTx: true, observed: 100_001,
		},
		{
			name: "result bytes",
			violate: func(t *testing.T) *policy.Violation {
				o := e.Check("app", "web", autocommitRead).Observe()
				return crossRows(t, &o, 1<<10)
			},
			code:    "54000",
			message: "pgwarp: query returned more than 64 MiB (limit max_result_bytes)",
			detail:  []string{"is 67108864 bytes per query result, set by the built-in default.", "when the result reached 67109888 bytes in 65537 rows."},
			hint:    []string{"Select only the columns you need rather than SELECT *", "keyset pagination"},
			mode:    policy.ModeEnforce, source: "default", observed: 64<<20 + 1<<10,
		},
		{
			name: "rows written in autocommit are rolled back",
			violate: func(t *testing.T) *policy.Violation {
				o := e.Check("app", "etl", autocommitWrite).Observe()
				return o.Written(501)
			},
			code:    "54000",
			message: "pgwarp: statement wrote more than 500 rows (limit max_rows_per_write)",
			detail:  []string{`The statement affected 501 rows; the limit for database "app" and user "etl" is 500 rows per statement, set by the override for user "etl".`, "rolled the statement back, so no rows were changed."},
			hint:    []string{"Write in chunks", "at most 50 rows", "ORDER BY id LIMIT 50) RETURNING id", "COPY FROM"},
			mode:    policy.ModeEnforce, source: "override user=etl", observed: 501,
		},
		{
			name: "rows written inside a transaction abort it",
			violate: func(t *testing.T) *policy.Violation {
				o := e.Check("app", "web", txWrite).Observe()
				return o.Written(100_001)
			},
			code:    "54000",
			message: "pgwarp: statement wrote more than 100000 rows (limit max_rows_per_write)",
			detail:  []string{"The transaction is now aborted and none of its changes will be committed; issue ROLLBACK, or ROLLBACK TO SAVEPOINT, to continue."},
			hint:    []string{"LIMIT 1000"},
			mode:    policy.ModeEnforce, source: "default", inTx: true, observed: 100_001,
		},
		{
			name: "rows written in warn mode are kept",
			violate: func(t *testing.T) *policy.Violation {
				o := e.Check("analytics", "web", autocommitWrite).Observe()
				return o.Written(100_001)
			},
			code:    "54000",
			message: "pgwarp: statement wrote more than 100000 rows (limit max_rows_per_write)",
			detail:  []string{"The changes were kept because the policy mode is warn."},
			hint:    []string{"Write in chunks"},
			mode:    policy.ModeWarn, source: "default", observed: 100_001,
		},
		{
			name: "transaction timeout",
			violate: func(t *testing.T) *policy.Violation {
				return e.Check("app", "web", txRead).TransactionTimedOut(20*time.Second + 4*time.Millisecond)
			},
			code:    "25P04",
			message: "pgwarp: transaction was open for more than 20s (limit transaction_timeout)",
			detail:  []string{"The transaction had been open for 20.004s;", "is 20s, set by the built-in default.", "rolled it back", "issue ROLLBACK to continue on this connection."},
			hint:    []string{"Keep transactions short and independent", "before BEGIN or after COMMIT"},
			mode:    policy.ModeEnforce, source: "default", inTx: true, observed: int64(20*time.Second + 4*time.Millisecond),
		},
		{
			name: "statement timeout",
			violate: func(t *testing.T) *policy.Violation {
				o := e.Check("app", "web", autocommitRead).Observe()
				return o.Decision().StatementTimedOut(900*time.Second + time.Millisecond)
			},
			code:    "57014",
			message: "pgwarp: statement ran for more than 900s (limit statement_timeout)",
			detail:  []string{"The statement had been running for 900.001s outside a transaction;", "is 900s, set by the built-in default.", "pgwarp canceled it"},
			hint:    []string{"Bound the work of a single statement", "EXPLAIN", "WHERE id > $1 ORDER BY id LIMIT 1000"},
			mode:    policy.ModeEnforce, source: "default", observed: int64(900*time.Second + time.Millisecond),
		},
		{
			name: "statement timeout in warn mode",
			violate: func(t *testing.T) *policy.Violation {
				return e.Check("analytics", "web", autocommitRead).StatementTimedOut(901 * time.Second)
			},
			code:    "57014",
			message: "pgwarp: statement ran for more than 900s (limit statement_timeout)",
			detail:  []string{"It was allowed to continue because the policy mode is warn."},
			hint:    []string{"Bound the work"},
			mode:    policy.ModeWarn, source: "default", observed: int64(901 * time.Second),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.violate(t)
			if v == nil {
				t.Fatal("no violation")
			}
			if v.Code != tc.code || v.Message != tc.message {
				t.Errorf("Code, Message = %q, %q\nwant %q, %q", v.Code, v.Message, tc.code, tc.message)
			}
			if v.Mode != tc.mode || v.Source != tc.source || v.InTransaction != tc.inTx || v.Observed != tc.observed {
				t.Errorf("Mode, Source, InTransaction, Observed = %v, %q, %v, %d; want %v, %q, %v, %d",
					v.Mode, v.Source, v.InTransaction, v.Observed, tc.mode, tc.source, tc.inTx, tc.observed)
			}
			if v.Enforced() != (tc.mode == policy.ModeEnforce) {
				t.Errorf("Enforced() = %v in mode %v", v.Enforced(), tc.mode)
			}
			assertInOrder(t, "Detail", v.Detail, tc.detail)
			assertInOrder(t, "Hint", v.Hint, tc.hint)
			for name, s := range map[string]string{"Detail": v.Detail, "Hint": v.Hint} {
				if !strings.HasSuffix(s, ".") || strings.Contains(s, "\n") {
					t.Errorf("%s is not a single line of sentences: %q", name, s)
				}
			}
			if want := tc.message + " (SQLSTATE " + tc.code + ")"; v.Error() != want {
				t.Errorf("Error() = %q, want %q", v.Error(), want)
			}
			var err error = v
			var target *policy.Violation
			if !errors.As(err, &target) || target != v {
				t.Error("errors.As does not find the *Violation")
			}
		})
	}
}

func TestTimeoutConstructorsReturnNilWithoutALimit(t *testing.T) {
	e := mustNew(t, policy.Config{Settings: policy.Settings{TransactionTimeout: new(time.Duration(0))}})
	if v := e.Check("app", "web", txRead).StatementTimedOut(time.Hour); v != nil {
		t.Errorf("statement timeout inside a transaction: %v", v)
	}
	if v := e.Check("app", "web", txRead).TransactionTimedOut(time.Hour); v != nil {
		t.Errorf("transaction timeout of 0: %v", v)
	}
	if n := e.Stats().Total; n != 0 {
		t.Errorf("counted %d violations, want 0", n)
	}
}

func TestHintsSuggestBatchesSmallerThanSmallLimits(t *testing.T) {
	e := mustNew(t, policy.Config{Settings: policy.Settings{MaxRowsPerQuery: new(int64(5)), MaxRowsPerWrite: new(int64(5))}})
	o := e.Check("app", "web", autocommitWrite).Observe()
	v := crossRows(t, &o, 1)
	if !strings.Contains(v.Hint, "LIMIT 1.") {
		t.Errorf("rows hint for a limit of 5 = %q, want LIMIT 1", v.Hint)
	}
	o = e.Check("app", "web", autocommitWrite).Observe()
	if v := o.Written(6); v == nil || !strings.Contains(v.Hint, "LIMIT 1)") {
		t.Errorf("write hint for a limit of 5 = %v, want LIMIT 1", v)
	}
}

func TestViolationMessagesUseReadableUnits(t *testing.T) {
	e := mustNew(t, policy.Config{Settings: policy.Settings{
		MaxResultBytes:     new(int64(1000)),
		TransactionTimeout: new(1500 * time.Millisecond),
	}})
	o := e.Check("app", "web", txRead).Observe()
	if v := crossRows(t, &o, 600); v.Message != "pgwarp: query returned more than 1000 bytes (limit max_result_bytes)" {
		t.Errorf("Message = %q", v.Message)
	}
	v := e.Check("app", "web", txRead).TransactionTimedOut(1600 * time.Millisecond)
	if v.Message != "pgwarp: transaction was open for more than 1.5s (limit transaction_timeout)" {
		t.Errorf("Message = %q", v.Message)
	}
}

// assertInOrder fails unless every part occurs in s, in order.
func assertInOrder(t *testing.T, name, s string, parts []string) {
	t.Helper()
	rest := s
	for _, p := range parts {
		i := strings.Index(rest, p)
		if i < 0 {
			t.Errorf("%s = %q\nlacks (in order) %q", name, s, p)
			return
		}
		rest = rest[i+len(p):]
	}
}

func TestTransactionTimeoutAlwaysEndsATransaction(t *testing.T) {
	// The proxy may hold the Decision of the BEGIN that opened the
	// transaction, taken while the session was still outside one.
	e := mustNew(t, policy.Config{})
	v := e.Check("app", "web", autocommitRead).TransactionTimedOut(21 * time.Second)
	if v == nil || !v.InTransaction || !strings.Contains(v.Detail, "issue ROLLBACK") {
		t.Fatalf("TransactionTimedOut on an autocommit Decision = %+v, want a violation that ends the transaction", v)
	}
}
