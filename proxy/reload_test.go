package proxy_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/proxy"
	"github.com/pgwarp/pgwarp/proxy/proxytest"
)

// withDatabase returns a copy of cfg whose wildcard database is edited by f.
func withDatabase(cfg proxy.Config, f func(*proxy.Database)) proxy.Config {
	dbs := map[string]*proxy.Database{}
	for k, v := range cfg.Databases {
		c := *v
		f(&c)
		dbs[k] = &c
	}
	cfg.Databases = dbs
	return cfg
}

// A reload that replaces a pool (here: a new size) must not disconnect
// transaction-mode clients: an open transaction finishes on its old
// backend, and every client's next transaction runs on the new pool with
// its settings and prepared statements intact.
func TestReloadMovesTransactionClientsToTheNewPool(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	p := proxytest.Start(t, c, proxytest.Options{Mode: proxy.PoolTransaction, MaxSize: 2})
	ctx := context.Background()

	idle := connect(t, p, db)
	mustExec(t, idle, "SET application_name = 'before-reload'")
	var one int
	if err := idle.QueryRow(ctx, "SELECT $1::int", 1).Scan(&one); err != nil {
		t.Fatal(err)
	}
	inTx := connect(t, p, db)
	mustExec(t, inTx, "CREATE TABLE t (v int)")
	tx, err := inTx.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}

	if err := p.Server.Reload(withDatabase(p.Config, func(d *proxy.Database) { d.MaxSize = 3 })); err != nil {
		t.Fatal(err)
	}

	// The open transaction keeps its backend and commits.
	if _, err := tx.Exec(ctx, "INSERT INTO t VALUES (2)"); err != nil {
		t.Fatalf("open transaction after reload: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatalf("commit after reload: %v", err)
	}
	var n int
	if err := inTx.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 2 {
		t.Fatalf("rows after reload: %d, %v", n, err)
	}
	// The idle client's next transactions use the new pool, with its
	// setting and its prepared statement.
	var app string
	if err := idle.QueryRow(ctx, "SHOW application_name").Scan(&app); err != nil || app != "before-reload" {
		t.Fatalf("application_name after reload: %q, %v", app, err)
	}
	if err := idle.QueryRow(ctx, "SELECT $1::int", 7).Scan(&one); err != nil || one != 7 {
		t.Fatalf("prepared statement after reload: %d, %v", one, err)
	}
	// Three clients can now hold a transaction each: the new size applies.
	conns := []*pgx.Conn{idle, inTx, connect(t, p, db)}
	for _, conn := range conns {
		mustExec(t, conn, "BEGIN")
	}
	for _, conn := range conns {
		mustExec(t, conn, "SELECT 1")
	}
	for _, conn := range conns {
		mustExec(t, conn, "COMMIT")
	}
}

// A reload that removes a client's database ends that client's session
// at its next transaction with 57P01, as PgBouncer does.
func TestReloadRemovingTheDatabaseEndsItsClients(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	p := proxytest.Start(t, c, proxytest.Options{Mode: proxy.PoolTransaction, MaxSize: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn := connect(t, p, db)
	mustExec(t, conn, "SELECT 1")
	cfg := p.Config
	cfg.Databases = map[string]*proxy.Database{"other": {Name: "other", Upstream: proxytest.Upstream(t, c)}}
	if err := p.Server.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	_, err := conn.Exec(ctx, "SELECT 1")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57P01" {
		t.Fatalf("next statement after its database was removed: %v, want 57P01", err)
	}
}
