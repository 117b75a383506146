package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgwarp/pgwarp/internal/pgcluster"
)

// syncBuffer is a bytes.Buffer safe for the command's writes and the
// test's reads at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// devRun is one `pgwarp dev` running in-process.
type devRun struct {
	stdout, stderr *syncBuffer
	done           chan int
}

// startDev runs `pgwarp dev` with args until ctx ends (or a signal). Should
// the test end first, it is stopped, and its cluster with it, before the
// test's directories are removed.
func startDev(t *testing.T, ctx context.Context, args ...string) *devRun {
	r := &devRun{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan int, 1)}
	ctx, cancel := context.WithCancel(ctx)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		r.done <- runDevWith(ctx, args, r.stdout, r.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(time.Minute):
			t.Errorf("pgwarp dev did not stop within a minute of the test's end")
		}
	})
	return r
}

// waitReady waits until the command prints want on stdout, failing the
// test if it exits first or takes longer than timeout.
func (r *devRun) waitReady(t *testing.T, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(r.stdout.String(), want) {
		select {
		case code := <-r.done:
			r.done <- code
			t.Fatalf("pgwarp dev exited with %d before printing %q\nstdout:\n%s\nstderr:\n%s", code, want, r.stdout, r.stderr)
		case <-deadline:
			t.Fatalf("pgwarp dev did not print %q within %s\nstdout:\n%s\nstderr:\n%s", want, timeout, r.stdout, r.stderr)
		case <-tick.C:
		}
	}
}

// wait returns the exit code, failing the test after timeout.
func (r *devRun) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case code := <-r.done:
		return code
	case <-time.After(timeout):
		t.Fatalf("pgwarp dev did not exit within %s\nstderr:\n%s", timeout, r.stderr)
		return -1
	}
}

// devTestDir returns a fresh directory the PostgreSQL server account can
// reach when the tests run as root (t.TempDir's parent is private to root),
// removed when the test ends.
func devTestDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgwarp-dev-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func freePort(t *testing.T) string {
	t.Helper()
	p, err := pgcluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(p)
}

// keepMaxProcs stops serve from changing the test binary's GOMAXPROCS.
func keepMaxProcs(t *testing.T) {
	t.Setenv("GOMAXPROCS", strconv.Itoa(runtime.GOMAXPROCS(0)))
}

// dashboardTop is the kind of query the application's dashboard runs: the
// best-selling active artifacts of the last 30 days of sales.
const dashboardTop = `
SELECT a.artifact_identifier, coalesce(a.title, a.artifact_identifier) AS title, sum(s.units) AS units, sum(s.units_net) AS units_net
  FROM sales_measurement_dataset s
  JOIN material_artifact a ON a.artifact_identifier = s.artifact_identifier
 WHERE s.day > (SELECT max(day) FROM sales_measurement_dataset) - 30
   AND a.is_active
 GROUP BY a.artifact_identifier, a.title
 ORDER BY units DESC, a.artifact_identifier
 LIMIT 10`

// dashboardWindow is the per-artifact chart: one row per day of a window.
const dashboardWindow = `
SELECT s.day, s.units
  FROM material_artifact a
  JOIN sales_measurement_dataset s ON s.artifact_identifier = a.artifact_identifier
 WHERE a.artifact_identifier = $1
   AND s.day > (SELECT max(day) FROM sales_measurement_dataset) - $2::int
 ORDER BY s.day`

func TestDevServesTheDemoDatasetThroughPgwarpAndStopsItsClusterOnExit(t *testing.T) {
	keepMaxProcs(t)
	clusterDir := filepath.Join(devTestDir(t), "dev")
	listenPort, pgPort := freePort(t), freePort(t)
	args := []string{
		"--dir", clusterDir,
		"--listen", "127.0.0.1:" + listenPort,
		"--port", pgPort,
		"--config", filepath.Join("..", "..", "configs", "dev.yaml"),
		"--admin-http", "off",
	}
	url := "postgres://postgres@127.0.0.1:" + listenPort + "/app"

	// First run: initdb, database, migrations, demo data, proxy.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := startDev(t, ctx, args...)
	first.waitReady(t, url, 5*time.Minute)
	for _, step := range []string{"initialising a local PostgreSQL cluster", "created the database app",
		"applying the bundled migrations", "loading the demo data", "loaded "} {
		if !strings.Contains(first.stderr.String(), step) {
			t.Errorf("the first run did not report %q:\n%s", step, first.stderr)
		}
	}

	qctx, qcancel := context.WithTimeout(context.Background(), time.Minute)
	defer qcancel()
	conn, err := pgx.Connect(qctx, url)
	if err != nil {
		t.Fatalf("connecting through pgwarp with the printed URL: %v\nstderr:\n%s", err, first.stderr)
	}
	rows, err := conn.Query(qctx, dashboardTop)
	if err != nil {
		t.Fatal(err)
	}
	type top struct {
		ID, Title       string
		Units, UnitsNet int64
	}
	best, err := pgx.CollectRows(rows, pgx.RowToStructByPos[top])
	if err != nil {
		t.Fatal(err)
	}
	if len(best) != 10 {
		t.Fatalf("the 30-day top 10 has %d rows: %+v", len(best), best)
	}
	for i, b := range best {
		if b.Units <= 0 || b.Title == "" || i > 0 && b.Units > best[i-1].Units {
			t.Fatalf("top 10 row %d is not a ranked sale: %+v", i, best)
		}
	}
	// The same through the extended protocol, with parameters.
	rows, err = conn.Query(qctx, dashboardWindow, best[0].ID, 30)
	if err != nil {
		t.Fatal(err)
	}
	days, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (time.Time, error) {
		var day time.Time
		var units int32
		return day, r.Scan(&day, &units)
	})
	if err != nil || len(days) != 30 {
		t.Fatalf("30-day window of %s: %d days, %v", best[0].ID, len(days), err)
	}
	if err := conn.Close(qctx); err != nil {
		t.Fatal(err)
	}

	cancel()
	if code := first.wait(t, time.Minute); code != 0 {
		t.Fatalf("pgwarp dev exited with %d after cancel:\n%s", code, first.stderr)
	}
	assertClusterStopped(t, clusterDir, pgPort, first.stderr.String())

	// Second run: the cluster and its data are kept, the demo data is not
	// loaded again, and SIGTERM stops it.
	second := startDev(t, context.Background(), args...)
	second.waitReady(t, url, 2*time.Minute)
	for _, step := range []string{"using the local PostgreSQL cluster", "the schema is up to date", "not loading the demo data again"} {
		if !strings.Contains(second.stderr.String(), step) {
			t.Errorf("the second run did not report %q:\n%s", step, second.stderr)
		}
	}
	if strings.Contains(second.stderr.String(), "initialising") {
		t.Errorf("the second run initialised the cluster again:\n%s", second.stderr)
	}
	conn, err = pgx.Connect(qctx, url)
	if err != nil {
		t.Fatal(err)
	}
	var artifacts int64
	if err := conn.QueryRow(qctx, "SELECT count(*) FROM material_artifact").Scan(&artifacts); err != nil || artifacts != 5000 {
		t.Fatalf("material_artifact has %d rows after a restart (%v), want the 5000 of the demo", artifacts, err)
	}
	if err := conn.Close(qctx); err != nil {
		t.Fatal(err)
	}
	// Both runDevWith and serve have registered for SIGTERM by the time
	// the URL is printed, so the signal stops the command, not the test.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := second.wait(t, time.Minute); code != 0 {
		t.Fatalf("pgwarp dev exited with %d after SIGTERM:\n%s", code, second.stderr)
	}
	assertClusterStopped(t, clusterDir, pgPort, second.stderr.String())

	// Third run: the proxy cannot listen. The error says why, and the
	// cluster started before it is stopped all the same.
	busy, err := net.Listen("tcp", "127.0.0.1:"+listenPort)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	third := startDev(t, context.Background(), args...)
	if code := third.wait(t, 2*time.Minute); code != 1 {
		t.Fatalf("pgwarp dev exited with %d on a busy --listen port, want 1:\n%s", code, third.stderr)
	}
	if !strings.Contains(third.stderr.String(), "address already in use (is another pgwarp running? choose another address with --listen)") {
		t.Errorf("the error does not explain the busy port:\n%s", third.stderr)
	}
	assertClusterStopped(t, clusterDir, pgPort, third.stderr.String())
}

// assertClusterStopped checks that the postmaster of the cluster in dir is
// gone: its pid file removed (as a clean shutdown does) and nothing
// listening on its port.
func assertClusterStopped(t *testing.T, dir, port, stderr string) {
	t.Helper()
	if !strings.Contains(stderr, "local PostgreSQL stopped") {
		t.Errorf("pgwarp dev did not report stopping PostgreSQL:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "postmaster.pid")); !os.IsNotExist(err) {
		t.Errorf("postmaster.pid still exists (%v): PostgreSQL did not shut down cleanly", err)
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
		c.Close()
		t.Errorf("something still listens on PostgreSQL's port %s", port)
	}
}

func TestDevRefusesBeforeTouchingTheDisk(t *testing.T) {
	keepMaxProcs(t)
	base := devTestDir(t)
	writeFile := func(name, body string) string {
		p := filepath.Join(base, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noBinaries := filepath.Join(base, "empty-bin")
	if err := os.Mkdir(noBinaries, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		code   int
		stderr string
	}{
		{
			name:   "unknown flag",
			args:   []string{"--upstream", "postgres://127.0.0.1/app"},
			code:   2,
			stderr: "flag provided but not defined: -upstream",
		},
		{
			name:   "stray argument",
			args:   []string{"now"},
			code:   2,
			stderr: `unexpected argument "now"`,
		},
		{
			name:   "config with an unknown key",
			args:   []string{"--config", writeFile("typo.yaml", "cache:\n  enabeld: true\n")},
			code:   1,
			stderr: `typo.yaml:2:3: cache: unknown key "enabeld" (did you mean "enabled"?)`,
		},
		{
			name:   "config serving app from another upstream",
			args:   []string{"--config", writeFile("app.yaml", "databases:\n  app:\n    upstream: postgres://app@127.0.0.1:5432/app\n")},
			code:   1,
			stderr: "configures databases.app, which pgwarp dev serves from its local PostgreSQL",
		},
		{
			name:   "PostgreSQL not installed says what to install",
			env:    map[string]string{"PGWARP_PG_BIN": noBinaries},
			code:   1,
			stderr: "install them: `apt-get install -y postgresql` (Debian/Ubuntu)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			dir := filepath.Join(base, "cluster")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var stdout, stderr syncBuffer
			code := runDevWith(ctx, append([]string{"--dir", dir, "--listen", "127.0.0.1:" + freePort(t)}, tt.args...), &stdout, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.stderr) {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr.String(), tt.code, tt.stderr)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("the cluster directory was created (%v)", err)
			}
			if stdout.String() != "" {
				t.Errorf("printed on stdout: %s", stdout.String())
			}
		})
	}
}
