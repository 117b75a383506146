package pool_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/pool"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// newPool returns a pool of backends to the shared test cluster, closed
// when the test ends.
func newPool(t *testing.T, edit func(*pool.Config)) *pool.Pool {
	t.Helper()
	c := pgtest.Shared(t)
	cc, err := pgconn.ParseConfig(c.URL(c.Superuser(), "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := pool.Config{
		Name:    "test",
		Dial:    func(ctx context.Context) (*pool.Backend, error) { return pool.Dial(ctx, pool.DialConfig{Conn: cc}) },
		MaxSize: 2,
	}
	if edit != nil {
		edit(&cfg)
	}
	p, err := pool.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(5 * time.Second) })
	return p
}

// predialed dials one backend now and returns a Dial that hands it out
// first, then dials as dial does.
func predialed(t *testing.T, dial func(context.Context) (*pool.Backend, error)) func(context.Context) (*pool.Backend, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan *pool.Backend, 1)
	first <- b
	return func(ctx context.Context) (*pool.Backend, error) {
		select {
		case b := <-first:
			return b, nil
		default:
			return dial(ctx)
		}
	}
}

func acquire(t *testing.T, p *pool.Pool) *pool.Lease {
	t.Helper()
	l, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestReleasedBackendsAreReusedAndBrokenOnesReplaced(t *testing.T) {
	p := newPool(t, nil)
	l := acquire(t, p)
	pid := l.Backend().PID
	res, err := l.Backend().Query(context.Background(), "SELECT pg_backend_pid()::text")
	if err != nil || len(res.Rows) != 1 || res.Rows[0][0] == nil {
		t.Fatalf("query on a leased backend: %v %v", res, err)
	}
	l.Release()
	l = acquire(t, p)
	if l.Backend().PID != pid {
		t.Fatalf("a released idle backend was not reused: pid %d, then %d", pid, l.Backend().PID)
	}
	l.Backend().MarkBroken()
	l.Release()
	l = acquire(t, p)
	defer l.Release()
	if l.Backend().PID == pid {
		t.Fatal("a backend marked broken was handed out again")
	}
	if st := p.Stat(); st.Destroyed != 1 || st.Total != 1 {
		t.Fatalf("stats after one broken backend: %+v", st)
	}
}

// A backend older than max_lifetime is replaced when it is handed out
// next, but the backend dialled to replace it is handed out however short
// the lifetime.
func TestBackendsBeyondTheirLifetimeAreReplaced(t *testing.T) {
	p := newPool(t, func(c *pool.Config) { c.MaxLifetime = time.Nanosecond })
	l := acquire(t, p)
	pid := l.Backend().PID
	l.Release()
	l = acquire(t, p)
	defer l.Release()
	if l.Backend().PID == pid {
		t.Fatal("a backend beyond its lifetime was handed out again")
	}
	if st := p.Stat(); st.Destroyed != 1 || st.Total != 1 {
		t.Fatalf("stats after one backend beyond its lifetime: %+v", st)
	}
}

func TestAcquireWaitsForAFreeBackendThenTimesOut(t *testing.T) {
	p := newPool(t, func(c *pool.Config) {
		c.MaxSize = 1
		c.AcquireTimeout = 200 * time.Millisecond
		// The backend is dialled before the clock starts: on a loaded
		// machine a connection can take longer than the timeout.
		c.Dial = predialed(t, c.Dial)
	})
	held := acquire(t, p)
	// A release while another waits hands the backend over.
	got := make(chan *pool.Lease, 1)
	go func() {
		l, err := p.Acquire(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- l
	}()
	time.Sleep(50 * time.Millisecond)
	held.Release()
	held = <-got
	_, err := p.Acquire(context.Background())
	var te *pool.AcquireTimeoutError
	if !errors.As(err, &te) || te.Paused || te.Size != 1 {
		t.Fatalf("acquire from a full pool: %v, want an AcquireTimeoutError", err)
	}
	held.Release()
	if st := p.Stat(); st.AcquireTimeouts != 1 || st.Waiting != 0 {
		t.Fatalf("stats after one timeout: %+v", st)
	}
}

func TestPauseHoldsAcquireUntilResumeWithABound(t *testing.T) {
	p := newPool(t, func(c *pool.Config) { c.PausedWaitTimeout = 300 * time.Millisecond })
	p.Pause()
	done := make(chan error, 1)
	go func() {
		l, err := p.Acquire(context.Background())
		if err == nil {
			l.Release()
		}
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for p.Stat().Waiting != 1 {
		if time.Now().After(deadline) {
			t.Fatal("an acquire held by PAUSE is not counted as waiting")
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.Resume()
	if err := <-done; err != nil {
		t.Fatalf("acquire after resume: %v", err)
	}
	p.Pause()
	_, err := p.Acquire(context.Background())
	var te *pool.AcquireTimeoutError
	if !errors.As(err, &te) || !te.Paused {
		t.Fatalf("acquire from a pool paused too long: %v", err)
	}
	p.Resume()
}

func TestClosedPoolRefusesLeasesAndWakesPausedWaiters(t *testing.T) {
	p := newPool(t, nil)
	l := acquire(t, p)
	p.Pause()
	done := make(chan error, 1)
	go func() {
		_, err := p.Acquire(context.Background())
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	closed := make(chan struct{})
	go func() { p.Close(5 * time.Second); close(closed) }()
	if err := <-done; !errors.Is(err, pool.ErrClosed) {
		t.Fatalf("paused waiter when the pool closed: %v, want ErrClosed", err)
	}
	if !p.Closed() {
		t.Fatal("Closed() is false after Close")
	}
	if _, err := p.Acquire(context.Background()); !errors.Is(err, pool.ErrClosed) {
		t.Fatalf("acquire after close: %v", err)
	}
	// Close waits for the leased backend, which is closed on release.
	select {
	case <-closed:
		t.Fatal("Close returned while a backend was still leased")
	case <-time.After(100 * time.Millisecond):
	}
	l.Release()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return after the last release")
	}
}

func TestDialFailuresAreReportedAndCounted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close() // nothing listens there now
	cc, err := pgconn.ParseConfig("postgres://nobody@127.0.0.1/postgres?connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	cc.Port = uint16(addr.Port)
	p, err := pool.New(pool.Config{Name: "down", Dial: func(ctx context.Context) (*pool.Backend, error) {
		return pool.Dial(ctx, pool.DialConfig{Conn: cc})
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(time.Second)
	_, err = p.Acquire(context.Background())
	var de *pool.DialError
	if !errors.As(err, &de) || de.PgErr != nil {
		t.Fatalf("acquire with the upstream down: %v, want a DialError", err)
	}
	if p.Stat().DialErrors < 1 {
		t.Fatalf("dial errors not counted: %+v", p.Stat())
	}
}

func TestStatementSetEvictsTheLeastRecentlyUsed(t *testing.T) {
	s := pool.NewStatementSet(2)
	s.Add("a")
	s.Add("b")
	s.Has("a") // a is now the most recent
	if old, ev := s.Add("c"); !ev || old != "b" {
		t.Fatalf("adding a third name evicted %q (%v), want b", old, ev)
	}
	if !s.Has("a") || s.Has("b") || !s.Has("c") || s.Len() != 2 {
		t.Fatal("set content after eviction is wrong")
	}
	if _, ev := s.Add("a"); ev {
		t.Fatal("adding a present name evicted another")
	}
	s.Clear()
	if s.Len() != 0 {
		t.Fatal("Clear left names")
	}
}

// RawExchange hands over every message before ReadyForQuery, byte for
// byte, and leaves the backend idle and usable after a server error.
func TestRawExchangeRunsExtendedMessages(t *testing.T) {
	p := newPool(t, nil)
	l := acquire(t, p)
	defer l.Release()
	b := l.Backend()
	ctx := context.Background()
	exchange := func(sql string) (string, error) {
		var out []byte
		out, _ = (&pgproto3.Parse{Query: sql}).Encode(out)
		out, _ = (&pgproto3.Bind{}).Encode(out)
		out, _ = (&pgproto3.Describe{ObjectType: 'P'}).Encode(out)
		out, _ = (&pgproto3.Execute{}).Encode(out)
		out, _ = (&pgproto3.Sync{}).Encode(out)
		var types []byte
		err := b.RawExchange(ctx, out, func(typ byte, msg []byte) {
			if int(binary.BigEndian.Uint32(msg[1:])) != len(msg)-1 || msg[0] != typ {
				t.Errorf("message %c has a wrong header: % x", typ, msg[:5])
			}
			types = append(types, typ)
		})
		return string(types), err
	}
	got, err := exchange("SELECT g FROM generate_series(1, 2) g")
	if err != nil || got != "12TDDC" {
		t.Fatalf("messages %q, %v; want ParseComplete, BindComplete, RowDescription, 2 DataRows, CommandComplete", got, err)
	}
	var pgErr *pgconn.PgError
	if _, err := exchange("SELECT 1/0"); !errors.As(err, &pgErr) || pgErr.Code != "22012" {
		t.Fatalf("division by zero: %v", err)
	}
	if b.Broken() || b.TxStatus != 'I' {
		t.Fatalf("after a server error: broken %v, status %c", b.Broken(), b.TxStatus)
	}
	if got, err := exchange("SELECT 1"); err != nil || got != "12TDC" {
		t.Fatalf("after the error: %q, %v", got, err)
	}
}
