package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"
)

// PoolStats is one pool's occupancy at scrape time. The proxy builds it from
// the pool package's own statistics, so that pool need not import telemetry.
type PoolStats struct {
	// Database and User identify the pool.
	Database, User string
	// ClientsActive are client sessions holding a backend lease,
	// ClientsWaiting are waiting for one, ClientsIdle hold none.
	ClientsActive, ClientsWaiting, ClientsIdle int
	// BackendsActive are leased, BackendsIdle wait in the pool, and
	// BackendsMax is the pool's max_size.
	BackendsActive, BackendsIdle, BackendsMax int
	// Pinned are sessions pinned to their backend (LISTEN, temp tables,
	// session advisory locks, WITH HOLD cursors, untracked SET).
	Pinned int
	// ConnectErrors counts failed upstream connection attempts and
	// AcquireTimeouts the waits for a backend that timed out, both since
	// the pool was created; they only grow.
	ConnectErrors, AcquireTimeouts int64
}

// PoolStatsFunc reports every pool. It runs at scrape time and must be safe
// for concurrent use.
type PoolStatsFunc func() []PoolStats

// CacheStats is the read cache's state at scrape time. The counters only
// grow; each lookup counts in exactly one of Hits, StaleHits, Misses,
// Coalesced and Bypassed.
type CacheStats struct {
	// Entries and Bytes are the cache's current size; MaxBytes its bound.
	Entries, Bytes, MaxBytes int64
	// Hits were served a fresh entry, StaleHits an entry inside its
	// stale-while-revalidate window, Misses ran upstream to fill the
	// cache, Coalesced waited for another lookup's fill, and Bypassed were
	// sent upstream uncached by a rule, a hint or the configuration.
	Hits, StaleHits, Misses, Coalesced, Bypassed int64
	// Evictions count entries dropped to stay under MaxBytes;
	// Invalidations count entries dropped because a write touched a table
	// they read.
	Evictions, Invalidations int64
	// Outcomes counts statements by cache outcome, in Hyperdrive's
	// vocabulary where it fits: hit, miss, and why the others were not
	// cached (uncacheable, volatile, transaction, …), as SHOW CACHE
	// OUTCOMES lists them.
	Outcomes map[string]int64
}

// CacheStatsFunc reports the cache's state. It runs at scrape time and must
// be safe for concurrent use.
type CacheStatsFunc func() CacheStats

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(metricNamespace, "", name), help, labels, nil)
}

// poolCollector turns [PoolStats] into gauges and a counter at scrape time.
type poolCollector struct {
	stats         PoolStatsFunc
	clients       *prometheus.Desc
	backends      *prometheus.Desc
	backendsMax   *prometheus.Desc
	pinned        *prometheus.Desc
	connectErrors *prometheus.Desc
	timeouts      *prometheus.Desc
}

func newPoolCollector(f PoolStatsFunc) *poolCollector {
	return &poolCollector{
		stats:         f,
		clients:       desc("pool_clients", "Client sessions per pool, by state (active, waiting, idle).", "database", "user", "state"),
		backends:      desc("pool_backends", "Backend connections per pool, by state (active, idle).", "database", "user", "state"),
		backendsMax:   desc("pool_backends_max", "The pool's max_size.", "database", "user"),
		pinned:        desc("pool_pinned_sessions", "Sessions pinned to their backend.", "database", "user"),
		connectErrors: desc("upstream_connect_errors_total", "Failed connection attempts to the upstream server.", "database", "user"),
		timeouts:      desc("pool_acquire_timeouts_total", "Waits for a backend that hit acquire_timeout.", "database", "user"),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.clients
	ch <- c.backends
	ch <- c.backendsMax
	ch <- c.pinned
	ch <- c.connectErrors
	ch <- c.timeouts
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	seen := make(map[poolKey]bool)
	for _, s := range c.stats() {
		k := poolKey{s.Database, s.User}
		if seen[k] || len(seen) >= maxPools {
			// A duplicate would make the whole scrape fail; past the
			// bound, the series are dropped rather than merged.
			continue
		}
		seen[k] = true
		g := func(d *prometheus.Desc, v int, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), append([]string{s.Database, s.User}, labels...)...)
		}
		g(c.clients, s.ClientsActive, "active")
		g(c.clients, s.ClientsWaiting, "waiting")
		g(c.clients, s.ClientsIdle, "idle")
		g(c.backends, s.BackendsActive, "active")
		g(c.backends, s.BackendsIdle, "idle")
		g(c.backendsMax, s.BackendsMax)
		g(c.pinned, s.Pinned)
		ch <- prometheus.MustNewConstMetric(c.connectErrors, prometheus.CounterValue, float64(s.ConnectErrors), s.Database, s.User)
		ch <- prometheus.MustNewConstMetric(c.timeouts, prometheus.CounterValue, float64(s.AcquireTimeouts), s.Database, s.User)
	}
}

// cacheCollector turns [CacheStats] into gauges and counters at scrape time.
type cacheCollector struct {
	stats                              CacheStatsFunc
	entries, bytes, maxBytes, hitRatio *prometheus.Desc
	lookups, evictions, invalidations  *prometheus.Desc
	outcomes                           *prometheus.Desc
}

func newCacheCollector(f CacheStatsFunc) *cacheCollector {
	return &cacheCollector{
		stats:         f,
		entries:       desc("cache_entries", "Entries in the read cache."),
		bytes:         desc("cache_bytes", "Bytes held by the read cache."),
		maxBytes:      desc("cache_max_bytes", "The read cache's byte bound (cache.max_bytes)."),
		hitRatio:      desc("cache_hit_ratio", "Lookups served from the cache (fresh or stale) over lookups that could be (all but bypassed), since start; for a recent ratio use rate() of pgwarp_cache_lookups_total."),
		lookups:       desc("cache_lookups_total", "Cache lookups by result (hit, stale, miss, coalesced, bypass).", "result"),
		evictions:     desc("cache_evictions_total", "Entries dropped to stay under cache.max_bytes."),
		invalidations: desc("cache_invalidations_total", "Entries dropped because a write touched a table they read."),
		outcomes:      desc("cache_outcomes_total", "Statements by cache outcome since start: hit, miss, and why the others were not cached (as SHOW CACHE OUTCOMES lists them).", "outcome"),
	}
}

func (c *cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.entries, c.bytes, c.maxBytes, c.hitRatio, c.lookups, c.evictions, c.invalidations, c.outcomes} {
		ch <- d
	}
}

func (c *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ratio := 0.0
	served := s.Hits + s.StaleHits
	if n := served + s.Misses + s.Coalesced; n > 0 {
		ratio = float64(served) / float64(n)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(c.entries, float64(s.Entries))
	gauge(c.bytes, float64(s.Bytes))
	gauge(c.maxBytes, float64(s.MaxBytes))
	gauge(c.hitRatio, ratio)
	counter(c.lookups, s.Hits, CacheHit.String())
	counter(c.lookups, s.StaleHits, CacheStale.String())
	counter(c.lookups, s.Misses, CacheMiss.String())
	counter(c.lookups, s.Coalesced, CacheCoalesced.String())
	counter(c.lookups, s.Bypassed, CacheBypass.String())
	counter(c.evictions, s.Evictions)
	counter(c.invalidations, s.Invalidations)
	for outcome, n := range s.Outcomes {
		counter(c.outcomes, n, outcome)
	}
}
