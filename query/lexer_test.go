package query_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/pgwarp/pgwarp/query"
)

func tokenString(toks []query.Token) string {
	parts := make([]string, len(toks))
	for i, t := range toks {
		parts[i] = t.Kind + ":" + t.Text
		if t.TimeRelative {
			parts[i] += "!"
		}
	}
	return strings.Join(parts, " ")
}

func TestLexerTokens(t *testing.T) {
	tests := []struct {
		name, sql, want string
	}{
		{"simple select", "SELECT a FROM t WHERE id = 1;", "ident:SELECT ident:a ident:FROM ident:t ident:WHERE ident:id op:= number:1 semicolon:;"},
		{"line comment", "SELECT 1 -- hi\n, 2", "ident:SELECT number:1 op:, number:2"},
		{"nested block comment", "SELECT /* a /* b */ c */ 1", "ident:SELECT number:1"},
		{"comment hides keyword", "SELECT 1 /* ; DELETE FROM t */", "ident:SELECT number:1"},
		{"doubled quote", "SELECT 'it''s'", "ident:SELECT string:'it''s'"},
		{"escape string", `SELECT E'a\'b', e'\\'`, `ident:SELECT string:E'a\'b'! op:, string:e'\\'!`},
		{"unicode string", `SELECT U&'d\0061t' UESCAPE '!'`, `ident:SELECT string:U&'d\0061t'! ident:UESCAPE string:'!'`},
		{"national string", "SELECT N'x'", "ident:SELECT string:N'x'"},
		{"bit strings", "SELECT B'01', x'FF'", "ident:SELECT bit-string:B'01' op:, bit-string:x'FF'"},
		{"string continuation", "SELECT 'a'\n  'b'", "ident:SELECT string:'a'\n  'b'!"},
		{"no continuation without newline", "SELECT 'a' 'b'", "ident:SELECT string:'a' string:'b'"},
		{"no continuation across a comment", "SELECT 'a' -- c\n'b'", "ident:SELECT string:'a' string:'b'"},
		{"dollar quote", "SELECT $$a'b$$, $x$ $$ $x$", "ident:SELECT string:$$a'b$$ op:, string:$x$ $$ $x$"},
		{"dollar quote with inner tag", "SELECT $a$ $b$ $a$", "ident:SELECT string:$a$ $b$ $a$"},
		{"parameters", "SELECT $1, $23", "ident:SELECT param:$1 op:, param:$23"},
		{"dollar in identifier", "SELECT a$b$c", "ident:SELECT ident:a$b$c"},
		{"lone dollar", "SELECT $a", "ident:SELECT other:$ ident:a"},
		{"quoted identifier", `SELECT "a""b", U&"x"`, `ident:SELECT quoted-ident:"a""b" op:, quoted-ident:U&"x"`},
		{"numbers", "SELECT 1.5, .5, 1e10, 1.5E-3, 0x1F, 0o17, 0b101, 1_000", "ident:SELECT number:1.5 op:, number:.5 op:, number:1e10 op:, number:1.5E-3 op:, number:0x1F op:, number:0o17 op:, number:0b101 op:, number:1_000"},
		{"numeric range", "SELECT 1..10", "ident:SELECT number:1 op:.. number:10"},
		{"junk after number", "SELECT 1abc", "ident:SELECT error:1abc"},
		{"operators trimmed", "a+-b a@-b a<=b a!=b a::int a:=b", "ident:a op:+ op:- ident:b ident:a op:@- ident:b ident:a op:<= ident:b ident:a op:!= ident:b ident:a op::: ident:int ident:a op::= ident:b"},
		{"operator stops at comment", "1+/*c*/2 3*--c\n4", "number:1 op:+ number:2 number:3 op:* number:4"},
		{"time-relative literals", "SELECT 'now', 'Today 10:00', 'snow', 'tomorrow', $$yesterday$$", "ident:SELECT string:'now'! op:, string:'Today 10:00'! op:, string:'snow' op:, string:'tomorrow'! op:, string:$$yesterday$$!"},
		{"unterminated string", "SELECT 'abc", "ident:SELECT error:'abc"},
		{"unterminated comment", "SELECT 1 /* abc", "ident:SELECT number:1 error:/* abc"},
		{"zero-length identifier", `SELECT ""`, `ident:SELECT error:""`},
		{"u ampersand without quote", "SELECT u&x", "ident:SELECT ident:u op:& ident:x"},
		{"non-ASCII identifier", "SELECT café FROM t", "ident:SELECT ident:café ident:FROM ident:t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tokenString(query.LexTokens(tt.sql)); got != tt.want {
				t.Errorf("tokens of %q:\n got %s\nwant %s", tt.sql, got, tt.want)
			}
		})
	}
}

// scannerCorpus exercises every lexer rule; TestLexerAgreesWithPostgresScanner
// and the fuzz seeds use it.
var scannerCorpus = []string{
	"SELECT abalance FROM pgbench_accounts WHERE aid = 12345;",
	"select * from t where a = 'x' and b = E'y\\'z' and c = $$w$$ and d = $tag$v$tag$",
	"SELECT 'a'\n'b', 'c'\r\n  'd'",
	"SELECT 1 -- comment\n+ 2 /* block /* nested */ */ * 3",
	"SELECT a+-b, a-+b, a*-b, a@-b, a<->b, a!!=b, a||b, a<=b, a>=b, a<>b, a!=b, a=>b, a::int",
	"SELECT 1.5, .5, 1e10, 1.5E-3, 0x1F, 0o17, 0b101, 1_000, 1..10, 1.e5",
	`SELECT "quoted""ident", U&"uni\0061", U&'uni\0061' UESCAPE '\', N'nat', B'0101', X'ff'`,
	"SELECT $1, $2::text, a$b, x.y, t.*, arr[1:2], f(VARIADIC ARRAY[1])",
	"WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x;",
	"SET search_path = \"$user\", public; BEGIN; COMMIT",
	"SELECT 1 +/* comment */2, 3 -- trailing",
	"SELECT café, ñ FROM \"Ünïcode\"",
	"SELECT '{\"a\": 1}'::jsonb ? 'a', j @> '{}', j #>> '{a}'",
	"select\tfoo\fbar\vbaz",
	"SELECT 1::numeric(10,2), 'x' COLLATE \"C\", ARRAY[1,2]",
	"COPY t FROM STDIN WITH (FORMAT csv)",
	"CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql",
	"SELECT $a$ $b$ $a$, $$$$",
	"SELECT 1 ;; SELECT 2 ;",
	"SELECT -1, - 1, +1, !1",
	"SELECT a OPERATOR(pg_catalog.+) b",
	"SELECT :=, ::, :, ..",
	"SELECT 'it''s', E'\\\\', e'\\x41'",
	"SELECT 1/**/2",
	"SELECT u&x, U & 'y'",
	"SELECT 0x, 1e+, 1abc, \"\"",
}

func TestLexerAgreesWithPostgresScanner(t *testing.T) {
	compared := 0
	for _, sql := range scannerCorpus {
		ok, err := compareWithScanner(sql)
		if err != nil {
			t.Error(err)
		}
		if ok {
			compared++
		}
	}
	// Only the last entry, full of scanner errors, is skipped.
	if compared != len(scannerCorpus)-1 {
		t.Errorf("PostgreSQL's scanner accepted %d of %d corpus entries, want %d", compared, len(scannerCorpus), len(scannerCorpus)-1)
	}
}

// compareWithScanner checks that where PostgreSQL's scanner accepts sql, the
// lexer finds the same token boundaries, and reports whether it compared.
// PostgreSQL scans N'x' as the keyword NCHAR followed by a string; the
// lexer keeps them together.
func compareWithScanner(sql string) (bool, error) {
	if strings.IndexByte(sql, 0) >= 0 {
		return false, nil
	}
	res, err := pg_query.Scan(sql)
	if err != nil {
		return false, nil
	}
	var want []string
	toks := res.GetTokens()
	for i := 0; i < len(toks); i++ {
		tk := toks[i]
		if tk.Token == pg_query.Token_SQL_COMMENT || tk.Token == pg_query.Token_C_COMMENT {
			continue
		}
		start, end := int(tk.Start), int(tk.End)
		if tk.Token == pg_query.Token_NCHAR && i+1 < len(toks) && int(toks[i+1].Start) == end &&
			toks[i+1].Token == pg_query.Token_SCONST {
			end = int(toks[i+1].End)
			i++
		}
		want = append(want, fmt.Sprintf("%d:%d", start, end))
	}
	var got []string
	for _, tk := range query.LexTokens(sql) {
		got = append(got, fmt.Sprintf("%d:%d", tk.Start, tk.End))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		return true, fmt.Errorf("token boundaries of %q:\n got %v\nwant %v (PostgreSQL's scanner)", sql, got, want)
	}
	return true, nil
}

func TestCommentFreeText(t *testing.T) {
	tests := []struct {
		name, sql, want string
	}{
		{"already canonical", "SELECT 1", "SELECT 1"},
		{"trailing semicolon", "SELECT abalance FROM pgbench_accounts WHERE aid = 1;", "SELECT abalance FROM pgbench_accounts WHERE aid = 1"},
		{"whitespace collapsed", "  SELECT\n\t a ,b\r\nFROM   t  ;  ", "SELECT a ,b FROM t"},
		{"block comment removed", "SELECT /* pgwarp:cache ttl=30s */ 1", "SELECT 1"},
		{"comment between tokens keeps them apart", "SELECT a/**/FROM t", "SELECT a FROM t"},
		{"comment between minus signs", "SELECT 1 -/**/- 2", "SELECT 1 - - 2"},
		{"line comments removed", "-- header\nSELECT 1 -- trailer", "SELECT 1"},
		{"literals kept", "SELECT 'a  /* not a comment */ b', $$ -- $$", "SELECT 'a  /* not a comment */ b', $$ -- $$"},
		{"inner semicolons kept", ";SELECT 1;  SELECT 2;;", "SELECT 1; SELECT 2"},
		{"continuation kept verbatim", "SELECT 'a'\n'b'", "SELECT 'a'\n'b'"},
		{"case kept", "select A from T", "select A from T"},
		{"only comments", "/* nothing */ -- at all", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, _, _ := query.Lex(tt.sql)
			if text != tt.want {
				t.Errorf("text of %q = %q, want %q", tt.sql, text, tt.want)
			}
		})
	}
}

func TestMemoKeyIgnoresLiteralsCaseWhitespaceAndComments(t *testing.T) {
	same := [][2]string{
		{"SELECT abalance FROM pgbench_accounts WHERE aid = 12345;", "select abalance from PGBENCH_ACCOUNTS where aid = 9"},
		{"SELECT * FROM t WHERE a = 'x' AND b = 1.5", "SELECT * FROM t WHERE a = 'yyyy' AND b = 2e10 /* c */"},
		{"SELECT $$a$$", "SELECT 'b'"},
		{"SELECT x'ff'", "SELECT B'0101'"},
		{"SELECT date '2024-01-01'", "SELECT date '1999-12-31'"},
		{"SELECT 'now'::timestamptz", "SELECT 'today'::timestamptz"},
	}
	for _, p := range same {
		_, k1, _ := query.Lex(p[0])
		_, k2, _ := query.Lex(p[1])
		if k1 != k2 {
			t.Errorf("keys differ:\n%q -> %q\n%q -> %q", p[0], k1, p[1], k2)
		}
	}
	different := [][2]string{
		{"SELECT * FROM t", `SELECT * FROM "T"`},
		{"SELECT $1", "SELECT $2"},
		{"SELECT 1", "SELECT '1'"},
		{"SELECT 'x'", "SELECT N'x'"},
		{"SELECT date '2024-01-01'", "SELECT date 'today'"},
		{"SELECT 1", "SELECT 1abc"},
		{"SELECT 1; SELECT 2", "SELECT 1, 2"},
		{"SELECT a FROM t", "SELECT a FROM t FOR UPDATE"},
	}
	for _, p := range different {
		_, k1, _ := query.Lex(p[0])
		_, k2, _ := query.Lex(p[1])
		if k1 == k2 {
			t.Errorf("keys of %q and %q are both %q", p[0], p[1], k1)
		}
	}
}

func TestTimeRelativeParameterValues(t *testing.T) {
	for v, want := range map[string]bool{
		"now": true, "NOW": true, "today": true, "tomorrow 10:00": true, "yesterday": true,
		"2024-01-01": false, "snow": false, "epoch": false, "infinity": false, "": false, "knowledge": false,
	} {
		if got := query.TimeRelative([]byte(v)); got != want {
			t.Errorf("TimeRelative(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestLexerCompatibleSessions(t *testing.T) {
	tests := []struct {
		scs, encoding string
		want          bool
	}{
		{"on", "UTF8", true},
		{"on", "LATIN1", true},
		{"", "", true},
		{"off", "UTF8", false},
		{"on", "SJIS", false},
		{"on", "Shift_JIS_2004", false},
		{"on", "BIG5", false},
		{"on", "gbk", false},
		{"on", "WIN936", false},
		{"on", "UHC", false},
		{"on", "GB18030", false},
		{"on", "EUC_JP", true},
	}
	for _, tt := range tests {
		if got := query.LexerCompatible(tt.scs, tt.encoding); got != tt.want {
			t.Errorf("LexerCompatible(%q, %q) = %v, want %v", tt.scs, tt.encoding, got, tt.want)
		}
	}
}

func TestParamCountAgreesWithPostgresParser(t *testing.T) {
	for _, c := range []struct {
		sql  string
		want int
	}{
		{"SELECT 1", 0},
		{"SELECT $1", 1},
		{"SELECT $2, $1::int", 2},
		{"SELECT $10 + $9", 10},
		{"SELECT '$3', \"$4\", $$ $5 $$, $q$ $6 $q$ -- $7\n, $1 /* $8 */", 1},
		{"SELECT E'\\'$5', $2", 2},
		{"UPDATE t SET v = $1 WHERE id = $3 RETURNING $2", 3},
		{"SELECT col$1 FROM t", 0},
	} {
		if got := query.ParamCount(c.sql); got != c.want {
			t.Errorf("ParamCount(%q) = %d, want %d", c.sql, got, c.want)
		}
		// PostgreSQL's parser finds the same highest parameter reference.
		tree, err := pg_query.ParseToJSON(c.sql)
		if err != nil {
			t.Fatalf("%q: %v", c.sql, err)
		}
		high := 0
		for _, m := range regexp.MustCompile(`"ParamRef":\{"number":(\d+)`).FindAllStringSubmatch(tree, -1) {
			if n, _ := strconv.Atoi(m[1]); n > high {
				high = n
			}
		}
		if high != c.want {
			t.Errorf("%q: PostgreSQL's parser finds $%d, the table says %d", c.sql, high, c.want)
		}
	}
}
