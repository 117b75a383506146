package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgwarp/pgwarp/internal/pgcluster"
	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/proxy"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func freeAddr(t *testing.T) string {
	t.Helper()
	p, err := pgcluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", p)
}

// startServe runs `pgwarp serve --config file` in-process and returns the
// client address and the admin HTTP address.
func startServe(t *testing.T, yaml string) (string, string, string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "pgwarp.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &serveFlags{config: file, maxProcs: -1}
	c, err := f.load()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, c, f, func(*proxy.Server) { close(ready) })
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("serve did not become ready")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return c.Listen, c.Admin.HTTP, file
}

func TestServeEnforcesPoliciesFromTheFileAndReloadsThem(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	listen, adminHTTP := freeAddr(t), freeAddr(t)
	cfg := func(rows int) string {
		return fmt.Sprintf(`listen: %s
admin: { http: %s, users: [postgres] }
auth: { method: trust }
databases:
  %s:
    upstream: %s
    pool: { max_size: 2 }
policy:
  max_rows_per_query: %d
`, listen, adminHTTP, db, c.URL(c.Superuser(), db), rows)
	}
	_, _, file := startServe(t, cfg(100))
	ctx := context.Background()
	url := fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", listen, db)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	query := func(n int) error {
		rows, err := conn.Query(ctx, "SELECT generate_series(1, $1::int)", n)
		if err != nil {
			return err
		}
		for rows.Next() {
		}
		return rows.Err()
	}
	if err := query(100); err != nil {
		t.Fatal(err)
	}
	var pe *pgconn.PgError
	if err := query(101); !errors.As(err, &pe) || pe.Code != "54000" {
		t.Fatalf("over the file's limit: %v", err)
	}

	adminURL := fmt.Sprintf("postgres://postgres@%s/pgwarp?sslmode=disable", listen)
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var setting, value, source string
	found := false
	rows, err := admin.Query(ctx, "SHOW POLICY", pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		if err := rows.Scan(&setting, &value, &source); err != nil {
			t.Fatal(err)
		}
		if setting == "max_rows_per_query" && value == "100" {
			found = true
		}
	}
	if !found {
		t.Fatal("SHOW POLICY does not show max_rows_per_query 100")
	}

	resp, err := http.Get("http://" + adminHTTP + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `pgwarp_policy_violations_total{limit="max_rows_per_query",mode="enforce"} 1`) {
		t.Fatalf("/metrics lacks the violation:\n%s", grepLines(string(body), "pgwarp_policy"))
	}

	// A lower limit in the file applies to the next statement after RELOAD.
	if err := os.WriteFile(file, []byte(cfg(10)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "RELOAD", pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatal(err)
	}
	if err := query(11); !errors.As(err, &pe) || pe.Code != "54000" {
		t.Fatalf("after reload: %v", err)
	}
	// An invalid file is refused and the old configuration stays.
	if err := os.WriteFile(file, []byte(cfg(10)+"policy_typo: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "RELOAD", pgx.QueryExecModeSimpleProtocol); err == nil {
		t.Fatal("RELOAD of an invalid file succeeded")
	}
	if err := query(10); err != nil {
		t.Fatalf("after a refused reload: %v", err)
	}
	raw, err := net.DialTimeout("tcp", listen, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	raw.Close()
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// serveOne runs pgwarp in front of database db of c, with an admin HTTP
// listener and the cache on or off, and connects to it as the superuser.
// It returns the admin listener's address and the connection.
func serveOne(t *testing.T, c *pgcluster.Cluster, db string, cache bool) (string, *pgx.Conn) {
	t.Helper()
	listen, adminHTTP := freeAddr(t), freeAddr(t)
	startServe(t, fmt.Sprintf(`listen: %s
admin: { http: %s }
auth: { method: trust }
cache: { enabled: %t }
databases:
  %s:
    upstream: %s
`, listen, adminHTTP, cache, db, c.URL(c.Superuser(), db)))
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", listen, db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return adminHTTP, conn
}

// adminGet fetches path from the admin listener at addr.
func adminGet(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeMetricsCountAKnownWorkloadAndReadyzFollowsTheUpstream(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	adminHTTP, conn := serveOne(t, c, db, false)
	ctx := context.Background()
	for i := 0; i < 7; i++ {
		if _, err := conn.Exec(ctx, "SELECT 1", pgx.QueryExecModeSimpleProtocol); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = conn.Exec(ctx, "SELECT * FROM missing_table", pgx.QueryExecModeSimpleProtocol)
	conn.Close(ctx)
	get := func(path string) (int, string) { return adminGet(t, adminHTTP, path) }
	_, metrics := get("/metrics")
	want := fmt.Sprintf(`pgwarp_queries_total{cache_status="bypass",database=%q,user="postgres"} 8`, db)
	if !strings.Contains(metrics, want) {
		t.Fatalf("/metrics lacks %s:\n%s", want, grepLines(metrics, "pgwarp_queries_total"))
	}
	if !strings.Contains(metrics, `sqlstate_class="42"`) {
		t.Fatalf("/metrics lacks the error:\n%s", grepLines(metrics, "pgwarp_query_errors"))
	}
	if code, body := get("/readyz"); code != 200 {
		t.Fatalf("/readyz with the upstream up: %d %s", code, body)
	}
	if err := c.Stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	code, body := get("/readyz")
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if code != 503 || !strings.Contains(body, db) {
		t.Fatalf("/readyz with the upstream down: %d %s", code, body)
	}
	if code, body := get("/readyz"); code != 200 {
		t.Fatalf("/readyz after the upstream returned: %d %s", code, body)
	}
}

// The cache's per-statement outcomes reach /metrics with the counts SHOW
// CACHE OUTCOMES gives: hits of one read, a volatile read, statements
// inside a transaction.
func TestServeMetricsCountCacheOutcomes(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	pgtest.Exec(t, c, db, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'one')")
	adminHTTP, conn := serveOne(t, c, db, true)
	ctx := context.Background()
	exec := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, pgx.QueryExecModeSimpleProtocol); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	scrape := func() string {
		_, body := adminGet(t, adminHTTP, "/metrics")
		return body
	}
	// The first read waits for the catalog (uncached) or misses; read
	// until it hits, then count from there.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(scrape(), `pgwarp_cache_outcomes_total{outcome="hit"} 1`) {
		if time.Now().After(deadline) {
			t.Fatalf("the read never hit:\n%s", grepLines(scrape(), "pgwarp_cache_outcomes_total"))
		}
		exec("SELECT v FROM t WHERE id = 1")
		time.Sleep(10 * time.Millisecond)
	}
	for range 3 {
		exec("SELECT v FROM t WHERE id = 1")
	}
	exec("SELECT v, now() FROM t WHERE id = 1")
	exec("SELECT v, now() FROM t WHERE id = 1")
	exec("BEGIN")
	exec("SELECT v FROM t WHERE id = 1")
	exec("COMMIT")
	metrics := scrape()
	for _, want := range []string{
		`pgwarp_cache_outcomes_total{outcome="hit"} 4`,
		`pgwarp_cache_outcomes_total{outcome="volatile"} 2`,
		// The SELECT and the COMMIT ran inside the transaction block.
		`pgwarp_cache_outcomes_total{outcome="transaction"} 2`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(metrics, "pgwarp_cache_outcomes_total"))
		}
	}
}

// SHOW CONFIG names the source of each value: the flag that set it, or
// the file.
func TestShowConfigNamesTheFlagThatSetAValue(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pgwarp.yaml")
	yaml := "listen: 127.0.0.1:7001\ndatabases:\n  app:\n    upstream: postgres://app@127.0.0.1:5432/app\n    pool: { max_size: 7 }\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &serveFlags{config: file, maxProcs: -1, listen: "127.0.0.1:7002", poolSize: 9}
	c, err := f.load()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]string{}
	for _, r := range showConfigRows(c) {
		got[r[0]] = [2]string{r[1], r[2]}
	}
	for key, want := range map[string][2]string{
		"listen":                      {"127.0.0.1:7002", "flag --listen"},
		"databases.app.pool.max_size": {"9", "flag --pool-size"},
		"databases.app.pool.mode":     {"transaction", file},
		"max_client_connections":      {got["max_client_connections"][0], file},
		"databases.app.pool.min_idle": {got["databases.app.pool.min_idle"][0], file},
	} {
		if got[key] != want {
			t.Errorf("SHOW CONFIG %s = %v, want %v", key, got[key], want)
		}
	}
}
