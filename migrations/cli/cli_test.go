package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/migrations/cli"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// run runs a command function and returns its exit code and output.
func run(t *testing.T, cmd func(context.Context, []string, *bytes.Buffer, *bytes.Buffer) int, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cmd(testCtx(t), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func migrate(ctx context.Context, args []string, stdout, stderr *bytes.Buffer) int {
	return cli.Migrate(ctx, args, stdout, stderr)
}

func orphans(ctx context.Context, args []string, stdout, stderr *bytes.Buffer) int {
	return cli.Orphans(ctx, args, stdout, stderr)
}

func newURL(t *testing.T) string {
	t.Helper()
	c := pgtest.Shared(t)
	return c.URL(c.Superuser(), pgtest.CreateDatabase(t, c))
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestMigrateUpThenStatusWithExitCodes(t *testing.T) {
	url := newURL(t)
	code, out, _ := run(t, migrate, "--url", url, "status", "--exit-code")
	if code != 1 || !strings.Contains(out, "[ ] 20230111090000_create_material_artifact.sql") || !strings.HasSuffix(out, "\nApplied: 0\nPending: 15\n") {
		t.Fatalf("status before up: exit %d\n%s", code, out)
	}
	code, out, errOut := run(t, migrate, "up", "--url", url)
	if code != 0 || strings.Count(out, "Applied: ") != 15 || errOut != "" {
		t.Fatalf("up: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = run(t, migrate, "status", "--url", url, "--exit-code")
	if code != 0 || !strings.HasSuffix(out, "\nApplied: 15\nPending: 0\n") {
		t.Fatalf("status after up: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, migrate, "--url", url, "rollback")
	if code != 0 || !strings.Contains(out, "Rolled back: 20250203150000_add_document_artifact_table.sql") {
		t.Fatalf("rollback: exit %d\n%s", code, out)
	}
	if code, out, _ = run(t, migrate, "--url", url, "status", "--quiet"); code != 1 || out != "" {
		t.Fatalf("status --quiet with one pending: exit %d, output %q", code, out)
	}
	t.Setenv("DATABASE_URL", url)
	if code, out, _ = run(t, migrate, "migrate"); code != 0 || !strings.Contains(out, "Applied: 20250203150000_add_document_artifact_table.sql") {
		t.Fatalf("migrate with DATABASE_URL: exit %d\n%s", code, out)
	}
}

func TestMigrateReportsAFailingMigrationWithFileAndStatement(t *testing.T) {
	url := newURL(t)
	dir := writeFiles(t, map[string]string{
		"1_ok.sql":  "-- migrate:up\nCREATE TABLE ok (a int);\n-- migrate:down\nDROP TABLE ok;\n",
		"2_bad.sql": "-- migrate:up\nCREATE TABLE bad (a int);\nINSERT INTO bad SELECT nothing FROM ok;\n-- migrate:down\nDROP TABLE bad;\n",
	})
	code, out, errOut := run(t, migrate, "--url", url, "--dir", dir, "up")
	if code != 2 || !strings.Contains(out, "Applied: 1_ok.sql") ||
		!strings.HasPrefix(errOut, "Error: 2_bad.sql:3: migrate:up failed: ERROR: column \"nothing\" does not exist") ||
		!strings.Contains(errOut, "statement:\n    INSERT INTO bad SELECT nothing FROM ok\n") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

func TestMigrateVerifyExitsOneForAnEditedFile(t *testing.T) {
	url := newURL(t)
	dir := writeFiles(t, map[string]string{"1_a.sql": "-- migrate:up\nCREATE TABLE a (x int);\n-- migrate:down\nDROP TABLE a;\n"})
	if code, _, errOut := run(t, migrate, "--url", url, "--dir", dir, "up"); code != 0 {
		t.Fatal(errOut)
	}
	if code, out, _ := run(t, migrate, "--url", url, "--dir", dir, "verify"); code != 0 || !strings.Contains(out, "ok         1_a.sql") {
		t.Fatalf("verify before the edit: exit %d\n%s", code, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "1_a.sql"), []byte("-- migrate:up\nCREATE TABLE a (x bigint);\n-- migrate:down\nDROP TABLE a;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, migrate, "--url", url, "--dir", dir, "verify")
	if code != 1 || !strings.Contains(out, "MODIFIED   1_a.sql (applied sha256 ") || !strings.Contains(errOut, "differ from their files: 1") {
		t.Fatalf("verify after the edit: exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestMigrateNewNeedsADirectory(t *testing.T) {
	dir := t.TempDir()
	code, out, _ := run(t, migrate, "--dir", dir, "new", "add_widget_table")
	files, _ := filepath.Glob(filepath.Join(dir, "*_add_widget_table.sql"))
	if code != 0 || len(files) != 1 || out != "Creating migration: "+files[0]+"\n" {
		t.Fatalf("new: exit %d, files %v\n%s", code, files, out)
	}
	t.Setenv("DBMATE_MIGRATIONS_DIR", "")
	if code, _, errOut := run(t, migrate, "new", "x"); code != 2 || !strings.Contains(errOut, "--dir") {
		t.Fatalf("new without --dir: exit %d, %s", code, errOut)
	}
	if code, _, _ := run(t, migrate, "--dir", dir, "new"); code != 2 {
		t.Fatalf("new without a name: exit %d", code)
	}
}

func TestMigrateLintExitCodes(t *testing.T) {
	if code, out, _ := run(t, migrate, "lint"); code != 0 || out != "15 files, 0 errors, 0 warnings\n" {
		t.Fatalf("bundled: exit %d\n%s", code, out)
	}
	fk := writeFiles(t, map[string]string{"1_a.sql": "-- migrate:up\nCREATE TABLE a (b_id int REFERENCES b (id));\n-- migrate:down\nDROP TABLE a;\n"})
	if code, out, _ := run(t, migrate, "--dir", fk, "lint"); code != 1 || !strings.Contains(out, "1_a.sql:2: error: ") {
		t.Fatalf("foreign key: exit %d\n%s", code, out)
	}
	warn := writeFiles(t, map[string]string{
		"1_a.sql": "-- migrate:up\nCREATE TABLE a (x int);\n-- migrate:down\nDROP TABLE a;\n",
		"2_i.sql": "-- migrate:up\nCREATE INDEX a_x ON a (x);\n-- migrate:down\nDROP INDEX a_x;\n",
	})
	if code, out, _ := run(t, migrate, "lint", "--dir", warn); code != 0 || !strings.Contains(out, "2_i.sql:2: warning: ") {
		t.Fatalf("warning: exit %d\n%s", code, out)
	}
	if code, _, _ := run(t, migrate, "lint", "--dir", warn, "--fail-on-warning"); code != 1 {
		t.Fatalf("--fail-on-warning: exit %d", code)
	}
}

func TestMigrateDryRunAndDump(t *testing.T) {
	url := newURL(t)
	code, out, _ := run(t, migrate, "--url", url, "--dry-run", "up")
	if code != 0 || !strings.Contains(out, "Would apply: 20230111090000_create_material_artifact.sql") {
		t.Fatalf("dry run: exit %d\n%s", code, out)
	}
	if code, out, _ := run(t, migrate, "--url", url, "status"); code != 0 || !strings.Contains(out, "Pending: 15") {
		t.Fatalf("the dry run applied something:\n%s", out)
	}
	if code, _, errOut := run(t, migrate, "--url", url, "up"); code != 0 {
		t.Fatal(errOut)
	}
	schema := filepath.Join(t.TempDir(), "db", "schema.sql")
	code, out, errOut := run(t, migrate, "--url", url, "dump", "--schema-file", schema)
	if code != 0 || out != "Writing: "+schema+"\n" {
		t.Fatalf("dump: exit %d\n%s\n%s", code, out, errOut)
	}
	b, err := os.ReadFile(schema)
	if err != nil || !strings.Contains(string(b), "CREATE TABLE public.sales_measurement_dataset") {
		t.Fatalf("schema file: %v\n%s", err, b)
	}
	if code, out, _ := run(t, migrate, "--url", url, "dump"); code != 0 || out != string(b) {
		t.Fatalf("dump to standard output differs from the file (exit %d)", code)
	}
}

func TestMigrateUsageErrorsAndRedaction(t *testing.T) {
	if code, _, errOut := run(t, migrate); code != 2 || !strings.Contains(errOut, "usage: pgwarp migrate") {
		t.Fatalf("no command: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := run(t, migrate, "sideways"); code != 2 || !strings.Contains(errOut, `unknown command "sideways"`) {
		t.Fatalf("unknown command: exit %d\n%s", code, errOut)
	}
	if code, _, _ := run(t, migrate, "-h"); code != 0 {
		t.Fatalf("-h: exit %d", code)
	}
	if code, _, _ := run(t, migrate, "status", "--no-such-flag"); code != 2 {
		t.Fatalf("unknown flag: exit %d", code)
	}
	code, _, errOut := run(t, migrate, "--url", "postgres://app:s3cret-pw@127.0.0.1:1/app?connect_timeout=2", "status")
	if code != 2 || strings.Contains(errOut, "s3cret-pw") || !strings.HasPrefix(errOut, "Error: ") {
		t.Fatalf("connection failure: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := run(t, migrate, "--url", "", "status"); code != 2 || !strings.Contains(errOut, "DATABASE_URL") {
		t.Fatalf("no URL: exit %d\n%s", code, errOut)
	}
}

func TestOrphansExitCodesTextAndJSON(t *testing.T) {
	url := newURL(t)
	if code, _, errOut := run(t, migrate, "--url", url, "up"); code != 0 {
		t.Fatal(errOut)
	}
	code, out, _ := run(t, orphans, "--url", url)
	if code != 0 || !strings.HasSuffix(out, "\n0 orphan rows in 0 of 16 relations\n") {
		t.Fatalf("clean database: exit %d\n%s", code, out)
	}
	conn, err := pgx.Connect(testCtx(t), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(testCtx(t), "INSERT INTO sales_measurement_dataset (artifact_identifier, day) VALUES ('ART-GONE', '2025-01-01'), ('ART-GONE', '2025-01-02')"); err != nil {
		t.Fatal(err)
	}
	code, out, _ = run(t, orphans, "--url", url, "--json", "--chunk-size", "1", "--relation", "sales_measurement_dataset.artifact_identifier")
	var rep struct {
		OrphanRows int64 `json:"orphan_rows"`
		Relations  []struct {
			Chunks int      `json:"chunks"`
			Sample []string `json:"sample"`
		} `json:"relations"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 || rep.OrphanRows != 2 || len(rep.Relations) != 1 ||
		rep.Relations[0].Chunks != 3 || strings.Join(rep.Relations[0].Sample, ",") != "ART-GONE" {
		t.Fatalf("orphans: exit %d, %v\n%s", code, err, out)
	}
	if _, err := conn.Exec(testCtx(t), "COMMENT ON COLUMN material_artifact.title IS 'References nothing in particular.'"); err != nil {
		t.Fatal(err)
	}
	if code, out, _ = run(t, orphans, "--url", url); code != 2 || !strings.Contains(out, "ERROR    comment on column material_artifact.title") {
		t.Fatalf("malformed relation comment: exit %d\n%s", code, out)
	}
	t.Setenv("DATABASE_URL", "")
	if code, _, _ := run(t, orphans); code != 2 {
		t.Fatalf("no URL: exit %d", code)
	}
}
