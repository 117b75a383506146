package migrations_test

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/migrations"
)

// dbmateBin finds the dbmate binary `make deps` installs (tools/node, from
// the npm package pinned in tools/node/package.json), else one on PATH.
func dbmateBin(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			bin := filepath.Join(dir, "tools", "node", "node_modules", ".bin", "dbmate")
			if _, err := os.Stat(bin); err == nil {
				return bin
			}
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	if bin, err := exec.LookPath("dbmate"); err == nil {
		return bin
	}
	t.Fatal("dbmate is not installed: run `make deps` (npm ci in tools/node installs the pinned dbmate)")
	return ""
}

// dbmate runs the real dbmate and returns its standard output and exit
// code; any other failure to run it fails the test.
func dbmate(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.CommandContext(testCtx(t), dbmateBin(t), args...)
	cmd.Dir = t.TempDir() // no stray .env
	cmd.Env = append(os.Environ(), "DATABASE_URL=", "DBMATE_MIGRATIONS_DIR=")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("dbmate %v: %v\n%s", args, err, stderr.String())
	}
	return string(out), 0
}

// mustDbmate runs dbmate and fails the test unless it succeeds.
func mustDbmate(t *testing.T, args ...string) string {
	t.Helper()
	out, code := dbmate(t, args...)
	if code != 0 {
		t.Fatalf("dbmate %v exited %d:\n%s", args, code, out)
	}
	return out
}

// bundledDir copies the bundled migrations to a directory dbmate can read.
func bundledDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	err := fs.WalkDir(migrations.Bundled(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.Bundled(), path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, path), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func statusText(t *testing.T, r *migrations.Runner) string {
	t.Helper()
	st, err := r.Status(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := migrations.WriteStatus(&b, st); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestDatabaseMigratedByDbmateIsFullyAppliedForPgwarp(t *testing.T) {
	db := newTestDB(t)
	dir := bundledDir(t)
	mustDbmate(t, "--url", db.url, "--migrations-dir", dir, "--no-dump-schema", "up")

	r := newRunner(t, migrations.Config{URL: db.url, Migrations: os.DirFS(dir)})
	st, err := r.Status(testCtx(t))
	if err != nil || len(st) != len(r.Migrations()) || migrations.Pending(st) != 0 {
		t.Fatalf("pgwarp status after dbmate up: %d pending of %d, %v", migrations.Pending(st), len(st), err)
	}
	rep, err := r.Verify(testCtx(t))
	if err != nil || len(rep.Problems()) != 0 || len(rep.Entries) != len(st) {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	for _, e := range rep.Entries {
		if e.State != migrations.VerifyUnrecorded {
			t.Fatalf("%s: %v, want unrecorded (dbmate keeps no checksums)", e.File, e.State)
		}
	}
	res, err := r.Up(testCtx(t))
	if err != nil || len(res.Applied) != 0 {
		t.Fatalf("pgwarp up after dbmate up applied %v, %v", res.Applied, err)
	}
}

func TestDatabaseMigratedByPgwarpIsFullyAppliedForDbmate(t *testing.T) {
	db := newTestDB(t)
	dir := bundledDir(t)
	r := newRunner(t, migrations.Config{URL: db.url, Migrations: os.DirFS(dir)})
	if _, err := r.Up(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	status := func() (string, int) {
		return dbmate(t, "--url", db.url, "--migrations-dir", dir, "status", "--exit-code")
	}
	out, code := status()
	if code != 0 || !strings.Contains(out, "Pending: 0") {
		t.Fatalf("dbmate status after pgwarp up (exit %d):\n%s", code, out)
	}
	if mine := statusText(t, r); out != mine {
		t.Fatalf("status output differs:\ndbmate:\n%s\npgwarp:\n%s", out, mine)
	}

	// Roll back with pgwarp, then with dbmate: each sees the other's work.
	if _, err := r.Rollback(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	out, code = status()
	if code != 1 || !strings.Contains(out, "Pending: 1") || out != statusText(t, r) {
		t.Fatalf("dbmate status after pgwarp rollback (exit %d):\n%s", code, out)
	}
	mustDbmate(t, "--url", db.url, "--migrations-dir", dir, "--no-dump-schema", "rollback")
	st, err := r.Status(testCtx(t))
	if err != nil || migrations.Pending(st) != 2 {
		t.Fatalf("pgwarp status after dbmate rollback: %d pending, %v", migrations.Pending(st), err)
	}
	res, err := r.Up(testCtx(t))
	if err != nil || len(res.Applied) != 2 {
		t.Fatalf("pgwarp up after dbmate rollback applied %v, %v", res.Applied, err)
	}
	if out, code := status(); code != 0 {
		t.Fatalf("dbmate status at the end (exit %d):\n%s", code, out)
	}
}

func TestDumpIsByteForByteDbmateDump(t *testing.T) {
	db := newTestDB(t)
	dir := bundledDir(t)
	r := newRunner(t, migrations.Config{URL: db.url, Migrations: os.DirFS(dir)})
	if _, err := r.Up(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	schemaFile := filepath.Join(t.TempDir(), "schema.sql")
	mustDbmate(t, "--url", db.url, "--migrations-dir", dir, "--schema-file", schemaFile, "dump")
	want, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Dump(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("pgwarp dump differs from dbmate dump:\n%s", lineDiff(string(want), string(got)))
	}
	if !strings.Contains(string(got), "CREATE TABLE public.material_artifact") || !strings.Contains(string(got), "INSERT INTO public.schema_migrations (version) VALUES\n    ('20230111090000'),") {
		t.Fatalf("dump lacks the schema or the versions:\n%s", got)
	}
}

func TestNewWritesTheTemplateDbmateWritesAndDbmateAppliesIt(t *testing.T) {
	db := newTestDB(t)
	dir := t.TempDir()
	mustDbmate(t, "--migrations-dir", dir, "new", "from_dbmate")
	files, _ := filepath.Glob(filepath.Join(dir, "*_from_dbmate.sql"))
	if len(files) != 1 {
		t.Fatalf("dbmate new wrote %v", files)
	}
	theirs, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if string(theirs) != migrations.Template {
		t.Fatalf("dbmate's template %q differs from pgwarp's %q", theirs, migrations.Template)
	}

	// An earlier version than dbmate's, so the two files never collide.
	path, err := migrations.NewFile(dir, "from_pgwarp", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	filled := strings.Replace(migrations.Template, "-- migrate:up\n", "-- migrate:up\nCREATE TABLE from_pgwarp (id int);\n", 1)
	filled = strings.Replace(filled, "-- migrate:down\n", "-- migrate:down\nDROP TABLE from_pgwarp;\n", 1)
	if err := os.WriteFile(path, []byte(filled), 0o644); err != nil {
		t.Fatal(err)
	}
	out := mustDbmate(t, "--url", db.url, "--migrations-dir", dir, "--no-dump-schema", "up")
	if !strings.Contains(out, "Applied: "+filepath.Base(path)) {
		t.Fatalf("dbmate up:\n%s", out)
	}
	r := newRunner(t, migrations.Config{URL: db.url, Migrations: os.DirFS(dir)})
	st, err := r.Status(testCtx(t))
	if err != nil || len(st) != 2 || migrations.Pending(st) != 0 {
		t.Fatalf("pgwarp status: %v %v", st, err)
	}
	if !scalar[bool](t, db.connect(t), "SELECT to_regclass('from_pgwarp') IS NOT NULL") {
		t.Fatal("dbmate did not run the SQL written into pgwarp's template")
	}
}
