package jaegertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Version is the Jaeger release scripts/jaeger.sh builds.
const Version = "v1.76.0"

// EnvE2E must be "1" for [Start] to run Jaeger instead of skipping.
const EnvE2E = "PGWARP_E2E"

// EnvDir overrides the directory holding the binary, as in
// scripts/jaeger.sh.
const EnvDir = "PGWARP_JAEGER_DIR"

const (
	startTimeout = 60 * time.Second
	stopTimeout  = 10 * time.Second
	startTries   = 3
)

// BinaryPath returns where scripts/jaeger.sh build installs the binary:
// $PGWARP_JAEGER_DIR/jaeger, by default
// ${XDG_CACHE_HOME:-$HOME/.cache}/pgwarp/jaeger-v1.76.0/jaeger.
func BinaryPath() string {
	dir := os.Getenv(EnvDir)
	if dir == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				home = os.TempDir()
			}
			base = filepath.Join(home, ".cache")
		}
		dir = filepath.Join(base, "pgwarp", "jaeger-"+Version)
	}
	return filepath.Join(dir, "jaeger")
}

// Jaeger is a running Jaeger bound to loopback. Its fields are read-only;
// its methods are safe for concurrent use.
type Jaeger struct {
	// OTLPGRPCEndpoint and OTLPHTTPEndpoint are host:port addresses of the
	// OTLP receivers.
	OTLPGRPCEndpoint string
	OTLPHTTPEndpoint string
	// QueryURL is the base URL of the query service (UI and HTTP API).
	QueryURL string

	cmd     *exec.Cmd
	exited  chan struct{}
	logPath string
	client  *http.Client
}

// Start runs Jaeger for the test and stops it in t.Cleanup. It skips the
// test unless PGWARP_E2E=1, and fails it when the binary is missing.
func Start(t testing.TB) *Jaeger {
	t.Helper()
	if os.Getenv(EnvE2E) != "1" {
		t.Skipf("end-to-end test against a real Jaeger: run `make e2e`, or `scripts/jaeger.sh build` then set %s=1", EnvE2E)
	}
	bin := BinaryPath()
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s=1 but the Jaeger binary is missing (%v): build it once with `scripts/jaeger.sh build` (or `make jaeger`); it is cached outside the repository", EnvE2E, err)
	}
	var lastErr error
	for try := 1; try <= startTries; try++ {
		j, err := start(t, bin, try)
		if err == nil {
			return j
		}
		// The free ports chosen may have been taken between probing and
		// binding; pick new ones.
		lastErr = err
		t.Logf("jaegertest: start attempt %d: %v", try, err)
	}
	t.Fatalf("jaegertest: Jaeger did not start: %v", lastErr)
	return nil
}

func start(t testing.TB, bin string, try int) (*Jaeger, error) {
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	j := &Jaeger{
		OTLPGRPCEndpoint: loopback(ports[0]),
		OTLPHTTPEndpoint: loopback(ports[1]),
		QueryURL:         "http://" + loopback(ports[2]),
		exited:           make(chan struct{}),
		logPath:          filepath.Join(dir, fmt.Sprintf("jaeger-%d.log", try)),
		client:           &http.Client{Timeout: 10 * time.Second},
	}
	cfgPath := filepath.Join(dir, fmt.Sprintf("jaeger-%d.yaml", try))
	if err := os.WriteFile(cfgPath, []byte(j.config(loopback(ports[3]))), 0o600); err != nil {
		return nil, err
	}
	logFile, err := os.Create(j.logPath)
	if err != nil {
		return nil, err
	}
	j.cmd = exec.Command(bin, "--config", cfgPath)
	j.cmd.Stdout, j.cmd.Stderr = logFile, logFile
	j.cmd.Dir = dir
	j.cmd.SysProcAttr = procAttr()
	if err := j.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		_ = j.cmd.Wait()
		logFile.Close()
		close(j.exited)
	}()
	t.Cleanup(func() {
		j.stop()
		if t.Failed() {
			t.Logf("jaegertest: Jaeger log tail:\n%s", j.logTail())
		}
	})
	if err := j.waitReady(); err != nil {
		j.stop()
		return nil, fmt.Errorf("%w; log tail:\n%s", err, j.logTail())
	}
	return j, nil
}

// config is the same loopback, in-memory configuration as
// scripts/jaeger.sh start, on this instance's ports.
func (j *Jaeger) config(queryGRPC string) string {
	return `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: info
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: ` + strings.TrimPrefix(j.QueryURL, "http://") + `
    grpc:
      endpoint: ` + queryGRPC + `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ` + j.OTLPGRPCEndpoint + `
      http:
        endpoint: ` + j.OTLPHTTPEndpoint + `
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`
}

// waitReady polls until the query API answers and both receivers accept
// connections, or the process exits, or startTimeout passes.
func (j *Jaeger) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-j.exited:
			return errors.New("jaeger exited during startup")
		default:
		}
		if j.ready() {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("jaeger not ready after %v", startTimeout)
}

func (j *Jaeger) ready() bool {
	for _, addr := range []string{j.OTLPGRPCEndpoint, j.OTLPHTTPEndpoint} {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		c.Close()
	}
	resp, err := j.client.Get(j.QueryURL + "/api/services")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stop terminates the process: SIGTERM, then SIGKILL after stopTimeout.
func (j *Jaeger) stop() {
	select {
	case <-j.exited:
		return
	default:
	}
	_ = j.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-j.exited:
	case <-time.After(stopTimeout):
		_ = j.cmd.Process.Kill()
		<-j.exited
	}
}

func (j *Jaeger) logTail() string {
	b, err := os.ReadFile(j.logPath)
	if err != nil {
		return err.Error()
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

func loopback(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

// freePorts asks the kernel for n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// get issues a GET for a query API path.
func (j *Jaeger) get(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.QueryURL+path, nil)
	if err != nil {
		return nil, err
	}
	return j.client.Do(req)
}
