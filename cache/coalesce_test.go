package cache_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pgwarp/pgwarp/cache"
)

// checkNoGoroutineLeak fails the test if goroutines started during it are
// still running when it ends. Exiting goroutines may take a moment to be
// reaped, so it polls for a bounded while; it asserts the count, not a time.
func checkNoGoroutineLeak(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		for range 500 {
			if runtime.NumGoroutine() <= before {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
	})
}

func TestConcurrentIdenticalMissesElectExactlyOneLeader(t *testing.T) {
	checkNoGoroutineLeak(t)
	const callers = 200
	c, _ := newCache(t, cache.Config{})
	req := request(t, "SELECT artifact_id, avg(value) FROM sales_measurement_dataset GROUP BY 1", "public.sales_measurement_dataset")

	var (
		start, looked sync.WaitGroup
		leaders       atomic.Int32
		served        atomic.Int32
	)
	start.Add(1)
	looked.Add(callers)
	var callersDone sync.WaitGroup
	for range callers {
		callersDone.Go(func() {
			start.Wait()
			r := c.Lookup(req)
			looked.Done()
			switch r.Status {
			case cache.StatusMiss:
				leaders.Add(1)
				looked.Wait() // everyone else has looked up and must be following
				r.Fill.Append([]byte("dashboard rows"))
				if err := r.Fill.Complete(); err != nil {
					t.Errorf("Complete: %v", err)
				}
				served.Add(1)
			case cache.StatusFollow:
				e, err := r.Flight.Wait(t.Context())
				if err != nil || string(e.Result()) != "dashboard rows" {
					t.Errorf("follower got %v, %v", e, err)
					return
				}
				served.Add(1)
			default:
				t.Errorf("lookup status %s", r.Status)
			}
		})
	}
	start.Done()
	callersDone.Wait()
	if n := leaders.Load(); n != 1 {
		t.Fatalf("%d leaders, want 1", n)
	}
	if n := served.Load(); n != callers {
		t.Fatalf("%d callers served, want %d", n, callers)
	}
	if s := c.Stats(); s.Misses != 1 || s.CoalescedWaits != callers-1 || s.Fills != 0 {
		t.Fatalf("stats: misses %d, coalesced %d, fills %d; want 1, %d, 0", s.Misses, s.CoalescedWaits, s.Fills, callers-1)
	}
	checkInvariants(t, c)
}

func TestFollowersRunTheStatementThemselvesWhenTheLeaderAborts(t *testing.T) {
	checkNoGoroutineLeak(t)
	c, _ := newCache(t, cache.Config{})
	req := request(t, "SELECT 1", "public.a")
	leader := c.Lookup(req)
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		r := c.Lookup(req)
		mustStatus(t, r, cache.StatusFollow)
		wg.Go(func() {
			_, err := r.Flight.Wait(t.Context())
			errs <- err
		})
	}
	leader.Fill.Append([]byte("partial"))
	leader.Fill.Abort()
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, cache.ErrLeaderFailed) {
			t.Fatalf("follower error = %v, want ErrLeaderFailed", err)
		}
	}
	next := c.Lookup(req)
	mustStatus(t, next, cache.StatusMiss)
	next.Fill.Abort()
	if s := c.Stats(); s.Aborted != 2 || s.Entries != 0 {
		t.Fatalf("aborted %d, entries %d; want 2, 0", s.Aborted, s.Entries)
	}
}

func TestFollowersAreReleasedAsSoonAsTheLeaderPassesMaxEntryBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _ := newCache(t, cache.Config{MaxEntryBytes: 100})
		req := request(t, "SELECT * FROM big", "public.big")
		leader := c.Lookup(req)
		follower := c.Lookup(req)
		var followerErr error
		go func() { _, followerErr = follower.Flight.Wait(t.Context()) }()

		if !leader.Fill.Append(make([]byte, 60)) {
			t.Fatal("60 bytes refused")
		}
		synctest.Wait()
		if followerErr != nil {
			t.Fatalf("follower released early: %v", followerErr)
		}
		if leader.Fill.Append(make([]byte, 41)) {
			t.Fatal("101 bytes accepted with max_entry_bytes 100")
		}
		synctest.Wait() // the leader is still streaming; the follower is already free
		if !errors.Is(followerErr, cache.ErrLeaderFailed) {
			t.Fatalf("follower error = %v, want ErrLeaderFailed", followerErr)
		}
		if !leader.Fill.Oversized() || leader.Fill.Append([]byte("x")) {
			t.Fatal("fill still accepts bytes after overflowing")
		}
		if err := leader.Fill.Complete(); !errors.Is(err, cache.ErrOversized) {
			t.Fatalf("Complete = %v, want ErrOversized", err)
		}
		if s := c.Stats(); s.Oversized != 1 || s.Entries != 0 || s.FillingBytes != 0 {
			t.Fatalf("oversized %d, entries %d, filling %d; want 1, 0, 0", s.Oversized, s.Entries, s.FillingBytes)
		}
	})
}

func TestFollowerWaitIsBoundedByItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _ := newCache(t, cache.Config{})
		req := request(t, "SELECT pg_sleep(60)", "public.a")
		leader := c.Lookup(req)
		follower := c.Lookup(req)
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if _, err := follower.Flight.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait = %v, want DeadlineExceeded", err)
		}
		leader.Fill.Append([]byte("late"))
		if err := leader.Fill.Complete(); err != nil {
			t.Fatal(err)
		}
		mustHit(t, c, req, "late")
	})
}

func TestWaitAfterTheLeaderFinishedReturnsEvenWithADoneContext(t *testing.T) {
	c, _ := newCache(t, cache.Config{})
	req := request(t, "SELECT 1")
	leader := c.Lookup(req)
	follower := c.Lookup(req)
	leader.Fill.Append([]byte("rows"))
	if err := leader.Fill.Complete(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if e, err := follower.Flight.Wait(ctx); err != nil || string(e.Result()) != "rows" {
		t.Fatalf("Wait = %v, %v; want the entry", e, err)
	}
}

func TestDifferentKeysDoNotCoalesce(t *testing.T) {
	c, _ := newCache(t, cache.Config{})
	a := c.Lookup(request(t, "SELECT 1"))
	b := c.Lookup(request(t, "SELECT 2"))
	mustStatus(t, a, cache.StatusMiss)
	mustStatus(t, b, cache.StatusMiss)
	a.Fill.Abort()
	b.Fill.Abort()
}

func TestFinishingAFillTwice(t *testing.T) {
	c, _ := newCache(t, cache.Config{})
	req := request(t, "SELECT 1")
	r := c.Lookup(req)
	r.Fill.Append([]byte("rows"))
	if err := r.Fill.Complete(); err != nil {
		t.Fatal(err)
	}
	r.Fill.Abort() // the deferred Abort after a Complete
	if err := r.Fill.Complete(); !errors.Is(err, cache.ErrFillFinished) {
		t.Fatalf("second Complete = %v, want ErrFillFinished", err)
	}
	if r.Fill.Append([]byte("more")) {
		t.Fatal("Append accepted bytes after Complete")
	}
	mustHit(t, c, req, "rows")
	if s := c.Stats(); s.Aborted != 0 {
		t.Fatalf("aborted = %d, want 0: Abort after Complete must do nothing", s.Aborted)
	}
}
