package policy_test

import (
	"fmt"
	"time"

	"github.com/pgwarp/pgwarp/policy"
)

// The proxy's use of the package for one statement: Check before it runs,
// feed the Observer as DataRows stream, act on the first enforced
// violation.
func Example() {
	engine, err := policy.New(policy.Config{
		Settings: policy.Settings{MaxRowsPerQuery: new(int64(1000))},
		Overrides: []policy.Override{
			{User: "etl", Settings: policy.Settings{MaxRowsPerQuery: new(int64(0))}},
		},
	})
	if err != nil {
		panic(err)
	}
	engine.OnViolation = func(v *policy.Violation) {
		fmt.Printf("hook: %s %s %s/%s\n", v.Limit, v.Mode, v.Database, v.User)
	}

	dec := engine.Check("app", "web", policy.Statement{Write: false, InTransaction: false})
	obs := dec.Observe()
	for row := 1; row <= 5000; row++ {
		if v := obs.Row(64); v != nil && v.Enforced() {
			// The proxy cancels upstream, drains, and sends this error.
			fmt.Println("ERROR:", v.Message)
			fmt.Println("SQLSTATE:", v.Code)
			fmt.Println("DETAIL:", v.Detail)
			fmt.Println("HINT:", v.Hint)
			break
		}
	}
	// Output:
	// hook: max_rows_per_query enforce app/web
	// ERROR: pgwarp: query returned more than 1000 rows (limit max_rows_per_query)
	// SQLSTATE: 54000
	// DETAIL: The limit for database "app" and user "web" is 1000 rows per query, set by the global policy. pgwarp canceled the statement when row 1001 arrived.
	// HINT: Fetch large results page by page with keyset (cursor-based) pagination: order by a unique key and continue after the last row of the previous page, e.g. WHERE (day, id) > ($1, $2) ORDER BY day, id LIMIT 100. Avoid OFFSET, which still reads and discards every skipped row.
}

// An autocommit write under a write limit in enforce mode is wrapped in a
// transaction by the proxy, which commits or rolls back according to the
// count in CommandComplete.
func ExampleObserver_Written() {
	engine, _ := policy.New(policy.Config{})
	dec := engine.Check("app", "web", policy.Statement{Write: true})
	fmt.Println("wrap in a transaction:", dec.WrapWrite)

	obs := dec.Observe()
	if v := obs.Written(100_001); v != nil { // from "UPDATE 100001"
		fmt.Println("ROLLBACK, then:", v.Message)
		fmt.Println("DETAIL:", v.Detail)
	}
	// Output:
	// wrap in a transaction: true
	// ROLLBACK, then: pgwarp: statement wrote more than 100000 rows (limit max_rows_per_write)
	// DETAIL: The statement affected 100001 rows; the limit for database "app" and user "web" is 100000 rows per statement, set by the built-in default. pgwarp rolled the statement back, so no rows were changed.
}

// The proxy owns the timers; the Decision gives it the duration and builds
// the violation when the timer fires.
func ExampleDecision_TransactionTimedOut() {
	engine, _ := policy.New(policy.Config{})
	dec := engine.Check("app", "web", policy.Statement{InTransaction: true})
	fmt.Println("arm timer for", dec.TransactionTimeout)

	v := dec.TransactionTimedOut(20*time.Second + 4*time.Millisecond)
	fmt.Println(v.Error())
	fmt.Println("DETAIL:", v.Detail)
	// Output:
	// arm timer for 20s
	// pgwarp: transaction was open for more than 20s (limit transaction_timeout) (SQLSTATE 25P04)
	// DETAIL: The transaction had been open for 20.004s; the limit for database "app" and user "web" is 20s, set by the built-in default. pgwarp canceled it and rolled it back, so none of its changes were committed; issue ROLLBACK to continue on this connection.
}

func ExampleEngine_Rows() {
	engine, _ := policy.New(policy.Config{
		Overrides: []policy.Override{
			{User: "etl", Settings: policy.Settings{MaxRowsPerQuery: new(int64(0))}},
		},
	})
	for _, r := range engine.Rows() {
		fmt.Printf("%-20s %-14s %s\n", r.Name, r.Value, r.Source)
	}
	// Output:
	// mode                 enforce        default
	// max_rows_per_query   100000         default
	// max_rows_per_write   100000         default
	// max_result_bytes     64MiB          default
	// transaction_timeout  20s            default
	// statement_timeout    900s           default
	// max_rows_per_query   0 (unlimited)  override user=etl
}
