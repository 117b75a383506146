package proxy

import (
	"context"
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/cache"
)

func testNotifier(t *testing.T) (*notifier, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &notifier{srv: &Server{bgCtx: ctx}, queue: make(chan cache.Invalidation, 256)}, cancel
}

// The publisher lingers after an invalidation so that the writes right
// behind it share its NOTIFY transaction.
func TestNotifierBatchCollectsWhatArrivesWhileItLingers(t *testing.T) {
	n, _ := testNotifier(t)
	n.queue <- cache.Invalidation{Database: "a"}
	go func() {
		for len(n.queue) > 0 { // until nextBatch took the first
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
		n.queue <- cache.Invalidation{Database: "b"}
	}()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	batch, ok := n.nextBatch(nil, timer, time.Second)
	if !ok || len(batch) != 2 || batch[0].Database != "a" || batch[1].Database != "b" {
		t.Fatalf("batch %+v ok %v, want a then b", batch, ok)
	}
}

// A full batch goes at once, without waiting out the linger.
func TestNotifierFullBatchDoesNotLinger(t *testing.T) {
	n, _ := testNotifier(t)
	for range maxNotifyBatch + 1 {
		n.queue <- cache.Invalidation{}
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	done := make(chan int)
	go func() {
		batch, _ := n.nextBatch(nil, timer, time.Hour)
		done <- len(batch)
	}()
	select {
	case got := <-done:
		if got != maxNotifyBatch {
			t.Fatalf("batch of %d, want %d", got, maxNotifyBatch)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a full batch waited for the linger")
	}
	if len(n.queue) != 1 {
		t.Fatalf("%d left queued, want 1", len(n.queue))
	}
}

// A stopping server ends the wait: what was collected is still published,
// and an empty wait reports the stop.
func TestNotifierBatchStopsWithTheServer(t *testing.T) {
	n, cancel := testNotifier(t)
	n.queue <- cache.Invalidation{Database: "a"}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	go func() {
		for len(n.queue) > 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	batch, ok := n.nextBatch(nil, timer, time.Hour)
	if !ok || len(batch) != 1 {
		t.Fatalf("batch %+v ok %v, want the one collected", batch, ok)
	}
	if _, ok := n.nextBatch(nil, timer, time.Hour); ok {
		t.Fatal("nextBatch after the stop reported a batch")
	}
}
