package cache_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/pgwarp/pgwarp/cache"
)

func TestFillStopsCopyingAsSoonAsItPassesMaxEntryBytes(t *testing.T) {
	tests := []struct {
		name     string
		chunks   []int
		accepted int // chunks accepted before the first refusal
	}{
		{"exactly the bound fits", []int{4000, 4000, 2000}, 3},
		{"one byte over is refused", []int{4000, 4000, 2001}, 2},
		{"a single chunk over the bound is refused", []int{10_001}, 0},
		{"nothing is accepted after a refusal", []int{9000, 2000, 1}, 1},
		{"describe bytes count toward the bound", []int{-6000, 4000, 1}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newCache(t, cache.Config{MaxBytes: 1 << 20, MaxEntryBytes: 10_000})
			r := c.Lookup(request(t, "SELECT 1"))
			accepted := 0
			for _, n := range tt.chunks {
				var ok bool
				if n < 0 {
					ok = r.Fill.AppendDescribe(make([]byte, -n))
				} else {
					ok = r.Fill.Append(make([]byte, n))
				}
				if s := c.Stats(); s.FillingBytes > 10_000 {
					t.Fatalf("fill buffers hold %d bytes, more than max_entry_bytes", s.FillingBytes)
				}
				if !ok {
					break
				}
				accepted++
			}
			if accepted != tt.accepted {
				t.Fatalf("%d chunks accepted, want %d", accepted, tt.accepted)
			}
			err := r.Fill.Complete()
			switch {
			case accepted == len(tt.chunks) && err != nil:
				t.Fatalf("Complete = %v, want nil", err)
			case accepted < len(tt.chunks) && !errors.Is(err, cache.ErrOversized):
				t.Fatalf("Complete = %v, want ErrOversized", err)
			}
			if s := c.Stats(); s.FillingBytes != 0 {
				t.Fatalf("%d fill bytes still reserved after Complete", s.FillingBytes)
			}
		})
	}
}

func TestFillsInProgressTogetherStayWithinMaxBytes(t *testing.T) {
	const maxBytes = 64 << 10
	c, _ := newCache(t, cache.Config{MaxBytes: maxBytes, MaxEntryBytes: 32 << 10})
	var fills []*cache.Fill
	refused := 0
	for i := range 6 {
		r := c.Lookup(request(t, fmt.Sprintf("SELECT %d", i)))
		mustStatus(t, r, cache.StatusMiss)
		fills = append(fills, r.Fill)
		for range 5 {
			if !r.Fill.Append(make([]byte, 4<<10)) {
				refused++
				break
			}
		}
		if s := c.Stats(); s.FillingBytes > maxBytes {
			t.Fatalf("fills in progress hold %d bytes, more than max_bytes %d", s.FillingBytes, maxBytes)
		}
	}
	if refused == 0 {
		t.Fatal("six fills of 20 KiB each fit in a 64 KiB budget: the test does not exercise it")
	}
	budget := 0
	for _, f := range fills {
		if err := f.Complete(); errors.Is(err, cache.ErrFillBudget) {
			budget++
		}
	}
	s := c.Stats()
	if budget != refused || s.FillBudgetExceeded != int64(refused) {
		t.Fatalf("%d fills refused, %d completed with ErrFillBudget, stats %d", refused, budget, s.FillBudgetExceeded)
	}
	if s.FillingBytes != 0 || s.Bytes > maxBytes {
		t.Fatalf("after completing: filling %d, stored %d", s.FillingBytes, s.Bytes)
	}
	checkInvariants(t, c)
}

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func TestCacheStaysWithinMaxBytesWhenFilledFarBeyondIt(t *testing.T) {
	tests := []struct {
		name          string
		maxBytes      int64
		maxEntryBytes int64
		entries       int
		size          func(r *rand.Rand) int
		tables        int
	}{
		{
			name:          "large results of random size",
			maxBytes:      4 << 20,
			maxEntryBytes: 128 << 10,
			entries:       640, // about 40 MiB, 10 times max_bytes
			size:          func(r *rand.Rand) int { return 1 + r.IntN(128<<10) },
			tables:        2,
		},
		{
			name:          "tiny results, where the overhead dominates",
			maxBytes:      2 << 20,
			maxEntryBytes: 1 << 10,
			entries:       20_000, // ten times as many as fit
			size:          func(r *rand.Rand) int { return 1 + r.IntN(32) },
			tables:        3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			base := heapInUse()
			c, err := cache.New(cache.Config{MaxBytes: tt.maxBytes, MaxEntryBytes: tt.maxEntryBytes})
			if err != nil {
				t.Fatal(err)
			}
			chunk := make([]byte, 8<<10)
			var b cache.KeyBuilder
			for i := range tt.entries {
				b.Reset(cache.ProtocolExtended, "app", "app")
				b.Statement(fmt.Sprintf("SELECT * FROM t%d WHERE id = $1", i%100))
				b.Param(0, 23, fmt.Appendf(nil, "%d", i))
				key, err := b.Key()
				if err != nil {
					t.Fatal(err)
				}
				tables := make([]cache.TableID, tt.tables)
				for j := range tables {
					tables[j] = cache.TableID(fmt.Sprintf("public.t%d", (i+j)%100))
				}
				r := c.Lookup(cache.Request{Key: key, Database: "app", Tables: tables})
				mustStatus(t, r, cache.StatusMiss)
				for n := tt.size(rng); n > 0; n -= len(chunk) {
					r.Fill.Append(chunk[:min(n, len(chunk))])
				}
				if err := r.Fill.Complete(); err != nil {
					t.Fatalf("Complete: %v", err)
				}
			}
			checkInvariants(t, c)
			s := c.Stats()
			if s.Bytes > tt.maxBytes {
				t.Fatalf("accounted %d bytes, more than max_bytes %d", s.Bytes, tt.maxBytes)
			}
			if s.Bytes < tt.maxBytes/2 || s.Evictions < int64(tt.entries)/2 {
				t.Fatalf("accounted %d bytes after %d evictions: the test did not fill the cache far beyond max_bytes", s.Bytes, s.Evictions)
			}
			heap := int64(heapInUse()) - int64(base)
			// Generous slack for allocator size classes, map growth and the
			// test's own garbage; the bound itself is what is asserted.
			limit := tt.maxBytes*5/4 + 1<<20
			t.Logf("%d entries, %d accounted bytes, %d heap bytes (limit %d)", s.Entries, s.Bytes, heap, limit)
			if heap > limit {
				t.Fatalf("the cache holds %d heap bytes with max_bytes %d (limit %d)", heap, tt.maxBytes, limit)
			}
			runtime.KeepAlive(c)
		})
	}
}
