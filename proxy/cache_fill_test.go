package proxy_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/proxy"
	"github.com/pgwarp/pgwarp/proxy/proxytest"
)

// TestAFillAbandonedByAnErrorIsNeverCompletedByAnotherStatement: a cache
// miss opens a fill for the statement of a Bind group; when pgwarp then
// fails the group itself (no backend came free in time) the fill must be
// given up, not handed to the next Describe and Execute the session runs,
// which may belong to a different statement, whose rows would then be
// stored under the first statement's key.
func TestAFillAbandonedByAnErrorIsNeverCompletedByAnotherStatement(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	pgtest.Exec(t, c, db, `CREATE TABLE public_data (v text); INSERT INTO public_data VALUES ('public');
		CREATE TABLE secret_data (v text); INSERT INTO secret_data VALUES ('secret')`)
	p, cc := startCached(t, db, cacheSetup{mode: proxy.PoolTransaction, size: 1, configure: func(cfg *proxy.Config) {
		cfg.Databases["*"].AcquireTimeout = 300 * time.Millisecond
	}})
	const publicSQL = "SELECT v FROM public_data"

	// The catalog loads on first use; until then nothing is cached.
	warmConn := connect(t, p, db)
	warm(t, p, warmConn, "SELECT v FROM secret_data")
	warmConn.Close(context.Background())

	r := dialRaw(t, p)
	r.startup(db, 3, 0)
	rawResponse(t, r, &pgproto3.Parse{Name: "pub", Query: publicSQL}, &pgproto3.Sync{})

	// Another client holds the only backend in a transaction.
	holder := connect(t, p, db)
	tx, err := holder.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(context.Background(), "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	group := []pgproto3.FrontendMessage{
		&pgproto3.Bind{PreparedStatement: "pub"},
		&pgproto3.Describe{ObjectType: 'P'},
		&pgproto3.Execute{},
		&pgproto3.Sync{},
	}
	r.failWith("53300", group...)
	if n := cc.Stats().Fills; n != 0 {
		t.Fatalf("%d fills still in progress after pgwarp failed their batch", n)
	}
	// A simple query whose lease times out leaves no fill either, which
	// would keep identical queries of other clients waiting for it.
	r.failWith("53300", &pgproto3.Query{String: publicSQL + " WHERE v <> ''"})
	if n := cc.Stats().Fills; n != 0 {
		t.Fatalf("%d fills still in progress after a simple query's lease timed out", n)
	}
	if err := tx.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}

	// The same session now runs another statement through the unnamed
	// statement, then the public one.
	rawResponse(t, r,
		&pgproto3.Parse{Query: "SELECT v FROM secret_data"},
		&pgproto3.Bind{},
		&pgproto3.Describe{ObjectType: 'P'},
		&pgproto3.Execute{},
		&pgproto3.Sync{})
	for i := 0; i < 2; i++ {
		got := rawResponse(t, r, group...)
		if want := "public"; !bytes.Contains(got, []byte(want)) || bytes.Contains(got, []byte("secret")) {
			t.Fatalf("run %d of %q returned %q", i, publicSQL, got)
		}
	}
}

// failWith sends msgs and expects an ERROR with code, then ReadyForQuery.
func (r *rawConn) failWith(code string, msgs ...pgproto3.FrontendMessage) {
	r.t.Helper()
	for _, m := range msgs {
		r.fe.Send(m)
	}
	if err := r.fe.Flush(); err != nil {
		r.t.Fatal(err)
	}
	r.expectError("ERROR", code)
	for {
		if _, ok := r.receive().(*pgproto3.ReadyForQuery); ok {
			return
		}
	}
}

// TestAFillIsGivenUpWhenTheServerSkipsItsExecute: the server rejects a
// Bind (a parameter that is not an integer) of a group whose lookup
// missed; the group's Describe and Execute, which carry the fill, are
// skipped. The fill must end with them, or identical requests would wait
// for it forever.
func TestAFillIsGivenUpWhenTheServerSkipsItsExecute(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	pgtest.Exec(t, c, db, `CREATE TABLE items (id int PRIMARY KEY, v text); INSERT INTO items VALUES (1, 'one')`)
	p, cc := startCached(t, db, cacheSetup{mode: proxy.PoolTransaction})
	warm(t, p, connect(t, p, db), "SELECT v FROM items WHERE id = 1")
	r := dialRaw(t, p)
	r.startup(db, 3, 0)
	const sql = "SELECT v FROM items WHERE id = $1"
	for i := range 2 {
		r.failWith("22P02",
			&pgproto3.Parse{Query: sql, ParameterOIDs: []uint32{23}},
			&pgproto3.Bind{ParameterFormatCodes: []int16{0}, Parameters: [][]byte{[]byte("not a number")}},
			&pgproto3.Describe{ObjectType: 'P'},
			&pgproto3.Execute{},
			&pgproto3.Sync{})
		if n := cc.Stats().Fills; n != 0 {
			t.Fatalf("run %d: %d fills still in progress after the server skipped their Execute", i, n)
		}
	}
}

// TestAnotherClientsUnnamedStatementIsNeverRun: a backend keeps the
// unnamed statement of the client it last served; a client that binds or
// describes the unnamed statement without having parsed one gets 26000, as
// from PostgreSQL, not the other client's statement.
func TestAnotherClientsUnnamedStatementIsNeverRun(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	p := proxytest.Start(t, c, proxytest.Options{Mode: proxy.PoolTransaction, MaxSize: 1})
	a := dialRaw(t, p)
	a.startup(db, 3, 0)
	rawResponse(t, a, &pgproto3.Parse{Query: "SELECT 'secret of A' AS s"}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{})
	b := dialRaw(t, p)
	b.startup(db, 3, 0)
	for _, msgs := range [][]pgproto3.FrontendMessage{
		{&pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{}},
		{&pgproto3.Describe{ObjectType: 'S'}, &pgproto3.Sync{}},
	} {
		got := rawResponse(t, b, msgs...)
		if bytes.Contains(got, []byte("secret")) || !bytes.Contains(got, []byte("26000")) {
			t.Fatalf("%T without a Parse: %q, want error 26000", msgs[0], got)
		}
	}
}
