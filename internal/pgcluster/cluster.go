package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Options configures a [Cluster]. The zero value of every field is usable.
type Options struct {
	// Dir is the cluster's home: the data directory is Dir/data, the unix
	// socket lives in Dir/run and the server log is Dir/postgres.log. It must
	// be set.
	Dir string

	// BinDir holds initdb and postgres. Empty means [FindBinDir].
	BinDir string

	// Port is the TCP port on 127.0.0.1. Zero picks a free port at Start.
	Port int

	// Superuser is the bootstrap superuser's name. Empty means "postgres".
	Superuser string

	// RunAs is the account that owns the files and runs the server when the
	// calling process is root. Empty means "postgres". It is ignored for
	// non-root callers, whose cluster runs as themselves.
	RunAs string

	// HBA are pg_hba.conf lines written at initdb, before the default rules
	// (trust for the unix socket and for 127.0.0.1). Empty means only the
	// defaults.
	HBA []string

	// Settings are extra server settings passed as -c name=value at start, on
	// top of the defaults (listen on 127.0.0.1 and the socket directory).
	Settings map[string]string

	// Fast turns off durability (fsync, synchronous_commit, full_page_writes)
	// for throwaway clusters.
	Fast bool
}

// Cluster is a private PostgreSQL cluster. Its methods are safe for
// concurrent use; Start and Stop are serialised.
type Cluster struct {
	opts    Options
	binDir  string
	cred    *syscall.Credential
	uid     int
	gid     int
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// New validates opts and returns a stopped cluster. It does not touch the
// disk.
func New(opts Options) (*Cluster, error) {
	if opts.Dir == "" {
		return nil, errors.New("pgcluster: Options.Dir is required")
	}
	abs, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	opts.Dir = abs
	if opts.Superuser == "" {
		opts.Superuser = "postgres"
	}
	if opts.RunAs == "" {
		opts.RunAs = "postgres"
	}
	c := &Cluster{opts: opts, binDir: opts.BinDir, uid: -1, gid: -1}
	if c.binDir == "" {
		if c.binDir, err = FindBinDir(); err != nil {
			return nil, err
		}
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup(opts.RunAs)
		if err != nil {
			return nil, fmt.Errorf("pgcluster: running as root, and PostgreSQL refuses to run as root; "+
				"the unprivileged account %q to run it as does not exist (create it with `useradd --system %s`): %w",
				opts.RunAs, opts.RunAs, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.uid, c.gid = uid, gid
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
	}
	return c, nil
}

// BinDir returns the directory of the server binaries in use.
func (c *Cluster) BinDir() string { return c.binDir }

// DataDir returns the data directory.
func (c *Cluster) DataDir() string { return filepath.Join(c.opts.Dir, "data") }

// SocketDir returns the directory holding the unix socket.
func (c *Cluster) SocketDir() string { return filepath.Join(c.opts.Dir, "run") }

// LogFile returns the path of the server log.
func (c *Cluster) LogFile() string { return filepath.Join(c.opts.Dir, "postgres.log") }

// Port returns the TCP port on 127.0.0.1 (valid after Start).
func (c *Cluster) Port() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opts.Port
}

// Superuser returns the bootstrap superuser's name.
func (c *Cluster) Superuser() string { return c.opts.Superuser }

// URL returns a connection URL for user and database over TCP on 127.0.0.1.
func (c *Cluster) URL(user, database string) string {
	u := url.URL{Scheme: "postgres", User: url.User(user), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port())), Path: "/" + database}
	u.RawQuery = "sslmode=disable"
	return u.String()
}

// SocketURL returns a connection URL for user and database over the unix
// socket.
func (c *Cluster) SocketURL(user, database string) string {
	q := url.Values{"host": {c.SocketDir()}, "port": {strconv.Itoa(c.Port())}, "sslmode": {"disable"}}
	return "postgres://" + url.PathEscape(user) + "@/" + url.PathEscape(database) + "?" + q.Encode()
}

// Initialized reports whether the data directory holds a cluster.
func (c *Cluster) Initialized() bool {
	_, err := os.Stat(filepath.Join(c.DataDir(), "PG_VERSION"))
	return err == nil
}

// Init runs initdb unless the data directory already holds a cluster.
func (c *Cluster) Init(ctx context.Context) error {
	if c.Initialized() {
		return nil
	}
	for _, d := range []string{c.opts.Dir, c.SocketDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := c.chown(d); err != nil {
			return err
		}
	}
	args := []string{"-D", c.DataDir(), "-U", c.opts.Superuser, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-instructions"}
	if c.opts.Fast {
		args = append(args, "--no-sync")
	}
	out, err := c.command(ctx, "initdb", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgcluster: initdb %s: %w\n%s", c.DataDir(), err, tail(out, 20))
	}
	hba := strings.Join(c.opts.HBA, "\n") + "\n" +
		"local all all trust\n" +
		"host all all 127.0.0.1/32 trust\n"
	if err := os.WriteFile(filepath.Join(c.DataDir(), "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return err
	}
	return c.chown(filepath.Join(c.DataDir(), "pg_hba.conf"))
}

// Start starts the postmaster and waits until it accepts connections. The
// server is a child of this process; it receives SIGTERM should this process
// die without calling Stop.
func (c *Cluster) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd != nil {
		return errors.New("pgcluster: already started")
	}
	if !c.Initialized() {
		return errors.New("pgcluster: Start before Init")
	}
	// A previous run killed hard leaves postmaster.pid behind; postgres
	// itself decides whether it is stale, so leave it alone.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port := c.opts.Port
		if port == 0 {
			p, err := FreePort()
			if err != nil {
				return err
			}
			port = p
		}
		lastErr = c.startOnce(ctx, port)
		if lastErr == nil {
			c.opts.Port = port
			return nil
		}
		if c.opts.Port != 0 || !strings.Contains(lastErr.Error(), "could not bind") {
			break
		}
	}
	return lastErr
}

func (c *Cluster) startOnce(ctx context.Context, port int) error {
	settings := map[string]string{
		"listen_addresses":           "127.0.0.1",
		"port":                       strconv.Itoa(port),
		"unix_socket_directories":    c.SocketDir(),
		"logging_collector":          "off",
		"log_min_messages":           "warning",
		"max_connections":            "300",
		"shared_buffers":             "128MB",
		"dynamic_shared_memory_type": "posix",
	}
	if c.opts.Fast {
		settings["fsync"] = "off"
		settings["synchronous_commit"] = "off"
		settings["full_page_writes"] = "off"
	}
	for k, v := range c.opts.Settings {
		settings[k] = v
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	args := []string{"-D", c.DataDir()}
	for _, k := range keys {
		args = append(args, "-c", k+"="+settings[k])
	}
	logf, err := os.OpenFile(c.LogFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	startOffset, _ := logf.Seek(0, 2)
	cmd := exec.Command(filepath.Join(c.binDir, "postgres"), args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("pgcluster: start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		c.waitErr = cmd.Wait()
		logf.Close()
		close(exited)
	}()
	deadline := time.Now().Add(60 * time.Second)
	connStr := fmt.Sprintf("host=%s port=%d user=%s dbname=postgres sslmode=disable connect_timeout=2", c.SocketDir(), port, c.opts.Superuser)
	for {
		select {
		case <-exited:
			return fmt.Errorf("pgcluster: postgres exited during startup (%v); log %s:\n%s", c.waitErr, c.LogFile(), c.logSince(startOffset))
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGQUIT)
			<-exited
			return ctx.Err()
		default:
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgconn.Connect(pctx, connStr)
		cancel()
		if err == nil {
			conn.Close(context.Background())
			c.cmd, c.exited = cmd, exited
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Signal(syscall.SIGQUIT)
			<-exited
			return fmt.Errorf("pgcluster: postgres did not accept connections within 60s (%v); log:\n%s", err, c.logSince(startOffset))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Running reports whether the postmaster started by Start is still running.
func (c *Cluster) Running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return false
	}
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// Stop shuts the server down: a fast shutdown (SIGINT: roll back open
// transactions, disconnect clients), escalating to an immediate shutdown
// and then SIGKILL when it takes longer than timeout. It is a no-op when the
// server is not running.
func (c *Cluster) Stop(timeout time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return nil
	}
	cmd, exited := c.cmd, c.exited
	c.cmd, c.exited = nil, nil
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-exited:
		return nil
	case <-time.After(timeout):
	}
	_ = cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-exited:
		return nil
	case <-time.After(5 * time.Second):
	}
	_ = cmd.Process.Kill()
	<-exited
	return fmt.Errorf("pgcluster: postgres did not stop within %s; killed", timeout)
}

// Remove stops the server and deletes the cluster's directory.
func (c *Cluster) Remove() error {
	err := c.Stop(10 * time.Second)
	if rmErr := os.RemoveAll(c.opts.Dir); rmErr != nil && err == nil {
		err = rmErr
	}
	return err
}

// command builds an exec.Cmd for a server binary, run as the cluster's
// account.
func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, name), args...)
	cmd.Dir = c.opts.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	return cmd
}

func (c *Cluster) chown(path string) error {
	if c.cred == nil {
		return nil
	}
	return os.Chown(path, c.uid, c.gid)
}

// ChownForServer gives path to the account the server runs as (a no-op when
// not root), for files the server must read, such as TLS keys.
func (c *Cluster) ChownForServer(path string) error { return c.chown(path) }

func (c *Cluster) logSince(off int64) string {
	b, err := os.ReadFile(c.LogFile())
	if err != nil || off > int64(len(b)) {
		return ""
	}
	return tail(b[off:], 30)
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
