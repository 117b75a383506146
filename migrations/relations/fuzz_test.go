package relations_test

import (
	"testing"

	"github.com/pgwarp/pgwarp/migrations/relations"
)

// FuzzParseComment checks that the relation-comment parser terminates on
// any comment and that every relation it reads survives Line() and parsing
// back.
func FuzzParseComment(f *testing.F) {
	for _, s := range []string{
		"references material_artifact.artifact_identifier",
		"The artifact.\nreferences public.material_artifact.artifact_identifier",
		`references "A"".b"."c d".e`,
		"REFERENCES x.y\r\nreferences z.w",
		"references a..b",
		"references\t\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, comment string) {
		ref, ok, err := relations.ParseComment(comment)
		if err != nil || !ok {
			return
		}
		if ref.Table == "" || ref.Column == "" {
			t.Fatalf("empty names in %+v from %q", ref, comment)
		}
		again, ok, err := relations.ParseComment(ref.Line())
		if err != nil || !ok || again != ref {
			t.Fatalf("%q parsed to %+v; its Line() %q parsed to %+v %v %v", comment, ref, ref.Line(), again, ok, err)
		}
	})
}
