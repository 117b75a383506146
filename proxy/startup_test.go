package proxy_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/proxy"
	"github.com/pgwarp/pgwarp/proxy/proxytest"
)

// rawConn is a hand-driven client connection.
type rawConn struct {
	t    *testing.T
	conn net.Conn
	fe   *pgproto3.Frontend
}

func dialRaw(t *testing.T, p *proxytest.Proxy) *rawConn {
	t.Helper()
	conn, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { conn.Close() })
	return &rawConn{t: t, conn: conn, fe: pgproto3.NewFrontend(conn, conn)}
}

func (r *rawConn) write(b []byte) {
	r.t.Helper()
	if _, err := r.conn.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawConn) receive() pgproto3.BackendMessage {
	r.t.Helper()
	msg, err := r.fe.Receive()
	if err != nil {
		r.t.Fatalf("receive: %v", err)
	}
	return msg
}

// expectError reads until an ErrorResponse and checks its severity and
// code.
func (r *rawConn) expectError(severity, code string) *pgproto3.ErrorResponse {
	r.t.Helper()
	for {
		msg := r.receive()
		if e, ok := msg.(*pgproto3.ErrorResponse); ok {
			if e.Severity != severity || e.Code != code || e.Message == "" {
				r.t.Fatalf("got %s %s %q, want %s %s", e.Severity, e.Code, e.Message, severity, code)
			}
			return e
		}
	}
}

// expectClosed checks that the server closes the connection.
func (r *rawConn) expectClosed() {
	r.t.Helper()
	buf := make([]byte, 256)
	for {
		_, err := r.conn.Read(buf)
		if err != nil {
			if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") {
				r.t.Fatalf("want the server to close, got %v", err)
			}
			return
		}
	}
}

func startupPacket(major, minor uint16, params ...string) []byte {
	b := []byte{0, 0, 0, 0}
	b = binary.BigEndian.AppendUint32(b, uint32(major)<<16|uint32(minor))
	for _, s := range params {
		b = append(append(b, s...), 0)
	}
	b = append(b, 0)
	binary.BigEndian.PutUint32(b, uint32(len(b)))
	return b
}

// login completes a passthrough startup as the trusted superuser and
// returns the messages up to ReadyForQuery.
func (r *rawConn) startup(db string, major, minor uint16, extra ...string) []pgproto3.BackendMessage {
	r.t.Helper()
	r.write(startupPacket(major, minor, append([]string{"user", "postgres", "database", db}, extra...)...))
	var got []pgproto3.BackendMessage
	for {
		msg := r.receive()
		got = append(got, msg)
		switch m := msg.(type) {
		case *pgproto3.ReadyForQuery:
			return got
		case *pgproto3.ErrorResponse:
			r.t.Fatalf("startup failed: %s %s", m.Code, m.Message)
		}
	}
}

func TestSSLAndGSSRequestsAreAnsweredNWhenTLSIsOff(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	p := proxytest.Start(t, c, proxytest.Options{})
	r := dialRaw(t, p)
	for _, code := range []uint32{80877104, 80877103} {
		req := binary.BigEndian.AppendUint32([]byte{0, 0, 0, 8}, code)
		r.write(req)
		one := make([]byte, 1)
		if _, err := io.ReadFull(r.conn, one); err != nil || one[0] != 'N' {
			t.Fatalf("request %d answered %q, %v", code, one, err)
		}
	}
	r.startup(db, 3, 0)
}

// A client must wait for the answer to SSLRequest or GSSENCRequest: bytes
// sent with the request arrived unencrypted and may have been injected by a
// man in the middle (CVE-2021-23214), so pgwarp refuses them as PostgreSQL
// does, before any answer.
func TestDataSentWithAnEncryptionRequestIsRefused(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	p := proxytest.Start(t, c, proxytest.Options{})
	for _, code := range []uint32{80877103, 80877104} {
		r := dialRaw(t, p)
		req := binary.BigEndian.AppendUint32([]byte{0, 0, 0, 8}, code)
		r.write(append(req, startupPacket(3, 0, "user", "postgres", "database", db)...))
		e := r.expectError("FATAL", "08P01")
		if !strings.Contains(e.Message, "received unencrypted data after") {
			t.Errorf("request %d: %q", code, e.Message)
		}
		r.expectClosed()
	}
}

// Bytes read with the StartupMessage are the session's, not lost: a client
// may send its first Query in the same packet as its startup.
func TestAQuerySentWithTheStartupMessageIsAnswered(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	p := proxytest.Start(t, c, proxytest.Options{})
	r := dialRaw(t, p)
	q := (&pgproto3.Query{String: "SELECT 41 + 1"}).Encode
	msg, err := q(startupPacket(3, 0, "user", "postgres", "database", db))
	if err != nil {
		t.Fatal(err)
	}
	r.write(msg)
	var row *pgproto3.DataRow
	for {
		switch m := r.receive().(type) {
		case *pgproto3.DataRow:
			row = m
		case *pgproto3.ErrorResponse:
			t.Fatalf("%s %s", m.Code, m.Message)
		case *pgproto3.ReadyForQuery:
			if row != nil {
				if got := string(row.Values[0]); got != "42" {
					t.Fatalf("got %q, want 42", got)
				}
				return
			}
		}
	}
}

func TestNewerMinorVersionAndProtocolOptionsAreNegotiatedDown(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	p := proxytest.Start(t, c, proxytest.Options{})
	r := dialRaw(t, p)
	msgs := r.startup(db, 3, 2, "_pq_.some_option", "on", "application_name", "neg")
	npv, ok := msgs[0].(*pgproto3.NegotiateProtocolVersion)
	if !ok {
		t.Fatalf("first message is %T, want NegotiateProtocolVersion", msgs[0])
	}
	if npv.NewestMinorProtocol != 0 || len(npv.UnrecognizedOptions) != 1 || npv.UnrecognizedOptions[0] != "_pq_.some_option" {
		t.Fatalf("NegotiateProtocolVersion = %+v", npv)
	}
	// A 3.0 client without options is not sent one.
	r2 := dialRaw(t, p)
	for _, m := range r2.startup(db, 3, 0) {
		if _, ok := m.(*pgproto3.NegotiateProtocolVersion); ok {
			t.Fatal("3.0 client got NegotiateProtocolVersion")
		}
	}
	// The negotiated session works.
	r.fe.Send(&pgproto3.Query{String: "SELECT current_setting('application_name')"})
	if err := r.fe.Flush(); err != nil {
		t.Fatal(err)
	}
	for {
		if dr, ok := r.receive().(*pgproto3.DataRow); ok {
			if string(dr.Values[0]) != "neg" {
				t.Fatalf("application_name = %q", dr.Values[0])
			}
			break
		}
	}
}

func TestOtherMajorVersionsGetAClearFatal(t *testing.T) {
	c := pgtest.Shared(t)
	p := proxytest.Start(t, c, proxytest.Options{})
	r := dialRaw(t, p)
	r.write(startupPacket(2, 0, "user", "postgres"))
	e := r.expectError("FATAL", "0A000")
	if !strings.Contains(e.Message, "2.0") {
		t.Errorf("message %q does not name the version", e.Message)
	}
	r.expectClosed()
}

func TestMalformedStartupInputIsRejectedCleanly(t *testing.T) {
	c := pgtest.Shared(t)
	p := proxytest.Start(t, c, proxytest.Options{Configure: func(cfg *proxy.Config) { cfg.StartupTimeout = 500 * time.Millisecond }})
	garbage := make([]byte, 64)
	_, _ = rand.Read(garbage)
	for _, tc := range []struct {
		name  string
		input []byte
		code  string // "" means the connection is just closed
	}{
		{"length too small", []byte{0, 0, 0, 2}, "08P01"},
		{"length too large", []byte{0x7f, 0, 0, 0}, "08P01"},
		{"no user", startupPacket(3, 0, "database", "x"), "28000"},
		{"unterminated parameters", []byte{0, 0, 0, 13, 0, 3, 0, 0, 'u', 's', 'e', 'r', 0}, "08P01"},
		{"odd parameter list", startupPacket(3, 0, "user"), "08P01"},
		{"replication", startupPacket(3, 0, "user", "postgres", "replication", "database"), "0A000"},
		{"truncated then closed", []byte{0, 0, 0, 40, 0, 3}, ""},
		{"nothing at all", nil, "08P01"},
		{"garbage", garbage, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, p)
			if tc.input != nil {
				r.write(tc.input)
			}
			if tc.name == "truncated then closed" {
				r.conn.(*net.TCPConn).CloseWrite()
			}
			if tc.code != "" {
				r.expectError("FATAL", tc.code)
			}
			r.expectClosed()
		})
	}
}

func TestBadMessagesAfterStartupEndTheSessionWithAProtocolError(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	p := proxytest.Start(t, c, proxytest.Options{Configure: func(cfg *proxy.Config) { cfg.MaxMessageBytes = 1 << 20 }})
	for _, tc := range []struct {
		name  string
		input []byte
		code  string
	}{
		{"unknown message type", []byte{'@', 0, 0, 0, 4}, "08P01"},
		{"impossible length", []byte{'Q', 0, 0, 0, 2}, "08P01"},
		{"oversized message", append([]byte{'Q'}, binary.BigEndian.AppendUint32(nil, 2<<20)...), "08P01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, p)
			r.startup(db, 3, 0)
			r.write(tc.input)
			e := r.expectError("FATAL", tc.code)
			if tc.name == "oversized message" && !strings.Contains(e.Hint, "max_message_bytes") {
				t.Errorf("hint %q does not mention max_message_bytes", e.Hint)
			}
			r.expectClosed()
		})
	}
}

func TestClientThatSendsNothingIsDroppedAfterTheStartupTimeout(t *testing.T) {
	c := pgtest.Shared(t)
	p := proxytest.Start(t, c, proxytest.Options{Configure: func(cfg *proxy.Config) { cfg.StartupTimeout = 300 * time.Millisecond }})
	r := dialRaw(t, p)
	start := time.Now()
	e := r.expectError("FATAL", "08P01")
	if !strings.Contains(e.Message, "startup timeout") {
		t.Errorf("message %q", e.Message)
	}
	r.expectClosed()
	if time.Since(start) > 5*time.Second {
		t.Fatalf("took %s", time.Since(start))
	}
}

func TestUpstreamDownIsAFatalNamingTheServer(t *testing.T) {
	c := pgtest.Shared(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	up, err := pgconn.ParseConfig("postgres://postgres@" + addr + "/postgres?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	p := proxytest.Start(t, c, proxytest.Options{Configure: func(cfg *proxy.Config) { cfg.Databases["*"].Upstream = up }})
	for _, mode := range []string{"first", "during backoff"} {
		r := dialRaw(t, p)
		r.write(startupPacket(3, 0, "user", "postgres", "database", "postgres"))
		e := r.expectError("FATAL", "08006")
		if !strings.Contains(e.Message, addr) || strings.Contains(e.Message, "password") {
			t.Errorf("%s: message %q should name %s and nothing secret", mode, e.Message, addr)
		}
		r.expectClosed()
	}
}

func TestCancelRequestsCancelOnlyTheirOwnSession(t *testing.T) {
	eachMode(t, func(t *testing.T, p *proxytest.Proxy, db string) {
		ctx := context.Background()
		victim := connect(t, p, db)
		bystander := connect(t, p, db)
		done := make(chan error, 1)
		go func() {
			_, err := victim.Exec(ctx, "SELECT pg_sleep(20)")
			done <- err
		}()
		otherDone := make(chan error, 1)
		go func() {
			_, err := bystander.Exec(ctx, "SELECT pg_sleep(1)")
			otherDone <- err
		}()
		time.Sleep(200 * time.Millisecond)
		key := func(pid, secret uint32) []byte {
			b := binary.BigEndian.AppendUint32([]byte{0, 0, 0, 16}, 80877102)
			b = binary.BigEndian.AppendUint32(b, pid)
			return binary.BigEndian.AppendUint32(b, secret)
		}
		// A flood of cancels with wrong keys, some of whose connections
		// close before anything could be forwarded.
		var wg sync.WaitGroup
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				conn, err := net.Dial("tcp", p.Addr())
				if err != nil {
					return
				}
				defer conn.Close()
				_, _ = conn.Write(key(victim.PgConn().PID(), uint32(i)))
				if i%2 == 0 {
					_, _ = io.Copy(io.Discard, conn)
				}
			}()
		}
		wg.Wait()
		select {
		case err := <-done:
			t.Fatalf("victim ended early: %v", err)
		default:
		}
		// The right key, on a connection closed right after writing.
		conn, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = conn.Write(key(victim.PgConn().PID(), binary.BigEndian.Uint32(victim.PgConn().SecretKey())))
		conn.Close()
		select {
		case err := <-done:
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "57014" {
				t.Fatalf("victim: want 57014, got %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the cancel did not stop the query within 5s")
		}
		if err := <-otherDone; err != nil {
			t.Fatalf("bystander was affected: %v", err)
		}
	})
}

func TestClientVanishingMidQueryCancelsAndCleansTheBackend(t *testing.T) {
	eachMode(t, func(t *testing.T, p *proxytest.Proxy, db string) {
		ctx := context.Background()
		pgtest.Exec(t, pgtest.Shared(t), db, "CREATE TABLE locked(id int primary key); INSERT INTO locked VALUES (1)")
		for _, scenario := range []string{"mid-query", "idle in transaction holding a lock"} {
			r := dialRaw(t, p)
			r.startup(db, 3, 0, "application_name", "vanisher")
			if scenario == "mid-query" {
				r.fe.Send(&pgproto3.Query{String: "SELECT pg_sleep(30)"})
			} else {
				r.fe.Send(&pgproto3.Query{String: "BEGIN; SELECT * FROM locked FOR UPDATE"})
			}
			if err := r.fe.Flush(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
			r.conn.Close()
			// Within a few seconds no backend runs the query or holds the
			// lock: another client can lock the row.
			check := connect(t, p, db)
			lctx, cancel := context.WithTimeout(ctx, 8*time.Second)
			_, err := check.Exec(lctx, "BEGIN; SELECT * FROM locked FOR UPDATE; COMMIT")
			cancel()
			if err != nil {
				t.Fatalf("%s: row still locked: %v", scenario, err)
			}
			deadline := time.Now().Add(8 * time.Second)
			for {
				var n int
				if err := check.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND state = 'active' AND pid <> pg_backend_pid()").Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: the upstream query is still running", scenario)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	})
}

func TestShutdownWaitsForTransactionsThenEndsSessionsWith57P01(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	p := proxytest.Start(t, c, proxytest.Options{Configure: func(cfg *proxy.Config) { cfg.ShutdownTimeout = 5 * time.Second }})
	ctx := context.Background()
	idle := connect(t, p, db)
	busy := connect(t, p, db)
	tx, err := busy.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "CREATE TABLE shutdown_marker(x int)"); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() {
		p.Stop(t)
		close(stopped)
	}()
	time.Sleep(300 * time.Millisecond)
	select {
	case <-stopped:
		t.Fatal("shutdown did not wait for the open transaction")
	default:
	}
	// New connections are refused while draining.
	if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		t.Error("new connection accepted during shutdown")
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatalf("commit during shutdown: %v", err)
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown did not finish after the commit")
	}
	_, err = idle.Exec(ctx, "SELECT 1")
	var pe *pgconn.PgError
	if err == nil || (errors.As(err, &pe) && pe.Code != "57P01") {
		t.Fatalf("idle session after shutdown: %v", err)
	}
	pgtest.Exec(t, c, db, "SELECT * FROM shutdown_marker")
}

func TestNoGoroutinesLeakAfterSessionsEnd(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	before := runtime.NumGoroutine()
	p := proxytest.Start(t, c, proxytest.Options{})
	for range 20 {
		r := dialRaw(t, p)
		r.startup(db, 3, 0)
		r.fe.Send(&pgproto3.Query{String: "SELECT pg_sleep(0.01)"})
		_ = r.fe.Flush()
		r.conn.Close()
		g := dialRaw(t, p)
		g.write([]byte("GET / HTTP/1.1\r\n\r\n"))
		g.expectClosed()
	}
	p.Stop(t)
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+2 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:n])
		}
		time.Sleep(50 * time.Millisecond)
	}
}
