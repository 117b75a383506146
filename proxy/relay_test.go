package proxy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/proxy"
	"github.com/pgwarp/pgwarp/proxy/proxytest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var modes = []struct {
	name string
	mode proxy.PoolMode
}{{"session", proxy.PoolSession}, {"transaction", proxy.PoolTransaction}}

// connect opens a pgx connection through p to a fresh database as the
// superuser.
func connect(t testing.TB, p *proxytest.Proxy, db string, params ...string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, p.URL("postgres", "", db, params...))
	if err != nil {
		t.Fatalf("connect through pgwarp: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func eachMode(t *testing.T, f func(t *testing.T, p *proxytest.Proxy, db string)) {
	c := pgtest.Shared(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			db := pgtest.CreateDatabase(t, c)
			p := proxytest.Start(t, c, proxytest.Options{Mode: m.mode})
			f(t, p, db)
		})
	}
}

func TestSimpleQueryWithSeveralStatementsReturnsEveryResult(t *testing.T) {
	eachMode(t, func(t *testing.T, p *proxytest.Proxy, db string) {
		conn := connect(t, p, db)
		results, err := conn.PgConn().Exec(context.Background(), "SELECT 1 AS a; SELECT 'x' AS b, 2 AS c; CREATE TEMP TABLE IF NOT EXISTS t(x int); SELECT 3").ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(results) != 4 {
			t.Fatalf("got %d results, want 4", len(results))
		}
		if got := string(results[1].Rows[0][0]) + string(results[1].Rows[0][1]); got != "x2" {
			t.Errorf("second result = %q", got)
		}
		if tag := results[2].CommandTag.String(); tag != "CREATE TABLE" {
			t.Errorf("third tag = %q", tag)
		}
	})
}

func TestErrorInTheMiddleOfAResultLeavesTheSessionUsable(t *testing.T) {
	eachMode(t, func(t *testing.T, p *proxytest.Proxy, db string) {
		ctx := context.Background()
		conn := connect(t, p, db)
		rows, _ := conn.Query(ctx, "SELECT 10 / (5 - x) FROM generate_series(1, 10) x")
		n := 0
		for rows.Next() {
			n++
		}
		var pe *pgconn.PgError
		if err := rows.Err(); !errors.As(err, &pe) || pe.Code != "22012" {
			t.Fatalf("want division_by_zero, got %v", err)
		}
		if n != 4 {
			t.Errorf("got %d rows before the error, want 4", n)
		}
		// Simple protocol too, and then the session still works.
		_, err := conn.PgConn().Exec(ctx, "SELECT 1; SELECT 1/0; SELECT 2").ReadAll()
		if !errors.As(err, &pe) || pe.Code != "22012" {
			t.Fatalf("simple: want division_by_zero, got %v", err)
		}
		var one int
		if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
			t.Fatalf("after errors: %d, %v", one, err)
		}
	})
}

func TestPipelinedBatchWithAnErrorKeepsTheOtherResults(t *testing.T) {
	eachMode(t, func(t *testing.T, p *proxytest.Proxy, db string) {
		ctx := context.Background()
		conn := connect(t, p, db)
		if _, err := conn.Exec(ctx, "CREATE TABLE kv (k int primary key, v text)"); err != nil {
			t.Fatal(err)
		}
		b := &pgx.Batch{}
		for i := range 50 {
			b.Queue("INSERT INTO kv VALUES ($1, $2)", i, fmt.Sprint("v", i))
		}
		b.Queue("SELECT count(*) FROM kv")
		br := conn.SendBatch(ctx, b)
		for i := range 50 {
			if _, err := br.Exec(); err != nil {
				t.Fatalf("insert %d: %v", i, err)
			}
		}
		var n int
		if err := br.QueryRow().Scan(&n); err != nil || n != 50 {
			t.Fatalf("count = %d, %v", n, err)
		}
		if err := br.Close(); err != nil {
			t.Fatal(err)
		}
		// A failing statement in an implicit-transaction batch rolls the
		// batch back and reports the error; the next batch works.
		b = &pgx.Batch{}
		b.Queue("INSERT INTO kv VALUES (100, 'x')")
		b.Queue("INSERT INTO kv VALUES (1, 'duplicate')")
		b.Queue("INSERT INTO kv VALUES (101, 'y')")
		err := conn.SendBatch(ctx, b).Close()
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "23505" {
			t.Fatalf("want unique_violation, got %v", err)
		}
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM kv").Scan(&n); err != nil || n != 50 {
			t.Fatalf("after failed batch count = %d, %v", n, err)
		}
	})
}

func TestRawPipelineWithSeveralSyncs(t *testing.T) {
	eachMode(t, func(t *testing.T, p *proxytest.Proxy, db string) {
		ctx := context.Background()
		conn := connect(t, p, db)
		pl := conn.PgConn().StartPipeline(ctx)
		pl.SendQueryParams("SELECT $1::int + 1", [][]byte{[]byte("1")}, nil, nil, nil)
		if err := pl.Sync(); err != nil {
			t.Fatal(err)
		}
		pl.SendQueryParams("SELECT 1/0", nil, nil, nil, nil)
		if err := pl.Sync(); err != nil {
			t.Fatal(err)
		}
		pl.SendQueryParams("SELECT $1::text || 'b'", [][]byte{[]byte("a")}, nil, nil, nil)
		if err := pl.Sync(); err != nil {
			t.Fatal(err)
		}
		want := []string{"2", "error", "ab"}
		for i, w := range want {
			res, err := pl.GetResults()
			got := "error"
			var pe *pgconn.PgError
			switch {
			case errors.As(err, &pe) && pe.Code == "22012":
			case err != nil:
				t.Fatalf("result %d: %v", i, err)
			default:
				rr, ok := res.(*pgconn.ResultReader)
				if !ok {
					t.Fatalf("result %d: got %T", i, res)
				}
				r := rr.Read()
				if r.Err != nil {
					t.Fatalf("result %d: %v", i, r.Err)
				}
				got = string(r.Rows[0][0])
			}
			if got != w {
				t.Errorf("result %d = %q, want %q", i, got, w)
			}
			if _, err := pl.GetResults(); err != nil { // the Sync
				t.Fatalf("sync %d: %v", i, err)
			}
		}
		if err := pl.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCopyFromAndCopyToStdout(t *testing.T) {
	eachMode(t, func(t *testing.T, p *proxytest.Proxy, db string) {
		ctx := context.Background()
		conn := connect(t, p, db)
		if _, err := conn.Exec(ctx, "CREATE TABLE items (id int, name text, price numeric)"); err != nil {
			t.Fatal(err)
		}
		rows := make([][]any, 10000)
		for i := range rows {
			rows[i] = []any{i, fmt.Sprintf("item %d", i), fmt.Sprintf("%d.%02d", i, i%100)}
		}
		n, err := conn.CopyFrom(ctx, pgx.Identifier{"items"}, []string{"id", "name", "price"}, pgx.CopyFromRows(rows))
		if err != nil || n != int64(len(rows)) {
			t.Fatalf("CopyFrom = %d, %v", n, err)
		}
		var buf bytes.Buffer
		tag, err := conn.PgConn().CopyTo(ctx, &buf, "COPY (SELECT id, name FROM items ORDER BY id) TO STDOUT")
		if err != nil {
			t.Fatal(err)
		}
		if tag.RowsAffected() != 10000 {
			t.Errorf("COPY TO affected %d", tag.RowsAffected())
		}
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != 10000 || lines[9999] != "9999\titem 9999" {
			t.Fatalf("COPY TO gave %d lines, last %q", len(lines), lines[len(lines)-1])
		}
		// A COPY that fails mid-stream reports the error and leaves the
		// session usable.
		_, err = conn.PgConn().CopyFrom(ctx, strings.NewReader("1\tx\t1\nnot a number\ty\t2\n"), "COPY items FROM STDIN")
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "22P02" {
			t.Fatalf("want invalid_text_representation, got %v", err)
		}
		var count int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&count); err != nil || count != 10000 {
			t.Fatalf("after failed COPY: %d, %v", count, err)
		}
	})
}

func TestBinaryFormatsOfCommonTypesRoundTrip(t *testing.T) {
	eachMode(t, func(t *testing.T, p *proxytest.Proxy, db string) {
		ctx := context.Background()
		conn := connect(t, p, db)
		ts := time.Date(2026, 11, 29, 12, 34, 56, 789000000, time.UTC)
		var (
			i8   int64
			f8   float64
			num  pgtype.Numeric
			tz   time.Time
			d    pgtype.Date
			js   map[string]any
			arr  []int32
			by   []byte
			txt  *string
			uuid pgtype.UUID
			ip   netip.Prefix
			b    bool
			iv   pgtype.Interval
		)
		err := conn.QueryRow(ctx, `SELECT $1::int8, $2::float8, $3::numeric, $4::timestamptz, $5::date, $6::jsonb,
			$7::int4[], $8::bytea, NULL::text, $9::uuid, $10::inet, $11::bool, $12::interval`,
			int64(-1<<62), 3.5, "12345678901234567890.123", ts, "2026-02-28", map[string]any{"a": []any{1.0, "b"}},
			[]int32{1, 2, 3}, []byte{0, 1, 2, 255}, "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "10.1.2.3/32", true, "1 day 2 hours",
		).Scan(&i8, &f8, &num, &tz, &d, &js, &arr, &by, &txt, &uuid, &ip, &b, &iv)
		if err != nil {
			t.Fatal(err)
		}
		want := new(big.Int)
		want.SetString("12345678901234567890123", 10)
		if i8 != -1<<62 || f8 != 3.5 || num.Int.Cmp(want) != 0 || num.Exp != -3 || !tz.Equal(ts) ||
			d.Time.Format("2006-01-02") != "2026-02-28" || fmt.Sprint(js["a"]) != "[1 b]" || fmt.Sprint(arr) != "[1 2 3]" ||
			!bytes.Equal(by, []byte{0, 1, 2, 255}) || txt != nil || !uuid.Valid || ip.String() != "10.1.2.3/32" || !b ||
			iv.Days != 1 || iv.Microseconds != 2*3600*1e6 {
			t.Fatalf("round trip mismatch: %v %v %v %v %v %v %v %v %v %v %v %v %v", i8, f8, num, tz, d, js, arr, by, txt, uuid, ip, b, iv)
		}
	})
}

func TestRowsOfSixteenMebibytesPassThrough(t *testing.T) {
	eachMode(t, func(t *testing.T, p *proxytest.Proxy, db string) {
		ctx := context.Background()
		conn := connect(t, p, db)
		if _, err := conn.Exec(ctx, "CREATE TABLE blobs (id int, data bytea, note text)"); err != nil {
			t.Fatal(err)
		}
		big := make([]byte, 17<<20)
		for i := range big {
			big[i] = byte(i * 7)
		}
		note := strings.Repeat("é", 9<<20) // 18 MiB of UTF-8 text
		if _, err := conn.Exec(ctx, "INSERT INTO blobs VALUES (1, $1, $2)", big, note); err != nil {
			t.Fatal(err)
		}
		var got []byte
		var gotNote string
		if err := conn.QueryRow(ctx, "SELECT data, note FROM blobs WHERE id = 1").Scan(&got, &gotNote); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, big) || gotNote != note {
			t.Fatalf("large row corrupted: %d bytes, note %d bytes", len(got), len(gotNote))
		}
		// Text format over the simple protocol as well.
		res, err := conn.PgConn().Exec(ctx, "SELECT length(note), note FROM blobs").ReadAll()
		if err != nil || string(res[0].Rows[0][1]) != note {
			t.Fatalf("simple protocol large row: %v", err)
		}
	})
}

// sampleHeap samples the live heap (after a GC) every period until the
// returned function is called, which reports how far its peak rose above
// the heap at the start. Live heap is what must stay flat while a result
// streams: garbage the client makes scanning rows comes and goes with the
// GC's pacing.
func sampleHeap(period time.Duration) func() int64 {
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(period):
			}
			runtime.GC()
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
		}
	}()
	return func() int64 {
		close(stop)
		<-sampled
		return int64(peak.Load()) - int64(base.HeapAlloc)
	}
}

func TestAMillionRowResultStreamsWithoutGrowingMemory(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	p := proxytest.Start(t, c, proxytest.Options{Mode: proxy.PoolTransaction})
	conn := connect(t, p, db)
	ctx := context.Background()
	growth := sampleHeap(100 * time.Millisecond)
	rows, err := conn.Query(ctx, "SELECT x, repeat('r', 100) FROM generate_series(1, 1000000) x")
	if err != nil {
		t.Fatal(err)
	}
	var n, sum int64
	for rows.Next() {
		var x int64
		var s string
		if err := rows.Scan(&x, &s); err != nil {
			t.Fatal(err)
		}
		n++
		sum += x
	}
	grew := growth()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 1_000_000 || sum != 500000500000 {
		t.Fatalf("got %d rows, sum %d", n, sum)
	}
	// The result is ~110 MB on the wire; pgwarp and the client together
	// must not hold more than a small, fixed amount of it.
	if grew > 32<<20 {
		t.Fatalf("heap grew by %d MiB while streaming", grew>>20)
	}
}

// connectCancelling opens a connection whose context cancellation sends a
// CancelRequest (pgx's default just closes the socket).
func connectCancelling(t *testing.T, p *proxytest.Proxy, db string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(p.URL("postgres", "", db))
	if err != nil {
		t.Fatal(err)
	}
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, CancelRequestDelay: 0, DeadlineDelay: 5 * time.Second}
	}
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestCancelThroughContextStopsTheUpstreamQuery(t *testing.T) {
	eachMode(t, func(t *testing.T, p *proxytest.Proxy, db string) {
		conn := connectCancelling(t, p, db)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err := conn.Exec(ctx, "SELECT pg_sleep(30)")
		if err == nil {
			t.Fatal("pg_sleep(30) was not cancelled")
		}
		if conn.IsClosed() {
			// pgx closes the connection if the cancel did not come back in
			// time; through pgwarp it must come back.
			t.Fatalf("connection closed after cancel: %v", err)
		}
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "57014" {
			t.Fatalf("want query_canceled, got %v", err)
		}
		var n int
		if err := conn.QueryRow(context.Background(), "SELECT 42").Scan(&n); err != nil || n != 42 {
			t.Fatalf("after cancel: %d, %v", n, err)
		}
	})
}

func TestNoticesAndParameterStatusReachTheClient(t *testing.T) {
	eachMode(t, func(t *testing.T, p *proxytest.Proxy, db string) {
		ctx := context.Background()
		cfg, err := pgconn.ParseConfig(p.URL("postgres", "", db))
		if err != nil {
			t.Fatal(err)
		}
		var notices []string
		cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { notices = append(notices, n.Message) }
		conn, err := pgconn.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DO $$ BEGIN RAISE NOTICE 'hello from plpgsql'; END $$").ReadAll(); err != nil {
			t.Fatal(err)
		}
		if len(notices) != 1 || notices[0] != "hello from plpgsql" {
			t.Fatalf("notices = %q", notices)
		}
		if _, err := conn.Exec(ctx, "SET application_name = 'renamed'").ReadAll(); err != nil {
			t.Fatal(err)
		}
		if got := conn.ParameterStatus("application_name"); got != "renamed" {
			t.Fatalf("application_name ParameterStatus = %q", got)
		}
		if conn.ParameterStatus("server_version") == "" || conn.ParameterStatus("integer_datetimes") != "on" {
			t.Fatalf("startup ParameterStatus missing: %q", conn.ParameterStatus("server_version"))
		}
	})
}

func TestListenNotifyInSessionMode(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	p := proxytest.Start(t, c, proxytest.Options{Mode: proxy.PoolSession})
	listener := connect(t, p, db)
	ctx := context.Background()
	if _, err := listener.Exec(ctx, "LISTEN events"); err != nil {
		t.Fatal(err)
	}
	sender := connect(t, p, db)
	if _, err := sender.Exec(ctx, "SELECT pg_notify('events', 'payload 1')"); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	n, err := listener.WaitForNotification(wctx)
	if err != nil {
		t.Fatal(err)
	}
	if n.Channel != "events" || n.Payload != "payload 1" {
		t.Fatalf("notification = %+v", n)
	}
}

func TestSessionModeKeyCarriesTheBackendPID(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	p := proxytest.Start(t, c, proxytest.Options{Mode: proxy.PoolSession})
	conn := connect(t, p, db)
	var pid uint32
	if err := conn.QueryRow(context.Background(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if pid != conn.PgConn().PID() {
		t.Fatalf("pg_backend_pid() = %d but BackendKeyData said %d", pid, conn.PgConn().PID())
	}
}

func TestStartupParametersReachTheUpstream(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	pgtest.Exec(t, c, db, "CREATE SCHEMA app; CREATE TABLE app.marker(x int); INSERT INTO app.marker VALUES (7)")
	p := proxytest.Start(t, c, proxytest.Options{Mode: proxy.PoolSession})
	conn := connect(t, p, db, "application_name", "reporting", "search_path", "app,public",
		"options", "-c statement_timeout=1234 -c work_mem=5MB", "myapp.tenant", "acme")
	var app, sp, st, wm, tenant string
	var x int
	err := conn.QueryRow(context.Background(), `SELECT current_setting('application_name'), current_setting('search_path'),
		current_setting('statement_timeout'), current_setting('work_mem'), current_setting('myapp.tenant'), (SELECT x FROM marker)`).
		Scan(&app, &sp, &st, &wm, &tenant, &x)
	if err != nil {
		t.Fatal(err)
	}
	if app != "reporting" || strings.ReplaceAll(sp, " ", "") != "app,public" || st != "1234ms" || wm != "5MB" || tenant != "acme" || x != 7 {
		t.Fatalf("upstream saw application_name=%q search_path=%q statement_timeout=%q work_mem=%q myapp.tenant=%q marker=%d",
			app, sp, st, wm, tenant, x)
	}
}
