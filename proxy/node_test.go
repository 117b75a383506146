package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/proxy"
	"github.com/pgwarp/pgwarp/proxy/proxytest"
)

// moduleRoot returns the directory holding go.mod, from the test's working
// directory (the package directory) upwards.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// nodeWithPg returns the node binary and the NODE_PATH under which
// node-postgres is installed, failing the test with the instruction to
// install them when they are missing.
func nodeWithPg(t *testing.T) (node, nodePath string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed (needed for the node-postgres tests): install Node.js (apt-get install -y nodejs npm), then run `make deps`")
	}
	nodePath = filepath.Join(moduleRoot(t), "tools", "node", "node_modules")
	if _, err := os.Stat(filepath.Join(nodePath, "pg", "package.json")); err != nil {
		t.Fatalf("node-postgres is not installed under %s: run `make deps` (npm ci in tools/node)", nodePath)
	}
	return node, nodePath
}

// nodeClientResult is what testdata/node/named_statements.js prints for one
// client connection.
type nodeClientResult struct {
	ID      int      `json:"id"`
	Sums    []int    `json:"sums"`
	Mine    []string `json:"mine"`
	Unnamed []struct {
		T string  `json:"t"`
		B *bool   `json:"b"`
		N *string `json:"n"`
	} `json:"unnamed"`
	Multi         [][]map[string]any `json:"multi"`
	Inserted      int                `json:"inserted"`
	DivError      string             `json:"divError"`
	Div           int                `json:"div"`
	BadError      string             `json:"badError"`
	InTransaction struct{ N, P int } `json:"inTransaction"`
	After         struct{ N, P int } `json:"after"`
}

func TestNodePostgresNamedStatementsInTransactionMode(t *testing.T) {
	node, nodePath := nodeWithPg(t)
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	pgtest.Exec(t, c, db, "CREATE TABLE node_items (client int, seq int, label text, payload jsonb, PRIMARY KEY (client, seq))")
	p := proxytest.Start(t, c, proxytest.Options{Mode: proxy.PoolTransaction, MaxSize: 2})
	const clients = 6
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "node", "named_statements.js"))
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath, "PGWARP_URL="+p.URL("postgres", "", db), fmt.Sprintf("NODE_CLIENTS=%d", clients))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node script: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var out struct {
		Clients []nodeClientResult `json:"clients"`
		Pool    struct {
			Squares   []int `json:"squares"`
			Committed int   `json:"committed"`
		} `json:"pool"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("node script output is not the expected JSON: %v\n%s", err, stdout.String())
	}
	if len(out.Clients) != clients {
		t.Fatalf("%d client results, want %d", len(out.Clients), clients)
	}
	const rounds = 40
	for _, r := range out.Clients {
		if len(r.Sums) != rounds || len(r.Mine) != rounds || len(r.Unnamed) != rounds || r.Inserted != rounds {
			t.Errorf("client %d: %d sums, %d own-statement results, %d unnamed results, %d inserts; want %d each",
				r.ID, len(r.Sums), len(r.Mine), len(r.Unnamed), r.Inserted, rounds)
			continue
		}
		for i := range rounds {
			if r.Sums[i] != i+r.ID {
				t.Errorf("client %d: named statement sum(%d, %d) = %d", r.ID, i, r.ID, r.Sums[i])
			}
			// Every connection prepared "mine" with its own SQL.
			if want := fmt.Sprintf("%d@%d", i, r.ID); r.Mine[i] != want {
				t.Errorf("client %d: statement \"mine\" returned %q, want %q (another client's statement?)", r.ID, r.Mine[i], want)
			}
			u := r.Unnamed[i]
			if u.T != fmt.Sprint("u", i) || u.B != nil || u.N == nil || *u.N != "1.50" {
				t.Errorf("client %d: unnamed query %d returned %+v", r.ID, i, u)
			}
		}
		if got := fmt.Sprint(r.Multi); len(r.Multi) != rounds/10 || got != "[[map[one:1] map[two:two]] [map[one:1] map[two:two]] [map[one:1] map[two:two]] [map[one:1] map[two:two]]]" {
			t.Errorf("client %d: multi-statement results %s", r.ID, got)
		}
		if r.DivError != "22012" || r.Div != 2 {
			t.Errorf("client %d: failing named statement gave %q, then %d; want 22012, then 2", r.ID, r.DivError, r.Div)
		}
		if r.BadError != "42P01" {
			t.Errorf("client %d: named statement on a missing table gave %q, want 42P01", r.ID, r.BadError)
		}
		if r.InTransaction.N != rounds+1 || r.After.N != rounds || r.After.P != rounds-rounds/4 {
			t.Errorf("client %d: rows in transaction %+v, after rollback %+v; want %d, then %d with %d payloads",
				r.ID, r.InTransaction, r.After, rounds+1, rounds, rounds-rounds/4)
		}
	}
	if len(out.Pool.Squares) != 200 {
		t.Fatalf("pool: %d squares, want 200", len(out.Pool.Squares))
	}
	for i, sq := range out.Pool.Squares {
		if sq != i*i {
			t.Errorf("pool: square(%d) = %d", i, sq)
		}
	}
	if out.Pool.Committed != 2 {
		t.Errorf("pool transaction committed %d rows, want 2", out.Pool.Committed)
	}
}

// TestNodePostgresUnnamedReadsHitTheCache: node-postgres sends a query with
// values and no name through the unnamed statement. Such reads are served
// from the cache in transaction mode and stay fresh after writes.
func TestNodePostgresUnnamedReadsHitTheCache(t *testing.T) {
	node, nodePath := nodeWithPg(t)
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	pgtest.Exec(t, c, db, "CREATE TABLE node_cached (id int PRIMARY KEY, label text); INSERT INTO node_cached VALUES (1, 'v'), (2, 'fixed')")
	p, _ := startCached(t, db, cacheSetup{mode: proxy.PoolTransaction})
	// The catalog loads on first use; until then nothing is cached.
	warm(t, p, connect(t, p, db), "SELECT label FROM node_cached WHERE id = 2")
	before := p.Server.CacheOutcomes()["hit"]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "node", "cached_reads.js"))
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath, "PGWARP_URL="+p.URL("postgres", "", db))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node script: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var out struct {
		Reads []map[string]string `json:"reads"`
		Named []int               `json:"named"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("node script output is not the expected JSON: %v\n%s", err, stdout.String())
	}
	if len(out.Reads) != 20 || len(out.Named) != 20 {
		t.Fatalf("%d reads and %d named reads, want 20 each", len(out.Reads), len(out.Named))
	}
	for i, r := range out.Reads {
		if want := fmt.Sprintf("v%d", i/5*5); r["1"] != want || r["2"] != "fixed" {
			t.Errorf("round %d read %v, want 1: %s, 2: fixed", i, r, want)
		}
		if out.Named[i] != 2 {
			t.Errorf("round %d: named statement counted %d rows, want 2", i, out.Named[i])
		}
	}
	// 60 reads, of which the first of each (statement, value) after a
	// write misses: at least 40 hit.
	if hits := p.Server.CacheOutcomes()["hit"] - before; hits < 40 {
		t.Fatalf("%d of node-postgres's 60 reads hit the cache: %v", hits, p.Server.CacheOutcomes())
	}
}
