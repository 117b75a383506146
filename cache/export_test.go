package cache

import "fmt"

// EntryOverhead and TableOverhead expose the accounting constants to the
// black-box tests.
const (
	EntryOverhead = entryOverhead
	TableOverhead = tableOverhead
)

// CheckInvariants verifies that the LRU, the byte accounting, the table and
// database indexes, the joinable fills and the statistics agree with each
// other. Tests call it after concurrent runs.
func CheckInvariants(c *Cache) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var total int64
	perTable := map[tableRef]int{}
	for _, k := range c.lru.Keys() {
		n, _ := c.lru.Peek(k)
		e := n.entry
		if e.key != k {
			return fmt.Errorf("entry under key %s has key %s", k, e.key)
		}
		total += e.size
		if _, ok := c.databases[e.database][n]; !ok {
			return fmt.Errorf("entry %s missing from the index of database %q", k, e.database)
		}
		for _, t := range e.tables {
			ref := tableRef{e.database, t}
			perTable[ref]++
			idx := c.tables[ref]
			if idx == nil {
				return fmt.Errorf("entry %s missing from the index of table %v", k, ref)
			}
			if _, ok := idx.entries[n]; !ok {
				return fmt.Errorf("entry %s missing from the index of table %v", k, ref)
			}
		}
	}
	if total != c.bytes || total != c.stats.bytes.Load() {
		return fmt.Errorf("entries add up to %d bytes, accounted %d, stats %d", total, c.bytes, c.stats.bytes.Load())
	}
	if limit := c.rules.Load().maxBytes; c.bytes > limit {
		return fmt.Errorf("cache holds %d bytes, more than max_bytes %d", c.bytes, limit)
	}
	if int64(c.lru.Len()) != c.stats.entries.Load() {
		return fmt.Errorf("LRU holds %d entries, stats say %d", c.lru.Len(), c.stats.entries.Load())
	}
	dbEntries := 0
	for db, inDB := range c.databases {
		if len(inDB) == 0 {
			return fmt.Errorf("empty index for database %q", db)
		}
		for n := range inDB {
			if got, ok := c.lru.Peek(n.entry.key); !ok || got != n || n.entry.database != db {
				return fmt.Errorf("database index of %q lists %s, which is not stored", db, n.entry.key)
			}
			dbEntries++
		}
	}
	if dbEntries != c.lru.Len() {
		return fmt.Errorf("database indexes list %d entries, LRU holds %d", dbEntries, c.lru.Len())
	}
	for ref, idx := range c.tables {
		if len(idx.entries) == 0 && len(idx.fills) == 0 {
			return fmt.Errorf("empty index for table %v", ref)
		}
		if len(idx.entries) != perTable[ref] {
			return fmt.Errorf("index of table %v lists %d entries, %d stored entries read it", ref, len(idx.entries), perTable[ref])
		}
		for n := range idx.entries {
			if got, ok := c.lru.Peek(n.entry.key); !ok || got != n {
				return fmt.Errorf("index of table %v lists %s, which is not stored", ref, n.entry.key)
			}
		}
		for fl := range idx.fills {
			if !fl.registered || fl.superseded || c.fills[fl.key] != fl {
				return fmt.Errorf("index of table %v lists a fill that is not joinable", ref)
			}
		}
	}
	for ref, tc := range c.tableStats {
		if got := tc.entries.Load(); got != int64(perTable[ref]) {
			return fmt.Errorf("stats of table %v count %d entries, %d stored", ref, got, perTable[ref])
		}
	}
	for k, fl := range c.fills {
		if fl.key != k || !fl.registered || fl.superseded {
			return fmt.Errorf("joinable fill under %s is inconsistent", k)
		}
		for _, t := range fl.tables {
			if idx := c.tables[tableRef{fl.database, t}]; idx == nil {
				return fmt.Errorf("joinable fill %s missing from the index of table %s", k, t)
			} else if _, ok := idx.fills[fl]; !ok {
				return fmt.Errorf("joinable fill %s missing from the index of table %s", k, t)
			}
		}
	}
	if f := c.filling.Load(); f < 0 {
		return fmt.Errorf("fill budget holds %d bytes", f)
	}
	return nil
}
