package lint_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pgwarp/pgwarp/migrations"
	"github.com/pgwarp/pgwarp/migrations/lint"
)

// base creates the tables the cases alter: they exist before the migration
// under test, as in a production database.
const base = `-- migrate:up
CREATE TABLE a (id int PRIMARY KEY, name varchar(64), price numeric(10,2), note text, qty int);
CREATE TABLE b (id int PRIMARY KEY, a_id int);
-- migrate:down
DROP TABLE b;
DROP TABLE a;
`

// check lints base followed by src (the file "2_x.sql") and returns the
// findings of src.
func check(t *testing.T, src string) []lint.Finding {
	t.Helper()
	var files []*migrations.Migration
	for _, f := range []struct{ name, src string }{{"1_base.sql", base}, {"2_x.sql", src}} {
		m, err := migrations.ParseFile(f.name, []byte(f.src))
		if err != nil {
			t.Fatalf("%s does not parse: %v", f.name, err)
		}
		files = append(files, m)
	}
	var out []lint.Finding
	for _, f := range lint.Check(migrations.LintFiles(files)) {
		if f.File != "2_x.sql" {
			t.Fatalf("finding in the base file: %v", f)
		}
		out = append(out, f)
	}
	return out
}

func up(sql string) string { return "-- migrate:up\n" + sql + "\n-- migrate:down\n" }

func upNoTx(sql string) string {
	return "-- migrate:up transaction:false\n" + sql + "\n-- migrate:down transaction:false\n"
}

func TestEachRuleFindsItsCaseAndOnlyIt(t *testing.T) {
	tests := []struct {
		name string
		src  string
		// want is "rule@line" for every finding, in order; empty for none.
		want []string
		// message must appear in the first finding's message.
		message string
	}{
		// foreign-key
		{"inline references", up("CREATE TABLE c (id int PRIMARY KEY,\n  a_id int REFERENCES a (id));"),
			[]string{"foreign-key@3"}, "COMMENT ON COLUMN c.a_id IS 'references a.id'"},
		{"table constraint foreign key", up("CREATE TABLE c (a_id int,\n  CONSTRAINT c_a_fk FOREIGN KEY (a_id) REFERENCES a (id));"),
			[]string{"foreign-key@3"}, "COMMENT ON COLUMN c.a_id IS 'references a.id'"},
		{"alter table add constraint", up("ALTER TABLE b ADD CONSTRAINT b_a_fk FOREIGN KEY (a_id) REFERENCES a (id);"),
			[]string{"foreign-key@2"}, "COMMENT ON COLUMN b.a_id IS 'references a.id'"},
		{"added column references a table's key", up("ALTER TABLE b ADD COLUMN other_id int REFERENCES a;"),
			[]string{"foreign-key@2"}, "'references a.<its key column>'"},
		{"foreign key in a down section", "-- migrate:up\nALTER TABLE b DROP CONSTRAINT IF EXISTS b_a_fk;\n-- migrate:down\nALTER TABLE b ADD FOREIGN KEY (a_id) REFERENCES a (id);\n",
			[]string{"foreign-key@4"}, "ADR-004"},
		{"documented relation", up("COMMENT ON COLUMN b.a_id IS 'references a.id';"), nil, ""},
		{"references privilege", up("GRANT REFERENCES ON a TO PUBLIC;"), nil, ""},
		{"references in a function body or a quoted name", up("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 /* REFERENCES */ $$;\nCREATE TABLE c (\"references\" int);"), nil, ""},

		// concurrently-in-transaction
		{"create index concurrently in a transaction", up("CREATE INDEX CONCURRENTLY a_name_idx ON a (name);"),
			[]string{"concurrently-in-transaction@2"}, "transaction:false"},
		{"drop index concurrently in a transaction", up("DROP INDEX CONCURRENTLY a_name_idx;"),
			[]string{"concurrently-in-transaction@2"}, "transaction:false"},
		{"reindex concurrently in a transaction", up("REINDEX INDEX CONCURRENTLY a_name_idx;"),
			[]string{"concurrently-in-transaction@2"}, "transaction:false"},
		{"concurrently outside a transaction", upNoTx("CREATE INDEX CONCURRENTLY a_name_idx ON a (name);"), nil, ""},

		// index-not-concurrent
		{"index on an existing table", up("\nCREATE UNIQUE INDEX IF NOT EXISTS a_name_idx ON ONLY public.a USING btree (name);"),
			[]string{"index-not-concurrent@3"}, "public.a"},
		{"index on a table of the same migration", up("CREATE TABLE c (id int);\nCREATE INDEX c_id_idx ON c (id);"), nil, ""},
		{"index built concurrently", upNoTx("CREATE INDEX CONCURRENTLY IF NOT EXISTS a_name_idx ON a (name);"), nil, ""},

		// column-type-rewrite
		{"int to bigint", up("ALTER TABLE a ALTER COLUMN qty TYPE bigint;"),
			[]string{"column-type-rewrite@2"}, "(from integer)"},
		{"varchar shortened", up("ALTER TABLE a ALTER name SET DATA TYPE varchar(32);"),
			[]string{"column-type-rewrite@2"}, "(from varchar(64))"},
		{"type change with using", up("ALTER TABLE a ALTER COLUMN note TYPE jsonb USING note::jsonb;"),
			[]string{"column-type-rewrite@2"}, "USING"},
		{"numeric scale change", up("ALTER TABLE a ALTER COLUMN price TYPE numeric(12,3);"),
			[]string{"column-type-rewrite@2"}, "numeric(12,3)"},
		{"column of unknown type", up("ALTER TABLE elsewhere ALTER COLUMN x TYPE text;"),
			[]string{"column-type-rewrite@2"}, "does not know"},
		{"varchar lengthened, to text, numeric precision raised",
			up("ALTER TABLE a ALTER COLUMN name TYPE character varying(128),\n  ALTER COLUMN note TYPE varchar,\n  ALTER COLUMN price TYPE decimal(14, 2);\nALTER TABLE a ALTER COLUMN name TYPE text;"), nil, ""},
		{"type change on a table of the same migration", up("CREATE TABLE c (n int);\nALTER TABLE c ALTER COLUMN n TYPE bigint;"), nil, ""},

		// add-column-not-null
		{"not null without default", up("ALTER TABLE a ADD COLUMN sku text NOT NULL;"),
			[]string{"add-column-not-null@2"}, "a.sku"},
		{"primary key without default", up("ALTER TABLE b DROP CONSTRAINT b_pkey,\n  ADD COLUMN IF NOT EXISTS uid uuid PRIMARY KEY;"),
			[]string{"add-column-not-null@3"}, "b.uid"},
		{"not null with default, nullable, serial, identity",
			up("ALTER TABLE a ADD COLUMN sku text NOT NULL DEFAULT '',\n  ADD COLUMN maybe text,\n  ADD COLUMN seq bigserial NOT NULL,\n  ADD COLUMN ident bigint GENERATED ALWAYS AS IDENTITY NOT NULL;"), nil, ""},
		{"not null on a table of the same migration", up("CREATE TABLE c (id int);\nALTER TABLE c ADD COLUMN n int NOT NULL;"), nil, ""},

		// non-transactional-multi-statement
		{"two statements without a transaction", upNoTx("CREATE INDEX CONCURRENTLY a_name_idx ON a (name);\nCREATE INDEX CONCURRENTLY a_note_idx ON a (note);"),
			[]string{"non-transactional-multi-statement@1"}, "2 statements"},
		{"one statement without a transaction", upNoTx("ALTER TYPE mood ADD VALUE 'meh';"), nil, ""},

		// directive-option
		{"misspelt transaction option", "-- migrate:up transaction:flase\nSELECT 1;\n-- migrate:down\n",
			[]string{"directive-option@1"}, "neither true nor false"},
		{"unknown option and malformed word", "-- migrate:up\nSELECT 1;\n-- migrate:down timeout:5s notransaction\n",
			[]string{"directive-option@3", "directive-option@3"}, "notransaction"},
		{"valid options", "-- migrate:up transaction:true\nSELECT 1;\n-- migrate:down transaction:false\nSELECT 2;\n", nil, ""},

		// syntax
		{"unterminated string", up("SELECT 1;\nINSERT INTO a (name) VALUES ('oops);"), []string{"syntax@3"}, "unterminated string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			findings := check(t, tc.src)
			var got []string
			for _, f := range findings {
				got = append(got, fmt.Sprintf("%s@%d", f.Rule, f.Line))
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("findings %v, want %v\n%v", got, tc.want, findings)
			}
			if tc.message != "" && !strings.Contains(findings[0].Message, tc.message) {
				t.Fatalf("message %q lacks %q", findings[0].Message, tc.message)
			}
		})
	}
}

func TestFindingsCarrySeverityAndFormatWithFileAndLine(t *testing.T) {
	findings := check(t, up("CREATE TABLE c (a_id int REFERENCES a);\nCREATE INDEX b_a_idx ON b (a_id);"))
	if len(findings) != 2 || lint.CountErrors(findings) != 1 {
		t.Fatalf("findings %v", findings)
	}
	if s := findings[0].String(); !strings.HasPrefix(s, "2_x.sql:2: error: ") || !strings.HasSuffix(s, "[foreign-key]") {
		t.Fatalf("String() = %q", s)
	}
	if findings[1].Severity != lint.SeverityWarning || !strings.HasPrefix(findings[1].String(), "2_x.sql:3: warning: ") {
		t.Fatalf("second finding %v", findings[1])
	}
	for _, r := range lint.Rules {
		if r.Name == lint.RuleForeignKey && r.Severity != lint.SeverityError {
			t.Fatal("the foreign-key rule must be an error")
		}
	}
}

func TestLinterFollowsRenamesAndDropsAcrossFiles(t *testing.T) {
	files := []lint.File{
		{Name: "1.sql", Blocks: []lint.Block{{Line: 1, Transaction: true, SQL: "CREATE TABLE t (n varchar(10));"}}},
		{Name: "2.sql", Blocks: []lint.Block{{Line: 1, Transaction: true, SQL: "ALTER TABLE t RENAME COLUMN n TO m;\nALTER TABLE t RENAME TO u;"}}},
		{Name: "3.sql", Blocks: []lint.Block{{Line: 1, Transaction: true, SQL: "ALTER TABLE u ALTER COLUMN m TYPE varchar(20);"}}},
		{Name: "4.sql", Blocks: []lint.Block{{Line: 1, Transaction: true, SQL: "DROP TABLE u;\nALTER TABLE u ALTER COLUMN m TYPE varchar(30);"}}},
	}
	findings := lint.Check(files)
	if len(findings) != 1 || findings[0].File != "4.sql" || findings[0].Line != 2 || !strings.Contains(findings[0].Message, "does not know") {
		t.Fatalf("findings %v; want only the change after the drop, of unknown type", findings)
	}
}
