package query_test

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/pgwarp/pgwarp/query"
)

var sinkInfo *query.Info

// pgbenchStatements are pgbench -S statements with random keys, as the
// proxy sees them.
func pgbenchStatements(n int) []string {
	r := rand.New(rand.NewSource(1))
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("SELECT abalance FROM pgbench_accounts WHERE aid = %d;", 1+r.Intn(10_000_000))
	}
	return out
}

// BenchmarkClassifyHit is the hot path: a memo hit for a 60-byte
// statement whose literal changes on every call.
func BenchmarkClassifyHit(b *testing.B) {
	c, _ := query.NewClassifier(query.Config{})
	stmts := pgbenchStatements(1024)
	c.Classify(stmts[0])
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sinkInfo = c.Classify(stmts[i&1023]).Info
	}
}

// BenchmarkClassifyHitNewTexts is pgbench -S as the proxy sees it: a memo
// hit for a statement whose text (its literal) is new on every call, so
// the memo of lexer output by exact text never helps and only costs.
func BenchmarkClassifyHitNewTexts(b *testing.B) {
	c, _ := query.NewClassifier(query.Config{})
	stmts := pgbenchStatements(1 << 20)
	c.Classify(stmts[0])
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sinkInfo = c.Classify(stmts[i&(1<<20-1)]).Info
	}
}

// BenchmarkClassifyDashboardRepeated is a dashboard's query sent again
// verbatim, as a dashboard refresh or a driver's unnamed statement does:
// the memo of lexer output by exact text answers it without lexing.
func BenchmarkClassifyDashboardRepeated(b *testing.B) {
	c, _ := query.NewClassifier(query.Config{})
	const sql = `SELECT a.artifact_identifier, a.title, sum(s.units) AS units, sum(s.units_net) AS units_net, count(*) AS days
  FROM material_artifact a
  JOIN sales_measurement_dataset s ON s.artifact_identifier = a.artifact_identifier
 WHERE a.artifact_identifier = 'ART-' || lpad(42::text, 8, '0')
   AND s.day > date '2026-06-30' - 30 AND s.day <= date '2026-06-30'
 GROUP BY a.artifact_identifier, a.title;`
	c.Classify(sql)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sinkInfo = c.Classify(sql).Info
	}
}

// BenchmarkClassifyHitParallel is the hot path from every core at once.
func BenchmarkClassifyHitParallel(b *testing.B) {
	c, _ := query.NewClassifier(query.Config{})
	stmts := pgbenchStatements(1024)
	c.Classify(stmts[0])
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		var info *query.Info
		for pb.Next() {
			info = c.Classify(stmts[i&1023]).Info
			i++
		}
		_ = info
	})
}

// BenchmarkClassifyHitWithComments is a hit for a statement whose
// comment-free text is not a substring of it (comments, line breaks), so
// building the text costs one allocation.
func BenchmarkClassifyHitWithComments(b *testing.B) {
	c, _ := query.NewClassifier(query.Config{})
	sql := "/* pgwarp:cache ttl=30s */\nSELECT a.title, sum(s.units)\n  FROM material_artifact a -- the dashboard\n  JOIN sales s USING (artifact_identifier)\n WHERE s.day > date '2024-06-30' - 30\n GROUP BY a.title"
	c.Classify(sql)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sinkInfo = c.Classify(sql).Info
	}
}

// BenchmarkClassifyMiss is a memo miss: lexing, pg_query's parse and
// fingerprint through cgo, the tree walk, and the LRU insert.
func BenchmarkClassifyMiss(b *testing.B) {
	c, _ := query.NewClassifier(query.Config{MaxEntries: 1})
	stmts := []string{
		"SELECT abalance FROM pgbench_accounts WHERE aid = 12345;",
		"SELECT bbalance FROM pgbench_branches WHERE bid = 12345;",
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sinkInfo = c.Classify(stmts[i&1]).Info
	}
	if s := c.Stats(); s.Hits != 0 {
		b.Fatalf("a miss benchmark hit the memo: %+v", s)
	}
}

var sinkVerdict query.Verdict

// BenchmarkEligibility is the cache decision for the pgbench statement
// against a catalog with pg_proc-sized function and relation lists.
func BenchmarkEligibility(b *testing.B) {
	var rows [][]string
	rows = append(rows, []string{"e", `"$user", public`, "app", "", "", "", "", ""})
	for i := 0; i < 3000; i++ {
		rows = append(rows, []string{"f", "pg_catalog", fmt.Sprintf("f%d", i), "1", "0", "false", "i", "s"})
	}
	for i := 0; i < 500; i++ {
		rows = append(rows, []string{"r", "public", fmt.Sprintf("t%d", i), "r", "false", "false", "false", ""})
	}
	rows = append(rows, []string{"r", "public", "pgbench_accounts", "r", "false", "false", "false", ""})
	cat, err := query.NewCatalog(rows)
	if err != nil {
		b.Fatal(err)
	}
	c, _ := query.NewClassifier(query.Config{})
	info := c.Classify("SELECT abalance FROM pgbench_accounts WHERE aid = 1").Info
	env := query.Env{SearchPath: query.DefaultSearchPath("app")}
	if v := query.Eligibility(info, cat, env); !v.Cacheable() {
		b.Fatalf("not cacheable: %v", v)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sinkVerdict = query.Eligibility(info, cat, env)
	}
}
