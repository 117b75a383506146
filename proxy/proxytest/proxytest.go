// Package proxytest starts pgwarp in-process in front of a real PostgreSQL
// for tests: a [proxy.Server] listening on a free 127.0.0.1 port, configured
// to reach the test binary's cluster from internal/pgtest, and shut down
// when the test ends.
package proxytest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgwarp/pgwarp/internal/pgcluster"
	"github.com/pgwarp/pgwarp/proxy"
)

// Proxy is a running pgwarp.
type Proxy struct {
	Server *proxy.Server
	Config proxy.Config
	Host   string
	Port   int
	done   chan error
}

// Options adjusts the proxy before it starts.
type Options struct {
	// Mode is the pool mode of the wildcard database (transaction by
	// default).
	Mode proxy.PoolMode
	// MaxSize is the pool size; zero means the pool's default.
	MaxSize int
	// Configure, if set, edits the configuration last.
	Configure func(*proxy.Config)
}

// Upstream returns the pgconn configuration of the cluster's superuser over
// TCP, the default upstream.
func Upstream(t testing.TB, c *pgcluster.Cluster) *pgconn.Config {
	t.Helper()
	cfg, err := pgconn.ParseConfig(c.URL(c.Superuser(), "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Start starts pgwarp with passthrough authentication and one wildcard
// database pointing at c, then applies opts.
func Start(t testing.TB, c *pgcluster.Cluster, opts Options) *Proxy {
	t.Helper()
	cfg := proxy.Config{
		Databases: map[string]*proxy.Database{
			"*": {Name: "*", Upstream: Upstream(t, c), Mode: opts.Mode, MaxSize: opts.MaxSize},
		},
		Auth:           proxy.Auth{Method: proxy.AuthPassthrough, PassthroughCacheTTL: time.Minute},
		StartupTimeout: 5 * time.Second,
		Logger:         Logger(),
		Version:        "test",
	}
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	return StartConfig(t, cfg)
}

// StartConfig starts pgwarp with cfg as given.
func StartConfig(t testing.TB, cfg proxy.Config) *Proxy {
	t.Helper()
	srv, err := proxy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Server: srv, Config: cfg, Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, done: make(chan error, 1)}
	go func() { p.done <- srv.Serve(ln) }()
	t.Cleanup(func() { p.Stop(t) })
	return p
}

// Stop shuts the proxy down (idempotent).
func (p *Proxy) Stop(t testing.TB) {
	if p.done == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Server.Shutdown(ctx); err != nil {
		t.Errorf("proxy shutdown: %v", err)
	}
	if err := <-p.done; err != nil {
		t.Errorf("proxy serve: %v", err)
	}
	p.done = nil
}

// Addr returns host:port.
func (p *Proxy) Addr() string { return net.JoinHostPort(p.Host, strconv.Itoa(p.Port)) }

// URL returns a connection URL through the proxy (sslmode=disable unless
// params say otherwise).
func (p *Proxy) URL(user, password, database string, params ...string) string {
	u := url.URL{Scheme: "postgres", Host: p.Addr(), Path: "/" + database}
	if password != "" {
		u.User = url.UserPassword(user, password)
	} else {
		u.User = url.User(user)
	}
	// Spaces are escaped as %20, not "+", which pgconn does not decode.
	q := "sslmode=disable"
	for i := 0; i+1 < len(params); i += 2 {
		q += "&" + url.PathEscape(params[i]) + "=" + strings.ReplaceAll(url.QueryEscape(params[i+1]), "+", "%20")
	}
	u.RawQuery = q
	return u.String()
}

// Logger returns the logger tests give the proxy: silent unless
// PGWARP_TEST_LOG=1.
func Logger() *slog.Logger {
	if os.Getenv("PGWARP_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Keyword returns a keyword/value connection string through the proxy for
// libpq programs (psql, pgbench).
func (p *Proxy) Keyword(user, database string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", p.Host, p.Port, user, database)
}
