package migrations_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgwarp/pgwarp/internal/pgcluster"
	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/migrations"
	"github.com/pgwarp/pgwarp/migrations/lint"
)

// userObjects lists the tables, indexes and functions of the public schema
// other than the runner's bookkeeping tables.
const userObjects = `
SELECT coalesce(string_agg(name, ',' ORDER BY name), '') FROM (
  SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i', 'p', 'S', 'v', 'm')
     AND c.relname NOT LIKE 'schema_migrations%' AND c.relname NOT LIKE 'pgwarp_migration_checksums%'
  UNION ALL
  SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public') o`

func TestBundledMigrationsApplyRollBackAndApplyAgain(t *testing.T) {
	db := newTestDB(t)
	ctx := testCtx(t)
	r := newRunner(t, migrations.Config{URL: db.url})
	total := len(r.Migrations())

	res, err := r.Up(ctx)
	if err != nil {
		t.Fatalf("first up: %v", err)
	}
	if len(res.Applied) != total || len(res.Findings) != 0 {
		t.Fatalf("first up applied %d of %d, findings %v", len(res.Applied), total, res.Findings)
	}
	first, err := r.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn := db.connect(t)
	if got := len(appliedVersions(t, conn)); got != total {
		t.Fatalf("%d versions recorded, want %d", got, total)
	}

	for i := total - 1; i >= 0; i-- {
		res, err := r.Rollback(ctx)
		if err != nil {
			t.Fatalf("rollback of %s: %v", r.Migrations()[i].File, err)
		}
		if len(res.RolledBack) != 1 || res.RolledBack[0] != r.Migrations()[i].File {
			t.Fatalf("rolled back %v, want %s", res.RolledBack, r.Migrations()[i].File)
		}
	}
	if left := scalar[string](t, conn, userObjects); left != "" {
		t.Fatalf("objects left after rolling everything back: %s", left)
	}
	if _, err := r.Rollback(ctx); !errors.Is(err, migrations.ErrNoRollback) {
		t.Fatalf("rollback with nothing applied: err = %v", err)
	}

	res, err = r.Up(ctx)
	if err != nil || len(res.Applied) != total {
		t.Fatalf("second up: applied %d, %v", len(res.Applied), err)
	}
	second, err := r.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != string(second) {
		t.Fatalf("schema after down and up differs from the first:\n%s", lineDiff(string(first), string(second)))
	}
	res, err = r.Up(ctx)
	if err != nil || len(res.Applied) != 0 {
		t.Fatalf("third up applied %v, %v; want nothing", res.Applied, err)
	}
}

// lineDiff shows the first differing line of two texts.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d lines", len(al), len(bl))
}

func TestBundledMigrationsPassLint(t *testing.T) {
	migs, err := migrations.Load(migrations.Bundled())
	if err != nil {
		t.Fatal(err)
	}
	if findings := lint.Check(migrations.LintFiles(migs)); len(findings) != 0 {
		t.Fatalf("the bundled migrations have lint findings:\n%v", findings)
	}
}

func TestUpCreatesAMissingDatabase(t *testing.T) {
	c := pgtest.Shared(t)
	name := fmt.Sprintf("t_created_by_up_%d", time.Now().UnixNano()%1_000_000)
	t.Cleanup(func() { pgtest.Exec(t, c, "postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	var log syncBuffer
	r := newRunner(t, migrations.Config{URL: c.URL(c.Superuser(), name), Log: &log})
	res, err := r.Up(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !res.CreatedDatabase || len(res.Applied) != len(r.Migrations()) {
		t.Fatalf("created=%v applied %d", res.CreatedDatabase, len(res.Applied))
	}
	if !strings.HasPrefix(log.String(), "Creating: "+name+"\nApplying: ") {
		t.Fatalf("log does not start as dbmate's does:\n%s", log.String())
	}
	if _, err := migrations.ApplyBundled(testCtx(t), c.URL(c.Superuser(), name), nil); err != nil {
		t.Fatalf("ApplyBundled on a migrated database: %v", err)
	}
}

func TestMigrateRequiresAnExistingDatabase(t *testing.T) {
	c := pgtest.Shared(t)
	r := newRunner(t, migrations.Config{URL: c.URL(c.Superuser(), "t_never_created")})
	_, err := r.Migrate(testCtx(t))
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "3D000" {
		t.Fatalf("err = %v, want database does not exist", err)
	}
}

func TestConcurrentUpRunsOneApplierWhileTheOtherWaits(t *testing.T) {
	db := newTestDB(t)
	ctx := testCtx(t)
	// Hold the runners' lock so that both are certainly waiting before
	// either can start.
	holder := db.connect(t)
	if _, err := holder.Exec(ctx, "SELECT pg_advisory_lock($1)", migrations.LockKey); err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		res *migrations.Result
		err error
		log *syncBuffer
	}
	results := make(chan outcome, 2)
	started := make(chan *syncBuffer, 2)
	for i := 0; i < 2; i++ {
		go func() {
			log := &syncBuffer{}
			started <- log
			r, err := migrations.New(migrations.Config{URL: db.url, Log: log})
			if err != nil {
				results <- outcome{err: err, log: log}
				return
			}
			res, err := r.Up(ctx)
			results <- outcome{res, err, log}
		}()
	}
	var logs [2]*syncBuffer
	for i := range logs {
		logs[i] = <-started
	}
	bothWaiting := func() bool {
		return strings.Contains(logs[0].String(), "Waiting for the migration lock") &&
			strings.Contains(logs[1].String(), "Waiting for the migration lock")
	}
	for deadline := time.Now().Add(time.Minute); !bothWaiting(); {
		if time.Now().After(deadline) {
			t.Fatal("the two runners never both waited for the lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := holder.Exec(ctx, "SELECT pg_advisory_unlock($1)", migrations.LockKey); err != nil {
		t.Fatal(err)
	}
	a, b := <-results, <-results
	if a.err != nil || b.err != nil {
		t.Fatalf("up errors: %v / %v", a.err, b.err)
	}
	total := len(newRunner(t, migrations.Config{URL: db.url}).Migrations())
	n := []int{len(a.res.Applied), len(b.res.Applied)}
	if !(n[0] == total && n[1] == 0 || n[0] == 0 && n[1] == total) {
		t.Fatalf("applied %v migrations; want one runner to apply all %d and the other none", n, total)
	}
	for _, o := range []outcome{a, b} {
		if !strings.Contains(o.log.String(), "Waiting for the migration lock") {
			t.Fatalf("a runner did not report waiting:\n%s", o.log.String())
		}
	}
	if got := len(appliedVersions(t, holder)); got != total {
		t.Fatalf("%d versions recorded, want %d", got, total)
	}
}

func TestLockWaitGivesUpWhenAnotherRunnerHoldsTheLock(t *testing.T) {
	db := newTestDB(t)
	holder := db.connect(t)
	if _, err := holder.Exec(testCtx(t), "SELECT pg_advisory_lock($1)", migrations.LockKey); err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, migrations.Config{URL: db.url, LockWait: 300 * time.Millisecond})
	res, err := r.Up(testCtx(t))
	if !errors.Is(err, migrations.ErrLockTimeout) || len(res.Applied) != 0 {
		t.Fatalf("err = %v, applied %v; want ErrLockTimeout and nothing applied", err, res.Applied)
	}
}

// failingSet is a migration set whose second file fails at its third
// statement.
var failingSet = fstest.MapFS{
	"20240101000000_first.sql": {Data: []byte("-- migrate:up\nCREATE TABLE first_table (id int PRIMARY KEY);\n-- migrate:down\nDROP TABLE first_table;\n")},
	"20240102000000_second.sql": {Data: []byte(`-- migrate:up
CREATE TABLE second_table (id int PRIMARY KEY);
INSERT INTO second_table VALUES (1);

-- the next statement is wrong
INSERT INTO second_table
SELECT id FROM no_such_table;
-- migrate:down
DROP TABLE second_table;
`)},
}

func TestFailingMigrationLeavesNoTraceAndNamesFileAndStatement(t *testing.T) {
	db := newTestDB(t)
	r := newRunner(t, migrations.Config{URL: db.url, Migrations: failingSet})
	res, err := r.Up(testCtx(t))
	var me *migrations.MigrationError
	if !errors.As(err, &me) {
		t.Fatalf("err = %v, want *MigrationError", err)
	}
	if me.File != "20240102000000_second.sql" || me.Direction != "up" || me.Line != 7 ||
		me.Statement != "INSERT INTO second_table\nSELECT id FROM no_such_table" {
		t.Fatalf("error located at %s:%d (%s), statement %q", me.File, me.Line, me.Direction, me.Statement)
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42P01" {
		t.Fatalf("the server error is not kept: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "20240102000000_second.sql:7") || !strings.Contains(msg, "no_such_table") {
		t.Fatalf("message lacks file, line or statement:\n%s", msg)
	}
	if len(res.Applied) != 1 || res.Applied[0] != "20240101000000_first.sql" {
		t.Fatalf("applied %v", res.Applied)
	}
	conn := db.connect(t)
	if v := appliedVersions(t, conn); len(v) != 1 || v[0] != "20240101000000" {
		t.Fatalf("recorded versions %v", v)
	}
	if scalar[bool](t, conn, "SELECT to_regclass('second_table') IS NOT NULL") {
		t.Fatal("the failed migration's first statements were not rolled back")
	}
}

func TestFailingNonTransactionalBlockIsLocatedByErrorPosition(t *testing.T) {
	db := newTestDB(t)
	set := fstest.MapFS{
		"1_t.sql": {Data: []byte("-- migrate:up\nCREATE TABLE t (a int);\n-- migrate:down\nDROP TABLE t;\n")},
		// Sent whole, as dbmate sends it: the server's error position
		// tells which statement failed.
		"2_i.sql": {Data: []byte("-- migrate:up transaction:false\nALTER TABLE t ADD COLUMN b int;\nCREATE INDEX t_idx\n  ON t (a) WHERE;\n-- migrate:down transaction:false\nDROP INDEX t_idx;\n")},
	}
	_, err := newRunner(t, migrations.Config{URL: db.url, Migrations: set}).Up(testCtx(t))
	var me *migrations.MigrationError
	if !errors.As(err, &me) || me.File != "2_i.sql" || me.Line != 4 || me.Statement != "CREATE INDEX t_idx\n  ON t (a) WHERE" {
		t.Fatalf("err = %#v", err)
	}
	if scalar[bool](t, db.connect(t), "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 't' AND column_name = 'b')") {
		t.Fatal("the statements of a whole block did not fail together")
	}
}

func TestMigrationBlockedByALockFailsFastWithAHint(t *testing.T) {
	db := newTestDB(t)
	ctx := testCtx(t)
	set := fstest.MapFS{
		"1_t.sql": {Data: []byte("-- migrate:up\nCREATE TABLE busy (a int);\n-- migrate:down\nDROP TABLE busy;\n")},
		"2_c.sql": {Data: []byte("-- migrate:up\nALTER TABLE busy ADD COLUMN b int;\n-- migrate:down\nALTER TABLE busy DROP COLUMN b;\n")},
	}
	r := newRunner(t, migrations.Config{URL: db.url, Migrations: fstest.MapFS{"1_t.sql": set["1_t.sql"]}})
	if _, err := r.Up(ctx); err != nil {
		t.Fatal(err)
	}
	// Application traffic: an open transaction that read the table.
	traffic := db.connect(t)
	tx, err := traffic.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT * FROM busy"); err != nil {
		t.Fatal(err)
	}
	r = newRunner(t, migrations.Config{URL: db.url, Migrations: set, LockTimeout: 200 * time.Millisecond})
	_, err = r.Up(ctx)
	var me *migrations.MigrationError
	var pe *pgconn.PgError
	if !errors.As(err, &me) || !errors.As(err, &pe) || pe.Code != "55P03" || !strings.Contains(me.Hint, "lock_timeout") {
		t.Fatalf("err = %v; want lock_not_available with a hint", err)
	}
	if v := appliedVersions(t, db.connect(t)); len(v) != 1 {
		t.Fatalf("recorded versions %v", v)
	}
}

func TestMigrationOverItsTransactionBudgetIsCancelled(t *testing.T) {
	db := newTestDB(t)
	set := fstest.MapFS{"1_slow.sql": {Data: []byte("-- migrate:up\nCREATE TABLE slow (a int);\nSELECT pg_sleep(30);\n-- migrate:down\nDROP TABLE slow;\n")}}
	r := newRunner(t, migrations.Config{URL: db.url, Migrations: set, TransactionTimeout: 300 * time.Millisecond})
	_, err := r.Up(testCtx(t))
	var me *migrations.MigrationError
	if !errors.As(err, &me) || me.Line != 3 || me.Hint == "" {
		t.Fatalf("err = %v; want the sleep cancelled with a hint", err)
	}
	conn := db.connect(t)
	if scalar[bool](t, conn, "SELECT to_regclass('slow') IS NOT NULL") || len(appliedVersions(t, conn)) != 0 {
		t.Fatal("the cancelled migration left a trace")
	}
}

func TestVerifyCatchesAMigrationEditedAfterItWasApplied(t *testing.T) {
	db := newTestDB(t)
	ctx := testCtx(t)
	orig := "-- migrate:up\nCREATE TABLE v (a int);\n-- migrate:down\nDROP TABLE v;\n"
	set := fstest.MapFS{
		"1_v.sql": {Data: []byte(orig)},
		"2_w.sql": {Data: []byte("-- migrate:up\nCREATE TABLE w (a int);\n-- migrate:down\nDROP TABLE w;\n")},
	}
	if _, err := newRunner(t, migrations.Config{URL: db.url, Migrations: set}).Up(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := newRunner(t, migrations.Config{URL: db.url, Migrations: set}).Verify(ctx)
	if err != nil || len(rep.Entries) != 2 || len(rep.Problems()) != 0 {
		t.Fatalf("unedited set: %+v, %v", rep, err)
	}

	edited := fstest.MapFS{
		"1_v.sql": {Data: []byte(strings.Replace(orig, "(a int)", "(a bigint)", 1))},
	}
	rep, err = newRunner(t, migrations.Config{URL: db.url, Migrations: edited}).Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]migrations.VerifyState{}
	for _, e := range rep.Entries {
		states[e.Version] = e.State
	}
	if states["1"] != migrations.VerifyModified || states["2"] != migrations.VerifyMissingFile || len(rep.Problems()) != 2 {
		t.Fatalf("verdicts %v", states)
	}
}

func TestLintErrorsStopUpUnlessNoLint(t *testing.T) {
	db := newTestDB(t)
	set := fstest.MapFS{
		"1_a.sql": {Data: []byte("-- migrate:up\nCREATE TABLE a (id int PRIMARY KEY);\n-- migrate:down\nDROP TABLE a;\n")},
		"2_b.sql": {Data: []byte("-- migrate:up\nCREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a (id));\n-- migrate:down\nDROP TABLE b;\n")},
	}
	res, err := newRunner(t, migrations.Config{URL: db.url, Migrations: set}).Up(testCtx(t))
	var le *migrations.LintError
	if !errors.As(err, &le) || len(res.Applied) != 0 || lint.CountErrors(le.Findings) != 1 || le.Findings[0].File != "2_b.sql" {
		t.Fatalf("err = %v, applied %v", err, res.Applied)
	}
	if scalar[bool](t, db.connect(t), "SELECT to_regclass('a') IS NOT NULL") {
		t.Fatal("up applied a migration despite lint errors")
	}
	res, err = newRunner(t, migrations.Config{URL: db.url, Migrations: set, NoLint: true}).Up(testCtx(t))
	if err != nil || len(res.Applied) != 2 {
		t.Fatalf("--no-lint: applied %v, %v", res.Applied, err)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	c := pgtest.Shared(t)
	var log syncBuffer
	missing := c.URL(c.Superuser(), "t_dry_run_never_created")
	res, err := newRunner(t, migrations.Config{URL: missing, DryRun: true, Log: &log}).Up(testCtx(t))
	if err != nil || len(res.Applied) != len(newRunner(t, migrations.Config{URL: missing}).Migrations()) || res.CreatedDatabase {
		t.Fatalf("dry run on a missing database: %+v, %v", res, err)
	}
	if !strings.Contains(log.String(), "Would create: t_dry_run_never_created") ||
		!strings.Contains(log.String(), "Would apply: 20230111090000_create_material_artifact.sql") ||
		!strings.Contains(log.String(), "CREATE TABLE material_artifact") {
		t.Fatalf("dry-run output:\n%s", log.String())
	}
	conn, err := pgx.Connect(testCtx(t), c.URL(c.Superuser(), "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(testCtx(t))
	if scalar[bool](t, conn, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 't_dry_run_never_created')") {
		t.Fatal("the dry run created the database")
	}

	db := newTestDB(t)
	if _, err := newRunner(t, migrations.Config{URL: db.url, DryRun: true}).Up(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if scalar[bool](t, db.connect(t), "SELECT to_regclass('schema_migrations') IS NOT NULL") {
		t.Fatal("the dry run created schema_migrations")
	}
	r0 := newRunner(t, migrations.Config{URL: db.url})
	if _, err := r0.Up(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	log = syncBuffer{}
	res, err = newRunner(t, migrations.Config{URL: db.url, DryRun: true, Log: &log}).Rollback(testCtx(t))
	if err != nil || len(res.RolledBack) != 1 || !strings.Contains(log.String(), "DROP TABLE document_artifact") {
		t.Fatalf("dry-run rollback: %+v %v\n%s", res, err, log.String())
	}
	if len(appliedVersions(t, db.connect(t))) != len(r0.Migrations()) {
		t.Fatal("the dry-run rollback rolled back")
	}
}

func TestMultiSectionFileAppliesInOrderAndRollsBackInReverse(t *testing.T) {
	db := newTestDB(t)
	set := fstest.MapFS{"1_multi.sql": {Data: []byte(`-- migrate:up
CREATE TABLE users (id int PRIMARY KEY);
-- migrate:down
DROP TABLE users;

-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY users_id_idx ON users (id);
-- migrate:down transaction:false
DROP INDEX CONCURRENTLY users_id_idx;

-- migrate:up
ALTER TABLE users ADD COLUMN email text;
-- migrate:down
ALTER TABLE users DROP COLUMN email;
`)}}
	r := newRunner(t, migrations.Config{URL: db.url, Migrations: set})
	if _, err := r.Up(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	conn := db.connect(t)
	if !scalar[bool](t, conn, "SELECT to_regclass('users_id_idx') IS NOT NULL AND EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'email')") {
		t.Fatal("not every section applied")
	}
	if _, err := r.Rollback(testCtx(t)); err != nil {
		t.Fatalf("rollback in reverse section order: %v", err)
	}
	if scalar[bool](t, conn, "SELECT to_regclass('users') IS NOT NULL") || len(appliedVersions(t, conn)) != 0 {
		t.Fatal("rollback left the table or the version")
	}
}

func TestSearchPathChoosesTheSchemaOfSchemaMigrations(t *testing.T) {
	db := newTestDB(t)
	set := fstest.MapFS{"1_a.sql": {Data: []byte("-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\nDROP TABLE a;\n")}}
	var log syncBuffer
	r := newRunner(t, migrations.Config{URL: db.url + "&search_path=app_schema", Migrations: set, Log: &log})
	if _, err := r.Up(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	conn := db.connect(t)
	if !scalar[bool](t, conn, "SELECT to_regclass('app_schema.schema_migrations') IS NOT NULL AND to_regclass('app_schema.a') IS NOT NULL AND to_regclass('public.schema_migrations') IS NULL") {
		t.Fatal("schema_migrations is not in the first schema of the search path")
	}
	if !strings.Contains(log.String(), "Creating schema: app_schema") {
		t.Fatalf("log:\n%s", log.String())
	}
	st, err := r.Status(testCtx(t))
	if err != nil || migrations.Pending(st) != 0 {
		t.Fatalf("status %v %v", st, err)
	}
}

func TestWaitReturnsOnceTheServerAnswers(t *testing.T) {
	c := pgtest.Shared(t)
	var log syncBuffer
	if err := newRunner(t, migrations.Config{URL: c.URL(c.Superuser(), "t_no_such_database"), Log: &log}).Wait(testCtx(t)); err != nil || log.String() != "" {
		t.Fatalf("wait on a running server: %v, log %q", err, log.String())
	}
	port, err := pgcluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(testCtx(t), 1500*time.Millisecond)
	defer cancel()
	err = newRunner(t, migrations.Config{URL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/x?sslmode=disable", port), Log: &log}).Wait(ctx)
	if err == nil || !strings.HasPrefix(log.String(), "Waiting for database.") {
		t.Fatalf("wait on a closed port: %v, log %q", err, log.String())
	}
}

func TestWriteStatusPrintsDbmateFormat(t *testing.T) {
	a, _ := migrations.ParseFile("1_a.sql", []byte(migrations.Template))
	b, _ := migrations.ParseFile("2_b.sql", []byte(migrations.Template))
	var out strings.Builder
	st := []migrations.Status{{Migration: a, Applied: true}, {Migration: b}}
	if err := migrations.WriteStatus(&out, st); err != nil {
		t.Fatal(err)
	}
	if want := "[X] 1_a.sql\n[ ] 2_b.sql\n\nApplied: 1\nPending: 1\n"; out.String() != want {
		t.Fatalf("got %q want %q", out.String(), want)
	}
}

func TestBundledSchemaHasNoForeignKeysAndDocumentsEveryIdentifierReference(t *testing.T) {
	db := newTestDB(t)
	if _, err := migrations.ApplyBundled(testCtx(t), db.url, nil); err != nil {
		t.Fatal(err)
	}
	conn := db.connect(t)
	if n := scalar[int64](t, conn, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"); n != 0 {
		t.Fatalf("%d foreign keys in the bundled schema (ADR-004)", n)
	}
	// Every …_identifier column that is not its own table's key names
	// another row, so its comment must document the relation.
	undocumented := scalar[string](t, conn, `
SELECT coalesce(string_agg(c.table_name || '.' || c.column_name, ', '), '')
  FROM information_schema.columns c
 WHERE c.table_schema = 'public' AND c.column_name LIKE '%\_identifier'
   AND c.table_name NOT LIKE 'schema_migrations%'
   AND NOT EXISTS (SELECT 1 FROM pg_index i
                    WHERE i.indrelid = to_regclass(c.table_name) AND i.indisprimary AND i.indnkeyatts = 1
                      AND i.indkey[0] = c.ordinal_position)
   AND coalesce(col_description(to_regclass(c.table_name), c.ordinal_position), '') NOT LIKE '%references %'`)
	if undocumented != "" {
		t.Fatalf("identifier columns without a documented relation: %s", undocumented)
	}
}
