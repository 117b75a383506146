package telemetry

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricNamespace prefixes every pgwarp series.
const metricNamespace = "pgwarp"

// Label cardinality guards. Label values come from configuration (database,
// user, policy limit names, documented relations), but a bug upstream must
// not turn into an unbounded number of series: past these many distinct
// values, new ones are reported under [OverflowLabel].
const (
	maxPools         = 512
	maxPolicyLabels  = 64
	maxOrphanLabels  = 256
	maxSQLStateClass = 64
)

// OverflowLabel is the label value that replaces values beyond a label's
// cardinality bound.
const OverflowLabel = "other"

// Histogram buckets, in seconds. Query latency spans a cache hit (tens of
// microseconds) to a long report (the default statement_timeout is 900s);
// pool waits are usually near zero and bounded by acquire_timeout.
var (
	queryBuckets    = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	poolWaitBuckets = []float64{0.00001, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10}
)

// MetricsOptions are the sources of the metrics that other packages own.
// Each callback runs at scrape time, possibly concurrently with itself, and
// must be safe for concurrent use and fast (no I/O). A nil callback omits
// its series.
type MetricsOptions struct {
	// Version is reported by pgwarp_build_info. Zero: "dev".
	Version string
	// Pools reports every pool's occupancy.
	Pools PoolStatsFunc
	// Cache reports the read cache's size and counters.
	Cache CacheStatsFunc
}

// Metrics holds pgwarp's Prometheus collectors in a registry of its own
// (plus the Go runtime and process collectors). It is safe for concurrent
// use.
type Metrics struct {
	reg *prometheus.Registry

	queries    *prometheus.CounterVec
	queryTime  *prometheus.HistogramVec
	queryErrs  *prometheus.CounterVec
	poolWait   *prometheus.HistogramVec
	violations *prometheus.CounterVec
	orphans    *prometheus.GaugeVec

	mu           sync.Mutex
	pools        map[poolKey]*PoolMetrics
	policyLabels labelSet
	orphanLabels labelSet
}

type poolKey struct{ database, user string }

// NewMetrics creates the collectors and registers them.
func NewMetrics(opts MetricsOptions) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricNamespace, Name: "queries_total",
			Help: "Queries answered, by pool and by how the cache served them.",
		}, []string{"database", "user", "cache_status"}),
		queryTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricNamespace, Name: "query_duration_seconds",
			Help:    "Time from a query's arrival to its last result byte, by pool and cache status.",
			Buckets: queryBuckets,
		}, []string{"database", "user", "cache_status"}),
		queryErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricNamespace, Name: "query_errors_total",
			Help: "Queries that ended in an error, by pool and SQLSTATE class (first two characters).",
		}, []string{"database", "user", "sqlstate_class"}),
		poolWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricNamespace, Name: "pool_wait_duration_seconds",
			Help:    "Time a query waited for a backend lease.",
			Buckets: poolWaitBuckets,
		}, []string{"database", "user"}),
		violations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricNamespace, Name: "policy_violations_total",
			Help: "Policy limits crossed, by limit and policy mode (enforce or warn).",
		}, []string{"limit", "mode"}),
		orphans: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: metricNamespace, Name: "orphans",
			Help: "Orphaned rows found by the last orphan scan, by relation.",
		}, []string{"relation"}),
		pools:        make(map[poolKey]*PoolMetrics),
		policyLabels: newLabelSet(maxPolicyLabels),
		orphanLabels: newLabelSet(maxOrphanLabels),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: metricNamespace, Name: "build_info",
		Help: "Always 1; the version label is the running binary's.",
	}, []string{"version"})
	buildInfo.WithLabelValues(versionOrDev(opts.Version)).Set(1)

	m.reg.MustRegister(m.queries, m.queryTime, m.queryErrs, m.poolWait, m.violations, m.orphans, buildInfo,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if opts.Pools != nil {
		m.reg.MustRegister(newPoolCollector(opts.Pools))
	}
	if opts.Cache != nil {
		m.reg.MustRegister(newCacheCollector(opts.Cache))
	}
	return m
}

// Handler serves the registry in the Prometheus text format (or OpenMetrics
// when the scraper asks for it).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		ErrorHandling:     promhttp.ContinueOnError,
	})
}

// Gatherer exposes the registry, e.g. to tests or to push it elsewhere.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Pool returns the per-query instruments of the (database, user) pool. A
// session calls it once after startup and keeps the result; repeated calls
// return the same value. Past 512 distinct pools, new ones share the
// ("other", "other") series.
func (m *Metrics) Pool(database, user string) *PoolMetrics {
	k := poolKey{database, user}
	m.mu.Lock()
	defer m.mu.Unlock()
	if p, ok := m.pools[k]; ok {
		return p
	}
	if len(m.pools) >= maxPools {
		k = poolKey{OverflowLabel, OverflowLabel}
		if p, ok := m.pools[k]; ok {
			return p
		}
	}
	p := &PoolMetrics{
		m:        m,
		database: k.database,
		user:     k.user,
		poolWait: m.poolWait.WithLabelValues(k.database, k.user),
		classes:  newLabelSet(maxSQLStateClass),
	}
	for s := range CacheStatus(numCacheStatus) {
		p.queries[s] = m.queries.WithLabelValues(k.database, k.user, s.String())
		p.queryTime[s] = m.queryTime.WithLabelValues(k.database, k.user, s.String())
	}
	m.pools[k] = p
	return p
}

// PolicyViolation counts one policy verdict.
func (m *Metrics) PolicyViolation(v PolicyVerdict) {
	m.mu.Lock()
	limit, mode := m.policyLabels.bound(v.Limit), m.policyLabels.bound(v.Mode)
	m.mu.Unlock()
	m.violations.WithLabelValues(limit, mode).Inc()
}

// SetOrphans records the number of orphaned rows the orphan scanner found
// in relation.
func (m *Metrics) SetOrphans(relation string, n int64) {
	m.mu.Lock()
	relation = m.orphanLabels.bound(relation)
	m.mu.Unlock()
	m.orphans.WithLabelValues(relation).Set(float64(n))
}

// PoolMetrics are the per-query instruments of one (database, user) pool,
// resolved once so that a query costs a few atomic adds. It is safe for
// concurrent use.
type PoolMetrics struct {
	m              *Metrics
	database, user string
	queries        [numCacheStatus]prometheus.Counter
	queryTime      [numCacheStatus]prometheus.Observer
	poolWait       prometheus.Observer

	mu      sync.Mutex
	classes labelSet
}

// ObserveQuery counts one answered query and its duration, from arrival to
// the last result byte.
func (p *PoolMetrics) ObserveQuery(status CacheStatus, d time.Duration) {
	if status >= numCacheStatus {
		status = CacheBypass
	}
	p.queries[status].Inc()
	p.queryTime[status].Observe(d.Seconds())
}

// ObservePoolWait records how long a query waited for a backend lease.
func (p *PoolMetrics) ObservePoolWait(d time.Duration) {
	p.poolWait.Observe(d.Seconds())
}

// QueryError counts a query that ended in error with the given SQLSTATE.
func (p *PoolMetrics) QueryError(sqlstate string) {
	class := OverflowLabel
	if len(sqlstate) == 5 && isSQLStateChar(sqlstate[0]) && isSQLStateChar(sqlstate[1]) {
		class = sqlstate[:2]
	}
	p.mu.Lock()
	class = p.classes.bound(class)
	p.mu.Unlock()
	p.m.queryErrs.WithLabelValues(p.database, p.user, class).Inc()
}

func isSQLStateChar(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' }

// labelSet admits at most max distinct label values; later ones become
// [OverflowLabel]. The caller serialises access.
type labelSet struct {
	seen map[string]struct{}
	max  int
}

func newLabelSet(max int) labelSet {
	return labelSet{seen: make(map[string]struct{}), max: max}
}

func (s *labelSet) bound(v string) string {
	if _, ok := s.seen[v]; ok {
		return v
	}
	if len(s.seen) >= s.max {
		return OverflowLabel
	}
	s.seen[v] = struct{}{}
	return v
}
