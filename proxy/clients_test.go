package proxy_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/internal/pgcluster"
	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/proxy"
	"github.com/pgwarp/pgwarp/proxy/proxytest"
)

// Real libpq clients (psql, pgbench) through pgwarp, in both pool modes.

// clientBin returns the path of a PostgreSQL client program of the test
// cluster's installation.
func clientBin(t *testing.T, name string) string {
	t.Helper()
	c := pgtest.Shared(t)
	p, err := pgcluster.ClientBin(c.BinDir(), name)
	if err != nil {
		t.Fatalf("%s not found next to %s or on PATH (install the PostgreSQL client: apt-get install -y postgresql-client): %v", name, c.BinDir(), err)
	}
	return p
}

// clientResult is what a client program did.
type clientResult struct {
	stdout, stderr string
	exit           int
}

// runClient runs a client program with a clean libpq environment (plus
// env) in dir, bounded by a generous timeout so that a hang fails the test
// instead of blocking it.
func runClient(t *testing.T, dir string, env []string, bin string, args ...string) clientResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "PGCONNECT_TIMEOUT=20", "PGTZ=UTC")
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := clientResult{stdout: stdout.String(), stderr: stderr.String()}
	if ctx.Err() != nil {
		t.Fatalf("%s %q did not finish within the timeout\nstdout:\n%s\nstderr:\n%s", filepath.Base(bin), args, res.stdout, res.stderr)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		res.exit = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", bin, err)
	}
	return res
}

// psql runs psql without a psqlrc, unaligned and tuples only, stopping at
// the first error, and fails the test unless it succeeds.
func psql(t *testing.T, dir, conninfo string, env []string, args ...string) string {
	t.Helper()
	res := runPsql(t, dir, conninfo, env, args...)
	if res.exit != 0 {
		t.Fatalf("psql %q exited %d\nstdout:\n%s\nstderr:\n%s", args, res.exit, res.stdout, res.stderr)
	}
	return res.stdout
}

func runPsql(t *testing.T, dir, conninfo string, env []string, args ...string) clientResult {
	t.Helper()
	base := []string{"-X", "-w", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-P", "pager=off", "-d", conninfo}
	return runClient(t, dir, env, clientBin(t, "psql"), append(base, args...)...)
}

// directKeyword is a libpq connection string straight to the cluster.
func directKeyword(c *pgcluster.Cluster, db string) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=%s dbname=%s sslmode=disable", c.Port(), c.Superuser(), db)
}

func TestPsqlCommandThroughPgwarp(t *testing.T) {
	eachMode(t, func(t *testing.T, p *proxytest.Proxy, db string) {
		dir := t.TempDir()
		if got := strings.TrimSpace(psql(t, dir, p.Keyword("postgres", db), nil, "-c", "SELECT 40 + 2")); got != "42" {
			t.Fatalf("psql -c 'SELECT 40 + 2' printed %q", got)
		}
		// Several -c options are run one after another on one connection.
		out := psql(t, dir, p.Keyword("postgres", db), nil,
			"-c", "CREATE TABLE one (x int)", "-c", "INSERT INTO one VALUES (1), (2)", "-c", "SELECT sum(x) FROM one")
		if lines := strings.Fields(out); len(lines) == 0 || lines[len(lines)-1] != "3" {
			t.Fatalf("psql with several -c printed %q", out)
		}
	})
}

func TestPsqlMultiStatementCommandThroughPgwarp(t *testing.T) {
	eachMode(t, func(t *testing.T, p *proxytest.Proxy, db string) {
		dir := t.TempDir()
		// One -c string is one simple Query of several statements; psql
		// (15 and later) shows every result.
		out := psql(t, dir, p.Keyword("postgres", db), nil, "-c",
			"CREATE TABLE multi (x int); INSERT INTO multi SELECT generate_series(1, 5); SELECT sum(x) || '/' || count(*) FROM multi")
		if got, want := strings.TrimSpace(out), "CREATE TABLE\nINSERT 0 5\n15/5"; got != want {
			t.Fatalf("multi-statement -c printed %q, want %q", got, want)
		}
		// An error in the middle rolls the whole string back (it is one
		// implicit transaction) and psql reports it.
		res := runPsql(t, dir, p.Keyword("postgres", db), nil, "-c",
			"INSERT INTO multi VALUES (100); SELECT 1/0; INSERT INTO multi VALUES (200)")
		if res.exit == 0 || !strings.Contains(res.stderr, "division by zero") {
			t.Fatalf("failing multi-statement -c: exit %d, stderr %q", res.exit, res.stderr)
		}
		out = psql(t, dir, p.Keyword("postgres", db), nil, "-c", "SELECT count(*), sum(x) FROM multi")
		if got := strings.TrimSpace(out); got != "5|15" {
			t.Fatalf("after the failed multi-statement string: %q, want 5|15", got)
		}
		// Explicit transaction blocks inside one string.
		out = psql(t, dir, p.Keyword("postgres", db), nil, "-c",
			"BEGIN; INSERT INTO multi VALUES (6); SAVEPOINT s; INSERT INTO multi VALUES (1000); ROLLBACK TO s; COMMIT; SELECT sum(x) FROM multi")
		if got, want := strings.TrimSpace(out), "BEGIN\nINSERT 0 1\nSAVEPOINT\nINSERT 0 1\nROLLBACK\nCOMMIT\n21"; got != want {
			t.Fatalf("transaction block in one string printed %q, want %q", got, want)
		}
	})
}

// csvField encodes one field the way PostgreSQL's CSV output does: NULL
// is empty and unquoted, an empty string is "", and fields with a
// delimiter, quote, CR or LF are quoted.
func csvField(v *string) string {
	if v == nil {
		return ""
	}
	if *v == "" || strings.ContainsAny(*v, ",\"\r\n") || *v == `\.` {
		return `"` + strings.ReplaceAll(*v, `"`, `""`) + `"`
	}
	return *v
}

// itemsCSV returns n rows of (id, name, note) in PostgreSQL's own CSV
// form, with quoting, NULLs, empty strings, multi-line and non-ASCII
// values.
func itemsCSV(from, n int) string {
	var b strings.Builder
	for i := from; i < from+n; i++ {
		name := fmt.Sprintf("item %d", i)
		var note *string
		switch i % 5 {
		case 0:
			s := fmt.Sprintf("says \"hi\", %d", i)
			note = &s
		case 1:
			s := "line one\nline two"
			note = &s
		case 2:
			s := ""
			note = &s
		case 3:
			s := strings.Repeat("ü", i%40) + "€"
			note = &s
		}
		fmt.Fprintf(&b, "%d,%s,%s\n", i, csvField(&name), csvField(note))
	}
	return b.String()
}

// copyTags returns the row counts of the "COPY n" lines psql printed.
func copyTags(out string) []int {
	var n []int
	for _, m := range regexp.MustCompile(`(?m)^COPY (\d+)$`).FindAllStringSubmatch(out, -1) {
		k, _ := strconv.Atoi(m[1])
		n = append(n, k)
	}
	return n
}

func TestPsqlScriptWithCopyFromAndToFiles(t *testing.T) {
	eachMode(t, func(t *testing.T, p *proxytest.Proxy, db string) {
		dir := t.TempDir()
		const rows = 20000
		in := itemsCSV(0, rows)
		write := func(name, content string) {
			t.Helper()
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("in.csv", in)
		write("more.csv", itemsCSV(rows, 10))
		write("script.sql", `
CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, note text);
\copy items FROM 'in.csv' WITH (FORMAT csv)
SELECT 'loaded ' || count(*) FROM items;
\copy (SELECT id, name, note FROM items ORDER BY id) TO 'out.csv' WITH (FORMAT csv)
BEGIN;
\copy items FROM 'more.csv' (FORMAT csv)
SELECT 'in transaction ' || count(*) FROM items;
ROLLBACK;
SELECT 'after rollback ' || count(*) FROM items;
\copy (SELECT id FROM items WHERE note IS NULL ORDER BY id) TO 'nulls.txt'
\copy items (id, name) FROM stdin
900001	from stdin
900002	also from stdin
\.
SELECT 'final ' || count(*) FROM items;
\set FETCH_COUNT 1000
\o fetched.txt
SELECT id, name FROM items ORDER BY id;
\o
\unset FETCH_COUNT
`)
		out := psql(t, dir, p.Keyword("postgres", db), nil, "-f", "script.sql")
		for _, want := range []string{"loaded 20000", "in transaction 20010", "after rollback 20000", "final 20002"} {
			if !strings.Contains(out, want+"\n") {
				t.Errorf("script output lacks %q:\n%s", want, out)
			}
		}
		if got, want := fmt.Sprint(copyTags(out)), fmt.Sprint([]int{rows, rows, 10, rows / 5, 2}); got != want {
			t.Errorf("COPY row counts %s, want %s", got, want)
		}
		got, err := os.ReadFile(filepath.Join(dir, "out.csv"))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != in {
			gl, wl := strings.Split(string(got), "\n"), strings.Split(in, "\n")
			for i := range min(len(gl), len(wl)) {
				if gl[i] != wl[i] {
					t.Fatalf("\\copy TO file differs from what was loaded at line %d: %q, want %q (%d vs %d bytes)", i+1, gl[i], wl[i], len(got), len(in))
				}
			}
			t.Fatalf("\\copy TO file has %d bytes, want %d", len(got), len(in))
		}
		// FETCH_COUNT makes psql read the result through a cursor in a
		// transaction, a thousand rows per FETCH.
		fetched, err := os.ReadFile(filepath.Join(dir, "fetched.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if lines := strings.Split(strings.TrimSuffix(string(fetched), "\n"), "\n"); len(lines) != rows+2 ||
			lines[0] != "0|item 0" || lines[len(lines)-1] != "900002|also from stdin" {
			t.Errorf("FETCH_COUNT query wrote %d lines, want %d", len(lines), rows+2)
		}
		nulls, err := os.ReadFile(filepath.Join(dir, "nulls.txt"))
		if err != nil {
			t.Fatal(err)
		}
		ids := strings.Fields(string(nulls))
		if len(ids) != rows/5 || ids[0] != "4" || ids[len(ids)-1] != strconv.Itoa(rows-1) {
			t.Errorf("\\copy (query) TO file: %d ids from %v to %v", len(ids), ids[:min(3, len(ids))], ids[max(0, len(ids)-1):])
		}

		// A \copy that fails mid-file reports the error; the rest of the
		// script (no ON_ERROR_STOP) still runs on the same connection.
		write("bad.csv", "1000001,ok,\nnot a number,bad,\n")
		write("bad.sql", `
\copy items FROM 'bad.csv' (FORMAT csv)
SELECT 'still there ' || count(*) FROM items;
`)
		res := runClient(t, dir, nil, clientBin(t, "psql"), "-X", "-w", "-A", "-t", "-d", p.Keyword("postgres", db), "-f", "bad.sql")
		if !strings.Contains(res.stderr, "invalid input syntax for type integer") {
			t.Errorf("failing \\copy: stderr %q", res.stderr)
		}
		if !strings.Contains(res.stdout, "still there 20002\n") {
			t.Errorf("after failing \\copy: exit %d, stdout %q, stderr %q", res.exit, res.stdout, res.stderr)
		}
	})
}

func TestPsqlDescribeCommandsMatchADirectConnection(t *testing.T) {
	eachMode(t, func(t *testing.T, p *proxytest.Proxy, db string) {
		c := pgtest.Shared(t)
		dir := t.TempDir()
		psql(t, dir, p.Keyword("postgres", db), nil, "-c", `
CREATE SCHEMA shop;
CREATE TYPE shop.mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE shop.customers (id bigserial PRIMARY KEY, email text UNIQUE NOT NULL, mood shop.mood DEFAULT 'ok');
CREATE TABLE shop.orders (
	id bigserial PRIMARY KEY,
	customer bigint NOT NULL REFERENCES shop.customers(id) ON DELETE CASCADE,
	total numeric(12,2) CHECK (total >= 0),
	placed timestamptz DEFAULT now()
);
CREATE INDEX orders_placed ON shop.orders (placed DESC);
COMMENT ON TABLE shop.orders IS 'orders, one per checkout';
CREATE VIEW shop.big_orders AS SELECT * FROM shop.orders WHERE total > 100;
CREATE FUNCTION shop.order_count(c bigint) RETURNS bigint LANGUAGE sql STABLE AS 'SELECT count(*) FROM shop.orders WHERE customer = c';
`)
		for _, cmd := range []string{`\dn`, `\dt shop.*`, `\d shop.orders`, `\d+ shop.orders`, `\d shop.customers`,
			`\di shop.*`, `\dv shop.*`, `\d+ shop.big_orders`, `\df shop.*`, `\dT shop.*`, `\ds shop.*`, `\dx`, `\dp shop.*`} {
			// Not tuples-only: the headers and footers are part of what a
			// user sees.
			args := []string{"-X", "-w", "-P", "pager=off", "-v", "ON_ERROR_STOP=1", "-c", cmd}
			via := runClient(t, dir, nil, clientBin(t, "psql"), append([]string{"-d", p.Keyword("postgres", db)}, args...)...)
			direct := runClient(t, dir, nil, clientBin(t, "psql"), append([]string{"-d", directKeyword(c, db)}, args...)...)
			if via.exit != 0 || direct.exit != 0 {
				t.Fatalf("%s: exit %d through pgwarp (%s), %d direct (%s)", cmd, via.exit, via.stderr, direct.exit, direct.stderr)
			}
			if via.stdout != direct.stdout || via.stderr != direct.stderr {
				t.Errorf("%s through pgwarp:\n%s%s\ndirect:\n%s%s", cmd, via.stdout, via.stderr, direct.stdout, direct.stderr)
			}
			if strings.TrimSpace(via.stdout) == "" {
				t.Errorf("%s printed nothing", cmd)
			}
		}
	})
}

func TestPsqlWithASCRAMPassword(t *testing.T) {
	c := pgtest.Shared(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			db := pgtest.CreateDatabase(t, c)
			up := proxytest.Upstream(t, c) // pgwarp logs in upstream as the superuser
			app, err := proxy.NewUser("app", "psql s3cret", "")
			if err != nil {
				t.Fatal(err)
			}
			p := proxytest.Start(t, c, proxytest.Options{Mode: m.mode, Configure: func(cfg *proxy.Config) {
				cfg.Databases["*"].Upstream = up
				cfg.Auth = proxy.Auth{Method: proxy.AuthSCRAM, Users: map[string]*proxy.User{"app": app}}
			}})
			dir := t.TempDir()
			out := psql(t, dir, p.Keyword("app", db), []string{"PGPASSWORD=psql s3cret"}, "-c", "SELECT current_database(), current_user")
			if got := strings.TrimSpace(out); got != db+"|"+c.Superuser() {
				t.Fatalf("psql with the right password printed %q", got)
			}
			for _, tc := range []struct{ name, user, password string }{
				{"wrong password", "app", "psql s3cre"},
				{"unknown user", "mallory", "psql s3cret"},
				{"no password", "app", ""},
			} {
				var env []string
				if tc.password != "" {
					env = []string{"PGPASSWORD=" + tc.password}
				}
				res := runPsql(t, dir, p.Keyword(tc.user, db), env, "-c", "SELECT 1")
				if res.exit != 2 || strings.Contains(res.stdout, "1") {
					t.Errorf("%s: psql exit %d, stdout %q, stderr %q; want a failed connection", tc.name, res.exit, res.stdout, res.stderr)
				}
				want := fmt.Sprintf("password authentication failed for user %q", tc.user)
				if tc.password == "" {
					want = "no password supplied"
				}
				if !strings.Contains(res.stderr, want) {
					t.Errorf("%s: stderr %q lacks %q", tc.name, res.stderr, want)
				}
			}
		})
	}
}

// pgbenchRun is what pgbench reported.
type pgbenchRun struct {
	processed, failed int
	out               string
}

var (
	pgbenchProcessed = regexp.MustCompile(`(?m)^number of transactions actually processed: (\d+)`)
	pgbenchFailed    = regexp.MustCompile(`(?m)^number of failed transactions: (\d+)`)
)

// pgbench runs pgbench and checks that it exited cleanly with no client
// aborted; it returns the parsed counts.
func pgbench(t *testing.T, conninfo string, args ...string) pgbenchRun {
	t.Helper()
	res := runClient(t, t.TempDir(), nil, clientBin(t, "pgbench"), append(args, conninfo)...)
	all := res.stdout + res.stderr
	if res.exit != 0 || strings.Contains(all, "aborted") {
		t.Fatalf("pgbench %q exited %d:\n%s", args, res.exit, all)
	}
	r := pgbenchRun{out: all}
	if m := pgbenchProcessed.FindStringSubmatch(all); m != nil {
		r.processed, _ = strconv.Atoi(m[1])
	} else {
		t.Fatalf("pgbench %q printed no transaction count:\n%s", args, all)
	}
	if m := pgbenchFailed.FindStringSubmatch(all); m != nil {
		r.failed, _ = strconv.Atoi(m[1])
	} else {
		t.Fatalf("pgbench %q printed no failed-transaction count:\n%s", args, all)
	}
	return r
}

func TestPgbenchInitAndRunsInEveryQueryModeThroughPgwarp(t *testing.T) {
	c := pgtest.Shared(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			db := pgtest.CreateDatabase(t, c)
			opts := proxytest.Options{Mode: m.mode}
			if m.mode == proxy.PoolTransaction {
				// Fewer backends than clients: transactions move between
				// backends all the time.
				opts.MaxSize = 4
			}
			p := proxytest.Start(t, c, opts)
			conninfo := p.Keyword("postgres", db)
			res := runClient(t, t.TempDir(), nil, clientBin(t, "pgbench"), "-i", "-s", "1", conninfo)
			if res.exit != 0 {
				t.Fatalf("pgbench -i exited %d:\n%s%s", res.exit, res.stdout, res.stderr)
			}
			out := psql(t, t.TempDir(), directKeyword(c, db), nil, "-c",
				"SELECT (SELECT count(*) FROM pgbench_accounts) || '/' || (SELECT count(*) FROM pgbench_branches) || '/' || (SELECT count(*) FROM pgbench_tellers) || '/' || (SELECT sum(abalance) FROM pgbench_accounts)")
			if got := strings.TrimSpace(out); got != "100000/1/10/0" {
				t.Fatalf("after pgbench -i -s 1: accounts/branches/tellers/balance = %q, want 100000/1/10/0", got)
			}
			history := 0
			for _, qm := range []string{"simple", "extended", "prepared"} {
				for _, script := range []string{"select-only", "tpcb-like"} {
					t.Run(qm+"/"+script, func(t *testing.T) {
						// One thread per client: with -M prepared pgbench
						// prepares each statement with a blocking
						// PQprepare on first use, so a thread serving
						// several clients would wait for a backend while
						// its other clients hold every backend inside
						// their transactions (any pooler smaller than
						// the client count deadlocks there).
						args := []string{"-n", "-T", "3", "-c", "8", "-j", "8", "-M", qm, "-b", script}
						r := pgbench(t, conninfo, args...)
						if script == "tpcb-like" {
							history += r.processed
						}
						if r.processed == 0 {
							t.Fatalf("no transaction processed:\n%s", r.out)
						}
						if r.failed != 0 {
							t.Fatalf("%d failed transactions:\n%s", r.failed, r.out)
						}
					})
				}
			}
			// Every TPC-B transaction committed exactly once: one history
			// row each, and the balances agree.
			out = psql(t, t.TempDir(), directKeyword(c, db), nil, "-c",
				"SELECT count(*), coalesce(sum(delta), 0), (SELECT sum(abalance) FROM pgbench_accounts), (SELECT sum(bbalance) FROM pgbench_branches), (SELECT sum(tbalance) FROM pgbench_tellers) FROM pgbench_history")
			f := strings.Split(strings.TrimSpace(out), "|")
			if len(f) != 5 || f[0] != strconv.Itoa(history) || f[1] != f[2] || f[1] != f[3] || f[1] != f[4] {
				t.Fatalf("history rows/sum(delta)/accounts/branches/tellers = %q; want %d rows and equal sums", out, history)
			}
		})
	}
}
