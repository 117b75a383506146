package proxy_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/proxy"
	"github.com/pgwarp/pgwarp/proxy/proxytest"
)

// sharedBackend starts pgwarp in transaction mode with one backend, so
// every client's transactions run on the same upstream connection.
func sharedBackend(t *testing.T, size int) (*proxytest.Proxy, string) {
	t.Helper()
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	return proxytest.Start(t, c, proxytest.Options{Mode: proxy.PoolTransaction, MaxSize: size}), db
}

func setting(t *testing.T, conn *pgx.Conn, name string) string {
	t.Helper()
	var v string
	if err := conn.QueryRow(context.Background(), "SELECT current_setting($1)", name).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func mustExec(t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestOneClientsSettingsNeverReachAnother(t *testing.T) {
	p, db := sharedBackend(t, 1)
	a := connect(t, p, db, "application_name", "client-a")
	b := connect(t, p, db, "application_name", "client-b")
	mustExec(t, a, "SET search_path = a_schema, public")
	mustExec(t, a, "SET TimeZone = 'Asia/Tokyo'")
	mustExec(t, a, "SELECT set_config('statement_timeout', '4321', false)")
	mustExec(t, a, "SET application_name = 'renamed-a'")
	for range 3 { // interleave: the one backend goes back and forth
		if got := setting(t, b, "search_path"); got != `"$user", public` {
			t.Fatalf("B sees search_path %q", got)
		}
		if got := setting(t, b, "TimeZone"); got == "Asia/Tokyo" {
			t.Fatal("B sees A's TimeZone")
		}
		if got := setting(t, b, "statement_timeout"); got != "0" {
			t.Fatalf("B sees statement_timeout %q", got)
		}
		if got := setting(t, b, "application_name"); got != "client-b" {
			t.Fatalf("B sees application_name %q", got)
		}
		if got := setting(t, a, "search_path"); got != "a_schema, public" {
			t.Fatalf("A lost its search_path: %q", got)
		}
		if got := setting(t, a, "TimeZone"); got != "Asia/Tokyo" {
			t.Fatalf("A lost its TimeZone: %q", got)
		}
		if got := setting(t, a, "statement_timeout"); got != "4321ms" {
			t.Fatalf("A lost its statement_timeout: %q", got)
		}
		if got := setting(t, a, "application_name"); got != "renamed-a" {
			t.Fatalf("A lost its application_name: %q", got)
		}
	}
	if got := a.PgConn().ParameterStatus("TimeZone"); got != "Asia/Tokyo" {
		t.Errorf("A's ParameterStatus TimeZone = %q", got)
	}
}

func TestSettingsFollowTheTransactionOutcome(t *testing.T) {
	p, db := sharedBackend(t, 2)
	a := connect(t, p, db)
	other := connect(t, p, db)
	ctx := context.Background()
	mustExec(t, a, "BEGIN; SET work_mem = '7MB'; ROLLBACK")
	mustExec(t, a, "BEGIN; SET LOCAL work_mem = '9MB'; COMMIT")
	if got := setting(t, a, "work_mem"); got != "4MB" {
		t.Fatalf("after a rolled back SET and a SET LOCAL, work_mem = %q", got)
	}
	tx, err := a.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SET work_mem = '11MB'"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	mustExec(t, other, "SELECT 1") // take the other backend so A moves around
	if got := setting(t, a, "work_mem"); got != "11MB" {
		t.Fatalf("after a committed SET, work_mem = %q", got)
	}
	mustExec(t, a, "RESET work_mem")
	if got := setting(t, a, "work_mem"); got != "4MB" {
		t.Fatalf("after RESET, work_mem = %q", got)
	}
}

// A transaction that changed settings and failed, then rolled back,
// undid them all: the client is not pinned to its backend for it.
func TestAFailedTransactionThatChangedSettingsDoesNotPin(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	p := proxytest.Start(t, c, proxytest.Options{Mode: proxy.PoolTransaction, MaxSize: 1, Configure: func(pc *proxy.Config) {
		pc.Databases["*"].AcquireTimeout = 3 * time.Second
	}})
	a, b := connect(t, p, db), connect(t, p, db)
	for _, rollback := range []string{"ROLLBACK", "COMMIT"} { // COMMIT of a failed block rolls back
		mustExec(t, a, "BEGIN")
		mustExec(t, a, "SET work_mem = '7MB'")
		if _, err := a.Exec(context.Background(), "SELECT 1/0"); err == nil {
			t.Fatal("SELECT 1/0 succeeded")
		}
		mustExec(t, a, rollback)
		// B gets the only backend: A no longer holds it.
		mustExec(t, b, "SELECT 1")
		if got := setting(t, a, "work_mem"); got != "4MB" {
			t.Fatalf("after %s of a failed transaction, work_mem = %q", rollback, got)
		}
	}
}

func TestResetReturnsToTheStartupValue(t *testing.T) {
	p, db := sharedBackend(t, 1)
	a := connect(t, p, db, "options", "-c work_mem=6MB")
	b := connect(t, p, db)
	mustExec(t, a, "SET work_mem = '12MB'")
	mustExec(t, b, "SELECT 1")
	mustExec(t, a, "RESET work_mem")
	mustExec(t, b, "SELECT 1")
	if got := setting(t, a, "work_mem"); got != "6MB" {
		t.Fatalf("after RESET, work_mem = %q, want the startup 6MB", got)
	}
	mustExec(t, a, "RESET ALL")
	mustExec(t, b, "SELECT 1")
	if got := setting(t, a, "work_mem"); got != "6MB" {
		t.Fatalf("after RESET ALL, work_mem = %q, want the startup 6MB", got)
	}
	if got := setting(t, b, "work_mem"); got != "4MB" {
		t.Fatalf("B sees work_mem %q", got)
	}
}

func TestTemporaryTablesPinAndStayPrivate(t *testing.T) {
	p, db := sharedBackend(t, 2)
	a := connect(t, p, db)
	b := connect(t, p, db)
	mustExec(t, a, "CREATE TEMP TABLE scratch(x int)")
	mustExec(t, a, "INSERT INTO scratch VALUES (1), (2)")
	for range 3 {
		var n int
		if err := a.QueryRow(context.Background(), "SELECT count(*) FROM scratch").Scan(&n); err != nil || n != 2 {
			t.Fatalf("creator lost its temp table: %d, %v", n, err)
		}
		_, err := b.Exec(context.Background(), "SELECT count(*) FROM scratch")
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42P01" {
			t.Fatalf("another client sees the temp table: %v", err)
		}
	}
}

func TestListenWorksInTransactionModeByPinning(t *testing.T) {
	p, db := sharedBackend(t, 2)
	listener := connect(t, p, db)
	sender := connect(t, p, db)
	ctx := context.Background()
	mustExec(t, listener, "LISTEN jobs")
	for i := range 3 {
		mustExec(t, sender, "SELECT pg_notify('jobs', $1)", strings.Repeat("x", i+1))
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		n, err := listener.WaitForNotification(wctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if n.Payload != strings.Repeat("x", i+1) {
			t.Fatalf("payload %q", n.Payload)
		}
	}
	mustExec(t, listener, "UNLISTEN *")
}

func TestAdvisoryLocksPinUntilReleased(t *testing.T) {
	p, db := sharedBackend(t, 2)
	a := connect(t, p, db)
	b := connect(t, p, db)
	ctx := context.Background()
	mustExec(t, a, "SELECT pg_advisory_lock(42)")
	var got bool
	for range 3 {
		if err := b.QueryRow(ctx, "SELECT pg_try_advisory_lock(42)").Scan(&got); err != nil || got {
			t.Fatalf("B took A's lock: %v, %v", got, err)
		}
		// A keeps its lock across statements (it is pinned to its backend).
		if err := a.QueryRow(ctx, "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND objid = 42 AND pid = pg_backend_pid()").Scan(&got); err != nil || !got {
			t.Fatalf("A's statements run on a backend without its lock: %v, %v", got, err)
		}
	}
	mustExec(t, a, "SELECT pg_advisory_unlock(42)")
	if err := b.QueryRow(ctx, "SELECT pg_try_advisory_lock(42)").Scan(&got); err != nil || !got {
		t.Fatalf("after unlock B cannot lock: %v, %v", got, err)
	}
	mustExec(t, b, "SELECT pg_advisory_unlock_all()")
}

func TestSQLPrepareExecuteDeallocate(t *testing.T) {
	p, db := sharedBackend(t, 2)
	a := connect(t, p, db)
	b := connect(t, p, db)
	ctx := context.Background()
	mustExec(t, a, "PREPARE twice(int) AS SELECT $1 * 2")
	for i := range 3 {
		mustExec(t, b, "SELECT 1")
		var n int
		if err := a.QueryRow(ctx, "EXECUTE twice("+string(rune('1'+i))+")", pgx.QueryExecModeSimpleProtocol).Scan(&n); err != nil || n != 2*(i+1) {
			t.Fatalf("EXECUTE: %d, %v", n, err)
		}
	}
	mustExec(t, a, "DEALLOCATE twice")
	_, err := a.Exec(ctx, "EXECUTE twice(1)", pgx.QueryExecModeSimpleProtocol)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "26000" {
		t.Fatalf("after DEALLOCATE: %v", err)
	}
}

func TestSamePreparedNameDifferentSQLPerClient(t *testing.T) {
	p, db := sharedBackend(t, 1)
	ctx := context.Background()
	a, err := pgconn.Connect(ctx, p.URL("postgres", "", db))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	b, err := pgconn.Connect(ctx, p.URL("postgres", "", db))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	if _, err := a.Prepare(ctx, "q", "SELECT 'from a'::text", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Prepare(ctx, "q", "SELECT 'from b'::text || $1::text", nil); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		ra := a.ExecPrepared(ctx, "q", nil, nil, nil).Read()
		rb := b.ExecPrepared(ctx, "q", [][]byte{[]byte("!")}, nil, nil).Read()
		if ra.Err != nil || rb.Err != nil {
			t.Fatal(ra.Err, rb.Err)
		}
		if string(ra.Rows[0][0]) != "from a" || string(rb.Rows[0][0]) != "from b!" {
			t.Fatalf("got %q and %q", ra.Rows[0][0], rb.Rows[0][0])
		}
	}
	// Closing and re-preparing under the same name works; a duplicate
	// Parse is PostgreSQL's 42P05.
	if err := a.Deallocate(ctx, "q"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Prepare(ctx, "q", "SELECT 2", nil); err != nil {
		t.Fatal(err)
	}
	_, err = a.Prepare(ctx, "q", "SELECT 3", nil)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42P05" {
		t.Fatalf("duplicate prepare: %v", err)
	}
}

func TestDescribeExecRunsTheSameStatementOnAnotherBackend(t *testing.T) {
	p, db := sharedBackend(t, 3)
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(p.URL("postgres", "", db))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeDescribeExec
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	others := []*pgx.Conn{connect(t, p, db), connect(t, p, db)}
	for i := range 20 {
		// Occupy backends so the describe and the execute land apart.
		tx, err := others[i%2].Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		err = conn.QueryRow(ctx, "SELECT $1::int8 + $2::int4, pg_typeof($1)::text", int64(i), int32(1)).Scan(new(int64), &got)
		_ = tx.Rollback(ctx)
		if err != nil || got != "bigint" {
			t.Fatalf("iteration %d: %q, %v", i, got, err)
		}
	}
}

func TestSchemaChangeInvalidatesRenamedStatementsEverywhere(t *testing.T) {
	p, db := sharedBackend(t, 2)
	ctx := context.Background()
	conns := []*pgx.Conn{connect(t, p, db), connect(t, p, db), connect(t, p, db)}
	mustExec(t, conns[0], "CREATE TABLE widgets(id int primary key, name text)")
	mustExec(t, conns[0], "INSERT INTO widgets VALUES (1, 'one')")
	read := func(c *pgx.Conn) (int, error) {
		rows, err := c.Query(ctx, "SELECT * FROM widgets WHERE id = $1", 1)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			n = len(rows.RawValues())
		}
		return n, rows.Err()
	}
	for _, c := range conns {
		if n, err := read(c); err != nil || n != 2 {
			t.Fatalf("before: %d columns, %v", n, err)
		}
	}
	mustExec(t, conns[0], "ALTER TABLE widgets ADD COLUMN price numeric DEFAULT 9.5")
	for i, c := range conns {
		errs := 0
		for attempt := 0; attempt < 3; attempt++ {
			n, err := read(c)
			if err != nil {
				var pe *pgconn.PgError
				if !errors.As(err, &pe) || pe.Code != "0A000" {
					t.Fatalf("client %d: unexpected error %v", i, err)
				}
				errs++
				continue
			}
			if n != 3 {
				t.Fatalf("client %d: %d columns after the change, want 3", i, n)
			}
		}
		if errs > 0 {
			t.Fatalf("client %d got %d stale-plan errors; pgwarp must re-prepare and retry", i, errs)
		}
	}
}
