package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
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
	_ = fs.Parse(args)
	if err := loopbackOnly(*listen); err != nil {
		return err
	}
	var requests, bytes atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/traces", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
		requests.Add(1)
		bytes.Add(n)
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
	fmt.Printf("nullotlp: %d export requests, %d bytes discarded\n", requests.Load(), bytes.Load())
	return nil
}
