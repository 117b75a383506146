package cache_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/cache"
)

// stressDuration is how long stress tests hammer the cache: the Go duration
// in PGWARP_CACHE_STRESS (for example "30s" before a release), 2 s by
// default, 200 ms with -short.
func stressDuration(t *testing.T) time.Duration {
	if v := os.Getenv("PGWARP_CACHE_STRESS"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("PGWARP_CACHE_STRESS=%q: %v", v, err)
		}
		return d
	}
	if testing.Short() {
		return 200 * time.Millisecond
	}
	return 2 * time.Second
}

// simDB simulates the upstream: every table has a version that a write
// increments when it commits. acked holds, per table, the highest version
// whose invalidation has returned, i.e. whose write the client has been told
// about.
type simDB struct {
	tables    []cache.TableID
	committed []atomic.Int64
	acked     []atomic.Int64
}

func newSimDB(n int) *simDB {
	db := &simDB{committed: make([]atomic.Int64, n), acked: make([]atomic.Int64, n)}
	for i := range n {
		db.tables = append(db.tables, cache.TableID(fmt.Sprintf("public.t%d", i)))
	}
	return db
}

func (db *simDB) ack(t int, v int64) {
	for {
		cur := db.acked[t].Load()
		if cur >= v || db.acked[t].CompareAndSwap(cur, v) {
			return
		}
	}
}

// write commits a write to table t and acknowledges it after invalidating.
func (db *simDB) write(c *cache.Cache, t int) {
	v := db.committed[t].Add(1)
	c.Invalidate("app", db.tables[t])
	db.ack(t, v)
}

// writeAll is a write whose tables are unknown, such as DDL.
func (db *simDB) writeAll(c *cache.Cache) {
	vs := make([]int64, len(db.tables))
	for t := range db.tables {
		vs[t] = db.committed[t].Add(1)
	}
	c.InvalidateDatabase("app")
	for t, v := range vs {
		db.ack(t, v)
	}
}

// simQuery is a statement reading some tables; its result encodes the
// version of each table it read, followed by padding.
type simQuery struct {
	req    cache.Request
	tables []int
}

func (db *simDB) queries(t *testing.T, n int) []simQuery {
	var qs []simQuery
	for i := range n {
		tables := []int{i % len(db.tables)}
		if i%3 == 0 {
			tables = append(tables, (i+1)%len(db.tables))
		}
		ids := make([]cache.TableID, len(tables))
		for j, tb := range tables {
			ids[j] = db.tables[tb]
		}
		qs = append(qs, simQuery{req: request(t, fmt.Sprintf("SELECT * FROM q%d", i), ids...), tables: tables})
	}
	return qs
}

// floor returns the versions a request starting now must at least see.
func (db *simDB) floor(q simQuery) []int64 {
	f := make([]int64, len(q.tables))
	for i, tb := range q.tables {
		f[i] = db.acked[tb].Load()
	}
	return f
}

// run reads the upstream for q into fill, sometimes failing or overflowing.
func (db *simDB) run(rng *rand.Rand, q simQuery, fill *cache.Fill, maxEntry int) {
	defer fill.Abort()
	var buf []byte
	for _, tb := range q.tables {
		buf = binary.BigEndian.AppendUint64(buf, uint64(db.committed[tb].Load()))
	}
	fill.Append(buf)
	switch p := rng.IntN(100); {
	case p < 5:
		return // the upstream failed: the deferred Abort
	case p < 8:
		fill.Append(make([]byte, maxEntry))
	default:
		fill.Append(make([]byte, rng.IntN(maxEntry/4)))
	}
	err := fill.Complete()
	if err != nil && !errors.Is(err, cache.ErrSuperseded) && !errors.Is(err, cache.ErrOversized) && !errors.Is(err, cache.ErrFillBudget) {
		panic(err)
	}
}

// stale reports whether a result is older than floor.
func stale(e *cache.Entry, q simQuery, floor []int64) error {
	res := e.Result()
	if len(res) < 8*len(q.tables) {
		return fmt.Errorf("result of %d bytes cannot hold %d versions", len(res), len(q.tables))
	}
	for i, tb := range q.tables {
		if v := int64(binary.BigEndian.Uint64(res[8*i:])); v < floor[i] {
			return fmt.Errorf("table t%d at version %d served after version %d was acknowledged", tb, v, floor[i])
		}
	}
	return nil
}

func TestNoResultOlderThanAnAcknowledgedWriteIsEverServed(t *testing.T) {
	checkNoGoroutineLeak(t)
	const maxEntry = 4 << 10
	db := newSimDB(6)
	queries := db.queries(t, 24)
	small := cache.Config{MaxBytes: 32 << 10, MaxEntryBytes: maxEntry, Default: cache.Lifetime{TTL: 5 * time.Second, StaleWhileRevalidate: new(3 * time.Second)}}
	large := small
	large.MaxBytes = 128 << 10
	c, clock := newCache(t, small)
	deadline := time.Now().Add(stressDuration(t))

	var (
		wg                        sync.WaitGroup
		served, follows, failures atomic.Int64
	)
	for r := range 6 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 1))
			for time.Now().Before(deadline) {
				q := queries[rng.IntN(len(queries))]
				floor := db.floor(q)
				res := c.Lookup(q.req)
				switch res.Status {
				case cache.StatusHit, cache.StatusStale:
					if err := stale(res.Entry, q, floor); err != nil {
						t.Errorf("%s: %v", res.Status, err)
						return
					}
					served.Add(1)
					if res.Fill != nil {
						db.run(rng, q, res.Fill, maxEntry)
					}
				case cache.StatusMiss:
					db.run(rng, q, res.Fill, maxEntry)
				case cache.StatusFollow:
					follows.Add(1)
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					e, err := res.Flight.Wait(ctx)
					cancel()
					switch {
					case errors.Is(err, cache.ErrLeaderFailed):
						failures.Add(1) // would run uncached
					case err != nil:
						t.Errorf("Wait: %v", err)
						return
					default:
						if err := stale(e, q, floor); err != nil {
							t.Errorf("follow: %v", err)
							return
						}
						served.Add(1)
					}
				default:
					t.Errorf("status %s", res.Status)
					return
				}
			}
		})
	}
	for w := range 2 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 2))
			for time.Now().Before(deadline) {
				if rng.IntN(50) == 0 {
					db.writeAll(c)
				} else {
					db.write(c, rng.IntN(len(db.tables)))
				}
				time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
			}
		})
	}
	wg.Go(func() { // time passes, operators reload and purge
		rng := rand.New(rand.NewPCG(3, 3))
		for i := 0; time.Now().Before(deadline); i++ {
			clock.Advance(time.Duration(rng.IntN(2000)) * time.Millisecond)
			switch rng.IntN(100) {
			case 0:
				c.Purge()
			case 1:
				c.PurgeTable("app", db.tables[rng.IntN(len(db.tables))])
			case 2, 3:
				cfg := small
				if i%2 == 0 {
					cfg = large
				}
				if err := c.Reload(cfg); err != nil {
					t.Errorf("Reload: %v", err)
					return
				}
			}
			time.Sleep(time.Millisecond)
		}
	})
	wg.Wait()

	checkInvariants(t, c)
	s := c.Stats()
	t.Logf("served %d (hits %d, stale %d), misses %d, follows %d (leader failed %d), superseded %d, evictions %d, invalidations %d, expired %d, oversized %d",
		served.Load(), s.Hits, s.StaleHits, s.Misses, follows.Load(), failures.Load(), s.Superseded, s.Evictions, s.Invalidations, s.Expired, s.Oversized)
	if s.Fills != 0 || s.FillingBytes != 0 {
		t.Fatalf("after the run: %d fills in progress holding %d bytes", s.Fills, s.FillingBytes)
	}
	if s.Hits == 0 || s.Misses == 0 || s.Invalidations == 0 {
		t.Fatal("the run did not exercise hits, misses and invalidations")
	}
}
