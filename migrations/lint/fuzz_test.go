package lint_test

import (
	"strings"
	"testing"

	"github.com/pgwarp/pgwarp/migrations/lint"
)

// FuzzCheck checks that the linter terminates on any SQL and that every
// finding points at a line of the block and names a known rule.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"CREATE TABLE c (a_id int REFERENCES a (id), CONSTRAINT f FOREIGN KEY (x) REFERENCES y);",
		"ALTER TABLE a ALTER COLUMN n TYPE varchar(10) USING n::text, ADD COLUMN m int NOT NULL;",
		"CREATE INDEX CONCURRENTLY i ON ONLY s.t USING gin (x); DROP INDEX CONCURRENTLY i;",
		"ALTER TABLE t RENAME TO u; DROP TABLE IF EXISTS u, v; REINDEX (CONCURRENTLY) TABLE t;",
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END; SELECT 'x",
		"ALTER TABLE ONLY t * ADD",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	known := map[string]bool{}
	for _, r := range lint.Rules {
		known[r.Name] = true
	}
	f.Fuzz(func(t *testing.T, sql string, tx bool) {
		findings := lint.Check([]lint.File{{Name: "f.sql", Blocks: []lint.Block{
			{Line: 1, SQL: sql, Transaction: tx},
			{Down: true, Line: 1 + strings.Count(sql, "\n"), SQL: sql, Transaction: tx},
		}}})
		lines := 2 * (1 + strings.Count(sql, "\n"))
		for _, fd := range findings {
			if fd.Line < 1 || fd.Line > lines || !known[fd.Rule] || fd.File != "f.sql" || fd.Message == "" {
				t.Fatalf("bad finding %+v for %q", fd, sql)
			}
		}
	})
}
