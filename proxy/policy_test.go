package proxy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgwarp/pgwarp/cache"
	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/policy"
	"github.com/pgwarp/pgwarp/proxy"
	"github.com/pgwarp/pgwarp/proxy/proxytest"
)

func ptr[T any](v T) *T { return &v }

// smallLimits are limits small enough for tests to hit quickly.
func smallLimits(mode policy.Mode) policy.Config {
	return policy.Config{Settings: policy.Settings{
		Mode:               &mode,
		MaxRowsPerQuery:    ptr(int64(1000)),
		MaxRowsPerWrite:    ptr(int64(1000)),
		MaxResultBytes:     ptr(int64(1 << 20)),
		TransactionTimeout: ptr(2 * time.Second),
		StatementTimeout:   ptr(time.Second),
	}}
}

func policyProxy(t *testing.T, cfg policy.Config, size int) (*proxytest.Proxy, string, *policy.Engine) {
	t.Helper()
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	eng, err := policy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := proxytest.Start(t, c, proxytest.Options{Mode: proxy.PoolTransaction, MaxSize: size, Configure: func(pc *proxy.Config) {
		pc.Policy = eng
	}})
	return p, db, eng
}

func wantViolation(t *testing.T, err error, code, limit string) *pgconn.PgError {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != code {
		t.Fatalf("want %s (%s), got %v", code, limit, err)
	}
	if !strings.Contains(pe.Message+pe.Detail, limit) || pe.Hint == "" {
		t.Fatalf("error %q / %q / hint %q should name %s and say what to do", pe.Message, pe.Detail, pe.Hint, limit)
	}
	return pe
}

func TestRowAndByteLimitsEndTheResultWithAnErrorAndKeepTheSession(t *testing.T) {
	p, db, _ := policyProxy(t, smallLimits(policy.ModeEnforce), 1)
	conn := connect(t, p, db)
	ctx := context.Background()
	for _, proto := range []string{"extended", "simple"} {
		run := func(sql string) (int, error) {
			if proto == "simple" {
				res, err := conn.PgConn().Exec(ctx, sql).ReadAll()
				if err != nil {
					return 0, err
				}
				return len(res[0].Rows), nil
			}
			rows, err := conn.Query(ctx, sql)
			if err != nil {
				return 0, err
			}
			n := 0
			for rows.Next() {
				n++
			}
			return n, rows.Err()
		}
		if n, err := run("SELECT x FROM generate_series(1, 1000) x"); err != nil || n != 1000 {
			t.Fatalf("%s: 1000 rows at the limit: %d, %v", proto, n, err)
		}
		// generate_series materialises its rows before returning the
		// first: 200,000 stays far below the 1s statement timeout on a
		// loaded machine, and far above the 1,000-row limit.
		_, err := run("SELECT x FROM generate_series(1, 200000) x")
		pe := wantViolation(t, err, "54000", "max_rows_per_query")
		if !strings.Contains(strings.ToLower(pe.Hint), "keyset") && !strings.Contains(strings.ToLower(pe.Hint), "paginat") {
			t.Errorf("hint %q does not suggest keyset pagination", pe.Hint)
		}
		_, err = run("SELECT repeat('x', 100000) FROM generate_series(1, 20)")
		pe = wantViolation(t, err, "54000", "max_result_bytes")
		if !strings.Contains(strings.ToLower(pe.Hint), "column") {
			t.Errorf("hint %q does not suggest selecting fewer columns", pe.Hint)
		}
		// The session and the (only) backend are fine afterwards.
		if n, err := run("SELECT 1"); err != nil || n != 1 {
			t.Fatalf("%s: after the violations: %d, %v", proto, n, err)
		}
	}
}

func TestAnOverLimitResultInsideATransactionFailsTheTransaction(t *testing.T) {
	p, db, _ := policyProxy(t, smallLimits(policy.ModeEnforce), 1)
	conn := connect(t, p, db)
	ctx := context.Background()
	mustExec(t, conn, "CREATE TABLE t(x int)")
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	rows, _ := tx.Query(ctx, "SELECT x FROM generate_series(1, 5000) x")
	for rows.Next() {
	}
	wantViolation(t, rows.Err(), "54000", "max_rows_per_query")
	if conn.PgConn().TxStatus() != 'E' {
		t.Fatalf("transaction status after the violation = %c, want E", conn.PgConn().TxStatus())
	}
	// COMMIT of the failed transaction rolls back, as in PostgreSQL.
	tag, err := conn.PgConn().Exec(ctx, "COMMIT").ReadAll()
	if err != nil || tag[0].CommandTag.String() != "ROLLBACK" {
		t.Fatalf("COMMIT after the violation: %v %v", tag, err)
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows after the rolled back transaction: %d, %v", n, err)
	}
}

func TestWriteLimitLeavesTheDatabaseAsItWas(t *testing.T) {
	p, db, _ := policyProxy(t, smallLimits(policy.ModeEnforce), 1)
	conn := connect(t, p, db)
	ctx := context.Background()
	mustExec(t, conn, "CREATE TABLE items(id int primary key, v int)")
	mustExec(t, conn, "INSERT INTO items SELECT g, 0 FROM generate_series(1, 1000) g")
	mustExec(t, conn, "INSERT INTO items SELECT g, 0 FROM generate_series(1001, 1500) g")
	count := func() (n, sum int) {
		if err := conn.QueryRow(ctx, "SELECT count(*), coalesce(sum(v), 0) FROM items").Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		return
	}
	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"simple UPDATE of 1500 rows", func() error { _, err := conn.PgConn().Exec(ctx, "UPDATE items SET v = v + 1").ReadAll(); return err }},
		{"extended UPDATE of 1500 rows", func() error { _, err := conn.Exec(ctx, "UPDATE items SET v = v + $1", 1); return err }},
		{"INSERT … SELECT of 1001 rows", func() error {
			_, err := conn.Exec(ctx, "INSERT INTO items SELECT g, 1 FROM generate_series(2001, 3001) g")
			return err
		}},
		{"DELETE of 1500 rows", func() error { _, err := conn.PgConn().Exec(ctx, "DELETE FROM items").ReadAll(); return err }},
		{"COPY FROM of 1001 rows", func() error {
			var b strings.Builder
			for i := 5001; i <= 6001; i++ {
				fmt.Fprintf(&b, "%d\t7\n", i)
			}
			_, err := conn.PgConn().CopyFrom(ctx, strings.NewReader(b.String()), "COPY items FROM STDIN")
			return err
		}},
	} {
		err := tc.run()
		wantViolation(t, err, "54000", "max_rows_per_write")
		if n, sum := count(); n != 1500 || sum != 0 {
			t.Fatalf("%s: table changed: %d rows, sum %d", tc.name, n, sum)
		}
	}
	// At the limit it works, in autocommit and in a transaction.
	if _, err := conn.Exec(ctx, "UPDATE items SET v = 1 WHERE id <= $1", 1000); err != nil {
		t.Fatal(err)
	}
	if n, sum := count(); n != 1500 || sum != 1000 {
		t.Fatalf("1000-row UPDATE: %d rows, sum %d", n, sum)
	}
	// Inside a transaction the statement fails and so does the transaction.
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(ctx, "UPDATE items SET v = 5")
	wantViolation(t, err, "54000", "max_rows_per_write")
	if err := tx.Commit(ctx); err == nil {
		t.Fatal("commit of the failed transaction succeeded")
	}
	if n, sum := count(); n != 1500 || sum != 1000 {
		t.Fatalf("after the failed transaction: %d rows, sum %d", n, sum)
	}
}

func TestTransactionTimeoutRollsBackAndFreesTheBackend(t *testing.T) {
	p, db, _ := policyProxy(t, smallLimits(policy.ModeEnforce), 1)
	ctx := context.Background()
	for _, scenario := range []string{"idle in transaction", "statement running"} {
		conn := connect(t, p, db)
		other := connect(t, p, db)
		mustExec(t, conn, "CREATE TABLE IF NOT EXISTS tt(x int)")
		mustExec(t, conn, "BEGIN")
		mustExec(t, conn, "INSERT INTO tt VALUES (1)")
		var err error
		if scenario == "idle in transaction" {
			time.Sleep(2500 * time.Millisecond)
			// The only backend went back to the pool: another client
			// works while this one has not yet noticed.
			if _, err := other.Exec(ctx, "SELECT 1"); err != nil {
				t.Fatalf("%s: other client: %v", scenario, err)
			}
			_, err = conn.Exec(ctx, "SELECT 1")
		} else {
			_, err = conn.Exec(ctx, "SELECT pg_sleep(30)")
		}
		wantViolation(t, err, "25P04", "transaction_timeout")
		_, err = conn.Exec(ctx, "SELECT 2")
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "25P02" {
			t.Fatalf("%s: statement in the failed transaction: %v", scenario, err)
		}
		mustExec(t, conn, "ROLLBACK")
		if _, err := other.Exec(ctx, "SELECT 1"); err != nil {
			t.Fatalf("%s: other client after: %v", scenario, err)
		}
		var n int
		if err := conn.QueryRow(ctx, "SELECT 40 + 2").Scan(&n); err != nil || n != 42 {
			t.Fatalf("%s: connection after ROLLBACK: %d, %v", scenario, n, err)
		}
	}
}

func TestStatementTimeoutCancelsAutocommitStatements(t *testing.T) {
	p, db, _ := policyProxy(t, smallLimits(policy.ModeEnforce), 1)
	conn := connect(t, p, db)
	ctx := context.Background()
	_, err := conn.Exec(ctx, "SELECT pg_sleep(30)")
	wantViolation(t, err, "57014", "statement_timeout")
	mustExec(t, conn, "SELECT pg_sleep(0.1)")
}

func TestWarnModeLetsEverythingThroughAndCountsIt(t *testing.T) {
	p, db, eng := policyProxy(t, smallLimits(policy.ModeWarn), 1)
	conn := connect(t, p, db)
	ctx := context.Background()
	rows, err := conn.Query(ctx, "SELECT x FROM generate_series(1, 5000) x")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	if rows.Err() != nil || n != 5000 {
		t.Fatalf("warn mode: %d rows, %v", n, rows.Err())
	}
	mustExec(t, conn, "CREATE TABLE w(x int)")
	mustExec(t, conn, "INSERT INTO w SELECT generate_series(1, 2000)")
	var total uint64
	for _, s := range eng.Stats().Series {
		if s.Mode == policy.ModeWarn {
			total += s.Count
		}
	}
	if total < 2 {
		t.Fatalf("warn mode counted %d violations, want the row and write ones", total)
	}
}

func TestOffModeAndPerUserOverrideAndReload(t *testing.T) {
	c := pgtest.Shared(t)
	pgtest.CreateRole(t, c, "etl", "etl-pw", "")
	cfg := smallLimits(policy.ModeEnforce)
	cfg.Overrides = []policy.Override{{User: "etl", Settings: policy.Settings{MaxRowsPerQuery: ptr(int64(0)), MaxResultBytes: ptr(int64(0)),
		StatementTimeout: ptr(time.Duration(0))}}}
	p, db, eng := policyProxy(t, cfg, 2)
	pgtest.Exec(t, c, db, "GRANT ALL ON SCHEMA public TO etl")
	ctx := context.Background()
	etl, err := pgx.Connect(ctx, p.URL("etl", "", db))
	if err != nil {
		t.Fatal(err)
	}
	defer etl.Close(ctx)
	var n int64
	if err := etl.QueryRow(ctx, "SELECT count(*) FROM (SELECT 1 FROM generate_series(1, 1000000)) s").Scan(&n); err != nil {
		t.Fatal(err)
	}
	// A million rows, a thousand times the limit: the ETL role has no
	// row, byte or statement-time limit.
	rows, err := etl.Query(ctx, "SELECT x FROM generate_series(1, 1000000) x")
	if err != nil {
		t.Fatal(err)
	}
	n = 0
	for rows.Next() {
		n++
	}
	if rows.Err() != nil || n != 1_000_000 {
		t.Fatalf("ETL role read %d rows: %v", n, rows.Err())
	}
	app := connect(t, p, db)
	_, err = app.Exec(ctx, "SELECT generate_series(1, 2000)")
	wantViolation(t, err, "54000", "max_rows_per_query")
	// A reload that lowers the limit applies to the next statement.
	lower := smallLimits(policy.ModeEnforce)
	lower.MaxRowsPerQuery = ptr(int64(10))
	if err := eng.Reload(lower); err != nil {
		t.Fatal(err)
	}
	_, err = app.Exec(ctx, "SELECT generate_series(1, 11)")
	wantViolation(t, err, "54000", "max_rows_per_query")
	off := smallLimits(policy.ModeOff)
	if err := eng.Reload(off); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Exec(ctx, "SELECT generate_series(1, 5000)"); err != nil {
		t.Fatalf("off mode: %v", err)
	}
}

func TestDefaultLimitsOfRowsAndBytes(t *testing.T) {
	p, db, _ := policyProxy(t, policy.Config{}, 1)
	conn := connect(t, p, db)
	ctx := context.Background()
	rows, _ := conn.Query(ctx, "SELECT x FROM generate_series(1, 100001) x")
	n := 0
	for rows.Next() {
		n++
	}
	wantViolation(t, rows.Err(), "54000", "max_rows_per_query")
	if n != 100000 {
		t.Errorf("rows before the error: %d, want 100000", n)
	}
	rows, _ = conn.Query(ctx, "SELECT repeat('x', 1048576) FROM generate_series(1, 65)")
	for rows.Next() {
	}
	wantViolation(t, rows.Err(), "54000", "max_result_bytes")
	mustExec(t, conn, "SELECT 1")
}

func TestCopyToCountsRowsAndBytesReturned(t *testing.T) {
	p, db, _ := policyProxy(t, smallLimits(policy.ModeEnforce), 1)
	conn := connect(t, p, db)
	ctx := context.Background()
	var buf bytes.Buffer
	if _, err := conn.PgConn().CopyTo(ctx, &buf, "COPY (SELECT x FROM generate_series(1, 1000) x) TO STDOUT"); err != nil {
		t.Fatalf("1000 rows at the limit: %v", err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 1000 {
		t.Fatalf("copied %d rows, want 1000", n)
	}
	buf.Reset()
	_, err := conn.PgConn().CopyTo(ctx, &buf, "COPY (SELECT x FROM generate_series(1, 200000) x) TO STDOUT (FORMAT csv)")
	wantViolation(t, err, "54000", "max_rows_per_query")
	if n := strings.Count(buf.String(), "\n"); n > 1000 {
		t.Errorf("the client received %d rows past the limit", n)
	}
	buf.Reset()
	_, err = conn.PgConn().CopyTo(ctx, &buf, "COPY (SELECT repeat('x', 100000) FROM generate_series(1, 20)) TO STDOUT")
	wantViolation(t, err, "54000", "max_result_bytes")
	// The session and its only backend are fine afterwards.
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("after the violations: %d, %v", one, err)
	}
	// psql, a real COPY client, sees the error and carries on.
	res := runPsql(t, t.TempDir(), p.Keyword("postgres", db), nil, "-v", "ON_ERROR_STOP=0",
		"-c", `\copy (SELECT x FROM generate_series(1, 5000) x) to '/dev/null'`, "-c", "SELECT 42")
	if !strings.Contains(res.stderr, "max_rows_per_query") || strings.TrimSpace(res.stdout) != "42" {
		t.Errorf("psql: exit %d\nstdout:\n%s\nstderr:\n%s", res.exit, res.stdout, res.stderr)
	}
}

// TestWritesBoundedByAUniqueKeyAreNotWrapped checks that an autocommit
// write pgwarp can bound within max_rows_per_write before it runs (UPDATE
// by primary key, a short INSERT … VALUES) goes upstream as it is, while
// other writes are still wrapped (SHOW STATS counts them) and undone past
// the limit.
func TestWritesBoundedByAUniqueKeyAreNotWrapped(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	pgtest.Exec(t, c, db, `CREATE TABLE w (id int PRIMARY KEY, v text); INSERT INTO w SELECT g, '' FROM generate_series(1, 3000) g`)
	eng, err := policy.New(smallLimits(policy.ModeEnforce))
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cache.New(cache.Config{})
	if err != nil {
		t.Fatal(err)
	}
	p := proxytest.Start(t, c, proxytest.Options{Mode: proxy.PoolTransaction, MaxSize: 2, Configure: func(pc *proxy.Config) {
		pc.Policy, pc.Cache = eng, cc
		pc.AdminUsers = []string{"ops"}
		pc.Auth.Users = map[string]*proxy.User{"ops": mustUser(t, "ops", "ops-pw", "")}
	}})
	admin := adminConn(t, p)
	conn := connect(t, p, db)
	ctx := context.Background()
	wrappedSoFar := func() int {
		t.Helper()
		for _, r := range adminRows(t, admin, "SHOW STATS") {
			if r["database"] == db {
				n, _ := strconv.Atoi(r["wrapped_writes"])
				return n
			}
		}
		t.Fatal("SHOW STATS has no row for the database")
		return 0
	}
	wrapped := func(mode pgx.QueryExecMode, sql string, args ...any) bool {
		t.Helper()
		before := wrappedSoFar()
		if _, err := conn.Exec(ctx, sql, append([]any{mode}, args...)...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return wrappedSoFar() > before
	}
	// The catalog loads in the background on first use; until then every
	// write is wrapped.
	for deadline := time.Now().Add(10 * time.Second); wrapped(pgx.QueryExecModeSimpleProtocol, "UPDATE w SET v = 'a' WHERE id = 1"); {
		if time.Now().After(deadline) {
			t.Fatal("an UPDATE by primary key is still wrapped after the catalog had 10s to load")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement, pgx.QueryExecModeExec} {
		if wrapped(mode, "UPDATE w SET v = 'b' WHERE id = $1", int32(2)) {
			t.Errorf("mode %v: UPDATE by primary key was wrapped", mode)
		}
		if wrapped(mode, "INSERT INTO w VALUES ($1, 'new'), ($2, 'new') ON CONFLICT (id) DO UPDATE SET v = 'c'", int32(5000), int32(5001)) {
			t.Errorf("mode %v: a two-row INSERT was wrapped", mode)
		}
		if !wrapped(mode, "UPDATE w SET v = 'd' WHERE id < $1", int32(3)) {
			t.Errorf("mode %v: UPDATE by a range was not wrapped", mode)
		}
		if !wrapped(mode, "UPDATE w SET v = 'e' WHERE id = $1 OR id = 7", int32(6)) {
			t.Errorf("mode %v: UPDATE with OR was not wrapped", mode)
		}
	}
	// The limit still holds for what is wrapped.
	_, err = conn.Exec(ctx, "UPDATE w SET v = 'big' WHERE id <= 2000")
	wantViolation(t, err, "54000", "max_rows_per_write")
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM w WHERE v = 'big'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d rows were left changed (%v)", n, err)
	}
}

// Fast-path FunctionCall messages (what libpq's large-object functions
// send) are bounded by max_result_bytes and the statement timeout too.
func TestFunctionCallsAreBoundedByResultSizeAndStatementTimeout(t *testing.T) {
	p, db, _ := policyProxy(t, smallLimits(policy.ModeEnforce), 1)
	ctx := context.Background()
	conn := connect(t, p, db)
	var repeatOID, sleepOID uint32
	if err := conn.QueryRow(ctx, "SELECT 'repeat(text,integer)'::regprocedure::oid, 'pg_sleep(double precision)'::regprocedure::oid").Scan(&repeatOID, &sleepOID); err != nil {
		t.Fatal(err)
	}
	r := dialRaw(t, p)
	r.startup(db, 3, 0)
	call := func(oid uint32, args ...string) {
		fc := &pgproto3.FunctionCall{Function: oid, ArgFormatCodes: []uint16{0}, ResultFormatCode: 0}
		for _, a := range args {
			fc.Arguments = append(fc.Arguments, []byte(a))
		}
		b, err := fc.Encode(nil)
		if err != nil {
			t.Fatal(err)
		}
		r.write(b)
	}
	ready := func() byte {
		t.Helper()
		for {
			if rfq, ok := r.receive().(*pgproto3.ReadyForQuery); ok {
				return rfq.TxStatus
			}
		}
	}
	// Within the limit: the result arrives.
	call(repeatOID, "x", "10")
	if res, ok := r.receive().(*pgproto3.FunctionCallResponse); !ok || string(res.Result) != "xxxxxxxxxx" {
		t.Fatalf("FunctionCall repeat('x', 10): %#v", res)
	}
	if st := ready(); st != 'I' {
		t.Fatalf("status %c after a call", st)
	}
	// Over max_result_bytes (1 MiB): the violation instead of the result.
	call(repeatOID, "x", "2000000")
	e := r.expectError("ERROR", "54000")
	if !strings.Contains(e.Message, "max_result_bytes") {
		t.Errorf("message %q does not name max_result_bytes", e.Message)
	}
	if st := ready(); st != 'I' {
		t.Fatalf("status %c after the violation", st)
	}
	// Over the statement timeout (1s): cancelled, with pgwarp's reason.
	start := time.Now()
	call(sleepOID, "30")
	e = r.expectError("ERROR", "57014")
	if !strings.Contains(e.Message, "statement_timeout") {
		t.Errorf("message %q does not name statement_timeout", e.Message)
	}
	if st := ready(); st != 'I' {
		t.Fatalf("status %c after the timeout", st)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("the call ran %v despite the 1s timeout", d)
	}
	// The session and the pool's only backend carry on.
	q, err := (&pgproto3.Query{String: "SELECT 1"}).Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	r.write(q)
	if _, ok := r.receive().(*pgproto3.RowDescription); !ok {
		t.Fatal("no RowDescription after the violations")
	}
	if st := ready(); st != 'I' {
		t.Fatalf("status %c", st)
	}
}

// A 10M-row result cut at the default limits streams through pgwarp:
// its live heap does not grow with what it relays (64 MiB before the
// result-size cut), and the session carries on.
func TestATenMillionRowResultCutAtTheLimitKeepsMemoryFlat(t *testing.T) {
	p, db, _ := policyProxy(t, policy.Config{}, 1)
	conn := connect(t, p, db)
	ctx := context.Background()
	growth := sampleHeap(50 * time.Millisecond)
	// generate_series in the target list streams (a FROM-clause one is
	// materialised first); 10M rows of 1 kB, cut by max_result_bytes
	// (64 MiB) after about 65,000 of them.
	rows, _ := conn.Query(ctx, "SELECT generate_series(1, 10000000), repeat('w', 1000)")
	n := 0
	for rows.Next() {
		n++
	}
	wantViolation(t, rows.Err(), "54000", "max_result_bytes")
	// And a narrow one cut by max_rows_per_query at 100,000 rows.
	rows, _ = conn.Query(ctx, "SELECT generate_series(1, 10000000)")
	m := 0
	for rows.Next() {
		m++
	}
	wantViolation(t, rows.Err(), "54000", "max_rows_per_query")
	grew := growth()
	if n < 60_000 || m != 100_000 {
		t.Fatalf("rows before the cuts: %d wide, %d narrow", n, m)
	}
	if grew > 24<<20 {
		t.Fatalf("heap grew by %d MiB while relaying a 64 MiB result", grew>>20)
	}
	mustExec(t, conn, "SELECT 1")
}
