package query_test

import (
	"strings"
	"testing"

	"github.com/pgwarp/pgwarp/query"
)

func TestParseSearchPath(t *testing.T) {
	tests := []struct {
		setting, user        string
		relations, functions string
		creation             string
	}{
		{`"$user", public`, "alice", "pg_temp pg_catalog alice public", "pg_catalog alice public", "alice"},
		{`"$user", public`, "", "pg_temp pg_catalog public", "pg_catalog public", "public"},
		{"App, \"Mixed Case\", x", "u", "pg_temp pg_catalog app Mixed Case x", "pg_catalog app Mixed Case x", "app"},
		{"public, pg_catalog", "u", "pg_temp public pg_catalog", "public pg_catalog", "public"},
		{"pg_temp, public", "u", "pg_catalog pg_temp public", "pg_catalog public", "pg_temp"},
		{"", "u", "pg_temp pg_catalog", "pg_catalog", ""},
		{`"a""b", x y, c`, "u", `pg_temp pg_catalog a"b c`, `pg_catalog a"b c`, `a"b`},
	}
	for _, tt := range tests {
		p := query.ParseSearchPath(tt.setting, tt.user)
		if got := strings.Join(p.RelationSchemas(), " "); got != tt.relations {
			t.Errorf("ParseSearchPath(%q).RelationSchemas() = %q, want %q", tt.setting, got, tt.relations)
		}
		if got := strings.Join(p.FunctionSchemas(), " "); got != tt.functions {
			t.Errorf("ParseSearchPath(%q).FunctionSchemas() = %q, want %q", tt.setting, got, tt.functions)
		}
		if got := p.CreationSchema(); got != tt.creation {
			t.Errorf("ParseSearchPath(%q).CreationSchema() = %q, want %q", tt.setting, got, tt.creation)
		}
	}
	var zero query.SearchPath
	if got := strings.Join(zero.RelationSchemas(), " "); got != "pg_temp pg_catalog" {
		t.Errorf("zero SearchPath searches %q", got)
	}
}

func TestRelationString(t *testing.T) {
	for r, want := range map[query.Relation]string{
		{Name: "t"}:                       "t",
		{Schema: "app", Name: "accounts"}: "app.accounts",
		{Schema: "My Schema", Name: "T"}:  `"My Schema"."T"`,
		{Name: `we"ird`}:                  `"we""ird"`,
		{Schema: "s", Name: "1abc"}:       `s."1abc"`,
	} {
		if got := r.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", r, got, want)
		}
	}
}
