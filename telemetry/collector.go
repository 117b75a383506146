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
	// ConnectErrors counts failed upstream connection attempts since the
	// pool was created; it only grows.
	ConnectErrors uint64
}

// PoolStatsFunc reports every pool. It runs at scrape time and must be safe
// for concurrent use.
type PoolStatsFunc func() []PoolStats

// CacheStats is the read cache's state at scrape time. The counters only
// grow.
type CacheStats struct {
	// Entries and Bytes are the cache's current size; MaxBytes its bound.
	Entries, Bytes, MaxBytes int64
	// Hits and Misses count lookups; Evictions count entries dropped to
	// make room or because they expired; Invalidations count entries
	// dropped because a write touched a table they read.
	Hits, Misses, Evictions, Invalidations uint64
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
}

func newPoolCollector(f PoolStatsFunc) *poolCollector {
	return &poolCollector{
		stats:         f,
		clients:       desc("pool_clients", "Client sessions per pool, by state (active, waiting, idle).", "database", "user", "state"),
		backends:      desc("pool_backends", "Backend connections per pool, by state (active, idle).", "database", "user", "state"),
		backendsMax:   desc("pool_backends_max", "The pool's max_size.", "database", "user"),
		pinned:        desc("pool_pinned_sessions", "Sessions pinned to their backend.", "database", "user"),
		connectErrors: desc("upstream_connect_errors_total", "Failed connection attempts to the upstream server.", "database", "user"),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.clients
	ch <- c.backends
	ch <- c.backendsMax
	ch <- c.pinned
	ch <- c.connectErrors
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
	}
}

// cacheCollector turns [CacheStats] into gauges and counters at scrape time.
type cacheCollector struct {
	stats                                  CacheStatsFunc
	entries, bytes, maxBytes, hitRatio     *prometheus.Desc
	hits, misses, evictions, invalidations *prometheus.Desc
}

func newCacheCollector(f CacheStatsFunc) *cacheCollector {
	return &cacheCollector{
		stats:         f,
		entries:       desc("cache_entries", "Entries in the read cache."),
		bytes:         desc("cache_bytes", "Bytes held by the read cache."),
		maxBytes:      desc("cache_max_bytes", "The read cache's byte bound (cache.max_bytes)."),
		hitRatio:      desc("cache_hit_ratio", "Hits over lookups since start; for a recent ratio use rate() of the hit and miss counters."),
		hits:          desc("cache_hits_total", "Cache lookups that found a usable entry."),
		misses:        desc("cache_misses_total", "Cache lookups that found no usable entry."),
		evictions:     desc("cache_evictions_total", "Entries dropped for room or expiry."),
		invalidations: desc("cache_invalidations_total", "Entries dropped because a write touched a table they read."),
	}
}

func (c *cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.entries, c.bytes, c.maxBytes, c.hitRatio, c.hits, c.misses, c.evictions, c.invalidations} {
		ch <- d
	}
}

func (c *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ratio := 0.0
	if n := s.Hits + s.Misses; n > 0 {
		ratio = float64(s.Hits) / float64(n)
	}
	ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(s.Entries))
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(s.Bytes))
	ch <- prometheus.MustNewConstMetric(c.maxBytes, prometheus.GaugeValue, float64(s.MaxBytes))
	ch <- prometheus.MustNewConstMetric(c.hitRatio, prometheus.GaugeValue, ratio)
	ch <- prometheus.MustNewConstMetric(c.hits, prometheus.CounterValue, float64(s.Hits))
	ch <- prometheus.MustNewConstMetric(c.misses, prometheus.CounterValue, float64(s.Misses))
	ch <- prometheus.MustNewConstMetric(c.evictions, prometheus.CounterValue, float64(s.Evictions))
	ch <- prometheus.MustNewConstMetric(c.invalidations, prometheus.CounterValue, float64(s.Invalidations))
}
