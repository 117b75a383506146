package cache

import (
	"cmp"
	"slices"
	"sync/atomic"
)

// maxTrackedTables bounds the per-table statistics. Records are created only
// when an entry for the table is stored (so the table exists and the role
// could read it), never from lookups or invalidation messages, which carry
// names from clients and the network; this cap is the last line of defence.
const maxTrackedTables = 10_000

// counters is the live form of [Counters]; every field is updated atomically
// so lookups on the hit path never take a lock for statistics.
type counters struct {
	entries, bytes                               atomic.Int64
	hits, staleHits, misses, coalesced, bypassed atomic.Int64
	evictions, invalidations                     atomic.Int64
}

func (c *counters) snapshot() Counters {
	return Counters{
		Entries:        c.entries.Load(),
		Bytes:          c.bytes.Load(),
		Hits:           c.hits.Load(),
		StaleHits:      c.staleHits.Load(),
		Misses:         c.misses.Load(),
		CoalescedWaits: c.coalesced.Load(),
		Bypassed:       c.bypassed.Load(),
		Evictions:      c.evictions.Load(),
		Invalidations:  c.invalidations.Load(),
	}
}

// Counters are the numbers kept overall, per table and per rule. Every
// lookup counts once in exactly one of Hits, StaleHits, Misses,
// CoalescedWaits and Bypassed.
type Counters struct {
	// Entries and Bytes describe the entries stored now: overall, those
	// depending on the table (an entry reading three tables counts in each),
	// or those whose lifetime the rule decided. Bytes include the per-entry
	// overhead.
	Entries int64
	Bytes   int64

	// Hits counts lookups served a fresh entry.
	Hits int64
	// StaleHits counts lookups served an entry inside its
	// stale-while-revalidate window.
	StaleHits int64
	// Misses counts lookups that led a fill, i.e. ran upstream for the cache.
	Misses int64
	// CoalescedWaits counts lookups that followed a leader instead of running
	// upstream.
	CoalescedWaits int64
	// Bypassed counts lookups a rule, hint or the configuration sent
	// upstream uncached. It is kept overall and per rule only.
	Bypassed int64

	// Evictions counts entries removed to stay under max_bytes.
	Evictions int64
	// Invalidations counts entries removed by Invalidate and
	// InvalidateDatabase; per table, those removed because that table was
	// written.
	Invalidations int64
}

// HitRatio returns the share of cacheable lookups served from the cache
// (fresh or stale), or 0 when there were none.
func (c Counters) HitRatio() float64 {
	served := c.Hits + c.StaleHits
	all := served + c.Misses + c.CoalescedWaits
	if all == 0 {
		return 0
	}
	return float64(served) / float64(all)
}

// TableStats are the [Counters] of one table of one database.
type TableStats struct {
	Database string
	Table    TableID
	Counters
}

// RuleStats are the [Counters] of one rule, including the reserved names
// [RuleDefault], [RuleHint], [RuleDatabase] and [RuleCache]. Lookups count
// under the rule their request resolved to ([Decision.Rule]); Entries, Bytes,
// Evictions and Invalidations under the rule that decided the entry's
// lifetime when it was filled ([Entry.Rule]).
type RuleStats struct {
	Rule string
	Counters
}

// Stats is a point-in-time snapshot of a [Cache]'s numbers, for the admin
// console's SHOW CACHE and for metrics. The counters are cumulative since the
// cache was created.
type Stats struct {
	// Counters are the totals over all tables and rules.
	Counters

	// MaxBytes is the configured bound of Bytes.
	MaxBytes int64
	// Fills is the number of fills in progress (leaders and refreshes).
	Fills int64
	// FillingBytes is the buffer capacity reserved by fills in progress. A
	// buffer grows only while the total stays within MaxBytes, so it exceeds
	// MaxBytes only briefly after a reload lowered it.
	FillingBytes int64

	// Refreshes counts stale lookups that were handed the refresh.
	Refreshes int64
	// Expired counts entries dropped because a lookup found them older than
	// their TTL plus stale-while-revalidate window.
	Expired int64
	// Superseded counts completed fills not stored because a table they read
	// was invalidated while they were fetched.
	Superseded int64
	// Oversized counts fills that passed max_entry_bytes.
	Oversized int64
	// FillBudgetExceeded counts fills stopped because all fills in progress
	// together would have passed max_bytes.
	FillBudgetExceeded int64
	// Aborted counts fills the leader aborted.
	Aborted int64
	// Purged counts entries removed by Purge and PurgeTable.
	Purged int64

	// Tables holds one record per table an entry was ever stored for (up to
	// 10,000 tables), sorted by database and table.
	Tables []TableStats
	// Rules holds one record per rule name ever configured, sorted by name.
	Rules []RuleStats
}

// cacheStats are the cache-wide counters beyond [Counters].
type cacheStats struct {
	counters
	refreshes, expired, superseded, oversized, fillBudget, aborted, purged atomic.Int64
}

// Stats returns a snapshot of the cache's numbers. It takes the cache's lock
// only long enough to list the tables and rules.
func (c *Cache) Stats() Stats {
	s := Stats{
		Counters:           c.stats.snapshot(),
		MaxBytes:           c.rules.Load().maxBytes,
		Fills:              c.active.Load(),
		FillingBytes:       c.filling.Load(),
		Refreshes:          c.stats.refreshes.Load(),
		Expired:            c.stats.expired.Load(),
		Superseded:         c.stats.superseded.Load(),
		Oversized:          c.stats.oversized.Load(),
		FillBudgetExceeded: c.stats.fillBudget.Load(),
		Aborted:            c.stats.aborted.Load(),
		Purged:             c.stats.purged.Load(),
	}
	c.mu.Lock()
	s.Tables = make([]TableStats, 0, len(c.tableStats))
	for ref, tc := range c.tableStats {
		s.Tables = append(s.Tables, TableStats{Database: ref.db, Table: ref.table, Counters: tc.snapshot()})
	}
	s.Rules = make([]RuleStats, 0, len(c.ruleStats))
	for name, rc := range c.ruleStats {
		s.Rules = append(s.Rules, RuleStats{Rule: name, Counters: rc.snapshot()})
	}
	c.mu.Unlock()
	slices.SortFunc(s.Tables, func(x, y TableStats) int {
		return cmp.Or(cmp.Compare(x.Database, y.Database), cmp.Compare(x.Table, y.Table))
	})
	slices.SortFunc(s.Rules, func(x, y RuleStats) int { return cmp.Compare(x.Rule, y.Rule) })
	return s
}
