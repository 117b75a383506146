package query_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgwarp/pgwarp/query"
)

// readOnlyChecker runs the statements the classifier and catalog call
// read-only inside BEGIN READ ONLY on the fixture database, where
// PostgreSQL refuses every write with SQLSTATE 25006.
type readOnlyChecker struct {
	fx   fixture
	conn *pgconn.PgConn
	c    *query.Classifier
	sp   query.SearchPath
	// ran counts the statements run; skipped those pgwarp does not call
	// read-only.
	ran, skipped int
}

func newReadOnlyChecker(t testing.TB, fx fixture) *readOnlyChecker {
	c, err := query.NewClassifier(query.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r := &readOnlyChecker{fx: fx, c: c, sp: query.ParseSearchPath("app, public", "postgres")}
	r.connect(t)
	t.Cleanup(func() {
		if r.conn != nil {
			r.conn.Close(context.Background())
		}
	})
	return r
}

func (r *readOnlyChecker) connect(t testing.TB) {
	t.Helper()
	conn, err := pgconn.Connect(context.Background(), r.fx.url)
	if err != nil {
		t.Fatal(err)
	}
	r.conn = conn
}

// readOnly reports whether pgwarp calls every statement of info read-only.
func (r *readOnlyChecker) readOnly(info *query.Info) bool {
	if info.Err != nil || len(info.Statements) == 0 {
		return false
	}
	for k := range info.Statements {
		st := &info.Statements[k]
		if !r.fx.cat.ReadOnly(st, r.sp) {
			return false
		}
		// COPY TO a server file or program writes outside the
		// database; the check does not run it.
		if st.Kind == query.KindCopyTo {
			return false
		}
	}
	return true
}

// check classifies sql and, when pgwarp calls it read-only, runs it in a
// read-only transaction and fails the test if PostgreSQL refuses it as a
// write.
func (r *readOnlyChecker) check(t testing.TB, sql string) {
	t.Helper()
	if !r.readOnly(r.c.Classify(sql).Info) {
		r.skipped++
		return
	}
	r.ran++
	if code, msg := r.run(t, sql); code == "25006" {
		t.Errorf("pgwarp calls %q read-only, but PostgreSQL refused it in a read-only transaction: %s", sql, msg)
	}
}

// run runs sql in a read-only transaction and returns the SQLSTATE and
// message of its error, if any.
func (r *readOnlyChecker) run(t testing.TB, sql string) (code, message string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	setup := "BEGIN READ ONLY; SET LOCAL statement_timeout = '1s'; SET LOCAL search_path = app, public"
	if _, err := r.conn.Exec(ctx, setup).ReadAll(); err != nil {
		t.Fatalf("%s: %v", setup, err)
	}
	_, err := r.conn.Exec(ctx, sql).ReadAll()
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		code, message = pgErr.Code, pgErr.Message
	}
	if r.conn.IsClosed() {
		r.connect(t)
		return code, message
	}
	if _, err := r.conn.Exec(ctx, "ROLLBACK").ReadAll(); err != nil {
		r.conn.Close(ctx)
		r.connect(t)
	}
	return code, message
}

// readOnlyVariants generates statements around the traps: projections
// that call writing, locking or user functions, relations of every kind,
// and wrappers (WITH, subqueries, EXPLAIN ANALYZE, set operations, row
// locks) around reads and writes.
func readOnlyVariants() []string {
	exprs := []string{
		"*", "count(*)", "app.imm(1)", "app.safe_imm(1)", "app.vol(1)", "app.writer(1)",
		"nextval('app.seq')", "setval('app.seq', 3)", "currval('app.seq')", "set_config('app.x', 'y', false)",
		"pg_advisory_lock(7)", "pg_advisory_xact_lock(7)", "pg_notify('c', 'x')", "txid_current()",
		"lo_create(0)", "now()", "random()", "CURRENT_DATE", "'now'::timestamptz", "1 === 1",
		"(SELECT app.writer(2))", "(SELECT max(id) FROM app.accounts)",
	}
	rels := []string{
		"app.accounts", "app.rich", "app.rich_orders", "app.vol_v", "app.totals", "app.measurements",
		"app.team_docs", "app.secured", "public.items", "app.parent_inh", "pg_class",
	}
	suffixes := []string{"", " LIMIT 1", " FOR UPDATE", " FOR SHARE", " FOR KEY SHARE"}
	var out []string
	for _, e := range exprs {
		out = append(out, "SELECT "+e)
		for _, rel := range rels {
			for _, s := range suffixes {
				out = append(out, fmt.Sprintf("SELECT %s FROM %s%s", e, rel, s))
			}
		}
	}
	writes := []string{
		"INSERT INTO app.audit VALUES (1, 'x') RETURNING *",
		"UPDATE app.accounts SET balance = balance RETURNING *",
		"DELETE FROM app.audit RETURNING *",
		"SELECT * FROM app.accounts FOR UPDATE",
		"SELECT nextval('app.seq')",
		"SELECT app.writer(3)",
		"SELECT * FROM app.accounts",
		"SELECT * FROM app.rich_orders",
		"INSERT INTO app.rich VALUES (5, 500, 'z') RETURNING *",
		"INSERT INTO app.logged VALUES (1) RETURNING *",
	}
	for _, w := range writes {
		out = append(out,
			"WITH x AS ("+w+") SELECT * FROM x",
			"SELECT * FROM ("+w+") s",
			"SELECT 1 WHERE EXISTS ("+w+")",
			"EXPLAIN ANALYZE "+w,
			"EXPLAIN "+w,
			"SELECT 1 UNION ALL SELECT 1 FROM ("+w+") s",
			"SELECT * FROM app.accounts a WHERE a.id IN (SELECT id FROM ("+w+") s)",
			"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r, ("+w+") s",
			w,
			w+"; SELECT 1",
		)
	}
	out = append(out,
		"SELECT * INTO app.copy_t FROM app.accounts",
		"CREATE TABLE app.t2 AS SELECT 1",
		"TABLE app.accounts",
		"VALUES (nextval('app.seq'))",
		"VALUES (1)",
		"SHOW search_path",
		"SELECT * FROM app.accounts TABLESAMPLE SYSTEM (50)",
		"REFRESH MATERIALIZED VIEW app.totals",
		"LOCK app.accounts",
		"TRUNCATE app.audit",
		"NOTIFY c",
		"LISTEN c",
		"SELECT pg_advisory_unlock_all()",
		"SELECT query_to_xml('DELETE FROM app.audit RETURNING 1', true, true, '')",
		"SELECT ts_stat('SELECT to_tsvector(owner) FROM app.accounts')",
	)
	return out
}

func TestReadOnlyStatementsRunInReadOnlyTransactions(t *testing.T) {
	fx := newFixture(t)
	r := newReadOnlyChecker(t, fx)
	corpus := readOnlyVariants()
	for _, c := range eligibilityCases {
		corpus = append(corpus, c.sql)
	}
	for _, c := range effectCases {
		corpus = append(corpus, c.sql)
	}
	// The harness sees PostgreSQL refuse a write.
	if code, _ := r.run(t, "INSERT INTO app.audit VALUES (1, 'x')"); code != "25006" {
		t.Fatalf("an INSERT in a read-only transaction failed with %q, want 25006", code)
	}
	for _, sql := range corpus {
		r.check(t, sql)
	}
	// The check is not vacuous: both reads and writes are in the corpus.
	if r.ran < 200 || r.skipped < 500 {
		t.Errorf("ran %d statements called read-only and skipped %d, want at least 200 and 500", r.ran, r.skipped)
	}
	t.Logf("ran %d read-only statements in READ ONLY transactions; %d others not called read-only", r.ran, r.skipped)
}

// FuzzReadOnly runs fuzzed statements that pgwarp calls read-only inside a
// read-only transaction on a real PostgreSQL: PostgreSQL must never refuse
// one as a write.
func FuzzReadOnly(f *testing.F) {
	// A sample of the generated variants keeps the baseline short; the
	// test above runs them all.
	for i, sql := range readOnlyVariants() {
		if i%10 == 0 {
			f.Add(sql)
		}
	}
	for _, c := range eligibilityCases {
		f.Add(c.sql)
	}
	fx := newFixture(f)
	r := newReadOnlyChecker(f, fx)
	f.Fuzz(func(t *testing.T, sql string) {
		r.check(t, sql)
	})
}

// TestClassificationNeedsStandardConformingStrings shows why
// LexerCompatible exists: with standard_conforming_strings off, a string
// pgwarp reads as one harmless SELECT runs DDL, and the value PostgreSQL
// reports for the setting makes LexerCompatible false.
func TestClassificationNeedsStandardConformingStrings(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	conn, err := pgconn.Connect(ctx, fx.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	sql := `SELECT '\', ' ; CREATE TABLE smuggled (a int) ; SELECT 1 --'`
	c, _ := query.NewClassifier(query.Config{})
	if info := c.Classify(sql).Info; !info.ReadOnly() || len(info.Statements) != 1 {
		t.Fatalf("pgwarp should read %q as one read-only SELECT: %s", sql, summarizeInfo(info))
	}
	for _, tt := range []struct {
		setting    string
		compatible bool
		smuggled   string
	}{
		{"on", true, "0"},
		{"off", false, "1"},
	} {
		if _, err := conn.Exec(ctx, "SET standard_conforming_strings = "+tt.setting).ReadAll(); err != nil {
			t.Fatal(err)
		}
		reported := conn.ParameterStatus("standard_conforming_strings")
		if got := query.LexerCompatible(reported, conn.ParameterStatus("client_encoding")); got != tt.compatible {
			t.Errorf("LexerCompatible(%q, …) = %v, want %v", reported, got, tt.compatible)
		}
		if _, err := conn.Exec(ctx, sql).ReadAll(); err != nil {
			t.Fatal(err)
		}
		res, err := conn.Exec(ctx, "SELECT count(*) FROM pg_class WHERE relname = 'smuggled'").ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if got := string(res[0].Rows[0][0]); got != tt.smuggled {
			t.Errorf("standard_conforming_strings = %s: smuggled tables = %s, want %s", tt.setting, got, tt.smuggled)
		}
	}
}
