package policy

import (
	"cmp"
	"slices"
	"sync"
)

// MaxStatsSeries is the number of distinct (database, user) pairs the
// violation counters keep apart. Violations of further pairs are counted
// under the pair ([OtherSeries], [OtherSeries]), so that a flood of users
// cannot grow memory or the metrics' label cardinality without bound.
const MaxStatsSeries = 100

// OtherSeries is the database and user name of the series that collects
// the pairs beyond [MaxStatsSeries]. A real pair named ("other", "other")
// shares it.
const OtherSeries = "other"

// Stats is a snapshot of the violation counters, for SHOW STATS and the
// metrics exporter. It is a copy: the caller owns it.
type Stats struct {
	// Series holds one entry per (database, user, limit, mode) with a
	// non-zero count, sorted by database, user, limit and mode.
	Series []Series
	// Total is the sum of all counts.
	Total uint64
}

// Series is the number of violations of one limit in one mode by one
// (database, user) pair since the Engine was created.
type Series struct {
	Database string
	User     string
	Limit    Limit
	Mode     Mode
	Count    uint64
}

// counts are the violations of one (database, user) pair. ModeOff never
// violates, so its column stays zero.
type counts [numLimits][numModes]uint64

// counters is the violation tally of an Engine. Violations are rare
// compared with statements, so a mutex is cheaper than it looks and keeps
// snapshots consistent.
type counters struct {
	mu     sync.Mutex
	byPair map[pairKey]*counts
}

// add counts one violation of l in mode m by database and user.
func (c *counters) add(database, user string, l Limit, m Mode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byPair == nil {
		c.byPair = make(map[pairKey]*counts)
	}
	k := pairKey{database, user}
	n := c.byPair[k]
	if n == nil {
		other := pairKey{OtherSeries, OtherSeries}
		distinct := len(c.byPair)
		if _, ok := c.byPair[other]; ok {
			distinct--
		}
		if distinct >= MaxStatsSeries {
			k = other
			n = c.byPair[k]
		}
		if n == nil {
			n = new(counts)
			c.byPair[k] = n
		}
	}
	n[l][m]++
}

// Stats returns a snapshot of the violation counters. It is safe to call
// concurrently with everything else.
func (e *Engine) Stats() Stats {
	c := &e.counters
	c.mu.Lock()
	var s Stats
	for k, n := range c.byPair {
		for l := range numLimits {
			for m := range numModes {
				if cnt := n[l][m]; cnt > 0 {
					s.Series = append(s.Series, Series{Database: k.database, User: k.user, Limit: l, Mode: m, Count: cnt})
					s.Total += cnt
				}
			}
		}
	}
	c.mu.Unlock()
	slices.SortFunc(s.Series, func(a, b Series) int {
		return cmp.Or(
			cmp.Compare(a.Database, b.Database),
			cmp.Compare(a.User, b.User),
			cmp.Compare(a.Limit, b.Limit),
			cmp.Compare(a.Mode, b.Mode),
		)
	})
	return s
}
