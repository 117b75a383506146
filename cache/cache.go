package cache

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Cache is pgwarp's read cache. Create it with [New]; it is safe for
// concurrent use by any number of sessions and starts no goroutines, so it
// needs no Close: dropping the last reference frees it.
//
// One mutex guards the LRU, the table index and the fills in progress, so
// that storing a result and invalidating its tables are atomic with respect
// to each other: this is what makes invalidation exact. A hit holds the mutex
// for a map lookup and a list move; configuration and statistics are read
// without it.
type Cache struct {
	now     func() time.Time
	rules   atomic.Pointer[ruleset]
	filling atomic.Int64 // buffer bytes reserved by fills in progress
	active  atomic.Int64 // fills in progress, including superseded ones
	stats   cacheStats

	mu         sync.Mutex
	lru        *simplelru.LRU[Key, *node]
	bytes      int64
	fills      map[Key]*Flight               // fills that lookups may join
	tables     map[tableRef]*tableIndex      // what depends on a table
	databases  map[string]map[*node]struct{} // entries by database
	keyed      map[tableRef]keyedValues      // row keys with index entries, by table (rowkeys.go)
	tableStats map[tableRef]*counters        // see maxTrackedTables
	ruleStats  map[string]*counters          // by rule name, never removed
}

// tableRef is a table of a database. In rule maps the table field may hold a
// statement fingerprint and the database may be "" for "every database".
type tableRef struct {
	db    string
	table TableID
}

// node is what the LRU holds for a stored entry: the immutable entry and the
// statistics records it counts in.
type node struct {
	entry  *Entry
	tables []*counters // parallel to entry.tables; nil where not tracked
	rule   *counters
}

// tableIndex lists the entries and the joinable fills that read a table. The
// indexes hold node pointers rather than keys: a slot costs 8 bytes instead
// of 40, and entries are many.
type tableIndex struct {
	entries map[*node]struct{}
	fills   map[*Flight]struct{}
}

// removal says why an entry leaves the cache, for statistics.
type removal uint8

const (
	removalReplaced removal = iota + 1
	removalEvicted
	removalExpired
	removalInvalidated
	removalPurged
)

// Option configures what a [Config] does not: things tests inject.
type Option func(*Cache)

// WithClock makes the cache read the time from now instead of [time.Now];
// tests use it to step through TTL and stale-while-revalidate windows.
func WithClock(now func() time.Time) Option {
	return func(c *Cache) { c.now = now }
}

// New returns an empty cache configured by cfg, or the errors of
// [Config.Validate].
func New(cfg Config, opts ...Option) (*Cache, error) {
	lru, err := simplelru.NewLRU[Key, *node](math.MaxInt, nil)
	if err != nil {
		return nil, err
	}
	c := &Cache{
		now:        time.Now,
		lru:        lru,
		fills:      make(map[Key]*Flight),
		tables:     make(map[tableRef]*tableIndex),
		keyed:      make(map[tableRef]keyedValues),
		databases:  make(map[string]map[*node]struct{}),
		tableStats: make(map[tableRef]*counters),
		ruleStats:  make(map[string]*counters),
	}
	for _, o := range opts {
		o(c)
	}
	rs, err := compileRules(cfg, c.ruleStatsLocked)
	if err != nil {
		return nil, err
	}
	c.rules.Store(rs)
	return c, nil
}

// Reload replaces the configuration without dropping the cache. If cfg is
// invalid it returns the errors of [Config.Validate] and keeps the current
// configuration. Lookups see the new rules immediately, including for
// entries stored under the old ones (an entry's age is compared with the TTL
// in force at lookup time); a lower MaxBytes evicts least recently used
// entries until the cache fits; fills in progress keep the MaxEntryBytes they
// started with.
func (c *Cache) Reload(cfg Config) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	rs, err := compileRules(cfg, c.ruleStatsLocked)
	if err != nil {
		return err
	}
	c.rules.Store(rs)
	c.evictLocked(rs.maxBytes)
	return nil
}

// Config returns the configuration in force, with defaults filled in.
func (c *Cache) Config() Config {
	return c.rules.Load().cfg.withDefaults() // a deep copy
}

// Disabled reports whether the configuration turns the cache off, cheaply
// enough to ask before every lookup.
func (c *Cache) Disabled() bool { return c.rules.Load().cfg.Disabled }

func (c *Cache) ruleStatsLocked(name string) *counters {
	rc := c.ruleStats[name]
	if rc == nil {
		rc = new(counters)
		c.ruleStats[name] = rc
	}
	return rc
}

// tableStatsLocked returns the statistics record of a table, creating it
// unless maxTrackedTables are tracked already.
func (c *Cache) tableStatsLocked(ref tableRef) *counters {
	ref.table = baseTable(ref.table) // row keys count in their table
	tc := c.tableStats[ref]
	if tc == nil && len(c.tableStats) < maxTrackedTables {
		tc = new(counters)
		c.tableStats[ref] = tc
	}
	return tc
}

func (c *Cache) indexLocked(ref tableRef) *tableIndex {
	idx := c.tables[ref]
	if idx == nil {
		idx = &tableIndex{}
		c.tables[ref] = idx
		c.noteKeyedLocked(ref)
	}
	return idx
}

func (c *Cache) pruneIndexLocked(ref tableRef, idx *tableIndex) {
	if len(idx.entries) == 0 && len(idx.fills) == 0 {
		delete(c.tables, ref)
		c.forgetKeyedLocked(ref)
	}
}

// storeLocked stores e, replacing any entry under the same key, then evicts
// down to maxBytes. e must fit in maxBytes, so it is never evicted itself.
func (c *Cache) storeLocked(e *Entry, rule *counters, maxBytes int64) {
	if old, ok := c.lru.Peek(e.key); ok {
		c.removeLocked(old, removalReplaced)
	}
	n := &node{entry: e, tables: make([]*counters, len(e.tables)), rule: rule}
	for i, t := range e.tables {
		ref := tableRef{e.database, t}
		idx := c.indexLocked(ref)
		if idx.entries == nil {
			idx.entries = make(map[*node]struct{})
		}
		idx.entries[n] = struct{}{}
		if tc := c.tableStatsLocked(ref); tc != nil {
			n.tables[i] = tc
			tc.entries.Add(1)
			tc.bytes.Add(e.size)
		}
	}
	inDB := c.databases[e.database]
	if inDB == nil {
		inDB = make(map[*node]struct{})
		c.databases[e.database] = inDB
	}
	inDB[n] = struct{}{}
	c.lru.Add(e.key, n)
	c.bytes += e.size
	c.stats.entries.Add(1)
	c.stats.bytes.Add(e.size)
	rule.entries.Add(1)
	rule.bytes.Add(e.size)
	c.evictLocked(maxBytes)
}

// evictLocked removes least recently used entries until the cache holds at
// most maxBytes.
func (c *Cache) evictLocked(maxBytes int64) {
	for c.bytes > maxBytes {
		_, n, ok := c.lru.GetOldest()
		if !ok {
			panic("BUG: cache: bytes accounted but no entry to evict")
		}
		c.removeLocked(n, removalEvicted)
	}
}

// removeLocked removes a stored entry from the LRU, the indexes and the
// accounting.
func (c *Cache) removeLocked(n *node, why removal) {
	e := n.entry
	if !c.lru.Remove(e.key) {
		panic("BUG: cache: removing an entry that is not in the LRU")
	}
	c.bytes -= e.size
	c.stats.entries.Add(-1)
	c.stats.bytes.Add(-e.size)
	n.rule.entries.Add(-1)
	n.rule.bytes.Add(-e.size)
	for i, t := range e.tables {
		ref := tableRef{e.database, t}
		if idx := c.tables[ref]; idx != nil {
			delete(idx.entries, n)
			c.pruneIndexLocked(ref, idx)
		}
		if tc := n.tables[i]; tc != nil {
			tc.entries.Add(-1)
			tc.bytes.Add(-e.size)
			if why == removalEvicted {
				tc.evictions.Add(1)
			}
		}
	}
	if inDB := c.databases[e.database]; inDB != nil {
		delete(inDB, n)
		if len(inDB) == 0 {
			delete(c.databases, e.database)
		}
	}
	switch why {
	case removalEvicted:
		c.stats.evictions.Add(1)
		n.rule.evictions.Add(1)
	case removalExpired:
		c.stats.expired.Add(1)
	case removalInvalidated:
		c.stats.invalidations.Add(1)
		n.rule.invalidations.Add(1)
	case removalPurged:
		c.stats.purged.Add(1)
	}
}

// reserve takes n bytes from the budget of fills in progress, which is
// maxBytes, or reports that it cannot.
func (c *Cache) reserve(n, maxBytes int64) bool {
	for {
		cur := c.filling.Load()
		if cur+n > maxBytes {
			return false
		}
		if c.filling.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}
