package sqlscan_test

import (
	"strings"
	"testing"

	"github.com/pgwarp/pgwarp/migrations/sqlscan"
)

// FuzzSplit checks that Split terminates on any input and that the
// statements it returns are ordered, non-overlapping slices of the input
// made of their own tokens.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		"select 1; select 2",
		"create function f() returns int language sql begin atomic select 1; end; select 2",
		"do $$ begin raise notice ';'; end $$;",
		"select E'\\'';' /* ; /* */ */ \"a;\";",
		"select 'unterminated",
		"$1 $a $a$ $$",
		"U&\"x\" u&'y' b'1' x'ff' n'z'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		stmts, _ := sqlscan.Split(src)
		prevEnd := 0
		for _, s := range stmts {
			if s.Start < prevEnd || s.End < s.Start || s.End > len(src) {
				t.Fatalf("statement bounds [%d,%d) after %d in %d bytes", s.Start, s.End, prevEnd, len(src))
			}
			if src[s.Start:s.End] != s.Text {
				t.Fatalf("Text %q is not the input slice %q", s.Text, src[s.Start:s.End])
			}
			if len(s.Tokens) == 0 {
				t.Fatalf("statement %q without tokens", s.Text)
			}
			for _, tok := range s.Tokens {
				if tok.Offset < s.Start || tok.Offset+len(tok.Text) > s.End || src[tok.Offset:tok.Offset+len(tok.Text)] != tok.Text {
					t.Fatalf("token %+v outside statement %q", tok, s.Text)
				}
				if want := 1 + strings.Count(src[:tok.Offset], "\n"); tok.Line != want {
					t.Fatalf("token %q at line %d, want %d", tok.Text, tok.Line, want)
				}
			}
			prevEnd = s.End
		}
	})
}
