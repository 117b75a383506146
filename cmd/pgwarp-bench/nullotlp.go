package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// loopbackOnly refuses a --listen address that is not a loopback IP: the
// benchmarks listen on loopback only.
func loopbackOnly(listen string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--listen %s: loopback addresses only", listen)
	}
	return nil
}

// runNullOTLP serves OTLP/HTTP trace exports and discards them, so that a
// tracing benchmark can measure pgwarp's own cost of tracing apart from a
// collector's (Jaeger's ingestion shares the machine's cores). It runs
// until SIGINT or SIGTERM and then prints what it received.
func runNullOTLP(args []string) error {
	fs := flag.NewFlagSet("nullotlp", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:4318", "loopback address for OTLP/HTTP")
	save := fs.String("save", "", "directory to keep each export request's body in, for replay")
	_ = fs.Parse(args)
	if err := loopbackOnly(*listen); err != nil {
		return err
	}
	var requests, received atomic.Int64
	var rec *recorder
	if *save != "" {
		if err := os.MkdirAll(*save, 0o755); err != nil {
			return err
		}
		rec = &recorder{dir: *save, start: time.Now()}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/traces", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
		n := requests.Add(1)
		received.Add(int64(len(body)))
		if rec != nil {
			rec.save(n, r.Header.Get("Content-Encoding"), body)
		}
		// An empty body is an empty ExportTraceServiceResponse: all
		// spans accepted.
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-stop:
	case err := <-done:
		return err
	}
	_ = srv.Close()
	fmt.Printf("nullotlp: %d export requests, %d bytes discarded\n", requests.Load(), received.Load())
	return nil
}

// recorder keeps export request bodies as files named by their arrival
// time (microseconds since the receiver started) and sequence number, so
// that replay can send the same spans to a real collector at the same pace.
type recorder struct {
	dir   string
	start time.Time
}

func (r *recorder) save(n int64, encoding string, body []byte) {
	suffix := ".pb"
	if encoding == "gzip" {
		suffix = ".pb.gz"
	}
	name := fmt.Sprintf("%012d-%06d%s", time.Since(r.start).Microseconds(), n, suffix)
	if err := os.WriteFile(filepath.Join(r.dir, name), body, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "nullotlp: save:", err)
	}
}

// runReplay sends the export requests a nullotlp --save run recorded to an
// OTLP/HTTP collector, at the pace they were recorded (with up to four
// requests in flight, so that a slow collector still gets every span on
// time), so that a benchmark can measure what the collector's ingestion
// alone costs the machine while pgwarp runs with tracing off. It stops at
// the end of the recording or on SIGINT or SIGTERM, and prints what it
// sent.
func runReplay(args []string) error {
	fs := flag.NewFlagSet("replay", flag.ExitOnError)
	dir := fs.String("dir", "", "directory written by nullotlp --save")
	url := fs.String("url", "http://127.0.0.1:4318/v1/traces", "OTLP/HTTP traces endpoint (loopback)")
	_ = fs.Parse(args)
	entries, err := os.ReadDir(*dir)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	client := &http.Client{Timeout: 10 * time.Second}
	inflight := make(chan struct{}, 4)
	var wg sync.WaitGroup
	var sent, failed, sentBytes atomic.Int64
	post := func(name string, body []byte) {
		defer func() { <-inflight; wg.Done() }()
		req, err := http.NewRequest(http.MethodPost, *url, bytes.NewReader(body))
		if err != nil {
			failed.Add(1)
			return
		}
		req.Header.Set("Content-Type", "application/x-protobuf")
		if strings.HasSuffix(name, ".gz") {
			req.Header.Set("Content-Encoding", "gzip")
		}
		resp, err := client.Do(req)
		if err != nil {
			failed.Add(1)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			failed.Add(1)
			return
		}
		sent.Add(1)
		sentBytes.Add(int64(len(body)))
	}

	start := time.Now()
	// The recording may hold several benchmark runs with pauses between
	// them; a pause longer than a second is left out of the pace.
	var skipped, prev time.Duration
loop:
	for _, name := range names {
		var us int64
		if _, err := fmt.Sscanf(name, "%d-", &us); err != nil {
			continue
		}
		at := time.Duration(us) * time.Microsecond
		if prev == 0 {
			skipped = at // the pace starts at the first request
		} else if at-prev > time.Second {
			skipped += at - prev
		}
		prev = at
		wait := time.NewTimer(max(at-skipped-time.Since(start), 0))
		select {
		case <-stop:
			wait.Stop()
			break loop
		case <-wait.C:
		}
		body, err := os.ReadFile(filepath.Join(*dir, name))
		if err != nil {
			return err
		}
		select {
		case <-stop:
			break loop
		case inflight <- struct{}{}:
		}
		wg.Add(1)
		go post(name, body)
	}
	wg.Wait()
	fmt.Printf("replay: %d requests (%d bytes) sent in %s, %d failed\n", sent.Load(), sentBytes.Load(), time.Since(start).Round(time.Millisecond), failed.Load())
	return nil
}
