package cache_test

import (
	"context"
	"fmt"
	"time"

	"github.com/pgwarp/pgwarp/cache"
)

// This example walks through what the proxy does on a lookup, a fill, a
// write and a reload. The byte strings stand in for complete protocol
// messages as the upstream sent them.
func Example() {
	c, err := cache.New(cache.Config{MaxBytes: 64 << 20})
	if err != nil {
		panic(err)
	}

	// One KeyBuilder per session; it does not allocate once warm.
	var kb cache.KeyBuilder
	kb.Reset(cache.ProtocolExtended, "app", "app")
	kb.Setting("search_path", `"$user", public`)
	kb.Setting("TimeZone", "UTC")
	kb.Statement("SELECT id, total FROM orders WHERE customer = $1")
	kb.Param(0, 23, []byte("42"))
	kb.ResultFormats([]int16{1})
	key, err := kb.Key()
	if err != nil {
		panic(err) // the proxy would run the statement uncached
	}
	req := cache.Request{Key: key, Database: "app", Tables: []cache.TableID{"public.orders"}}

	serve := func(ctx context.Context) string {
		r := c.Lookup(req)
		switch r.Status {
		case cache.StatusHit, cache.StatusStale:
			if r.Fill != nil {
				// This caller refreshes the stale entry in the background.
				defer r.Fill.Abort()
			}
			return fmt.Sprintf("%s: replay %q", r.Status, r.Entry.Result())
		case cache.StatusMiss:
			defer r.Fill.Abort() // does nothing after Complete
			// Stream each message to the client and copy it into the fill.
			for _, msg := range []string{"D:1,99.50", "D:2,12.00", "C:SELECT 2"} {
				r.Fill.Append([]byte(msg))
			}
			if err := r.Fill.Complete(); err != nil {
				return "miss: ran upstream, not stored: " + err.Error()
			}
			return "miss: ran upstream and stored"
		case cache.StatusFollow:
			e, err := r.Flight.Wait(ctx)
			if err != nil {
				return "follow: run uncached"
			}
			return fmt.Sprintf("follow: replay %q", e.Result())
		default:
			return "disabled: run uncached"
		}
	}

	ctx := context.Background()
	fmt.Println(serve(ctx))
	fmt.Println(serve(ctx))

	// A write to public.orders commits: invalidate before the client sees
	// its CommandComplete, and tell the other instances.
	c.Invalidate("app", "public.orders")
	payload, _ := cache.Invalidation{Origin: "pgwarp-1", Database: "app", Tables: []cache.TableID{"public.orders"}}.MarshalText()
	fmt.Printf("NOTIFY pgwarp_cache, '%s'\n", payload)
	fmt.Println(serve(ctx))

	// SIGHUP: a new configuration, same entries.
	if err := c.Reload(cache.Config{MaxBytes: 32 << 20, Default: cache.Lifetime{TTL: 30 * time.Second}}); err != nil {
		fmt.Println(err)
	}
	fmt.Println(serve(ctx))
	s := c.Stats()
	fmt.Printf("entries %d, hits %d, misses %d, invalidations %d\n", s.Entries, s.Hits, s.Misses, s.Invalidations)

	// Output:
	// miss: ran upstream and stored
	// hit: replay "D:1,99.50D:2,12.00C:SELECT 2"
	// NOTIFY pgwarp_cache, 'pgwarp-invalidate/1 pgwarp-1 app public.orders'
	// miss: ran upstream and stored
	// hit: replay "D:1,99.50D:2,12.00C:SELECT 2"
	// entries 1, hits 2, misses 2, invalidations 1
}

// An instance receiving a NOTIFY decodes it strictly and invalidates.
func ExampleInvalidation_UnmarshalText() {
	c, _ := cache.New(cache.Config{})
	var m cache.Invalidation
	if err := m.UnmarshalText([]byte("pgwarp-invalidate/1 pgwarp-2 app public.orders")); err != nil {
		fmt.Println("ignored:", err)
		return
	}
	if len(m.Tables) == 0 {
		c.InvalidateDatabase(m.Database)
	} else {
		c.Invalidate(m.Database, m.Tables...)
	}
	fmt.Println(m.Origin, m.Database, m.Tables)
	// Output: pgwarp-2 app [public.orders]
}
