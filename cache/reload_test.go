package cache_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/cache"
)

func TestReloadKeepsStoredEntries(t *testing.T) {
	c, _ := newCache(t, cache.Config{})
	req := request(t, "SELECT * FROM a", "public.a")
	store(t, c, req, "rows")
	if err := c.Reload(cache.Config{MaxEntryBytes: 1 << 20, Default: cache.Lifetime{TTL: 2 * time.Minute}}); err != nil {
		t.Fatal(err)
	}
	mustHit(t, c, req, "rows")
	if got := c.Config().MaxEntryBytes; got != 1<<20 {
		t.Fatalf("MaxEntryBytes after reload = %d", got)
	}
}

func TestReloadThatLowersMaxBytesEvictsDownToIt(t *testing.T) {
	c, _ := newCache(t, cache.Config{MaxBytes: 1 << 20, MaxEntryBytes: 8 << 10})
	payload := string(make([]byte, 4<<10))
	var reqs []cache.Request
	for i := range 100 {
		r := request(t, fmt.Sprintf("SELECT %d", i), "public.a")
		reqs = append(reqs, r)
		store(t, c, r, payload)
	}
	mustHit(t, c, reqs[0], payload) // the oldest is now the most recently used
	if err := c.Reload(cache.Config{MaxBytes: 64 << 10, MaxEntryBytes: 8 << 10}); err != nil {
		t.Fatal(err)
	}
	s := c.Stats()
	if s.Bytes > 64<<10 || s.MaxBytes != 64<<10 || s.Entries == 0 {
		t.Fatalf("after lowering max_bytes to 64 KiB: %d bytes in %d entries, max %d", s.Bytes, s.Entries, s.MaxBytes)
	}
	mustHit(t, c, reqs[0], payload)
	mustHit(t, c, reqs[99], payload)
	r := c.Lookup(reqs[1])
	mustStatus(t, r, cache.StatusMiss) // least recently used: evicted
	r.Fill.Abort()
	checkInvariants(t, c)
}

func TestInvalidReloadKeepsTheCurrentConfiguration(t *testing.T) {
	c, _ := newCache(t, cache.Config{MaxBytes: 1 << 20})
	err := c.Reload(cache.Config{MaxBytes: -5})
	var ce *cache.ConfigError
	if !errors.As(err, &ce) || ce.Field != "max_bytes" {
		t.Fatalf("Reload = %v, want a ConfigError for max_bytes", err)
	}
	if got := c.Config().MaxBytes; got != 1<<20 {
		t.Fatalf("MaxBytes after a rejected reload = %d, want 1 MiB", got)
	}
}

func TestReloadThatDisablesATableStopsServingItsEntries(t *testing.T) {
	c, _ := newCache(t, cache.Config{})
	req := request(t, "SELECT * FROM auth_session", "public.auth_session")
	store(t, c, req, "tokens")
	if err := c.Reload(cache.Config{Rules: []cache.Rule{{Name: "private", Tables: []cache.TableID{"public.auth_session"}, Disabled: true}}}); err != nil {
		t.Fatal(err)
	}
	r := c.Lookup(req)
	mustStatus(t, r, cache.StatusDisabled)
	if r.Rule != "private" {
		t.Fatalf("rule = %q, want private", r.Rule)
	}
}

func TestReloadThatShortensTheTTLAppliesToStoredEntries(t *testing.T) {
	c, clock := newCache(t, cache.Config{})
	req := request(t, "SELECT * FROM a", "public.a")
	store(t, c, req, "rows")
	clock.Advance(20 * time.Second)
	mustHit(t, c, req, "rows")
	if err := c.Reload(cache.Config{Default: cache.Lifetime{TTL: 10 * time.Second, StaleWhileRevalidate: new(time.Duration(0))}}); err != nil {
		t.Fatal(err)
	}
	r := c.Lookup(req)
	mustStatus(t, r, cache.StatusMiss)
	r.Fill.Abort()
}

func TestFillStartedBeforeAReloadKeepsItsEntryBound(t *testing.T) {
	c, _ := newCache(t, cache.Config{MaxBytes: 1 << 20, MaxEntryBytes: 8 << 10})
	req := request(t, "SELECT * FROM a", "public.a")
	r := c.Lookup(req)
	if err := c.Reload(cache.Config{MaxBytes: 1 << 20, MaxEntryBytes: 1 << 10}); err != nil {
		t.Fatal(err)
	}
	if !r.Fill.Append(make([]byte, 4<<10)) {
		t.Fatal("a fill started under max_entry_bytes 8 KiB refused 4 KiB after a reload")
	}
	// The result is larger than the new bound, so it is not stored.
	if err := r.Fill.Complete(); !errors.Is(err, cache.ErrOversized) {
		t.Fatalf("Complete = %v, want ErrOversized", err)
	}
	if s := c.Stats(); s.Entries != 0 || s.FillingBytes != 0 {
		t.Fatalf("entries %d, filling %d; want 0, 0", s.Entries, s.FillingBytes)
	}
}
