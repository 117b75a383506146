package cache

import (
	"slices"
	"time"
)

// Request describes one cacheable statement to [Cache.Lookup]. The proxy
// fills it from the query package's classification and its session state;
// the cache copies what it keeps, so the proxy may reuse the slices after the
// call.
type Request struct {
	// Key is the statement's key from a [KeyBuilder]; it must cover
	// Database. A request whose key could not be built (the builder
	// returned an error) must not be looked up.
	Key Key
	// Database is the database the statement runs in.
	Database string
	// Tables are all the tables the statement reads, as [TableID]s. A
	// statement that reads no table (SELECT 1) has none and is invalidated
	// only with its whole database.
	Tables []TableID
	// RowKeys narrow the dependency on some of Tables to rows by a
	// column's value (see [RowKey]); at most one per table is used.
	RowKeys []RowKey
	// Ranges bound the statement's reads of some of Tables to the rows
	// whose column lies in a range (see [RowRange]).
	Ranges []RowRange
	// Fingerprint is the query package's fingerprint of the statement,
	// matched against [Rule.Fingerprints]; empty matches no rule.
	Fingerprint string
	// Hint holds the statement's cache hint from a SQL comment, if any.
	Hint Hint
}

// Status is what a [Result] asks the caller to do.
type Status uint8

const (
	// StatusDisabled: caching is off for this request; run it upstream
	// without a fill.
	StatusDisabled Status = iota + 1
	// StatusHit: replay [Result.Entry].
	StatusHit
	// StatusStale: replay [Result.Entry], which is past its TTL but inside
	// its stale-while-revalidate window. If [Result.Fill] is not nil, this
	// caller must refresh the entry (run the statement upstream into the
	// fill, without sending that result to the client) and complete or
	// abort it; other callers keep getting StatusStale meanwhile.
	StatusStale
	// StatusMiss: this caller leads. Run the statement upstream, copy the
	// result into [Result.Fill] while streaming it to the client, then call
	// [Fill.Complete], or [Fill.Abort] on any error.
	StatusMiss
	// StatusFollow: the same statement is already running upstream for the
	// cache. Call [Flight.Wait] on [Result.Flight] with the statement's own
	// context.
	StatusFollow
)

// String returns the status as the proxy reports it: "disabled", "hit",
// "stale", "miss" or "follow".
func (s Status) String() string {
	switch s {
	case StatusDisabled:
		return "disabled"
	case StatusHit:
		return "hit"
	case StatusStale:
		return "stale"
	case StatusMiss:
		return "miss"
	case StatusFollow:
		return "follow"
	default:
		return "unknown"
	}
}

// Result is the answer of [Cache.Lookup]. Which fields are set depends on
// Status, as documented on each [Status].
type Result struct {
	Status Status
	// Entry is set for StatusHit and StatusStale.
	Entry *Entry
	// Fill is set for StatusMiss, and for StatusStale when this caller must
	// refresh. Whoever gets a Fill must complete or abort it.
	Fill *Fill
	// Flight is set for StatusFollow.
	Flight *Flight
	// Rule is the [Decision.Rule] the request resolved to.
	Rule string
}

// Resolve returns what the rules decide for req, without looking anything
// up. [Cache.Lookup] applies the same decision; the proxy may call Resolve
// first to skip building a key for a request that will not be cached.
//
// Precedence, highest first:
//
//  1. [Config.Disabled]: disabled, rule [RuleCache].
//  2. [Hint.NoCache]: disabled, rule [RuleHint].
//  3. [Config.DisabledDatabases]: disabled, rule [RuleDatabase].
//  4. A disabled [Rule] for the statement's fingerprint or for any table it
//     reads: disabled, that rule.
//  5. Otherwise the TTL comes from the first of: [Hint.TTL]; the
//     fingerprint rule's TTL; the shortest TTL among the rules of the tables
//     it reads; [Config.Default]. The stale-while-revalidate window is
//     resolved the same way, independently, from
//     [Hint.StaleWhileRevalidate] down to the default. Both are capped at
//     [Config.MaxTTL].
//
// A rule that names the request's database takes precedence over a rule for
// the same table or fingerprint in every database.
func (c *Cache) Resolve(req Request) Decision {
	d, _ := c.rules.Load().resolve(&req)
	return d
}

// Lookup looks req up and tells the caller what to do; see [Status]. It never
// blocks on anything but the cache's mutex: waiting for a leader happens in
// [Flight.Wait].
func (c *Cache) Lookup(req Request) Result {
	rs := c.rules.Load()
	d, rule := rs.resolve(&req)
	if d.Disabled {
		c.stats.bypassed.Add(1)
		rule.stats.bypassed.Add(1)
		return Result{Status: StatusDisabled, Rule: d.Rule}
	}
	now := c.now()
	c.mu.Lock()
	if n, ok := c.lru.Get(req.Key); ok {
		age := now.Sub(n.entry.fetchedAt)
		if age < d.TTL {
			c.mu.Unlock()
			c.stats.hits.Add(1)
			rule.stats.hits.Add(1)
			for _, tc := range n.tables {
				if tc != nil {
					tc.hits.Add(1)
				}
			}
			return Result{Status: StatusHit, Entry: n.entry, Rule: d.Rule}
		}
		if age < d.TTL+d.StaleWhileRevalidate {
			var fill *Fill
			if _, busy := c.fills[req.Key]; !busy {
				fill = c.startLocked(&req, rule, rs, now, true)
			}
			c.mu.Unlock()
			c.stats.staleHits.Add(1)
			rule.stats.staleHits.Add(1)
			for _, tc := range n.tables {
				if tc != nil {
					tc.staleHits.Add(1)
				}
			}
			if fill != nil {
				c.stats.refreshes.Add(1)
			}
			return Result{Status: StatusStale, Entry: n.entry, Fill: fill, Rule: d.Rule}
		}
		c.removeLocked(n, removalExpired)
	}
	if fl, ok := c.fills[req.Key]; ok {
		c.countTablesLocked(fl, func(tc *counters) { tc.coalesced.Add(1) })
		c.mu.Unlock()
		c.stats.coalesced.Add(1)
		rule.stats.coalesced.Add(1)
		return Result{Status: StatusFollow, Flight: fl, Rule: d.Rule}
	}
	fill := c.startLocked(&req, rule, rs, now, false)
	c.countTablesLocked(fill.flight, func(tc *counters) { tc.misses.Add(1) })
	c.mu.Unlock()
	c.stats.misses.Add(1)
	rule.stats.misses.Add(1)
	return Result{Status: StatusMiss, Fill: fill, Rule: d.Rule}
}

func (c *Cache) countTablesLocked(fl *Flight, count func(*counters)) {
	for _, t := range fl.tables {
		if tc := c.tableStats[tableRef{fl.database, baseTable(t)}]; tc != nil {
			count(tc)
		}
	}
}

// startLocked registers a joinable fill for req and returns the leader's
// handle. Registering it in the table index is what lets Invalidate find it.
func (c *Cache) startLocked(req *Request, rule *compiledRule, rs *ruleset, now time.Time, refresh bool) *Fill {
	fl := &Flight{
		key:       req.Key,
		database:  req.Database,
		tables:    dependencies(req),
		ranges:    slices.Clip(slices.Clone(req.Ranges)),
		rule:      rule,
		fetchedAt: now,
		done:      make(chan struct{}),
	}
	c.fills[fl.key] = fl
	fl.registered = true
	for _, t := range fl.tables {
		idx := c.indexLocked(tableRef{fl.database, t})
		if idx.fills == nil {
			idx.fills = make(map[*Flight]struct{})
		}
		idx.fills[fl] = struct{}{}
	}
	c.active.Add(1)
	return &Fill{c: c, flight: fl, limit: rs.maxEntryBytes, refresh: refresh}
}
