package proxy_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
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

// cleanUpstreamError reports whether err is what a client may see while
// the upstream restarts: a PostgreSQL error with an outage code, or the
// end of a connection after such a FATAL.
func cleanUpstreamError(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "57P01", "57P02", "57P03", "08006", "08000", "53300":
			return true
		}
		return false
	}
	return !pgconn.Timeout(err) && (errors.Is(err, net.ErrClosed) || isConnClosed(err))
}

func isConnClosed(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return false
	}
	s := err.Error()
	for _, m := range []string{"conn closed", "EOF", "connection reset", "broken pipe", "unexpected EOF", "failed to"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

func TestUpstreamRestartGivesCleanErrorsThenRecovers(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	p := proxytest.Start(t, c, proxytest.Options{Mode: proxy.PoolTransaction, MaxSize: 4})
	ctx := context.Background()
	var (
		stop      atomic.Bool
		ok, bad   atomic.Int64
		badErrs   sync.Map
		wg        sync.WaitGroup
		restarted = make(chan struct{})
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var conn *pgx.Conn
			for !stop.Load() {
				if conn == nil || conn.IsClosed() {
					cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
					c2, err := pgx.Connect(cctx, p.URL("postgres", "", db))
					cancel()
					if err != nil {
						if !cleanUpstreamError(err) {
							bad.Add(1)
							badErrs.Store(err.Error(), i)
						}
						time.Sleep(50 * time.Millisecond)
						continue
					}
					conn = c2
				}
				qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				_, err := conn.Exec(qctx, "SELECT pg_sleep(0.01)")
				cancel()
				if err != nil {
					if !cleanUpstreamError(err) {
						bad.Add(1)
						badErrs.Store(err.Error(), i)
					}
					continue
				}
				select {
				case <-restarted:
					ok.Add(1)
				default:
				}
			}
			if conn != nil {
				conn.Close(ctx)
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	if err := c.Stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	close(restarted)
	deadline := time.Now().Add(15 * time.Second)
	for ok.Load() < 50 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if ok.Load() < 50 {
		t.Fatalf("after the restart only %d statements succeeded", ok.Load())
	}
	if bad.Load() > 0 {
		badErrs.Range(func(k, v any) bool { t.Errorf("client %v: unclean error: %v", v, k); return true })
	}
}

func TestStaleCancelKeysNeverCancelAnotherClientsQuery(t *testing.T) {
	// One backend shared by a fast client (whose key is fired constantly)
	// and a slow one: a cancel meant for the fast client's finished query
	// must never reach the slow client's query on the same backend.
	p, db := sharedBackend(t, 1)
	ctx := context.Background()
	fast := connect(t, p, db)
	slow := connect(t, p, db)
	pid, secret := fast.PgConn().PID(), binary.BigEndian.Uint32(fast.PgConn().SecretKey())
	var stop atomic.Bool
	var cancels atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		req := binary.BigEndian.AppendUint32([]byte{0, 0, 0, 16}, 80877102)
		req = binary.BigEndian.AppendUint32(req, pid)
		req = binary.BigEndian.AppendUint32(req, secret)
		for !stop.Load() {
			conn, err := net.Dial("tcp", p.Addr())
			if err != nil {
				continue
			}
			_, _ = conn.Write(req)
			conn.Close()
			cancels.Add(1)
			time.Sleep(time.Millisecond)
		}
	}()
	wg.Add(1)
	var fastCancelled atomic.Int64
	go func() {
		defer wg.Done()
		for !stop.Load() {
			_, err := fast.Exec(ctx, "SELECT 1")
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "57014" {
				fastCancelled.Add(1)
			} else if err != nil {
				t.Errorf("fast client: %v", err)
				return
			}
		}
	}()
	for i := range 60 {
		if _, err := slow.Exec(ctx, "SELECT pg_sleep(0.02)"); err != nil {
			stop.Store(true)
			wg.Wait()
			t.Fatalf("slow query %d was hit: %v (cancels sent %d)", i, err, cancels.Load())
		}
	}
	stop.Store(true)
	wg.Wait()
	if cancels.Load() < 100 {
		t.Fatalf("only %d cancels were sent: the race was not exercised", cancels.Load())
	}
	t.Logf("%d cancels for the fast client; %d of its queries cancelled; slow client untouched", cancels.Load(), fastCancelled.Load())
}
