package proxy

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestWorkersAreReusedAndEndAtClose(t *testing.T) {
	var w workers
	before := runtime.NumGoroutine()
	// Sequential relays, as a session's transactions are, run on one
	// worker.
	for range 100 {
		done := make(chan struct{})
		w.start(func() { close(done) })
		<-done
		waitFor(t, func() bool { return w.idleCount() == 1 })
	}
	w.mu.Lock()
	spawned := w.spawned
	w.mu.Unlock()
	if spawned != 1 {
		t.Fatalf("100 sequential relays spawned %d workers, want 1", spawned)
	}

	// Relays that overlap each get a worker; all of them park afterwards,
	// up to the bound.
	const n = 20
	runOverlapping(&w, n)
	waitFor(t, func() bool { return w.idleCount() == n })

	if !w.close(5 * time.Second) {
		t.Fatal("close: workers did not end")
	}
	if w.idleCount() != 0 {
		t.Fatalf("%d workers parked after close", w.idleCount())
	}
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before })

	// After close a relay still runs, on a worker that then exits.
	done := make(chan struct{})
	w.start(func() { close(done) })
	<-done
	if !w.close(5 * time.Second) {
		t.Fatal("second close: the worker did not end")
	}
}

func TestWorkersParkAtMostTheirBound(t *testing.T) {
	var w workers
	const n = maxIdleWorkers + 10
	runOverlapping(&w, n)
	waitFor(t, func() bool { return w.idleCount() == maxIdleWorkers })
	if !w.close(5 * time.Second) {
		t.Fatal("workers did not end")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.spawned != n {
		t.Fatalf("spawned %d workers for %d overlapping relays", w.spawned, n)
	}
}

// runOverlapping starts n functions on w that all run at once, and waits
// for them to return.
func runOverlapping(w *workers, n int) {
	var wg sync.WaitGroup
	gate := make(chan struct{})
	wg.Add(n)
	for range n {
		w.start(func() { <-gate; wg.Done() })
	}
	close(gate)
	wg.Wait()
}

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
