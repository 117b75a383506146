package migrations_test

import (
	"strings"
	"testing"

	"github.com/pgwarp/pgwarp/migrations"
)

// FuzzParseFile checks that the migration file parser terminates on any
// input and that what it accepts is consistent: every block starts at its
// directive, blocks are in file order, and the blocks cover the file from
// the first up directive to the end.
func FuzzParseFile(f *testing.F) {
	for _, s := range []string{
		migrations.Template,
		"-- migrate:up transaction:false\ncreate index concurrently i on t(a);\n-- migrate:down transaction:false\ndrop index concurrently i;\n",
		"-- note\n-- migrate:up\na;\n-- migrate:down\nb;\n-- migrate:up\nc;\n-- migrate:down\nd;\n",
		"--migrate:up\r\nselect 1;\r\n--\tmigrate:down x:y:z\r\n",
		"-- migrate:down\n-- migrate:up\n-- migrate:down\n-- migrate:down\n",
		"select 1;\n-- migrate:up\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		m, err := migrations.ParseFile("1_fuzz.sql", []byte(src))
		if err != nil {
			return
		}
		if len(m.Sections) == 0 {
			t.Fatal("accepted a file without sections")
		}
		var rebuilt strings.Builder
		prevLine := 0
		for _, s := range m.Sections {
			for _, b := range []migrations.Block{s.Up, s.Down} {
				if !strings.HasPrefix(b.SQL, "--") || b.Line <= prevLine {
					t.Fatalf("block at line %d (after %d) does not start at a directive: %q", b.Line, prevLine, b.SQL)
				}
				prevLine = b.Line
				rebuilt.WriteString(b.SQL)
			}
		}
		if !strings.HasSuffix(src, rebuilt.String()) {
			t.Fatalf("blocks do not cover the file's end:\nfile   %q\nblocks %q", src, rebuilt.String())
		}
	})
}
