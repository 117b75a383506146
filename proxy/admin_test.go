package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgwarp/pgwarp/cache"
	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/proxy"
	"github.com/pgwarp/pgwarp/proxy/proxytest"
)

// adminProxy starts pgwarp with an admin user "ops" (SCRAM) next to
// passthrough clients, and a RELOAD hook that counts calls.
func adminProxy(t *testing.T, mode proxy.PoolMode) (*proxytest.Proxy, string, *atomic.Int32) {
	t.Helper()
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	var reloads atomic.Int32
	p := proxytest.Start(t, c, proxytest.Options{Mode: mode, MaxSize: 2, Configure: func(cfg *proxy.Config) {
		cfg.AdminUsers = []string{"ops"}
		cfg.Auth.Users = map[string]*proxy.User{"ops": mustUser(t, "ops", "ops-pw", "")}
		cfg.ReloadFunc = func() error { reloads.Add(1); return nil }
	}})
	return p, db, &reloads
}

func adminConn(t *testing.T, p *proxytest.Proxy) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(p.URL("ops", "ops-pw", "pgwarp"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("admin console: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// adminRows runs a console command and returns its rows keyed by column.
func adminRows(t *testing.T, conn *pgx.Conn, cmd string) []map[string]string {
	t.Helper()
	rows, err := conn.Query(context.Background(), cmd)
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	defer rows.Close()
	var out []map[string]string
	cols := rows.FieldDescriptions()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for i, c := range cols {
			if s, ok := vals[i].(string); ok {
				m[c.Name] = s
			}
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return out
}

func TestAdminConsoleShowsPoolsClientsServersAndPins(t *testing.T) {
	p, db, _ := adminProxy(t, proxy.PoolTransaction)
	admin := adminConn(t, p)
	app := connect(t, p, db, "application_name", "dashboard")
	mustExec(t, app, "CREATE TEMP TABLE pin_me(x int)")

	pools := adminRows(t, admin, "SHOW POOLS")
	if len(pools) != 1 || pools[0]["database"] != db || pools[0]["pool_mode"] != "transaction" || pools[0]["cl_pinned"] != "1" {
		t.Fatalf("SHOW POOLS = %v", pools)
	}
	var found bool
	for _, c := range adminRows(t, admin, "SHOW CLIENTS") {
		if c["application_name"] == "dashboard" {
			found = true
			if c["pinned"] != "true" || !strings.Contains(c["pin_reason"], "temporary table") || c["backend_pid"] == "" {
				t.Errorf("pinned client row = %v", c)
			}
		}
	}
	if !found {
		t.Fatal("SHOW CLIENTS does not list the client")
	}
	servers := adminRows(t, admin, "SHOW SERVERS")
	if len(servers) == 0 || servers[0]["pid"] == "" {
		t.Fatalf("SHOW SERVERS = %v", servers)
	}
	if v := adminRows(t, admin, "SHOW VERSION"); len(v) != 1 || !strings.HasPrefix(v[0]["version"], "pgwarp") {
		t.Fatalf("SHOW VERSION = %v", v)
	}
	if st := adminRows(t, admin, "SHOW STATS"); len(st) < 2 {
		t.Fatalf("SHOW STATS = %v", st)
	}
	if cfg := adminRows(t, admin, "SHOW CONFIG"); len(cfg) == 0 {
		t.Fatal("SHOW CONFIG is empty")
	}
	if help := adminRows(t, admin, "SHOW HELP"); len(help) < 8 {
		t.Fatalf("SHOW HELP = %v", help)
	}
}

func TestAdminPauseHoldsNewTransactionsUntilResume(t *testing.T) {
	p, db, _ := adminProxy(t, proxy.PoolTransaction)
	admin := adminConn(t, p)
	app := connect(t, p, db)
	mustExec(t, app, "SELECT 1")
	mustExec(t, admin, "PAUSE "+db)
	done := make(chan error, 1)
	go func() {
		_, err := app.Exec(context.Background(), "SELECT 2")
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("statement ran while paused: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if pools := adminRows(t, admin, "SHOW POOLS"); pools[0]["paused"] != "true" {
		t.Fatalf("SHOW POOLS while paused = %v", pools)
	}
	mustExec(t, admin, "RESUME "+db)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("statement still blocked after RESUME")
	}
}

func TestAdminReloadAndKill(t *testing.T) {
	p, db, reloads := adminProxy(t, proxy.PoolTransaction)
	admin := adminConn(t, p)
	mustExec(t, admin, "RELOAD")
	if reloads.Load() != 1 {
		t.Fatalf("RELOAD called the hook %d times", reloads.Load())
	}
	victim := connect(t, p, db)
	mustExec(t, victim, "BEGIN")
	mustExec(t, victim, "SELECT 1")
	mustExec(t, admin, "KILL "+db)
	// KILL closes the upstream connections too, the leased one included.
	c := pgtest.Shared(t)
	pg, err := pgx.Connect(context.Background(), c.SocketURL(c.Superuser(), "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(context.Background())
	for deadline := time.Now().Add(5 * time.Second); ; {
		var n int
		if err := pg.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", db).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d upstream connections to %s survived KILL", n, db)
		}
		time.Sleep(20 * time.Millisecond)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := victim.Exec(context.Background(), "SELECT 1")
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("client survived KILL")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// New clients are welcome again.
	mustExec(t, connect(t, p, db), "SELECT 1")
}

func TestAdminConsoleRejectsOutsidersAndTheExtendedProtocol(t *testing.T) {
	p, db, _ := adminProxy(t, proxy.PoolTransaction)
	_ = db
	if code := login(t, p.URL("postgres", "", "pgwarp")); code != "28000" {
		t.Fatalf("non-admin user: %q, want 28000", code)
	}
	if code := login(t, p.URL("ops", "wrong", "pgwarp")); code != "28P01" {
		t.Fatalf("admin with a wrong password: %q, want 28P01", code)
	}
	conn, err := pgx.Connect(context.Background(), p.URL("ops", "ops-pw", "pgwarp"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	err = conn.PgConn().ExecParams(context.Background(), "SHOW POOLS", nil, nil, nil, nil).Read().Err
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "0A000" {
		t.Fatalf("extended protocol on the console: %v", err)
	}
	_, err = conn.Exec(context.Background(), "FLY ME TO THE MOON", pgx.QueryExecModeSimpleProtocol)
	if !errors.As(err, &pe) || pe.Code != "42601" {
		t.Fatalf("unknown command: %v", err)
	}
}

// PAUSE with no database pauses pools that do not exist yet: a client of a
// database nobody has used waits (here, at login, where pgwarp checks its
// settings upstream) until RESUME.
func TestAdminPauseCoversPoolsCreatedAfterIt(t *testing.T) {
	p, db, _ := adminProxy(t, proxy.PoolTransaction)
	admin := adminConn(t, p)
	mustExec(t, admin, "PAUSE")
	done := make(chan error, 1)
	go func() {
		conn, err := pgx.Connect(context.Background(), p.URL("postgres", "", db))
		if err == nil {
			_, err = conn.Exec(context.Background(), "SELECT 1")
			conn.Close(context.Background())
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("a new database's client got through a global PAUSE: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if pools := adminRows(t, admin, "SHOW POOLS"); len(pools) != 1 || pools[0]["paused"] != "true" || pools[0]["cl_waiting"] != "1" {
		t.Fatalf("SHOW POOLS while paused = %v", pools)
	}
	mustExec(t, admin, "RESUME")
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("client still blocked after RESUME")
	}
}

// SHOW STATS keeps the counts of clients that have left.
func TestAdminShowStatsCountsEndedSessions(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { showStatsCountsEndedSessions(t, m.mode) })
	}
}

// showStatsCountsEndedSessions checks that 5 autocommit statements count
// as 5 transactions: whether the client's next statement finds its backend
// already released (a new lease) or still held (session mode, or a client
// quicker than the release), each begins a transaction.
func showStatsCountsEndedSessions(t *testing.T, mode proxy.PoolMode) {
	p, db, _ := adminProxy(t, mode)
	admin := adminConn(t, p)
	app := connect(t, p, db)
	for range 5 {
		mustExec(t, app, "SELECT 1")
	}
	app.Close(context.Background())
	var row map[string]string
	for deadline := time.Now().Add(5 * time.Second); ; {
		for _, r := range adminRows(t, admin, "SHOW STATS") {
			if r["database"] == db {
				row = r
			}
		}
		if row != nil && row["clients"] == "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SHOW STATS after the client left: %v", row)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if row["total_query_count"] != "5" || row["total_xact_count"] != "5" {
		t.Fatalf("SHOW STATS for a client that ran 5 statements and left: %v", row)
	}
}

// A login that needs a backend of a paused database waits no longer than
// startup_timeout (57P03), RESUME of one database holds against a global
// PAUSE, and shutdown releases a login held by PAUSE at once (57P01).
func TestAdminPausedLoginsAreBoundedAndReleasedByShutdown(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	p := proxytest.Start(t, c, proxytest.Options{Mode: proxy.PoolTransaction, MaxSize: 2, Configure: func(cfg *proxy.Config) {
		cfg.AdminUsers = []string{"ops"}
		cfg.Auth.Users = map[string]*proxy.User{"ops": mustUser(t, "ops", "ops-pw", "")}
		cfg.StartupTimeout = time.Second
	}})
	admin := adminConn(t, p)
	loginCode := func() (string, time.Duration) {
		start := time.Now()
		return login(t, p.URL("postgres", "", db)), time.Since(start)
	}
	mustExec(t, admin, "PAUSE")
	if code, took := loginCode(); code != "57P03" || took > 5*time.Second {
		t.Fatalf("login to a paused database: %q after %v, want 57P03 after about startup_timeout (1s)", code, took)
	}
	mustExec(t, admin, "RESUME "+db)
	if code, _ := loginCode(); code != "" {
		t.Fatalf("login after RESUME %s under a global PAUSE: %q", db, code)
	}
	mustExec(t, admin, "PAUSE "+db)
	got := make(chan string, 1)
	go func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, p.URL("postgres", "", db))
		if err == nil {
			_, err = conn.Exec(ctx, "SELECT 1")
			conn.Close(ctx)
		}
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			got <- pe.Code
			return
		}
		got <- fmt.Sprint(err)
	}()
	time.Sleep(200 * time.Millisecond)
	stopped := make(chan struct{})
	go func() { p.Stop(t); close(stopped) }()
	select {
	case code := <-got:
		if code != "57P01" {
			t.Fatalf("login held by PAUSE at shutdown: %q, want 57P01", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown did not release a login held by PAUSE")
	}
	<-stopped
}

// SHOW CACHE OUTCOMES counts statements by cache outcome, the reasons for
// not caching included.
func TestAdminShowCacheOutcomes(t *testing.T) {
	db := dashboardDB(t)
	c := pgtest.Shared(t)
	cc, err := cache.New(cache.Config{})
	if err != nil {
		t.Fatal(err)
	}
	p := proxytest.Start(t, c, proxytest.Options{Mode: proxy.PoolTransaction, MaxSize: 2, Configure: func(cfg *proxy.Config) {
		cfg.Cache = cc
		cfg.AdminUsers = []string{"ops"}
		cfg.Auth.Users = map[string]*proxy.User{"ops": mustUser(t, "ops", "ops-pw", "")}
	}})
	admin := adminConn(t, p)
	conn := connect(t, p, db)
	const read = "SELECT count(*) FROM material_artifact"
	warm(t, p, conn, read, pgx.QueryExecModeSimpleProtocol) // a miss, then a hit
	mustExec(t, conn, "SELECT now()")                       // volatile
	mustExec(t, conn, "BEGIN")
	mustExec(t, conn, read) // transaction
	mustExec(t, conn, "COMMIT")
	got := map[string]int{}
	for _, r := range adminRows(t, admin, "show cache outcomes") {
		n, err := strconv.Atoi(r["statements"])
		if err != nil {
			t.Fatalf("row %v", r)
		}
		got[r["outcome"]] = n
	}
	for _, outcome := range []string{"hit", "miss", "volatile", "transaction"} {
		if got[outcome] < 1 {
			t.Errorf("SHOW CACHE OUTCOMES has no %s: %v", outcome, got)
		}
	}
	for k, v := range p.Server.CacheOutcomes() {
		if got[k] > int(v) {
			t.Errorf("%s: console %d, more than the server's %d", k, got[k], v)
		}
	}
}
