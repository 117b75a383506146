package proxy_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgwarp/pgwarp/cache"
	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/proxy"
	"github.com/pgwarp/pgwarp/proxy/proxytest"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type cacheSetup struct {
	cfg     cache.Config
	clock   *fakeClock
	channel string
	mode    proxy.PoolMode
	size    int
	// configure, if set, edits the configuration last.
	configure func(*proxy.Config)
}

func startCached(t testing.TB, db string, cs cacheSetup) (*proxytest.Proxy, *cache.Cache) {
	t.Helper()
	c := pgtest.Shared(t)
	var opts []cache.Option
	if cs.clock != nil {
		opts = append(opts, cache.WithClock(cs.clock.Now))
	}
	cc, err := cache.New(cs.cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	p := proxytest.Start(t, c, proxytest.Options{Mode: cs.mode, MaxSize: cs.size, Configure: func(pc *proxy.Config) {
		pc.Cache = cc
		pc.InvalidationChannel = cs.channel
		pc.VolatileInvalidatesAll = true
		if cs.configure != nil {
			cs.configure(pc)
		}
	}})
	return p, cc
}

// warm runs sql until the catalog is loaded and the result is stored (the
// first statements of a database run uncached while the catalog loads).
func warm(t testing.TB, p *proxytest.Proxy, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		before := p.Server.CacheOutcomes()["hit"]
		rows, err := conn.Query(context.Background(), sql, args...)
		if err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if p.Server.CacheOutcomes()["hit"] > before {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%q never became a cache hit: %v", sql, p.Server.CacheOutcomes())
}

func dashboardDB(t testing.TB) string {
	t.Helper()
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	pgtest.Exec(t, c, db, `CREATE TABLE material_artifact (artifact_identifier varchar(64) primary key, title text, tags jsonb,
		is_active boolean not null default true, last_seen timestamptz not null default '2026-01-01');
	CREATE TABLE sales_measurement_dataset (artifact_identifier varchar(64) not null, day date not null,
		units integer not null default 0, units_net integer not null default 0, unique (artifact_identifier, day));
	INSERT INTO material_artifact SELECT 'a' || g, 'Artifact ' || g, '["x"]', true FROM generate_series(1, 50) g;
	INSERT INTO sales_measurement_dataset SELECT 'a' || (g % 50 + 1), date '2026-01-01' + (g / 50), g % 7, g % 5
		FROM generate_series(1, 5000) g;`)
	return db
}

const dashboardSQL = `SELECT a.artifact_identifier, sum(s.units) AS units FROM sales_measurement_dataset s
	JOIN material_artifact a USING (artifact_identifier)
	WHERE s.day >= date '2026-01-10' AND a.is_active GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5`

func TestCacheServesRepeatedReadsAndWritesInvalidateThem(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			db := dashboardDB(t)
			p, _ := startCached(t, db, cacheSetup{mode: m.mode})
			reader := connect(t, p, db)
			writer := connect(t, p, db)
			ctx := context.Background()
			warm(t, p, reader, dashboardSQL)
			top := func() string {
				var id string
				var units int64
				if err := reader.QueryRow(ctx, dashboardSQL).Scan(&id, &units); err != nil {
					t.Fatal(err)
				}
				return fmt.Sprintf("%s %d", id, units)
			}
			before := top()
			// Read your writes: autocommit and in a transaction.
			mustExec(t, writer, "INSERT INTO sales_measurement_dataset VALUES ('a7', '2027-02-01', 100000, 0)")
			after := top()
			if want := fmt.Sprintf("a7 %d", sumUnits(t, writer, "a7")); after != want {
				t.Fatalf("after the insert the top row is %q, want %q (was %q)", after, want, before)
			}
			tx, err := writer.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, "UPDATE sales_measurement_dataset SET units = 0 WHERE artifact_identifier = 'a7' AND day = '2027-02-01'"); err != nil {
				t.Fatal(err)
			}
			if got := top(); got != after {
				t.Fatalf("an uncommitted update changed what others read: %q", got)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if got := top(); got == after {
				t.Fatalf("after the commit the cache still served %q", got)
			}
			// A write to a table the query does not read leaves it cached.
			mustExec(t, writer, "CREATE TABLE unrelated(x int)")
			warm(t, p, reader, dashboardSQL)
			mustExec(t, writer, "INSERT INTO unrelated VALUES (1)")
			hits := p.Server.CacheOutcomes()["hit"]
			top()
			if p.Server.CacheOutcomes()["hit"] != hits+1 {
				t.Fatalf("a write to an unrelated table invalidated the dashboard query: %v", p.Server.CacheOutcomes())
			}
		})
	}
}

func sumUnits(t *testing.T, conn *pgx.Conn, id string) int64 {
	t.Helper()
	var n int64
	if err := conn.QueryRow(context.Background(), "SELECT sum(units) FROM sales_measurement_dataset WHERE artifact_identifier = $1 AND day >= '2026-01-10'", id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// rawResponse sends msgs and returns every message up to ReadyForQuery,
// re-encoded, for byte comparison.
func rawResponse(t *testing.T, r *rawConn, msgs ...pgproto3.FrontendMessage) []byte {
	t.Helper()
	for _, m := range msgs {
		r.fe.Send(m)
	}
	if err := r.fe.Flush(); err != nil {
		t.Fatal(err)
	}
	var out []byte
	for {
		msg := r.receive()
		enc, err := msg.Encode(nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, enc...)
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			return out
		}
	}
}

func TestCachedRepliesAreByteForByteTheUpstreamsOwn(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	pgtest.Exec(t, c, db, `CREATE TABLE corpus (id int primary key, n numeric, ts timestamptz, j jsonb, a int[], b bytea, t text, f float8, w text);
		INSERT INTO corpus VALUES (1, 12345.678901234567890, '2026-11-29 12:34:56.789+00', '{"k": [1, "two", null]}', '{1,2,NULL}', '\x00ff10', NULL, 1.5e-300, repeat('w', 100000)),
			(2, NULL, NULL, NULL, NULL, NULL, 'héllo', 'NaN', '')`)
	p, _ := startCached(t, db, cacheSetup{mode: proxy.PoolTransaction})
	warmConn := connect(t, p, db, "TimeZone", "UTC")
	warm(t, p, warmConn, "SELECT * FROM corpus ORDER BY id")
	r := dialRaw(t, p)
	r.startup(db, 3, 0, "TimeZone", "UTC")
	const sql = "SELECT * FROM corpus ORDER BY id"
	for _, format := range []int16{0, 1} {
		ext := []pgproto3.FrontendMessage{
			&pgproto3.Parse{Name: "corpus_q", Query: sql},
			&pgproto3.Sync{},
		}
		rawResponse(t, r, ext...)
		run := func() []byte {
			return rawResponse(t, r,
				&pgproto3.Bind{PreparedStatement: "corpus_q", ResultFormatCodes: []int16{format}},
				&pgproto3.Describe{ObjectType: 'P'},
				&pgproto3.Execute{},
				&pgproto3.Sync{})
		}
		first := run() // miss (or not yet cacheable)
		var hit []byte
		for i := 0; i < 50; i++ {
			before := p.Server.CacheOutcomes()["hit"]
			hit = run()
			if p.Server.CacheOutcomes()["hit"] > before {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !bytes.Equal(first, hit) {
			t.Fatalf("format %d: cached reply differs from the upstream's (%d vs %d bytes)", format, len(hit), len(first))
		}
		rawResponse(t, r, &pgproto3.Close{ObjectType: 'S', Name: "corpus_q"}, &pgproto3.Sync{})
	}
	// The unnamed statement, parsed in the same batch, as node-postgres
	// and libpq's PQexecParams send it; with and without a Describe.
	for _, format := range []int16{0, 1} {
		for _, describe := range []bool{true, false} {
			run := func() []byte {
				msgs := []pgproto3.FrontendMessage{
					&pgproto3.Parse{Query: sql},
					&pgproto3.Bind{ResultFormatCodes: []int16{format}},
				}
				if describe {
					msgs = append(msgs, &pgproto3.Describe{ObjectType: 'P'})
				}
				return rawResponse(t, r, append(msgs, &pgproto3.Execute{}, &pgproto3.Sync{})...)
			}
			first := run()
			hits := p.Server.CacheOutcomes()["hit"]
			hit := run()
			if p.Server.CacheOutcomes()["hit"] != hits+1 {
				t.Fatalf("format %d, describe %v: the unnamed statement's second run was not a hit: %v", format, describe, p.Server.CacheOutcomes())
			}
			if !bytes.Equal(first, hit) {
				t.Fatalf("format %d, describe %v: cached reply to the unnamed statement differs from the upstream's (%d vs %d bytes)", format, describe, len(hit), len(first))
			}
		}
	}
	// Simple protocol.
	first := rawResponse(t, r, &pgproto3.Query{String: sql})
	second := rawResponse(t, r, &pgproto3.Query{String: sql})
	if !bytes.Equal(first, second) {
		t.Fatal("simple protocol: cached reply differs from the upstream's")
	}
}

func TestCacheKeysSeparateRolesSearchPathsAndTimeZones(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	pgtest.CreateRole(t, c, "tenant_a", "x", "")
	pgtest.CreateRole(t, c, "tenant_b", "x", "")
	pgtest.Exec(t, c, db, `CREATE TABLE docs (owner text, body text);
		INSERT INTO docs VALUES ('tenant_a', 'secret of a'), ('tenant_b', 'secret of b');
		ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
		CREATE POLICY own ON docs USING (owner = current_user);
		GRANT SELECT ON docs TO tenant_a, tenant_b;
		CREATE SCHEMA s1; CREATE SCHEMA s2;
		CREATE TABLE s1.v (x text); CREATE TABLE s2.v (x text);
		INSERT INTO s1.v VALUES ('one'); INSERT INTO s2.v VALUES ('two');
		GRANT USAGE ON SCHEMA s1, s2 TO PUBLIC; GRANT SELECT ON s1.v, s2.v TO PUBLIC;
		CREATE TABLE times (t timestamptz); INSERT INTO times VALUES ('2026-06-01 12:00:00+00');
		CREATE TABLE priv (x text); INSERT INTO priv VALUES ('only for a'); GRANT SELECT ON priv TO tenant_a;`)
	p, _ := startCached(t, db, cacheSetup{mode: proxy.PoolTransaction})
	ctx := context.Background()
	a, err := pgx.Connect(ctx, p.URL("tenant_a", "", db))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	b, err := pgx.Connect(ctx, p.URL("tenant_b", "", db))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	one := func(conn *pgx.Conn, sql string) string {
		var s string
		if err := conn.QueryRow(ctx, sql, pgx.QueryExecModeSimpleProtocol).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	// A result cached for a role that may read a table never reaches a
	// role that may not.
	warm(t, p, a, "SELECT x FROM priv", pgx.QueryExecModeSimpleProtocol)
	if _, err := b.Exec(ctx, "SELECT x FROM priv", pgx.QueryExecModeSimpleProtocol); err == nil || !strings.Contains(err.Error(), "42501") {
		t.Fatalf("tenant_b read a's cached result: %v", err)
	}
	// Row-level security on current_user is STABLE, so never cached; each
	// role still sees only its rows.
	for range 5 {
		if got := one(a, "SELECT body FROM docs"); got != "secret of a" {
			t.Fatalf("tenant_a read %q", got)
		}
		if got := one(b, "SELECT body FROM docs"); got != "secret of b" {
			t.Fatalf("tenant_b read %q", got)
		}
	}
	s1 := connect(t, p, db, "search_path", "s1")
	s2 := connect(t, p, db, "search_path", "s2")
	tz1 := connect(t, p, db, "TimeZone", "UTC")
	tz2 := connect(t, p, db, "TimeZone", "Asia/Tokyo")
	warm(t, p, s1, "SELECT x FROM v", pgx.QueryExecModeSimpleProtocol)
	warm(t, p, tz1, "SELECT t::text FROM times", pgx.QueryExecModeSimpleProtocol)
	for range 5 {
		if one(s1, "SELECT x FROM v") != "one" || one(s2, "SELECT x FROM v") != "two" {
			t.Fatal("search_path shared a cache entry")
		}
		if one(tz1, "SELECT t::text FROM times") == one(tz2, "SELECT t::text FROM times") {
			t.Fatal("TimeZone shared a cache entry")
		}
	}
	if p.Server.CacheOutcomes()["hit"] == 0 {
		t.Fatalf("nothing was served from the cache: %v", p.Server.CacheOutcomes())
	}
}

func TestVolatileStatementsAndHintsBypassTheCache(t *testing.T) {
	db := dashboardDB(t)
	c := pgtest.Shared(t)
	pgtest.Exec(t, c, db, `CREATE FUNCTION vol() RETURNS int LANGUAGE sql VOLATILE AS 'SELECT 1';
		CREATE FUNCTION imm(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2';`)
	p, _ := startCached(t, db, cacheSetup{mode: proxy.PoolTransaction})
	conn := connect(t, p, db)
	warm(t, p, conn, "SELECT imm(count(*)::int) FROM material_artifact")
	for _, sql := range []string{
		"SELECT count(*), now() FROM material_artifact",
		"SELECT vol() FROM material_artifact LIMIT 1",
		"SELECT count(*) FROM material_artifact /* pgwarp:nocache */",
		"SELECT * FROM material_artifact LIMIT 1 FOR UPDATE",
	} {
		before := p.Server.CacheOutcomes()["hit"]
		for range 3 {
			mustExec(t, conn, sql)
		}
		if p.Server.CacheOutcomes()["hit"] != before {
			t.Errorf("%q was served from the cache", sql)
		}
	}
}

// A stale entry is served and refreshed in the background, in every
// protocol pgx speaks: the simple one, the unnamed statement with and
// without a described portal, and named statements.
func TestStaleWhileRevalidateAndTTLWithAnInjectedClock(t *testing.T) {
	db := dashboardDB(t)
	for i, mode := range []pgx.QueryExecMode{
		pgx.QueryExecModeSimpleProtocol,
		pgx.QueryExecModeExec,
		pgx.QueryExecModeCacheStatement,
		pgx.QueryExecModeCacheDescribe,
		pgx.QueryExecModeDescribeExec,
	} {
		t.Run(mode.String(), func(t *testing.T) {
			clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
			swr := 15 * time.Second
			p, _ := startCached(t, db, cacheSetup{mode: proxy.PoolTransaction, clock: clock,
				cfg: cache.Config{Default: cache.Lifetime{TTL: time.Minute, StaleWhileRevalidate: &swr}}})
			conn := connect(t, p, db)
			table := fmt.Sprintf("counter_%d", i)
			pgtest.Exec(t, pgtest.Shared(t), db, fmt.Sprintf("CREATE TABLE %[1]s (id int, n int); INSERT INTO %[1]s VALUES (1, 1), (2, 20)", table))
			sql := "SELECT n FROM " + table + " WHERE id = $1"
			read := func() int {
				var n int
				if err := conn.QueryRow(context.Background(), sql, mode, 1).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			update := func(n int) {
				pgtest.Exec(t, pgtest.Shared(t), db, fmt.Sprintf("UPDATE %s SET n = %d WHERE id = 1", table, n))
			}
			warm(t, p, conn, sql, mode, 1)
			// A write outside pgwarp is only bounded by the TTL.
			update(2)
			if read() != 1 {
				t.Fatal("a fresh entry was not served")
			}
			before := p.Server.CacheOutcomes()
			clock.Advance(65 * time.Second) // stale: served, and refreshed behind
			if got := read(); got != 1 {
				t.Fatalf("stale read got %d, want the stale 1", got)
			}
			deadline := time.Now().Add(5 * time.Second)
			for read() != 2 {
				if time.Now().After(deadline) {
					t.Fatalf("the background refresh never stored the new value (outcomes %v)", p.Server.CacheOutcomes())
				}
				time.Sleep(20 * time.Millisecond)
			}
			after := p.Server.CacheOutcomes()
			if after["stale"] == before["stale"] {
				t.Fatalf("no stale hit counted: %v", after)
			}
			if after["miss"] != before["miss"] {
				t.Fatalf("the refreshed value came from a miss, not from the refresh: %v → %v", before, after)
			}
			// The cache itself now holds the new value: a read that is not
			// answered by the cache (its Bind split from its Execute, say)
			// would have found it too.
			if got := read(); got != 2 || p.Server.CacheOutcomes()["hit"] != after["hit"]+1 {
				t.Fatalf("after the refresh, a read got %d with outcomes %v → %v; want a hit of 2", got, after, p.Server.CacheOutcomes())
			}
			update(3)
			clock.Advance(2 * time.Minute) // past ttl + swr: a miss
			if got := read(); got != 3 {
				t.Fatalf("expired read got %d, want 3", got)
			}
		})
	}
}

func TestConcurrentIdenticalMissesRunUpstreamOnce(t *testing.T) {
	db := dashboardDB(t)
	c := pgtest.Shared(t)
	// A slow but immutable read: a big self-join.
	pgtest.Exec(t, c, db, "CREATE TABLE big AS SELECT g AS x FROM generate_series(1, 300000) g; ANALYZE big")
	p, _ := startCached(t, db, cacheSetup{mode: proxy.PoolTransaction, size: 20})
	conn := connect(t, p, db)
	warm(t, p, conn, "SELECT count(*) FROM material_artifact")
	const sql = "SELECT count(*), sum(b1.x) FROM big b1 JOIN big b2 USING (x)"
	const n = 40
	conns := make([]*pgx.Conn, n)
	for i := range conns {
		conns[i] = connect(t, p, db)
	}
	before := p.Server.CacheOutcomes()
	var wg sync.WaitGroup
	var fails atomic.Int32
	start := make(chan struct{})
	for _, cn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var cnt, sum int64
			if err := cn.QueryRow(context.Background(), sql, pgx.QueryExecModeSimpleProtocol).Scan(&cnt, &sum); err != nil || cnt != 300000 {
				fails.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if fails.Load() > 0 {
		t.Fatalf("%d readers failed", fails.Load())
	}
	after := p.Server.CacheOutcomes()
	misses := after["miss"] - before["miss"]
	if misses != 1 {
		t.Fatalf("%d concurrent identical reads ran upstream %d times (outcomes %v)", n, misses, after)
	}
}

func TestNoStaleReadAfterAnAcknowledgedWrite(t *testing.T) {
	db := dashboardDB(t)
	pgtest.Exec(t, pgtest.Shared(t), db, "CREATE TABLE seq (n bigint); INSERT INTO seq VALUES (0)")
	p, _ := startCached(t, db, cacheSetup{mode: proxy.PoolTransaction, size: 8})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var acked atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 2 {
		conn := connect(t, p, db)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				var n int64
				err := conn.QueryRow(ctx, "UPDATE seq SET n = n + 1 RETURNING n", pgx.QueryExecModeSimpleProtocol).Scan(&n)
				if err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
				for {
					cur := acked.Load()
					if n <= cur || acked.CompareAndSwap(cur, n) {
						break
					}
				}
			}
		}()
	}
	// Readers in the simple protocol, through a named statement and
	// through the unnamed one.
	readModes := []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement, pgx.QueryExecModeExec}
	for rd := range 6 {
		conn := connect(t, p, db)
		mode := readModes[rd%len(readModes)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				floor := acked.Load()
				var n int64
				if err := conn.QueryRow(ctx, "SELECT n FROM seq", mode).Scan(&n); err != nil {
					errs <- fmt.Errorf("reader %d: %w", rd, err)
					return
				}
				if n < floor {
					errs <- fmt.Errorf("reader %d read %d after write %d was acknowledged", rd, n, floor)
					return
				}
			}
		}()
	}
	time.Sleep(3 * time.Second)
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if p.Server.CacheOutcomes()["hit"] == 0 {
		t.Fatalf("the race never exercised the cache: %v", p.Server.CacheOutcomes())
	}
}

func TestExtendedProtocolReadsAreCachedPerParameter(t *testing.T) {
	db := dashboardDB(t)
	p, _ := startCached(t, db, cacheSetup{mode: proxy.PoolTransaction})
	conn := connect(t, p, db)
	ctx := context.Background()
	const sql = "SELECT title FROM material_artifact WHERE artifact_identifier = $1"
	warm(t, p, conn, sql, "a1")
	var title string
	for _, id := range []string{"a1", "a2", "a1", "a2"} {
		if err := conn.QueryRow(ctx, sql, id).Scan(&title); err != nil || title != "Artifact "+id[1:] {
			t.Fatalf("%s: %q %v", id, title, err)
		}
	}
	mustExec(t, connect(t, p, db), "UPDATE material_artifact SET title = 'renamed' WHERE artifact_identifier = 'a1'")
	if err := conn.QueryRow(ctx, sql, "a1").Scan(&title); err != nil || title != "renamed" {
		t.Fatalf("after the update: %q %v", title, err)
	}
}

// TestUnnamedStatementReadsAreCached: pgx's Exec, CacheDescribe and
// DescribeExec modes run every query through the unnamed statement, as
// node-postgres does for queries without a name; their reads hit the
// cache per parameter value, and writes invalidate them.
func TestUnnamedStatementReadsAreCached(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { testUnnamedStatementReadsAreCached(t, m.mode) })
	}
}

func testUnnamedStatementReadsAreCached(t *testing.T, poolMode proxy.PoolMode) {
	db := dashboardDB(t)
	p, _ := startCached(t, db, cacheSetup{mode: poolMode})
	ctx := context.Background()
	writer := connect(t, p, db)
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeExec, pgx.QueryExecModeCacheDescribe, pgx.QueryExecModeDescribeExec} {
		t.Run(mode.String(), func(t *testing.T) {
			conn := connect(t, p, db)
			sql := fmt.Sprintf("SELECT title FROM material_artifact WHERE artifact_identifier = $1 /* %s */", mode)
			mustExec(t, writer, "UPDATE material_artifact SET title = 'Artifact 1' WHERE artifact_identifier = 'a1'")
			warm(t, p, conn, sql, mode, "a1")
			hits := p.Server.CacheOutcomes()["hit"]
			var title string
			for _, id := range []string{"a1", "a2", "a1", "a2"} {
				if err := conn.QueryRow(ctx, sql, mode, id).Scan(&title); err != nil || title != "Artifact "+id[1:] {
					t.Fatalf("%s: %q %v", id, title, err)
				}
			}
			if got := p.Server.CacheOutcomes()["hit"] - hits; got < 2 {
				t.Fatalf("%d of 4 reads hit the cache: %v", got, p.Server.CacheOutcomes())
			}
			mustExec(t, writer, "UPDATE material_artifact SET title = 'renamed' WHERE artifact_identifier = 'a1'")
			if err := conn.QueryRow(ctx, sql, mode, "a1").Scan(&title); err != nil || title != "renamed" {
				t.Fatalf("after the update: %q %v", title, err)
			}
		})
	}
}

// TestDescribeExecReadsAlwaysReachTheCache: in pgx's DescribeExec mode
// every read is two batches, Parse and Describe of the unnamed statement,
// then Bind and Execute. The second arrives as soon as the client has the
// first's answer, sometimes before the first batch's backend is back in
// the pool; it must still be answered from the cache.
func TestDescribeExecReadsAlwaysReachTheCache(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			db := dashboardDB(t)
			p, _ := startCached(t, db, cacheSetup{mode: m.mode})
			conn := connect(t, p, db)
			const sql = "SELECT title FROM material_artifact WHERE artifact_identifier = $1"
			warm(t, p, conn, sql, pgx.QueryExecModeDescribeExec, "a1")
			before := p.Server.CacheOutcomes()
			const n = 200
			for range n {
				var title string
				if err := conn.QueryRow(context.Background(), sql, pgx.QueryExecModeDescribeExec, "a1").Scan(&title); err != nil || title != "Artifact 1" {
					t.Fatalf("%q %v", title, err)
				}
			}
			after := p.Server.CacheOutcomes()
			if got := after["hit"] - before["hit"]; got != n {
				t.Fatalf("%d of %d reads were cache hits: %v → %v", got, n, before, after)
			}
		})
	}
}

// TestTheUnnamedStatementOfACacheHitStaysUsable: a hit answers Parse of the
// unnamed statement without a backend; the client may still bind and
// describe that statement in its next batches, on whichever backend, and in
// session mode on its own backend, which had another unnamed statement.
func TestTheUnnamedStatementOfACacheHitStaysUsable(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			db := dashboardDB(t)
			p, _ := startCached(t, db, cacheSetup{mode: m.mode})
			warmConn := connect(t, p, db)
			const sql = "SELECT title FROM material_artifact WHERE artifact_identifier = $1"
			warm(t, p, warmConn, sql, pgx.QueryExecModeExec, "a1")
			r := dialRaw(t, p)
			r.startup(db, 3, 0)
			param := func(id string) *pgproto3.Bind {
				return &pgproto3.Bind{ParameterFormatCodes: []int16{0}, Parameters: [][]byte{[]byte(id)}}
			}
			parse := &pgproto3.Parse{Query: sql, ParameterOIDs: []uint32{25}}
			group := func(msgs ...pgproto3.FrontendMessage) []byte {
				return rawResponse(t, r, append(msgs, &pgproto3.Describe{ObjectType: 'P'}, &pgproto3.Execute{}, &pgproto3.Sync{})...)
			}
			first := group(parse, param("a1"))
			// The backend's unnamed statement is another one.
			rawResponse(t, r, &pgproto3.Parse{Query: "SELECT 42 AS answer"}, &pgproto3.Sync{})
			hits := p.Server.CacheOutcomes()["hit"]
			if got := group(parse, param("a1")); !bytes.Equal(got, first) || p.Server.CacheOutcomes()["hit"] != hits+1 {
				t.Fatalf("the second run was not an identical hit: %q, then %q; %v", first, got, p.Server.CacheOutcomes())
			}
			// The statement is the client's unnamed statement now,
			// though no backend parsed it: a Bind without Parse runs it.
			if got := group(param("a2")); !bytes.Contains(got, []byte("Artifact 2")) || bytes.Contains(got, []byte("answer")) {
				t.Fatalf("binding the unnamed statement after a hit: %q", got)
			}
			rawResponse(t, r, &pgproto3.Parse{Query: "SELECT 42 AS answer"}, &pgproto3.Sync{})
			group(parse, param("a1"))
			desc := rawResponse(t, r, &pgproto3.Describe{ObjectType: 'S'}, &pgproto3.Sync{})
			if !bytes.Contains(desc, []byte("title")) || bytes.Contains(desc, []byte("answer")) {
				t.Fatalf("describing the unnamed statement after a hit: %q", desc)
			}
			// A simple query destroys the unnamed statement, whether
			// the backend parsed it or the cache answered it.
			group(parse, param("a1"))
			rawResponse(t, r, &pgproto3.Query{String: "SELECT 1"})
			if got := rawResponse(t, r, param("a2"), &pgproto3.Execute{}, &pgproto3.Sync{}); !bytes.Contains(got, []byte("26000")) {
				t.Fatalf("binding the unnamed statement after a simple query: %q, want error 26000", got)
			}
		})
	}
}

func TestTwoInstancesInvalidateEachOther(t *testing.T) {
	db := dashboardDB(t)
	channel := "pgwarp_test_" + fmt.Sprint(time.Now().UnixNano()%1e6)
	pa, _ := startCached(t, db, cacheSetup{mode: proxy.PoolTransaction, channel: channel})
	pb, _ := startCached(t, db, cacheSetup{mode: proxy.PoolTransaction, channel: channel})
	ra := connect(t, pa, db)
	rb := connect(t, pb, db)
	const sql = "SELECT title FROM material_artifact WHERE artifact_identifier = 'a3'"
	warm(t, pa, ra, sql)
	warm(t, pb, rb, sql)
	// Let both listeners start (they start with the first write or read).
	mustExec(t, ra, "UPDATE material_artifact SET title = 'v1' WHERE artifact_identifier = 'a4'")
	mustExec(t, rb, "UPDATE material_artifact SET title = 'v1' WHERE artifact_identifier = 'a4'")
	time.Sleep(300 * time.Millisecond)
	warm(t, pb, rb, sql)
	mustExec(t, ra, "UPDATE material_artifact SET title = 'through a' WHERE artifact_identifier = 'a3'")
	deadline := time.Now().Add(2 * time.Second)
	for {
		var title string
		if err := rb.QueryRow(context.Background(), sql).Scan(&title); err != nil {
			t.Fatal(err)
		}
		if title == "through a" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance b still serves %q two seconds after a's write", title)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
