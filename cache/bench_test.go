package cache_test

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/pgwarp/pgwarp/cache"
)

// seqKey returns a distinct key without hashing, so fill benchmarks measure
// the cache and not SHA-256.
func seqKey(i int) cache.Key {
	var k cache.Key
	binary.LittleEndian.PutUint64(k[:], uint64(i))
	return k
}

func BenchmarkKeyBuild(b *testing.B) {
	b.Run("typical extended query", func(b *testing.B) {
		in := baseKeyInput()
		var kb cache.KeyBuilder
		b.ReportAllocs()
		for b.Loop() {
			in.key(b, &kb)
		}
	})
	b.Run("16 KiB statement", func(b *testing.B) {
		in := baseKeyInput()
		in.statement = strings.Repeat("SELECT 1 UNION ALL ", 16<<10/19)
		var kb cache.KeyBuilder
		b.SetBytes(int64(len(in.statement)))
		b.ReportAllocs()
		for b.Loop() {
			in.key(b, &kb)
		}
	})
}

func BenchmarkLookupHit(b *testing.B) {
	c, err := cache.New(cache.Config{})
	if err != nil {
		b.Fatal(err)
	}
	const n = 1024
	reqs := make([]cache.Request, n)
	for i := range reqs {
		reqs[i] = cache.Request{Key: seqKey(i), Database: "app", Tables: []cache.TableID{"public.sales", "public.artifact"}}
		store(b, c, reqs[i], "rows")
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if c.Lookup(reqs[i%n]).Status != cache.StatusHit {
				b.Fatal("not a hit")
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if c.Lookup(reqs[i%n]).Status != cache.StatusHit {
					b.Error("not a hit")
					return
				}
				i += 7
			}
		})
	})
}

func BenchmarkFillAndStore(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("%d KiB result in 100-byte rows", size>>10), func(b *testing.B) {
			c, err := cache.New(cache.Config{MaxBytes: 64 << 20})
			if err != nil {
				b.Fatal(err)
			}
			row := make([]byte, 100)
			tables := []cache.TableID{"public.sales", "public.artifact"}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r := c.Lookup(cache.Request{Key: seqKey(i), Database: "app", Tables: tables})
				for n := 0; n < size; n += len(row) {
					r.Fill.Append(row[:min(len(row), size-n)])
				}
				if err := r.Fill.Complete(); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkInvalidate(b *testing.B) {
	b.Run("table with no entries", func(b *testing.B) {
		c, _ := cache.New(cache.Config{})
		for i := range 10_000 {
			store(b, c, cache.Request{Key: seqKey(i), Database: "app", Tables: []cache.TableID{"public.other"}}, "rows")
		}
		b.ReportAllocs()
		for b.Loop() {
			c.Invalidate("app", "public.orders")
		}
	})
	b.Run("table with 16 entries among 10000", func(b *testing.B) {
		c, _ := cache.New(cache.Config{})
		for i := range 10_000 {
			store(b, c, cache.Request{Key: seqKey(i), Database: "app", Tables: []cache.TableID{"public.other"}}, "rows")
		}
		next := 10_000
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			for range 16 {
				store(b, c, cache.Request{Key: seqKey(next), Database: "app", Tables: []cache.TableID{"public.orders"}}, "rows")
				next++
			}
			b.StartTimer()
			if c.Invalidate("app", "public.orders") != 16 {
				b.Fatal("did not remove 16 entries")
			}
		}
	})
}
