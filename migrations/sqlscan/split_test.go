package sqlscan_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/pgwarp/pgwarp/migrations/sqlscan"
)

func texts(stmts []sqlscan.Statement) []string {
	out := make([]string, len(stmts))
	for i, s := range stmts {
		out[i] = s.Text
	}
	return out
}

func TestSplitSeparatesStatementsOnlyAtTopLevelSemicolons(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"two statements", "select 1; select 2;", []string{"select 1", "select 2"}},
		{"no final semicolon", "select 1;\nselect 2", []string{"select 1", "select 2"}},
		{"empty statements dropped", ";;  ; -- nothing\n;", nil},
		{"semicolon in string", "insert into t values ('a;b'); select 1", []string{"insert into t values ('a;b')", "select 1"}},
		{"doubled quote in string", "select 'it''s; fine'; select 2", []string{"select 'it''s; fine'", "select 2"}},
		{"escape string backslash quote", `select E'a\';b'; select 2`, []string{`select E'a\';b'`, "select 2"}},
		{"standard string keeps backslash", `select 'a\'; select 2`, []string{`select 'a\'`, "select 2"}},
		{"quoted identifier", `select 1 as "x;y"; select 2`, []string{`select 1 as "x;y"`, "select 2"}},
		{"line comment", "select 1 -- ; not here\n; select 2", []string{"select 1", "select 2"}},
		{"nested block comment", "select /* a /* ; */ ; */ 1; select 2", []string{"select /* a /* ; */ ; */ 1", "select 2"}},
		{"dollar quote", "create function f() returns int as $$ select 1; $$ language sql; select 2",
			[]string{"create function f() returns int as $$ select 1; $$ language sql", "select 2"}},
		{"tagged dollar quote containing $$", "do $body$ begin perform '$$;'; end $body$; select 2",
			[]string{"do $body$ begin perform '$$;'; end $body$", "select 2"}},
		{"parameter is not a dollar quote", "select $1; select $2", []string{"select $1", "select $2"}},
		{"identifier with dollar", "select a$b$c; select 2", []string{"select a$b$c", "select 2"}},
		{"parentheses", "create rule r as on insert to t do also (insert into a values (1); insert into b values (2)); select 2",
			[]string{"create rule r as on insert to t do also (insert into a values (1); insert into b values (2))", "select 2"}},
		{"begin atomic body", "create function f() returns int language sql begin atomic select 1; select case when true then 2 end; end; select 3",
			[]string{"create function f() returns int language sql begin atomic select 1; select case when true then 2 end; end", "select 3"}},
		{"or replace procedure body", "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC insert into t values (1); END; select 3",
			[]string{"CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC insert into t values (1); END", "select 3"}},
		{"transaction begin is a statement", "begin; select 1; commit;", []string{"begin", "select 1", "commit"}},
		{"case outside routine does not nest", "select case when true then 1 end; select 2", []string{"select case when true then 1 end", "select 2"}},
		{"unicode string", "select U&'d\\0061t;a'; select 2", []string{"select U&'d\\0061t;a'", "select 2"}},
		{"operators and casts", "select 1::int+-2 <> 3; select 2", []string{"select 1::int+-2 <> 3", "select 2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sqlscan.Split(tc.src)
			if err != nil {
				t.Fatalf("Split: %v", err)
			}
			if g := texts(got); len(g) != len(tc.want) || len(g) > 0 && !reflect.DeepEqual(g, tc.want) {
				t.Fatalf("Split(%q)\n got %q\nwant %q", tc.src, g, tc.want)
			}
		})
	}
}

func TestSplitReportsLinesOfStatements(t *testing.T) {
	src := "-- header\n\nselect 1;\n/* c\n */ select\n 2;"
	got, err := sqlscan.Split(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Line != 3 || got[1].Line != 5 {
		t.Fatalf("lines: %+v", got)
	}
	if got[1].Tokens[1].Line != 6 {
		t.Fatalf("token line = %d, want 6", got[1].Tokens[1].Line)
	}
}

func TestSplitReportsUnterminatedElements(t *testing.T) {
	tests := []struct {
		name string
		src  string
		line int
	}{
		{"string", "select 1;\nselect 'abc", 2},
		{"escape string", "select E'abc\\'", 1},
		{"quoted identifier", "select 1;\n\nselect \"abc", 3},
		{"dollar quote", "select $x$ abc $y$", 1},
		{"block comment", "select 1; /* /* */", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stmts, err := sqlscan.Split(tc.src)
			var se *sqlscan.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *SyntaxError", err)
			}
			if se.Line != tc.line {
				t.Fatalf("line = %d, want %d (%v)", se.Line, tc.line, se)
			}
			if len(stmts) == 0 || stmts[0].Text != "select 1" && stmts[0].Text != "select" {
				t.Fatalf("statements before the error: %q", texts(stmts))
			}
		})
	}
}

func TestTokenizeNormalisesWordsAndQuotedIdentifiers(t *testing.T) {
	toks, err := sqlscan.Tokenize(`CREATE TABLE "My""Table" (Id int)`)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind  sqlscan.Kind
		value string
	}{
		{sqlscan.KindWord, "create"}, {sqlscan.KindWord, "table"}, {sqlscan.KindQuotedIdent, `My"Table`},
		{sqlscan.KindPunct, "("}, {sqlscan.KindWord, "id"}, {sqlscan.KindWord, "int"}, {sqlscan.KindPunct, ")"},
	}
	if len(toks) != len(want) {
		t.Fatalf("tokens: %+v", toks)
	}
	for i, w := range want {
		if toks[i].Kind != w.kind || toks[i].Value != w.value {
			t.Errorf("token %d = %v %q, want %v %q", i, toks[i].Kind, toks[i].Value, w.kind, w.value)
		}
	}
}
