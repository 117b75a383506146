package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/proxy"
)

// SIGTERM drains: /readyz turns 503 at once so load balancers stop sending
// clients, a transaction in progress may go on, and a second SIGTERM ends
// the drain, closing that session with 57P01.
func TestServeDrainsOnSIGTERMAndASecondSignalEndsTheDrain(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	listen, adminHTTP := freeAddr(t), freeAddr(t)
	file := filepath.Join(t.TempDir(), "pgwarp.yaml")
	yaml := fmt.Sprintf(`listen: %s
shutdown_timeout: 10m
admin: { http: %s }
auth: { method: trust }
databases:
  %s:
    upstream: %s
`, listen, adminHTTP, db, c.URL(c.Superuser(), db))
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &serveFlags{config: file, maxProcs: -1}
	cfg, err := f.load()
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- serve(context.Background(), cfg, f, func(*proxy.Server) { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not become ready")
	}
	// serve has registered for SIGTERM before it reports ready, so the
	// signals below reach it, not the test binary's default handler.

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", listen, db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, sql := range []string{"BEGIN", "SELECT 1"} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	readyz := func() (int, string) {
		resp, err := http.Get("http://" + adminHTTP + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := readyz(); code != 200 {
		t.Fatalf("/readyz before shutdown: %d %s", code, body)
	}

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := readyz()
		if code == 503 && strings.Contains(body, "draining") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz while draining: %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The open transaction carries on during the drain.
	if _, err := conn.Exec(ctx, "SELECT 2"); err != nil {
		t.Fatalf("statement in the open transaction during the drain: %v", err)
	}
	select {
	case err := <-done:
		t.Fatalf("serve returned with a transaction still open and 10m of drain left: %v", err)
	case <-time.After(200 * time.Millisecond):
	}

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after the second signal: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a second SIGTERM did not end the drain")
	}
	_, err = conn.Exec(ctx, "SELECT 3")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57P01" {
		if err == nil || !conn.IsClosed() {
			t.Fatalf("the session in a transaction after the drain ended: %v, want 57P01 or a closed connection", err)
		}
	}
}
