package telemetry

// CacheStatus is how the read cache served a query. It is a span attribute
// (pgwarp.cache.status), a metric label (cache_status) and a log field, so
// its values are a closed set.
type CacheStatus uint8

const (
	// CacheBypass means the cache was not consulted: the statement is not
	// cacheable (not proven read-only and deterministic, inside a
	// transaction block…) or the cache is off for it.
	CacheBypass CacheStatus = iota
	// CacheHit means the result was replayed from a fresh cache entry.
	CacheHit
	// CacheMiss means the cache was consulted and had no usable entry; the
	// query ran upstream (and may have filled the cache).
	CacheMiss
	// CacheStale means a stale entry was replayed while it was being
	// revalidated (stale-while-revalidate).
	CacheStale
	// CacheCoalesced means the query waited for an identical in-flight
	// query and replayed its result.
	CacheCoalesced

	numCacheStatus = iota
)

var cacheStatusNames = [numCacheStatus]string{"bypass", "hit", "miss", "stale", "coalesced"}

// String returns the label value: bypass, hit, miss, stale or coalesced.
func (s CacheStatus) String() string {
	if int(s) < len(cacheStatusNames) {
		return cacheStatusNames[s]
	}
	return "unknown"
}

// PolicyVerdict describes one policy limit a query crossed. The proxy builds
// it from the policy package's decision and reports it with
// [QuerySpan.AddPolicyVerdict] and [Metrics.PolicyViolation].
type PolicyVerdict struct {
	// Limit names the limit, e.g. "max_rows_per_query" or
	// "statement_timeout". It becomes a metric label, so it must come from
	// a fixed set (the policy package's limit names), never from a query.
	Limit string
	// Mode is the policy mode that applied: "enforce" or "warn".
	Mode string
	// Action is what pgwarp did, e.g. "rejected", "cancelled" or
	// "warned". Zero: omitted.
	Action string
	// Observed is the value that crossed the limit (rows, bytes,
	// milliseconds) and Max the limit itself. Zero: omitted.
	Observed, Max int64
}
