package relations_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/migrations"
	"github.com/pgwarp/pgwarp/migrations/relations"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func migratedConn(t *testing.T) *pgx.Conn {
	t.Helper()
	c := pgtest.Shared(t)
	url := c.URL(c.Superuser(), pgtest.CreateDatabase(t, c))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	if _, err := migrations.ApplyBundled(ctx, url, nil); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestLoadReadsEveryRelationOfTheBundledSchema(t *testing.T) {
	conn := migratedConn(t)
	rels, problems, err := relations.Load(context.Background(), conn)
	if err != nil || len(problems) != 0 {
		t.Fatalf("Load: %v, problems %v", err, problems)
	}
	var got []string
	for _, r := range rels {
		got = append(got, r.String())
	}
	want := []string{
		"artifact_tag_classification.artifact_identifier -> material_artifact.artifact_identifier",
		"artifact_tag_classification.tag_identifier -> information_tag.tag_identifier",
		"commercial_transaction_process.artifact_identifier -> material_artifact.artifact_identifier",
		"commercial_transaction_process.refunded_transaction_identifier -> commercial_transaction_process.transaction_identifier",
		"creative_act_report.artifact_identifier -> material_artifact.artifact_identifier",
		"creative_act_report.plan_identifier -> plan_specification.plan_identifier",
		"digital_asset.artifact_identifier -> material_artifact.artifact_identifier",
		"document_artifact.artifact_identifier -> material_artifact.artifact_identifier",
		"document_artifact.asset_identifier -> digital_asset.asset_identifier",
		"information_tag.category_identifier -> tag_category.category_identifier",
		"plan_specification.artifact_identifier -> material_artifact.artifact_identifier",
		"plan_specification.parent_plan_identifier -> plan_specification.plan_identifier",
		"sales_measurement_dataset.artifact_identifier -> material_artifact.artifact_identifier",
		"tag_performance_aggregate.tag_identifier -> information_tag.tag_identifier",
		"tag_suggestion.artifact_identifier -> material_artifact.artifact_identifier",
		"tag_suggestion.tag_identifier -> information_tag.tag_identifier",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("relations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, r := range rels {
		if r.From.Type != "character varying(64)" || r.To.Type != "character varying(64)" {
			t.Fatalf("%s: types %q -> %q", r, r.From.Type, r.To.Type)
		}
	}
}

func TestLoadReportsUnusableRelationComments(t *testing.T) {
	conn := migratedConn(t)
	ctx := context.Background()
	for _, sql := range []string{
		"CREATE SCHEMA other",
		"CREATE TABLE other.note (note_identifier text PRIMARY KEY, artifact_identifier text, author_identifier text, misspelt text)",
		"COMMENT ON COLUMN other.note.artifact_identifier IS 'references public.material_artifact.artifact_identifier'",
		"COMMENT ON COLUMN other.note.author_identifier IS 'references author.author_identifier'",
		"COMMENT ON COLUMN other.note.misspelt IS 'References the artifact.'",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	rels, problems, err := relations.Load(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rels {
		found = found || r.String() == "other.note.artifact_identifier -> material_artifact.artifact_identifier"
	}
	if !found {
		t.Fatalf("the cross-schema relation is missing from %v", rels)
	}
	if len(problems) != 2 ||
		problems[0].Column.String() != "other.note.author_identifier" || !strings.Contains(problems[0].Error(), "other.author.author_identifier, which does not exist") ||
		problems[1].Column.String() != "other.note.misspelt" || !strings.Contains(problems[1].Error(), "malformed") {
		t.Fatalf("problems %v", problems)
	}
}
