package migrations_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pgwarp/pgwarp/migrations"
)

func TestParseFileSplitsSectionsLikeDbmate(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		sections int
		upTx     []bool
		upLine   []int
		downLine []int
	}{
		{"dbmate template", migrations.Template, 1, []bool{true}, []int{1}, []int{4}},
		{"statements", "-- migrate:up\ncreate table t (id int);\n-- migrate:down\ndrop table t;\n", 1, []bool{true}, []int{1}, []int{3}},
		{"comments and blanks before up", "-- why\n\n  -- more\n-- migrate:up\nselect 1;\n-- migrate:down\n", 1, []bool{true}, []int{4}, []int{6}},
		{"transaction false", "-- migrate:up transaction:false\ncreate index concurrently i on t (a);\n-- migrate:down transaction:false\ndrop index concurrently i;\n", 1, []bool{false}, []int{1}, []int{3}},
		{"no blank after dashes", "--migrate:up\nselect 1;\n--migrate:down\n", 1, []bool{true}, []int{1}, []int{3}},
		{"crlf line endings", "-- migrate:up\r\nselect 1;\r\n-- migrate:down\r\nselect 2;\r\n", 1, []bool{true}, []int{1}, []int{3}},
		{"two sections", "-- migrate:up\na;\n-- migrate:down\nb;\n-- migrate:up transaction:false\nc;\n-- migrate:down\nd;\n", 2, []bool{true, false}, []int{1, 5}, []int{3, 7}},
		{"down before first up is a comment", "-- migrate:down\n-- migrate:up\na;\n-- migrate:down\nb;\n", 1, []bool{true}, []int{2}, []int{4}},
		{"longer keyword is not a directive", "-- migrate:up\n-- migrate:upgrade notes\na;\n-- migrate:down\n", 1, []bool{true}, []int{1}, []int{4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := migrations.ParseFile("20240101000000_x.sql", []byte(tc.src))
			if err != nil {
				t.Fatalf("ParseFile: %v", err)
			}
			if m.Version != "20240101000000" || len(m.Sections) != tc.sections {
				t.Fatalf("version %q, %d sections; want %d", m.Version, len(m.Sections), tc.sections)
			}
			for i, s := range m.Sections {
				if s.Up.Options.Transaction() != tc.upTx[i] || s.Up.Line != tc.upLine[i] || s.Down.Line != tc.downLine[i] {
					t.Errorf("section %d: tx=%v up line %d down line %d; want %v %d %d", i, s.Up.Options.Transaction(), s.Up.Line, s.Down.Line, tc.upTx[i], tc.upLine[i], tc.downLine[i])
				}
				if !strings.Contains(s.Up.SQL, "migrate:up") || !strings.Contains(s.Down.SQL, "migrate:down") {
					t.Errorf("section %d blocks do not start at their directives: %q / %q", i, s.Up.SQL, s.Down.SQL)
				}
			}
		})
	}
}

func TestParseFileRejectsWhatDbmateRejects(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want error
		line int
	}{
		{"empty", "", migrations.ErrMissingUp, 0},
		{"no up", "select 1;\n", migrations.ErrStatementBeforeUp, 1},
		{"only down", "-- migrate:down\ndrop table t;\n", migrations.ErrStatementBeforeUp, 2},
		{"no down", "-- migrate:up\nselect 1;\n", migrations.ErrMissingDown, 1},
		{"statement before up", "create type x as enum ('a');\n-- migrate:up\n-- migrate:down\n", migrations.ErrStatementBeforeUp, 1},
		{"block comment before up", "/* note */\n-- migrate:up\n-- migrate:down\n", migrations.ErrStatementBeforeUp, 1},
		{"two downs", "-- migrate:up\na;\n-- migrate:down\nb;\n-- migrate:down\nc;\n", migrations.ErrMultipleDown, 5},
		{"second section without down", "-- migrate:up\na;\n-- migrate:down\nb;\n-- migrate:up\nc;\n", migrations.ErrMissingDown, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := migrations.ParseFile("1_x.sql", []byte(tc.src))
			var pe *migrations.ParseError
			if !errors.Is(err, tc.want) || !errors.As(err, &pe) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if pe.Line != tc.line || pe.File != "1_x.sql" {
				t.Fatalf("located at %s:%d, want 1_x.sql:%d", pe.File, pe.Line, tc.line)
			}
		})
	}
}

func TestParseFileKeepsOptionsAndMalformedWords(t *testing.T) {
	m, err := migrations.ParseFile("1_x.sql", []byte("-- migrate:up transaction:flase nonsense a:b:c\n-- migrate:down\n"))
	if err != nil {
		t.Fatal(err)
	}
	up := m.Sections[0].Up
	if !up.Options.Transaction() || up.Options["transaction"] != "flase" {
		t.Fatalf("options = %v", up.Options)
	}
	if strings.Join(up.Malformed, " ") != "nonsense a:b:c" {
		t.Fatalf("malformed = %q", up.Malformed)
	}
}

func TestParseFileRequiresDbmateFileNames(t *testing.T) {
	for _, name := range []string{"x.sql", "20240101_x.txt", "_1.sql"} {
		if _, err := migrations.ParseFile(name, []byte(migrations.Template)); !errors.Is(err, migrations.ErrInvalidFileName) {
			t.Errorf("%s: err = %v, want ErrInvalidFileName", name, err)
		}
	}
	for _, name := range []string{"001.sql", "20240101000000_create_x.sql", "7-anything.sql"} {
		if !migrations.IsMigrationFile(name) {
			t.Errorf("%s is a migration file to dbmate", name)
		}
	}
}

func TestParseFileChecksumChangesWithContent(t *testing.T) {
	a, _ := migrations.ParseFile("1_x.sql", []byte(migrations.Template))
	b, _ := migrations.ParseFile("1_x.sql", []byte(migrations.Template+"\n"))
	if a.Checksum == b.Checksum || len(a.Checksum) != 64 {
		t.Fatalf("checksums %q %q", a.Checksum, b.Checksum)
	}
}

func TestLoadOrdersByFileNameAndSkipsOtherFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"20240102000000_b.sql": {Data: []byte(migrations.Template)},
		"20240101000000_a.sql": {Data: []byte(migrations.Template)},
		"README.md":            {Data: []byte("not a migration")},
		"schema.sql":           {Data: []byte("-- dump")},
		"sub/3_c.sql":          {Data: []byte("ignored: in a directory")},
	}
	migs, err := migrations.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if len(migs) != 2 || migs[0].File != "20240101000000_a.sql" || migs[1].File != "20240102000000_b.sql" {
		t.Fatalf("loaded %v", migs)
	}
}

func TestLoadRejectsDuplicateVersionsAndEmptyDirectories(t *testing.T) {
	_, err := migrations.Load(fstest.MapFS{
		"1_a.sql": {Data: []byte(migrations.Template)},
		"1_b.sql": {Data: []byte(migrations.Template)},
	})
	if !errors.Is(err, migrations.ErrDuplicateVersion) {
		t.Fatalf("duplicate versions: err = %v", err)
	}
	if _, err := migrations.Load(fstest.MapFS{"notes.txt": {}}); !errors.Is(err, migrations.ErrNoMigrationFiles) {
		t.Fatalf("no files: err = %v", err)
	}
}

func TestNewFileWritesDbmateTemplateOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db", "migrations")
	now := time.Date(2025, 2, 3, 15, 0, 0, 0, time.FixedZone("CET", 3600))
	path, err := migrations.NewFile(dir, "add_document_artifact_table", now)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "20250203140000_add_document_artifact_table.sql" {
		t.Fatalf("path = %s (the version is UTC)", path)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != migrations.Template {
		t.Fatalf("content %q, %v", got, err)
	}
	if _, err := migrations.ParseFile(filepath.Base(path), got); err != nil {
		t.Fatalf("the template does not parse: %v", err)
	}
	if _, err := migrations.NewFile(dir, "add_document_artifact_table", now); err == nil {
		t.Fatal("NewFile overwrote an existing file")
	}
	for _, bad := range []string{"", "a/b", `a\b`, "a b"} {
		if _, err := migrations.NewFile(dir, bad, now); !errors.Is(err, migrations.ErrInvalidMigrationID) {
			t.Errorf("name %q: err = %v", bad, err)
		}
	}
}
