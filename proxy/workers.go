package proxy

import (
	"sync"
	"time"
)

// maxIdleWorkers bounds the goroutines kept waiting for the next session
// or relay. They are needed again at the rate sessions and leases end and
// begin, so a few hundred covers the churn of busy pools and of clients
// that connect per transaction; beyond it a finished worker simply exits.
const maxIdleWorkers = 256

// workers runs sessions and relays on goroutines that outlive them.
//
// In transaction mode every transaction is a lease, and every lease has a
// relay; a client that connects per transaction (pgbench -C, serverless
// functions) also brings a session per transaction. A new goroutine starts
// with the runtime's smallest stack and grows it by copying as the session
// or relay goes deeper; with the goroutine's creation and destruction that
// was about a tenth of pgwarp's CPU time per transaction under pgbench -S.
// A worker that has run a session or a relay keeps its grown stack and
// waits, on a channel of its own, for the next one.
//
// Each worker goroutine is owned by the set: it runs one function at a time
// (the session or relay it runs keeps its own owner, as before), then parks
// if fewer than maxIdleWorkers are parked, and exits otherwise or when the
// set is closed at shutdown.
type workers struct {
	mu     sync.Mutex
	idle   []chan func() // the hand-off channels of parked workers, most recent last
	closed bool
	wg     sync.WaitGroup // one per worker goroutine
	// spawned counts the worker goroutines ever started.
	spawned int64
}

// start runs run (a session or a relay) on a parked worker, or on a new
// one.
func (w *workers) start(run func()) {
	w.mu.Lock()
	if n := len(w.idle); n > 0 {
		// The most recently parked worker has the warmest stack.
		ch := w.idle[n-1]
		w.idle[n-1] = nil
		w.idle = w.idle[:n-1]
		w.mu.Unlock()
		ch <- run // buffered: never blocks
		return
	}
	w.wg.Add(1)
	w.spawned++
	w.mu.Unlock()
	go w.work(run)
}

// work is a worker goroutine: it runs run, then each function handed to
// it, until it is not parked again.
func (w *workers) work(run func()) {
	defer w.wg.Done()
	ch := make(chan func(), 1)
	for run != nil {
		run()
		run = nil
		if !w.park(ch) {
			return
		}
		// Closed at shutdown (run is then nil), or handed the next function.
		run = <-ch
	}
}

// park adds a worker's channel to the idle list, unless the list is full
// or the set closed.
func (w *workers) park(ch chan func()) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || len(w.idle) >= maxIdleWorkers {
		return false
	}
	w.idle = append(w.idle, ch)
	return true
}

// close ends the parked workers and waits up to wait for busy ones to
// finish. Functions started later run on a worker of their own that exits
// when they return.
func (w *workers) close(wait time.Duration) bool {
	w.mu.Lock()
	w.closed = true
	for _, ch := range w.idle {
		close(ch)
	}
	w.idle = nil
	w.mu.Unlock()
	done := make(chan struct{})
	go func() {
		w.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// idleCount is the number of parked workers.
func (w *workers) idleCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.idle)
}
