package proxy_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/proxy"
)

// Freshness corners of the cache: writes hidden in functions, DDL inside
// transactions, instances that only read, hints and comments in prepared
// statements, and sessions whose statements pgwarp cannot lex.

func title(t *testing.T, conn *pgx.Conn, id string) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(context.Background(), "SELECT title FROM material_artifact WHERE artifact_identifier = '"+id+"'",
		pgx.QueryExecModeSimpleProtocol).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// A SELECT is read-only to the parser, but the function it calls may
// write: with volatile_functions: database it invalidates the database.
func TestASelectCallingAWritingFunctionInvalidates(t *testing.T) {
	db := dashboardDB(t)
	pgtest.Exec(t, pgtest.Shared(t), db, `CREATE FUNCTION rename_artifact(id text, t text) RETURNS int VOLATILE LANGUAGE sql
		AS $$ UPDATE material_artifact SET title = t WHERE artifact_identifier = id RETURNING 1 $$`)
	p, _ := startCached(t, db, cacheSetup{mode: proxy.PoolTransaction})
	reader, writer := connect(t, p, db), connect(t, p, db)
	const sql = "SELECT title FROM material_artifact WHERE artifact_identifier = 'a2'"
	warm(t, p, reader, sql, pgx.QueryExecModeSimpleProtocol)
	mustExec(t, writer, "SELECT rename_artifact('a2', 'renamed by a function')")
	if got := title(t, reader, "a2"); got != "renamed by a function" {
		t.Fatalf("after a SELECT whose function wrote, the cache served %q", got)
	}
}

// DDL in a transaction block takes effect at COMMIT; the catalog pgwarp
// classifies with must be read after it, or a replaced view keeps its old
// dependencies and writes to its new table never invalidate it.
func TestDDLInATransactionReloadsTheCatalogAfterCommit(t *testing.T) {
	db := dashboardDB(t)
	pgtest.Exec(t, pgtest.Shared(t), db, `CREATE TABLE old_src (v int); CREATE TABLE new_src (v int);
		INSERT INTO old_src VALUES (1); INSERT INTO new_src VALUES (2);
		CREATE VIEW shown AS SELECT v FROM old_src`)
	p, _ := startCached(t, db, cacheSetup{mode: proxy.PoolTransaction})
	reader, ddl := connect(t, p, db), connect(t, p, db)
	// A view created in a transaction: catalog loads while it is open
	// (other clients keep reading) cannot see it; one after COMMIT must.
	mustExec(t, ddl, "BEGIN")
	mustExec(t, ddl, "CREATE VIEW fresh AS SELECT v FROM new_src")
	for end := time.Now().Add(500 * time.Millisecond); time.Now().Before(end); {
		mustExec(t, reader, "SELECT sum(v) FROM new_src", pgx.QueryExecModeSimpleProtocol)
		time.Sleep(10 * time.Millisecond)
	}
	mustExec(t, ddl, "COMMIT")
	warm(t, p, reader, "SELECT sum(v) FROM fresh", pgx.QueryExecModeSimpleProtocol)

	// A replaced view: its old dependencies must not outlive the COMMIT.
	const sql = "SELECT sum(v) FROM shown"
	sum := func() int64 {
		var n int64
		if err := reader.QueryRow(context.Background(), sql, pgx.QueryExecModeSimpleProtocol).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	warm(t, p, reader, sql, pgx.QueryExecModeSimpleProtocol)
	mustExec(t, ddl, "BEGIN")
	mustExec(t, ddl, "CREATE OR REPLACE VIEW shown AS SELECT v FROM new_src")
	mustExec(t, ddl, "COMMIT")
	if got := sum(); got != 2 {
		t.Fatalf("after the view was replaced: sum %d, want 2", got)
	}
	// Once the catalog has caught up the view is cached again, now under
	// its new table.
	warm(t, p, reader, sql, pgx.QueryExecModeSimpleProtocol)
	mustExec(t, ddl, "INSERT INTO new_src VALUES (40)")
	if got := sum(); got != 42 {
		t.Fatalf("after a write to the view's new table the cache served sum %d, want 42", got)
	}
}

// An instance that only reads must still hear the writes of the others.
func TestAnInstanceThatNeverWritesHearsTheOthers(t *testing.T) {
	db := dashboardDB(t)
	channel := "pgwarp_test_" + fmt.Sprint(time.Now().UnixNano()%1e6)
	pa, _ := startCached(t, db, cacheSetup{mode: proxy.PoolTransaction, channel: channel})
	pb, _ := startCached(t, db, cacheSetup{mode: proxy.PoolTransaction, channel: channel})
	wa, rb := connect(t, pa, db), connect(t, pb, db)
	const sql = "SELECT title FROM material_artifact WHERE artifact_identifier = 'a3'"
	warm(t, pb, rb, sql, pgx.QueryExecModeSimpleProtocol)
	// b's listener starts with its first cached read; wait until it has
	// run LISTEN (its first LISTEN drops what b cached before), then cache
	// again.
	c := pgtest.Shared(t)
	admin, err := pgx.Connect(context.Background(), c.SocketURL(c.Superuser(), "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := admin.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = $1 AND application_name = 'pgwarp invalidation' AND query LIKE 'LISTEN%'`, db).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("instance b never listened")
		}
		time.Sleep(20 * time.Millisecond)
	}
	warm(t, pb, rb, sql, pgx.QueryExecModeSimpleProtocol)
	mustExec(t, wa, "UPDATE material_artifact SET title = 'through a' WHERE artifact_identifier = 'a3'")
	deadline = time.Now().Add(5 * time.Second)
	for title(t, rb, "a3") != "through a" {
		if time.Now().After(deadline) {
			t.Fatal("instance b, which never wrote, still serves the old title five seconds after a's write")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Prepared statements get the same key and hints as simple queries:
// comments do not split entries and /* pgwarp:nocache */ is obeyed.
func TestPreparedStatementsHonourHintsAndIgnoreComments(t *testing.T) {
	db := dashboardDB(t)
	p, _ := startCached(t, db, cacheSetup{mode: proxy.PoolTransaction})
	conn := connect(t, p, db)
	ctx := context.Background()
	const base = "SELECT title FROM material_artifact WHERE artifact_identifier = $1"
	warm(t, p, conn, "/* from the list page */ "+base, "a5")
	hits := p.Server.CacheOutcomes()["hit"]
	var s string
	if err := conn.QueryRow(ctx, "/* from the detail page */ "+base, "a5").Scan(&s); err != nil {
		t.Fatal(err)
	}
	if p.Server.CacheOutcomes()["hit"] != hits+1 {
		t.Fatalf("the same statement with another comment missed the cache: %v", p.Server.CacheOutcomes())
	}
	hits = p.Server.CacheOutcomes()["hit"]
	for range 3 {
		if err := conn.QueryRow(ctx, base+" /* pgwarp:nocache */", "a5").Scan(&s); err != nil {
			t.Fatal(err)
		}
	}
	if got := p.Server.CacheOutcomes()["hit"]; got != hits {
		t.Fatalf("a prepared statement marked pgwarp:nocache was served from the cache %d times", got-hits)
	}
}

// After SET standard_conforming_strings = off pgwarp cannot tell where a
// string ends, so nothing the session runs is cached.
func TestSessionsPgwarpCannotLexAreNotCached(t *testing.T) {
	db := dashboardDB(t)
	p, _ := startCached(t, db, cacheSetup{mode: proxy.PoolTransaction})
	conn := connect(t, p, db)
	const sql = "SELECT title FROM material_artifact WHERE artifact_identifier = 'a6'"
	warm(t, p, conn, sql, pgx.QueryExecModeSimpleProtocol)
	mustExec(t, conn, "SET standard_conforming_strings = off")
	// pgx refuses its simple protocol with backslash escapes on; go below it.
	raw := func(sql string) {
		t.Helper()
		if _, err := conn.PgConn().Exec(context.Background(), sql).ReadAll(); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	hits := p.Server.CacheOutcomes()["hit"]
	for range 3 {
		raw(sql)
	}
	if got := p.Server.CacheOutcomes()["hit"]; got != hits {
		t.Fatalf("a session with standard_conforming_strings off was served from the cache %d times", got-hits)
	}
	// Its statements invalidate everything: here a write hidden from
	// pgwarp's lexer behind a backslash-escaped quote.
	other := connect(t, p, db)
	warm(t, p, other, sql, pgx.QueryExecModeSimpleProtocol)
	// pgwarp's lexer reads one SELECT of two strings; the server, with
	// backslash escapes, a SELECT, an UPDATE and another SELECT.
	raw(`SELECT 'a\', '; UPDATE material_artifact SET title = upper(title) WHERE artifact_identifier = concat(chr(97), 6); SELECT '--'`)
	if got := title(t, other, "a6"); got != "ARTIFACT 6" {
		t.Fatalf("after a write pgwarp could not lex, another session was served %q", got)
	}
}
