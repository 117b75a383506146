package cache_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/cache"
)

// fakeClock is an injectable clock that only moves when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newCache returns a cache on a fake clock, failing the test on a bad config.
func newCache(t testing.TB, cfg cache.Config) (*cache.Cache, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	c, err := cache.New(cfg, cache.WithClock(clock.Now))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, clock
}

// keyOf builds the key of a simple-protocol statement in database app as
// role app.
func keyOf(t testing.TB, sql string) cache.Key {
	t.Helper()
	var b cache.KeyBuilder
	b.Reset(cache.ProtocolSimple, "app", "app")
	b.Setting("search_path", `"$user", public`)
	b.Statement(sql)
	k, err := b.Key()
	if err != nil {
		t.Fatalf("Key: %v", err)
	}
	return k
}

// request returns a lookup request for sql in database app reading tables.
func request(t testing.TB, sql string, tables ...cache.TableID) cache.Request {
	t.Helper()
	return cache.Request{Key: keyOf(t, sql), Database: "app", Tables: tables}
}

// mustStatus fails the test unless r has the wanted status.
func mustStatus(t testing.TB, r cache.Result, want cache.Status) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("lookup status = %s, want %s", r.Status, want)
	}
}

// store runs a miss for req to completion with payload as the result bytes.
func store(t testing.TB, c *cache.Cache, req cache.Request, payload string) {
	t.Helper()
	r := c.Lookup(req)
	mustStatus(t, r, cache.StatusMiss)
	if !r.Fill.Append([]byte(payload)) {
		t.Fatalf("Append refused %d bytes", len(payload))
	}
	if err := r.Fill.Complete(); err != nil {
		t.Fatalf("Complete: %v", err)
	}
}

// mustHit fails the test unless req hits an entry whose result is want.
func mustHit(t testing.TB, c *cache.Cache, req cache.Request, want string) {
	t.Helper()
	r := c.Lookup(req)
	mustStatus(t, r, cache.StatusHit)
	if got := string(r.Entry.Result()); got != want {
		t.Fatalf("hit replayed %q, want %q", got, want)
	}
}

// checkInvariants fails the test if the cache's structures disagree.
func checkInvariants(t testing.TB, c *cache.Cache) {
	t.Helper()
	if err := cache.CheckInvariants(c); err != nil {
		t.Fatalf("invariants: %v", err)
	}
}

func contains(err error, sub string) bool {
	return err != nil && strings.Contains(err.Error(), sub)
}
