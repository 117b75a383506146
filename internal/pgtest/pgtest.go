// Package pgtest gives tests a real PostgreSQL: one throwaway cluster per test
// binary, started on first use (initdb into a temporary directory, a unix
// socket and a 127.0.0.1 port) and removed when the binary's tests end.
//
// A package whose tests use it calls [Main] from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// Tests never skip silently when PostgreSQL is missing: [Shared] fails the
// test with the install instruction.
//
// [Main] also fails the binary when a pgwarp goroutine is still running once
// its tests are over ([Leaked]): every goroutine has an owner that must stop
// it, and packages without a database use Main for that check alone.
//
// The cluster trusts the unix socket and 127.0.0.1, except for members of
// the roles [GroupSCRAM], [GroupMD5] and [GroupPassword], which must log in
// over TCP with a password of that kind, and of [GroupReject], which pg_hba
// rejects. [CreateRole] makes such users.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgwarp/pgwarp/internal/pgcluster"
)

// Group roles that pg_hba.conf of the shared cluster treats specially over
// TCP.
const (
	GroupSCRAM    = "pgtest_scram"
	GroupMD5      = "pgtest_md5"
	GroupPassword = "pgtest_password"
	GroupReject   = "pgtest_reject"
)

var (
	once      sync.Once
	shared    *pgcluster.Cluster
	sharedErr error
	mu        sync.Mutex
)

// Main runs m, removes the shared cluster if one was started, and checks
// that no pgwarp goroutine is left. It returns m's exit code, or 1 when
// goroutines leaked (their stacks go to standard error).
func Main(m *testing.M) int {
	code := m.Run()
	mu.Lock()
	c := shared
	mu.Unlock()
	if c != nil {
		if err := c.Remove(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	if left := Leaked(5 * time.Second); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "pgtest: %d pgwarp goroutines still running after the tests:\n\n%s\n", len(left), strings.Join(left, "\n\n"))
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Shared returns the test binary's cluster, starting it on first use. When it
// cannot be started (no PostgreSQL installed, for one) the test fails with
// the reason.
func Shared(t testing.TB) *pgcluster.Cluster {
	t.Helper()
	once.Do(func() {
		c, err := Start(Options{})
		mu.Lock()
		shared, sharedErr = c, err
		mu.Unlock()
	})
	if sharedErr != nil {
		t.Fatalf("pgtest: cannot start PostgreSQL for the integration tests: %v", sharedErr)
	}
	// A test may have stopped it to simulate an outage and failed before
	// restarting it: bring it back for the next test.
	if !shared.Running() {
		if err := shared.Start(context.Background()); err != nil {
			t.Fatalf("pgtest: restarting PostgreSQL: %v", err)
		}
	}
	return shared
}

// Options configures [Start].
type Options struct {
	// Settings are extra server settings (-c name=value).
	Settings map[string]string
}

// Start starts a new throwaway cluster, independent of the shared one. The
// caller removes it with Remove.
func Start(opts Options) (*pgcluster.Cluster, error) {
	dir, err := os.MkdirTemp("", "pgwarp-pgtest-")
	if err != nil {
		return nil, err
	}
	settings := map[string]string{}
	if bin, err := pgcluster.FindBinDir(); err == nil {
		if _, err := os.Stat(filepath.Join(bin, "..", "lib", "pg_stat_statements.so")); err == nil {
			settings["shared_preload_libraries"] = "pg_stat_statements"
		}
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	c, err := pgcluster.New(pgcluster.Options{
		Dir:  dir,
		Fast: true,
		HBA: []string{
			"host all +" + GroupReject + " 127.0.0.1/32 reject",
			"host all +" + GroupSCRAM + " 127.0.0.1/32 scram-sha-256",
			"host all +" + GroupMD5 + " 127.0.0.1/32 md5",
			"host all +" + GroupPassword + " 127.0.0.1/32 password",
		},
		Settings: settings,
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.Init(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	conn, err := pgx.Connect(ctx, c.SocketURL(c.Superuser(), "postgres"))
	if err != nil {
		c.Remove()
		return nil, err
	}
	defer conn.Close(ctx)
	for _, g := range []string{GroupSCRAM, GroupMD5, GroupPassword, GroupReject} {
		if _, err := conn.Exec(ctx, "CREATE ROLE "+g+" NOLOGIN"); err != nil {
			c.Remove()
			return nil, err
		}
	}
	return c, nil
}

// CreateRole creates (or recreates) a login role with a password stored as
// SCRAM or md5 (method "scram-sha-256", "md5" or "password"), making it a
// member of the matching group so that TCP logins must present that password.
// An empty method creates a trusted role with the password still set. The
// role owns nothing and is dropped when the test ends.
func CreateRole(t testing.TB, c *pgcluster.Cluster, name, password, method string, extra ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.SocketURL(c.Superuser(), "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	enc := "scram-sha-256"
	group := ""
	switch method {
	case "scram-sha-256":
		group = GroupSCRAM
	case "md5":
		enc, group = "md5", GroupMD5
	case "password":
		group = GroupPassword
	case "reject":
		group = GroupReject
	case "":
	default:
		t.Fatalf("pgtest.CreateRole: unknown method %q", method)
	}
	stmts := []string{
		"SET password_encryption = '" + enc + "'",
		"DROP ROLE IF EXISTS " + pgx.Identifier{name}.Sanitize(),
		fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s' %s", pgx.Identifier{name}.Sanitize(), strings.ReplaceAll(password, "'", "''"), strings.Join(extra, " ")),
	}
	if group != "" {
		stmts = append(stmts, "GRANT "+group+" TO "+pgx.Identifier{name}.Sanitize())
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("pgtest.CreateRole %s: %s: %v", name, s, err)
		}
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, c.SocketURL(c.Superuser(), "postgres"))
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", name)
		_, _ = conn.Exec(ctx, "DROP OWNED BY "+pgx.Identifier{name}.Sanitize())
		_, _ = conn.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{name}.Sanitize())
	})
}

// databaseSeq numbers the databases CreateDatabase makes in this process.
var databaseSeq atomic.Uint64

// CreateDatabase creates a fresh database owned by the superuser and drops it
// when the test ends. The name is derived from the test's name, made unique
// by the process ID and a counter.
func CreateDatabase(t testing.TB, c *pgcluster.Cluster) string {
	t.Helper()
	name := "t_" + strings.ToLower(sanitize(t.Name()))
	if len(name) > 40 {
		name = name[:40]
	}
	// Subtests share their truncated prefix; the process and a counter
	// make the name unique (a clock reading collided now and then).
	name = fmt.Sprintf("%s_%d_%d", name, os.Getpid(), databaseSeq.Add(1))
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.SocketURL(c.Superuser(), "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, c.SocketURL(c.Superuser(), "postgres"))
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	})
	return name
}

// Exec runs sql on database db as the superuser over the unix socket,
// failing the test on error.
func Exec(t testing.TB, c *pgcluster.Cluster, db, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.SocketURL(c.Superuser(), db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("pgtest.Exec %q: %v", sql, err)
	}
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
