package demo_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/migrations"
	"github.com/pgwarp/pgwarp/migrations/demo"
	"github.com/pgwarp/pgwarp/migrations/orphans"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func tableCounts(t *testing.T, conn *pgx.Conn) map[string]int64 {
	t.Helper()
	counts := map[string]int64{}
	for _, table := range []string{
		"tag_category", "information_tag", "artifact_tag_classification", "material_artifact",
		"sales_measurement_dataset", "commercial_transaction_process", "digital_asset", "tag_suggestion",
		"plan_specification", "creative_act_report", "document_artifact", "tag_performance_aggregate",
	} {
		var n int64
		if err := conn.QueryRow(testCtx(t), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		counts[table] = n
	}
	return counts
}

func TestLoadFillsEveryTableWithoutOrphansAndIsIdempotent(t *testing.T) {
	c := pgtest.Shared(t)
	url := c.URL(c.Superuser(), pgtest.CreateDatabase(t, c))
	if _, err := migrations.ApplyBundled(testCtx(t), url, nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	sum, err := demo.Load(testCtx(t), url, demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("demo dataset: %d rows in %s", sum.Total(), time.Since(start).Round(time.Millisecond))
	conn, err := pgx.Connect(testCtx(t), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	counts := tableCounts(t, conn)
	if counts["material_artifact"] != 5000 || counts["sales_measurement_dataset"] != 1000*365 {
		t.Fatalf("counts %v", counts)
	}
	for table, n := range counts {
		if n == 0 {
			t.Errorf("%s is empty", table)
		}
		if table != "tag_performance_aggregate" && sum.Inserted[table] != n {
			t.Errorf("%s: summary says %d inserted, table has %d", table, sum.Inserted[table], n)
		}
	}

	again, err := demo.Load(testCtx(t), url, demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Total() != 0 || !again.Anchor.Equal(sum.Anchor) {
		t.Fatalf("second load inserted %v (anchor %s, first %s)", again.Inserted, again.Anchor, sum.Anchor)
	}
	for table, n := range tableCounts(t, conn) {
		if n != counts[table] {
			t.Errorf("%s: %d rows after the second load, %d before", table, n, counts[table])
		}
	}

	rep, err := orphans.Scan(testCtx(t), conn, orphans.Options{})
	if err != nil || rep.Failed() || rep.OrphanRows() != 0 || len(rep.Relations) != 16 {
		var text strings.Builder
		_ = rep.WriteText(&text)
		t.Fatalf("orphan scan of the demo data (%v):\n%s", err, text.String())
	}

	// The dashboard queries of the benchmark find data.
	var days int64
	if err := conn.QueryRow(testCtx(t), `
SELECT count(*) FROM material_artifact a
  JOIN sales_measurement_dataset s ON s.artifact_identifier = a.artifact_identifier
 WHERE a.artifact_identifier = 'ART-00000001' AND s.day > $1::date - 30 AND s.day <= $1::date`, sum.Anchor).Scan(&days); err != nil || days != 30 {
		t.Fatalf("30-day window of one artifact: %d days, %v", days, err)
	}
	rows, err := conn.Query(testCtx(t), `
SELECT s.artifact_identifier
  FROM sales_measurement_dataset s JOIN material_artifact a ON a.artifact_identifier = s.artifact_identifier
 WHERE s.day > $1::date - 7 AND s.day <= $1::date AND a.is_active
 GROUP BY s.artifact_identifier ORDER BY sum(s.units) DESC, s.artifact_identifier LIMIT 20`, sum.Anchor)
	if err != nil {
		t.Fatal(err)
	}
	top, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(top) != 20 {
		t.Fatalf("top-20: %v %v", top, err)
	}
}

func TestLoadNeedsTheBundledSchema(t *testing.T) {
	c := pgtest.Shared(t)
	url := c.URL(c.Superuser(), pgtest.CreateDatabase(t, c))
	_, err := demo.Load(testCtx(t), url, demo.Options{Artifacts: 10})
	if err == nil || !strings.Contains(err.Error(), "migrate up") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadHonoursSizesAndAnchor(t *testing.T) {
	c := pgtest.Shared(t)
	url := c.URL(c.Superuser(), pgtest.CreateDatabase(t, c))
	if _, err := migrations.ApplyBundled(testCtx(t), url, nil); err != nil {
		t.Fatal(err)
	}
	anchor := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
	sum, err := demo.Load(testCtx(t), url, demo.Options{Artifacts: 40, SalesArtifacts: 4, Days: 10, Anchor: anchor})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Anchor.Equal(anchor) || sum.Inserted["material_artifact"] != 40 || sum.Inserted["sales_measurement_dataset"] != 40 {
		t.Fatalf("summary %+v", sum)
	}
	rep, err := orphans.ScanURL(testCtx(t), url, orphans.Options{})
	if err != nil || rep.OrphanRows() != 0 || rep.Failed() {
		t.Fatalf("orphans in a small dataset: %d, %v", rep.OrphanRows(), err)
	}
	if _, err := demo.Load(testCtx(t), url, demo.Options{Artifacts: 4, SalesArtifacts: 5}); err == nil {
		t.Fatal("more sales artifacts than artifacts was accepted")
	}
}
