package cache_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/pgwarp/pgwarp/cache"
)

func TestInvalidateRemovesEveryEntryThatReadsAWrittenTable(t *testing.T) {
	c, _ := newCache(t, cache.Config{})
	orders := request(t, "SELECT * FROM orders", "public.orders")
	join := request(t, "SELECT * FROM orders JOIN customers USING (id)", "public.orders", "public.customers")
	customers := request(t, "SELECT * FROM customers", "public.customers")
	noTable := request(t, "SELECT 1")
	for _, r := range []cache.Request{orders, join, customers, noTable} {
		store(t, c, r, "rows")
	}

	if n := c.Invalidate("app", "public.orders"); n != 2 {
		t.Fatalf("Invalidate removed %d entries, want 2", n)
	}
	for _, r := range []cache.Request{orders, join} {
		res := c.Lookup(r)
		mustStatus(t, res, cache.StatusMiss)
		res.Fill.Abort()
	}
	mustHit(t, c, customers, "rows")
	mustHit(t, c, noTable, "rows")
	if s := c.Stats(); s.Invalidations != 2 || s.Entries != 2 {
		t.Fatalf("invalidations %d, entries %d; want 2, 2", s.Invalidations, s.Entries)
	}
	checkInvariants(t, c)
}

func TestInvalidateIsScopedToItsDatabase(t *testing.T) {
	c, _ := newCache(t, cache.Config{})
	app := request(t, "SELECT * FROM orders", "public.orders")
	other := app
	other.Database = "other"
	other.Key = cache.Key{1} // a key for the same text in another database
	store(t, c, app, "app rows")
	store(t, c, other, "other rows")
	c.Invalidate("other", "public.orders")
	mustHit(t, c, app, "app rows")
	res := c.Lookup(other)
	mustStatus(t, res, cache.StatusMiss)
	res.Fill.Abort()
}

func TestInvalidateIsIdempotentAndCheapForUnknownTables(t *testing.T) {
	c, _ := newCache(t, cache.Config{})
	req := request(t, "SELECT * FROM orders", "public.orders")
	store(t, c, req, "rows")
	if n := c.Invalidate("app", "public.orders", "public.orders"); n != 1 {
		t.Fatalf("first Invalidate removed %d, want 1", n)
	}
	for range 3 {
		if n := c.Invalidate("app", "public.orders"); n != 0 {
			t.Fatalf("repeated Invalidate removed %d, want 0", n)
		}
	}
	if n := c.Invalidate("nosuchdb", "nosuch.table"); n != 0 {
		t.Fatalf("Invalidate of an unknown table removed %d", n)
	}
	if s := c.Stats(); len(s.Tables) != 1 {
		t.Fatalf("invalidating unknown tables created statistics records: %+v", s.Tables)
	}
	checkInvariants(t, c)
}

func TestResultFetchedWhileItsTableWasInvalidatedIsNotStored(t *testing.T) {
	tests := []struct {
		name       string
		invalidate func(c *cache.Cache)
	}{
		{"Invalidate of one of its tables", func(c *cache.Cache) { c.Invalidate("app", "public.customers") }},
		{"InvalidateDatabase", func(c *cache.Cache) { c.InvalidateDatabase("app") }},
		{"PurgeTable", func(c *cache.Cache) { c.PurgeTable("app", "public.orders") }},
		{"Purge", func(c *cache.Cache) { c.Purge() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newCache(t, cache.Config{})
			req := request(t, "SELECT * FROM orders JOIN customers USING (id)", "public.orders", "public.customers")
			leader := c.Lookup(req)
			leader.Fill.Append([]byte("rows read before the write"))
			tt.invalidate(c)
			if err := leader.Fill.Complete(); !errors.Is(err, cache.ErrSuperseded) {
				t.Fatalf("Complete = %v, want ErrSuperseded", err)
			}
			r := c.Lookup(req)
			mustStatus(t, r, cache.StatusMiss)
			r.Fill.Abort()
			if s := c.Stats(); s.Superseded != 1 {
				t.Fatalf("superseded = %d, want 1", s.Superseded)
			}
			checkInvariants(t, c)
		})
	}
}

func TestInvalidationOfAnotherTableDoesNotSupersedeAFill(t *testing.T) {
	c, _ := newCache(t, cache.Config{})
	req := request(t, "SELECT * FROM orders", "public.orders")
	leader := c.Lookup(req)
	c.Invalidate("app", "public.customers")
	c.InvalidateDatabase("other")
	c.PurgeTable("app", "public.customers")
	leader.Fill.Append([]byte("rows"))
	if err := leader.Fill.Complete(); err != nil {
		t.Fatalf("Complete = %v, want nil", err)
	}
	mustHit(t, c, req, "rows")
}

func TestLookupAfterInvalidateNeverJoinsAFillThatStartedBefore(t *testing.T) {
	c, _ := newCache(t, cache.Config{})
	req := request(t, "SELECT * FROM orders", "public.orders")
	before := c.Lookup(req)
	joined := c.Lookup(req)
	mustStatus(t, joined, cache.StatusFollow)

	c.Invalidate("app", "public.orders") // a write is acknowledged

	after := c.Lookup(req)
	mustStatus(t, after, cache.StatusMiss) // leads a fresh fill, does not join the old one
	before.Fill.Append([]byte("old"))
	if err := before.Fill.Complete(); !errors.Is(err, cache.ErrSuperseded) {
		t.Fatalf("old fill Complete = %v, want ErrSuperseded", err)
	}
	// The follower joined before the write was acknowledged: the old result
	// is a valid answer for it.
	if e, err := joined.Flight.Wait(t.Context()); err != nil || string(e.Result()) != "old" {
		t.Fatalf("early follower got %v, %v; want the old result", e, err)
	}
	late := c.Lookup(req)
	mustStatus(t, late, cache.StatusFollow)
	after.Fill.Append([]byte("new"))
	if err := after.Fill.Complete(); err != nil {
		t.Fatal(err)
	}
	if e, err := late.Flight.Wait(t.Context()); err != nil || string(e.Result()) != "new" {
		t.Fatalf("late follower got %v, %v; want the new result", e, err)
	}
	mustHit(t, c, req, "new")
}

func TestInvalidateDatabaseRemovesOnlyThatDatabase(t *testing.T) {
	c, _ := newCache(t, cache.Config{})
	var app, other []cache.Request
	for i := range 5 {
		r := request(t, fmt.Sprintf("SELECT %d", i), "public.t")
		app = append(app, r)
		store(t, c, r, "app")
		o := r
		o.Database, o.Key = "other", cache.Key{byte(i + 1)}
		other = append(other, o)
		store(t, c, o, "other")
	}
	if n := c.InvalidateDatabase("app"); n != 5 {
		t.Fatalf("InvalidateDatabase removed %d, want 5", n)
	}
	for _, r := range other {
		mustHit(t, c, r, "other")
	}
	res := c.Lookup(app[0])
	mustStatus(t, res, cache.StatusMiss)
	res.Fill.Abort()
	checkInvariants(t, c)
}

func TestPurgeTableAndPurgeRemoveEntriesAndCountThemAsPurged(t *testing.T) {
	c, _ := newCache(t, cache.Config{})
	a := request(t, "SELECT * FROM a", "public.a")
	b := request(t, "SELECT * FROM b", "public.b")
	ab := request(t, "SELECT * FROM a, b", "public.a", "public.b")
	for _, r := range []cache.Request{a, b, ab} {
		store(t, c, r, "rows")
	}
	if n := c.PurgeTable("app", "public.a"); n != 2 {
		t.Fatalf("PurgeTable removed %d, want 2", n)
	}
	mustHit(t, c, b, "rows")
	if n := c.Purge(); n != 1 {
		t.Fatalf("Purge removed %d, want 1", n)
	}
	s := c.Stats()
	if s.Entries != 0 || s.Bytes != 0 || s.Purged != 3 || s.Invalidations != 0 {
		t.Fatalf("after purges: entries %d bytes %d purged %d invalidations %d", s.Entries, s.Bytes, s.Purged, s.Invalidations)
	}
	for _, ts := range s.Tables {
		if ts.Entries != 0 || ts.Bytes != 0 {
			t.Fatalf("table %s still counts %d entries, %d bytes", ts.Table, ts.Entries, ts.Bytes)
		}
	}
	checkInvariants(t, c)
}

func TestTableIndexStaysConsistentUnderEviction(t *testing.T) {
	c, _ := newCache(t, cache.Config{MaxBytes: 64 << 10, MaxEntryBytes: 8 << 10})
	tables := []cache.TableID{"public.a", "public.b", "public.c", "public.d"}
	payload := string(make([]byte, 3000))
	for i := range 400 {
		req := request(t, fmt.Sprintf("SELECT %d", i), tables[i%4], tables[(i/4)%4])
		store(t, c, req, payload)
		if i%37 == 0 {
			c.Invalidate("app", tables[i%3])
		}
		checkInvariants(t, c)
	}
	s := c.Stats()
	if s.Evictions == 0 || s.Bytes > 64<<10 {
		t.Fatalf("evictions %d, bytes %d: the test did not exercise eviction under 64 KiB", s.Evictions, s.Bytes)
	}
	for _, tb := range tables {
		c.Invalidate("app", tb)
	}
	if s := c.Stats(); s.Entries != 0 {
		t.Fatalf("%d entries left after invalidating every table", s.Entries)
	}
	checkInvariants(t, c)
}
