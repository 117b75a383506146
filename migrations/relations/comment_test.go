package relations_test

import (
	"errors"
	"testing"

	"github.com/pgwarp/pgwarp/migrations/relations"
)

func TestParseCommentReadsTheRelationLine(t *testing.T) {
	tests := []struct {
		name    string
		comment string
		want    relations.Ref
	}{
		{"only the line", "references material_artifact.artifact_identifier", relations.Ref{Table: "material_artifact", Column: "artifact_identifier"}},
		{"after a description", "The artifact measured.\nreferences material_artifact.artifact_identifier", relations.Ref{Table: "material_artifact", Column: "artifact_identifier"}},
		{"between description lines, crlf and blanks", "Who.\r\n   references   a.b  \r\nMore text.", relations.Ref{Table: "a", Column: "b"}},
		{"schema qualified", "references catalog.material_artifact.artifact_identifier", relations.Ref{Schema: "catalog", Table: "material_artifact", Column: "artifact_identifier"}},
		{"unquoted names fold to lower case", "REFERENCES Material_Artifact.ID", relations.Ref{Table: "material_artifact", Column: "id"}},
		{"tab after the keyword", "references\tt.c", relations.Ref{Table: "t", Column: "c"}},
		{"quoted names keep case, dots and quotes", `references "My.Schema"."Odd ""T"""."c$1"`, relations.Ref{Schema: "My.Schema", Table: `Odd "T"`, Column: "c$1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := relations.ParseComment(tc.comment)
			if err != nil || !ok || got != tc.want {
				t.Fatalf("ParseComment(%q) = %+v, %v, %v; want %+v", tc.comment, got, ok, err, tc.want)
			}
			again, ok, err := relations.ParseComment(got.Line())
			if err != nil || !ok || again != got {
				t.Fatalf("Line() %q does not parse back: %+v %v %v", got.Line(), again, ok, err)
			}
		})
	}
}

func TestParseCommentIgnoresCommentsWithoutARelationLine(t *testing.T) {
	for _, c := range []string{"", "Display title.", "Points at the references table.", "referenced by orders", "see: references a.b"} {
		if _, ok, err := relations.ParseComment(c); ok || err != nil {
			t.Errorf("ParseComment(%q): ok=%v err=%v", c, ok, err)
		}
	}
}

func TestParseCommentRejectsMalformedRelationLines(t *testing.T) {
	for _, c := range []string{
		"references",
		"references material_artifact",
		"References the artifact sold.",
		"references a.b.c.d",
		"references a.b extra words",
		"references a..b",
		"references a.b.",
		`references "unterminated.b`,
		`references "".b`,
		"references a.b\nreferences c.d",
		"references a-b.c",
	} {
		if _, ok, err := relations.ParseComment(c); ok || !errors.Is(err, relations.ErrMalformed) {
			t.Errorf("ParseComment(%q): ok=%v err=%v; want ErrMalformed", c, ok, err)
		}
	}
}
