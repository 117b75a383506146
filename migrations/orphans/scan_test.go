package orphans_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgwarp/pgwarp/internal/pgcluster"
	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/migrations"
	"github.com/pgwarp/pgwarp/migrations/orphans"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// migratedDB returns the URL of a fresh database with the bundled schema
// and a connection to it.
func migratedDB(t *testing.T) (string, *pgx.Conn) {
	t.Helper()
	c := pgtest.Shared(t)
	url := c.URL(c.Superuser(), pgtest.CreateDatabase(t, c))
	if _, err := migrations.ApplyBundled(testCtx(t), url, nil); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(testCtx(t), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return url, conn
}

func exec(t *testing.T, conn *pgx.Conn, sqls ...string) {
	t.Helper()
	for _, sql := range sqls {
		if _, err := conn.Exec(testCtx(t), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

func byFrom(rep *orphans.Report) map[string]orphans.RelationReport {
	out := map[string]orphans.RelationReport{}
	for _, r := range rep.Relations {
		out[r.Relation.From.String()] = r
	}
	return out
}

func TestScanFindsSeededOrphansExactly(t *testing.T) {
	url, conn := migratedDB(t)
	exec(t, conn,
		`INSERT INTO material_artifact (artifact_identifier) SELECT 'ART-' || i FROM generate_series(1, 5) i`,
		// 5 artifacts × 4 days, plus 3 days of a deleted artifact and 1 of another.
		`INSERT INTO sales_measurement_dataset (artifact_identifier, day)
		 SELECT a, date '2025-01-01' + d FROM unnest(ARRAY['ART-1','ART-2','ART-3','ART-4','ART-5']) a, generate_series(0, 3) d
		 UNION ALL SELECT 'ART-GONE-1', date '2025-01-01' + d FROM generate_series(0, 2) d
		 UNION ALL SELECT 'ART-GONE-2', date '2025-01-09'`,
		`INSERT INTO tag_category VALUES ('CAT-1', 'Genre')`,
		`INSERT INTO information_tag (tag_identifier, category_identifier, label) VALUES ('TAG-1', 'CAT-1', 'a'), ('TAG-2', 'CAT-MISSING', 'b')`,
		`INSERT INTO artifact_tag_classification (artifact_identifier, tag_identifier) VALUES ('ART-1', 'TAG-1'), ('ART-1', 'TAG-9'), ('ART-GONE-1', 'TAG-1')`,
		// NULL references point at nothing by design and are not orphans.
		`INSERT INTO digital_asset (asset_identifier, artifact_identifier, media_type, storage_uri, byte_size) VALUES
		   ('AST-1', NULL, 'image/png', 's3://x/1', 1), ('AST-2', 'ART-2', 'image/png', 's3://x/2', 1)`,
		`INSERT INTO commercial_transaction_process (transaction_identifier, transaction_kind, artifact_identifier,
		   refunded_transaction_identifier, amount_minor_units, currency_code, occurred_at) VALUES
		   ('ORD-1', 'order', 'ART-1', NULL, 100, 'EUR', now()),
		   ('REF-1', 'refund', 'ART-1', 'ORD-1', 100, 'EUR', now()),
		   ('REF-2', 'refund', 'ART-1', 'ORD-404', 100, 'EUR', now())`,
	)
	var chunks []orphans.Chunk
	rep, err := orphans.ScanURL(testCtx(t), url, orphans.Options{ChunkSize: 3, OnChunk: func(c orphans.Chunk) { chunks = append(chunks, c) }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() || len(rep.Relations) != 16 {
		t.Fatalf("failed=%v, %d relations, problems %v", rep.Failed(), len(rep.Relations), rep.Problems)
	}
	want := map[string]struct {
		scanned, orphans int64
		sample           string
	}{
		"sales_measurement_dataset.artifact_identifier":                  {24, 4, "ART-GONE-1,ART-GONE-2"},
		"information_tag.category_identifier":                            {2, 1, "CAT-MISSING"},
		"artifact_tag_classification.artifact_identifier":                {3, 1, "ART-GONE-1"},
		"artifact_tag_classification.tag_identifier":                     {3, 1, "TAG-9"},
		"digital_asset.artifact_identifier":                              {2, 0, ""},
		"commercial_transaction_process.refunded_transaction_identifier": {3, 1, "ORD-404"},
		"commercial_transaction_process.artifact_identifier":             {3, 0, ""},
	}
	got := byFrom(rep)
	var total int64
	for from, w := range want {
		r := got[from]
		if r.ScannedRows != w.scanned || r.OrphanRows != w.orphans || strings.Join(r.Sample, ",") != w.sample {
			t.Errorf("%s: scanned %d orphans %d sample %v; want %d %d %s", from, r.ScannedRows, r.OrphanRows, r.Sample, w.scanned, w.orphans, w.sample)
		}
		total += w.orphans
	}
	if rep.OrphanRows() != total {
		t.Fatalf("total orphan rows %d, want %d", rep.OrphanRows(), total)
	}
	// 24 sales rows in chunks of 3: 8 full chunks and an empty one.
	if s := got["sales_measurement_dataset.artifact_identifier"]; s.Chunks != 9 {
		t.Fatalf("sales scanned in %d chunks, want 9", s.Chunks)
	}
	for _, c := range chunks {
		if c.Scanned > 3 {
			t.Fatalf("a chunk of %s read %d rows, more than the chunk size", c.Relation, c.Scanned)
		}
	}
}

// statementsCluster returns a cluster that loads pg_stat_statements: the
// shared one when it does, else a private one (pgtest only preloads the
// library when it finds it beside the server binaries it runs).
func statementsCluster(t *testing.T) *pgcluster.Cluster {
	t.Helper()
	c := pgtest.Shared(t)
	conn, err := pgx.Connect(testCtx(t), c.URL(c.Superuser(), "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	var libs string
	err = conn.QueryRow(testCtx(t), "SHOW shared_preload_libraries").Scan(&libs)
	conn.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(libs, "pg_stat_statements") {
		return c
	}
	own, err := pgtest.Start(pgtest.Options{Settings: map[string]string{"shared_preload_libraries": "pg_stat_statements"}})
	if err != nil {
		t.Fatalf("starting PostgreSQL with pg_stat_statements (install postgresql-contrib if it is missing): %v", err)
	}
	t.Cleanup(func() {
		if err := own.Remove(); err != nil {
			t.Error(err)
		}
	})
	return own
}

// countingQuerier records the number of rows every query returns.
type countingQuerier struct {
	conn *pgx.Conn
	mu   sync.Mutex
	rows []int
}

func (q *countingQuerier) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := q.conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	q.rows = append(q.rows, 0)
	i := len(q.rows) - 1
	q.mu.Unlock()
	return &countedRows{Rows: rows, n: func() { q.mu.Lock(); q.rows[i]++; q.mu.Unlock() }}, nil
}

type countedRows struct {
	pgx.Rows
	n func()
}

func (r *countedRows) Next() bool {
	if r.Rows.Next() {
		r.n()
		return true
	}
	return false
}

func TestScanReadsALargeTableInChunksNoQueryAboveTheChunkSize(t *testing.T) {
	const (
		rows      = 260_000
		chunkSize = 10_000
		every     = 10_007 // one orphan per this many rows
	)
	c := statementsCluster(t)
	url := c.URL(c.Superuser(), pgtest.CreateDatabase(t, c))
	conn, err := pgx.Connect(testCtx(t), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	exec(t, conn,
		"CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
		"CREATE TABLE parent (parent_id bigint PRIMARY KEY)",
		"CREATE TABLE child (child_id bigint PRIMARY KEY, parent_id bigint)",
		"COMMENT ON COLUMN child.parent_id IS 'references parent.parent_id'",
		"INSERT INTO parent SELECT generate_series(1, 1000)",
		fmt.Sprintf("INSERT INTO child SELECT i, CASE WHEN i %% %d = 0 THEN 100000 + i ELSE 1 + i %% 1000 END FROM generate_series(1, %d) i", every, rows),
		"ANALYZE parent", "ANALYZE child",
		"SELECT pg_stat_statements_reset()",
	)
	q := &countingQuerier{conn: conn}
	var scannedPerChunk []int64
	rep, err := orphans.Scan(testCtx(t), q, orphans.Options{ChunkSize: chunkSize, SampleSize: 3,
		OnChunk: func(c orphans.Chunk) { scannedPerChunk = append(scannedPerChunk, c.Scanned) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Relations) != 1 || rep.Failed() {
		t.Fatalf("report %+v", rep)
	}
	r := rep.Relations[0]
	wantOrphans := int64(rows / every)
	if r.ScannedRows != rows || r.OrphanRows != wantOrphans || strings.Join(r.Sample, ",") != "110007,120014,130021" {
		t.Fatalf("scanned %d, orphans %d, sample %v; want %d, %d", r.ScannedRows, r.OrphanRows, r.Sample, rows, wantOrphans)
	}
	if r.Chunks < rows/chunkSize {
		t.Fatalf("%d chunks for %d rows", r.Chunks, rows)
	}

	// The bound, three ways: what each chunk read, what each query
	// returned to the client, and what the server counted.
	var sum int64
	for _, n := range scannedPerChunk {
		if n > chunkSize {
			t.Fatalf("a chunk read %d rows", n)
		}
		sum += n
	}
	if sum != rows {
		t.Fatalf("chunks read %d rows in all, want %d", sum, rows)
	}
	for i, n := range q.rows {
		if n > chunkSize {
			t.Fatalf("query %d returned %d rows", i, n)
		}
	}
	var calls, maxRowsPerCall int64
	err = conn.QueryRow(testCtx(t), `
SELECT coalesce(sum(calls) FILTER (WHERE query LIKE '%FROM "public"."child"%'), 0)::bigint,
       coalesce(max(ceil(rows::numeric / calls)), 0)::bigint
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND query NOT LIKE '%pg_stat_statements%'`).Scan(&calls, &maxRowsPerCall)
	if err != nil {
		t.Fatal(err)
	}
	if calls != int64(r.Chunks) || maxRowsPerCall > chunkSize {
		t.Fatalf("pg_stat_statements: %d chunk calls (want %d), at most %d rows per call", calls, r.Chunks, maxRowsPerCall)
	}
}

func TestScanReportsARelationItCannotScanAndGoesOn(t *testing.T) {
	_, conn := migratedDB(t)
	exec(t, conn,
		"CREATE TABLE keyless (artifact_identifier varchar(64))",
		"COMMENT ON COLUMN keyless.artifact_identifier IS 'references material_artifact.artifact_identifier'",
		"INSERT INTO keyless VALUES ('ART-NONE')",
		"INSERT INTO sales_measurement_dataset (artifact_identifier, day) VALUES ('ART-NONE', '2025-01-01')",
	)
	rep, err := orphans.Scan(testCtx(t), conn, orphans.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := byFrom(rep)
	if !errors.Is(got["keyless.artifact_identifier"].Err, orphans.ErrNoKey) || !rep.Failed() {
		t.Fatalf("keyless: %v", got["keyless.artifact_identifier"].Err)
	}
	if got["sales_measurement_dataset.artifact_identifier"].OrphanRows != 1 {
		t.Fatal("the scan stopped at the relation it could not scan")
	}
}

func TestScanOnlyChecksTheNamedRelations(t *testing.T) {
	_, conn := migratedDB(t)
	rep, err := orphans.Scan(testCtx(t), conn, orphans.Options{Only: []string{"sales_measurement_dataset.artifact_identifier", "public.tag_suggestion.tag_identifier"}})
	if err != nil || len(rep.Relations) != 2 {
		t.Fatalf("%v %v", rep, err)
	}
	if _, err := orphans.Scan(testCtx(t), conn, orphans.Options{Only: []string{"material_artifact.title"}}); err == nil {
		t.Fatal("an undocumented column was accepted")
	}
}

func TestReportPrintsTextAndJSON(t *testing.T) {
	_, conn := migratedDB(t)
	exec(t, conn, "INSERT INTO sales_measurement_dataset (artifact_identifier, day) VALUES ('ART-NONE', '2025-01-01')")
	rep, err := orphans.Scan(testCtx(t), conn, orphans.Options{Only: []string{"sales_measurement_dataset.artifact_identifier", "tag_suggestion.tag_identifier"}})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	want := "ORPHANS  sales_measurement_dataset.artifact_identifier -> material_artifact.artifact_identifier: 1 of 1 rows point at nothing (sample: ART-NONE)\n" +
		"ok       tag_suggestion.tag_identifier -> information_tag.tag_identifier: 0 rows\n" +
		"\n1 orphan rows in 1 of 2 relations\n"
	if text.String() != want {
		t.Fatalf("text:\n%s\nwant:\n%s", text.String(), want)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		OrphanRows int64 `json:"orphan_rows"`
		Relations  []struct {
			From       string   `json:"from"`
			To         string   `json:"to"`
			OrphanRows int64    `json:"orphan_rows"`
			Sample     []string `json:"sample"`
		} `json:"relations"`
		Problems []string `json:"problems"`
	}
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	if decoded.OrphanRows != 1 || len(decoded.Relations) != 2 || decoded.Relations[0].Sample[0] != "ART-NONE" ||
		decoded.Relations[1].Sample == nil || decoded.Problems == nil {
		t.Fatalf("json: %s", b)
	}
}
