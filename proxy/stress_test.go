package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/proxy"
	"github.com/pgwarp/pgwarp/proxy/proxytest"
)

// envInt reads a positive integer from the environment.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// envDuration reads a duration from the environment.
func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration", name, v)
	}
	return d
}

// stressClient is one client of the stress test. It owns the rows keyed
// by its id and knows how many there must be.
type stressClient struct {
	id    int
	conn  *pgx.Conn
	rows  int // rows of this client that must exist
	seq   int // next row number
	bal   int // its balance in stress_balance
	ops   map[string]int
	fails []string
}

func (c *stressClient) failf(format string, args ...any) {
	c.fails = append(c.fails, fmt.Sprintf("client %d: ", c.id)+fmt.Sprintf(format, args...))
}

func (c *stressClient) next() int { c.seq++; return c.seq }

// check compares what the database holds for this client with what the
// client knows; it uses a named prepared statement.
func (c *stressClient) check(ctx context.Context, when string) bool {
	var n, bal int
	if err := c.conn.QueryRow(ctx, "count_mine", c.id).Scan(&n, &bal); err != nil {
		c.failf("%s: count: %v", when, err)
		return false
	}
	if n != c.rows || bal != c.bal {
		c.failf("%s: %d rows and balance %d, want %d and %d", when, n, bal, c.rows, c.bal)
		return false
	}
	return true
}

// step runs one operation of the mixed workload, chosen by i.
func (c *stressClient) step(ctx context.Context, i int) bool {
	var pe *pgconn.PgError
	switch op := i % 9; op {
	case 0: // autocommit insert, extended protocol, cached statement
		c.ops["insert"]++
		if _, err := c.conn.Exec(ctx, "INSERT INTO stress_rows (client, seq, note) VALUES ($1, $2, $3)", c.id, c.next(), "autocommit"); err != nil {
			c.failf("insert: %v", err)
			return false
		}
		c.rows++
	case 1: // transaction with a savepoint rolled back after an error
		c.ops["savepoint"]++
		tx, err := c.conn.Begin(ctx)
		if err != nil {
			c.failf("begin: %v", err)
			return false
		}
		defer tx.Rollback(ctx)
		first := c.next()
		if _, err := tx.Exec(ctx, "INSERT INTO stress_rows (client, seq, note) VALUES ($1, $2, 'tx a')", c.id, first); err != nil {
			c.failf("tx insert a: %v", err)
			return false
		}
		sp, err := tx.Begin(ctx)
		if err != nil {
			c.failf("savepoint: %v", err)
			return false
		}
		if _, err := sp.Exec(ctx, "INSERT INTO stress_rows (client, seq, note) VALUES ($1, $2, 'duplicate')", c.id, first); !errors.As(err, &pe) || pe.Code != "23505" {
			c.failf("duplicate insert in savepoint: want 23505, got %v", err)
			return false
		}
		if err := sp.Rollback(ctx); err != nil {
			c.failf("rollback to savepoint: %v", err)
			return false
		}
		if _, err := tx.Exec(ctx, "INSERT INTO stress_rows (client, seq, note) VALUES ($1, $2, 'tx b')", c.id, c.next()); err != nil {
			c.failf("tx insert b: %v", err)
			return false
		}
		if _, err := tx.Exec(ctx, "UPDATE stress_balance SET balance = balance + 2 WHERE client = $1", c.id); err != nil {
			c.failf("tx update: %v", err)
			return false
		}
		if err := tx.Commit(ctx); err != nil {
			c.failf("commit: %v", err)
			return false
		}
		c.rows += 2
		c.bal += 2
	case 2: // invariant check with a pgx-prepared statement
		c.ops["check"]++
		return c.check(ctx, "prepared check")
	case 3: // pipelined batch in an implicit transaction
		c.ops["batch"]++
		b := &pgx.Batch{}
		for range 4 {
			b.Queue("INSERT INTO stress_rows (client, seq, note) VALUES ($1, $2, 'batch')", c.id, c.next())
		}
		b.Queue("UPDATE stress_balance SET balance = balance + 1 WHERE client = $1", c.id)
		b.Queue("SELECT count(*) FROM stress_rows WHERE client = $1", c.id)
		br := c.conn.SendBatch(ctx, b)
		for k := range 5 {
			if _, err := br.Exec(); err != nil {
				c.failf("batch statement %d: %v", k, err)
				br.Close()
				return false
			}
		}
		var n int
		if err := br.QueryRow().Scan(&n); err != nil {
			c.failf("batch count: %v", err)
			br.Close()
			return false
		}
		if err := br.Close(); err != nil {
			c.failf("batch close: %v", err)
			return false
		}
		c.rows += 4
		c.bal++
		if n != c.rows {
			c.failf("batch saw %d rows, want %d", n, c.rows)
			return false
		}
	case 4: // COPY FROM STDIN
		c.ops["copy"]++
		rows := make([][]any, 25)
		for k := range rows {
			rows[k] = []any{c.id, c.next(), "copied"}
		}
		n, err := c.conn.CopyFrom(ctx, pgx.Identifier{"stress_rows"}, []string{"client", "seq", "note"}, pgx.CopyFromRows(rows))
		if err != nil || n != int64(len(rows)) {
			c.failf("copy: %d, %v", n, err)
			return false
		}
		c.rows += len(rows)
	case 5: // simple-protocol multi-statement string
		c.ops["multi"]++
		a, b := c.next(), c.next()
		res, err := c.conn.PgConn().Exec(ctx, fmt.Sprintf(
			"INSERT INTO stress_rows (client, seq, note) VALUES (%d, %d, 'multi'); INSERT INTO stress_rows (client, seq, note) VALUES (%d, %d, 'multi'); SELECT count(*) FROM stress_rows WHERE client = %d",
			c.id, a, c.id, b, c.id)).ReadAll()
		if err != nil {
			c.failf("multi-statement: %v", err)
			return false
		}
		c.rows += 2
		if len(res) != 3 || string(res[2].Rows[0][0]) != strconv.Itoa(c.rows) {
			c.failf("multi-statement results %d, count %v, want %d", len(res), res, c.rows)
			return false
		}
	case 6: // an expected error, then the connection goes on
		c.ops["error"]++
		var x int
		err := c.conn.QueryRow(ctx, "SELECT 1 / ($1::int - $1::int)", c.id).Scan(&x)
		if !errors.As(err, &pe) || pe.Code != "22012" {
			c.failf("division by zero: want 22012, got %v", err)
			return false
		}
		if _, err := c.conn.Exec(ctx, "SELEC 1"); !errors.As(err, &pe) || pe.Code != "42601" {
			c.failf("syntax error: want 42601, got %v", err)
			return false
		}
	case 7: // a transaction rolled back on purpose
		c.ops["rollback"]++
		tx, err := c.conn.Begin(ctx)
		if err != nil {
			c.failf("begin: %v", err)
			return false
		}
		if _, err := tx.Exec(ctx, "INSERT INTO stress_rows (client, seq, note) VALUES ($1, $2, 'never')", c.id, c.next()); err != nil {
			c.failf("insert to roll back: %v", err)
			tx.Rollback(ctx)
			return false
		}
		if _, err := tx.Exec(ctx, "UPDATE stress_balance SET balance = balance + 100 WHERE client = $1", c.id); err != nil {
			c.failf("update to roll back: %v", err)
			tx.Rollback(ctx)
			return false
		}
		if err := tx.Rollback(ctx); err != nil {
			c.failf("rollback: %v", err)
			return false
		}
	case 8: // read-only query over the client's rows
		c.ops["read"]++
		rows, err := c.conn.Query(ctx, "SELECT seq FROM stress_rows WHERE client = $1 ORDER BY seq", c.id)
		if err != nil {
			c.failf("read: %v", err)
			return false
		}
		seqs, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil || len(seqs) != c.rows {
			c.failf("read %d rows (%v), want %d", len(seqs), err, c.rows)
			return false
		}
	}
	return true
}

func TestStressManyClientsThroughTenBackendsKeepTheirInvariants(t *testing.T) {
	clients := envInt(t, "PGWARP_STRESS_CLIENTS", 100)
	duration := envDuration(t, "PGWARP_STRESS_DURATION", 3*time.Second)
	const maxSize = 10
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	pgtest.Exec(t, c, db, `CREATE TABLE stress_rows (client int, seq int, note text, PRIMARY KEY (client, seq));
		CREATE TABLE stress_balance (client int PRIMARY KEY, balance int NOT NULL DEFAULT 0);
		INSERT INTO stress_balance SELECT g, 0 FROM generate_series(0, `+strconv.Itoa(clients-1)+`) g`)
	p := proxytest.Start(t, c, proxytest.Options{Mode: proxy.PoolTransaction, MaxSize: maxSize, Configure: func(cfg *proxy.Config) {
		// Hundreds of clients queue for ten backends (under the race
		// detector on two cores): waiting is expected, giving up is not.
		cfg.Databases["*"].AcquireTimeout = time.Minute
		cfg.StartupTimeout = 30 * time.Second
	}})
	ctx, cancel := context.WithTimeout(context.Background(), duration+3*time.Minute)
	defer cancel()

	// Sample the upstream's backends of this database that come over TCP
	// (pgwarp's; the sampler itself uses the unix socket) during the run.
	sampler, err := pgx.Connect(ctx, c.SocketURL(c.Superuser(), "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer sampler.Close(context.Background())
	var peak, samples atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan error, 1)
	go func() {
		for {
			var n int64
			err := sampler.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE datname = $1 AND backend_type = 'client backend' AND client_addr IS NOT NULL`, db).Scan(&n)
			if err != nil {
				sampled <- err
				return
			}
			samples.Add(1)
			if n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-stopSampling:
				sampled <- nil
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()

	start := time.Now()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		fails    []string
		ops      = map[string]int{}
		steps    atomic.Int64
		ready    sync.WaitGroup
		startRun = make(chan struct{})
	)
	ready.Add(clients)
	for id := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := &stressClient{id: id, ops: map[string]int{}}
			defer func() {
				mu.Lock()
				fails = append(fails, cl.fails...)
				for k, v := range cl.ops {
					ops[k] += v
				}
				mu.Unlock()
			}()
			conn, err := pgx.Connect(ctx, p.URL("postgres", "", db, "application_name", fmt.Sprint("stress-", id)))
			ready.Done()
			if err != nil {
				cl.failf("connect: %v", err)
				return
			}
			defer conn.Close(context.Background())
			cl.conn = conn
			if _, err := conn.Prepare(ctx, "count_mine", `SELECT (SELECT count(*) FROM stress_rows WHERE client = $1),
				(SELECT balance FROM stress_balance WHERE client = $1)`); err != nil {
				cl.failf("prepare: %v", err)
				return
			}
			<-startRun
			deadline := time.Now().Add(duration)
			for i := id; time.Now().Before(deadline); i++ {
				if !cl.step(ctx, i) {
					return
				}
				steps.Add(1)
			}
			cl.check(ctx, "final check")
			var app string
			if err := conn.QueryRow(ctx, "SELECT current_setting('application_name')").Scan(&app); err != nil || app != fmt.Sprint("stress-", id) {
				cl.failf("application_name = %q, %v; want stress-%d", app, err, id)
			}
		}()
	}
	ready.Wait()
	connected := time.Since(start)
	// Logging in and running are checked separately: they fail for
	// different reasons.
	peakConnecting := peak.Swap(0)
	close(startRun)
	wg.Wait()
	close(stopSampling)
	if err := <-sampled; err != nil {
		t.Errorf("sampling pg_stat_activity: %v", err)
	}
	elapsed := time.Since(start)
	t.Logf("%d clients through max_size %d: connected in %s, %d operations %v in %s; at most %d upstream backends while connecting, %d while running (%d samples)",
		clients, maxSize, connected.Round(time.Millisecond), steps.Load(), ops, elapsed.Round(time.Millisecond), peakConnecting, peak.Load(), samples.Load())
	if len(fails) > 0 {
		show := fails
		if len(show) > 20 {
			show = show[:20]
		}
		t.Errorf("%d clients failed; the first:\n%s", len(fails), strings.Join(show, "\n"))
	}
	if peakConnecting > maxSize {
		t.Errorf("while the clients logged in, pg_stat_activity showed %d backends of pgwarp for max_size %d", peakConnecting, maxSize)
	}
	if peak.Load() > maxSize {
		t.Errorf("while the clients ran, pg_stat_activity showed %d backends of pgwarp for max_size %d", peak.Load(), maxSize)
	}
	if samples.Load() < 10 {
		t.Errorf("only %d pg_stat_activity samples during the run", samples.Load())
	}
	for _, op := range []string{"insert", "savepoint", "check", "batch", "copy", "multi", "error", "rollback", "read"} {
		if ops[op] == 0 {
			t.Errorf("no %s operation ran", op)
		}
	}
	// Nothing is left open upstream once the clients are gone.
	var open int
	if err := sampler.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
		WHERE datname = $1 AND client_addr IS NOT NULL AND state <> 'idle'`, db).Scan(&open); err != nil || open != 0 {
		t.Errorf("after the run %d upstream backends are not idle (%v)", open, err)
	}
}

// slowFirstWriteConn delays the return of its first Write (the startup
// message of an upstream login) after the bytes went out, as a loaded
// machine does when the writing goroutine is descheduled. The server's
// answer then arrives while pgconn is still "writing", which makes pgconn
// start its background reader.
type slowFirstWriteConn struct {
	net.Conn
	once sync.Once
}

func (c *slowFirstWriteConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.once.Do(func() { time.Sleep(100 * time.Millisecond) })
	return n, err
}

// TestSlowUpstreamLoginLosesNoResponse: pgwarp hijacks the upstream
// connection after pgconn logged in. If pgconn's background reader was
// started during the login (a write that took more than 15 ms), it may
// still be blocked in a Read of the hijacked connection, and then swallows
// the first response the backend sends afterwards: the client (or the
// session's startup) waits forever.
func TestSlowUpstreamLoginLosesNoResponse(t *testing.T) {
	c := pgtest.Shared(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			db := pgtest.CreateDatabase(t, c)
			p := proxytest.Start(t, c, proxytest.Options{Mode: m.mode, Configure: func(cfg *proxy.Config) {
				up := cfg.Databases["*"].Upstream
				dial := up.DialFunc
				up.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
					conn, err := dial(ctx, network, addr)
					if err != nil {
						return nil, err
					}
					return &slowFirstWriteConn{Conn: conn}, nil
				}
			}})
			for i := range 3 {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				conn, err := pgx.Connect(ctx, p.URL("postgres", "", db, "application_name", fmt.Sprint("slow-login-", i)))
				if err != nil {
					cancel()
					t.Fatalf("connection %d: %v", i, err)
				}
				for k := range 3 {
					var got string
					if err := conn.QueryRow(ctx, "SELECT current_setting('application_name') || '/' || $1::int", k).Scan(&got); err != nil {
						cancel()
						t.Fatalf("connection %d, query %d: %v", i, k, err)
					}
					if want := fmt.Sprintf("slow-login-%d/%d", i, k); got != want {
						t.Errorf("connection %d, query %d: %q, want %q", i, k, got, want)
					}
				}
				conn.Close(ctx)
				cancel()
			}
		})
	}
}
