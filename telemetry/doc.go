// Package telemetry is pgwarp's observability toolkit: OpenTelemetry tracing
// exported over OTLP (to Jaeger or any collector), Prometheus metrics, the
// admin HTTP listener that serves them, and log/slog setup.
//
// It offers instruments and helpers; the proxy wires them. The pool, cache
// and policy packages never import telemetry: the proxy (or cmd/pgwarp)
// converts their statistics into the small value types defined here
// ([PoolStats], [CacheStats], [Readiness]) inside callbacks, and reports
// events on their behalf.
//
// # Tracing
//
// [NewTracing] builds a [Tracing] from [Config], with the standard
// OpenTelemetry environment variables taking precedence over YAML. The proxy
// starts one [SessionSpan] per client connection ([Tracing.StartSession]) and
// one [QuerySpan] per simple Query or extended-protocol Execute
// ([SessionSpan.StartQuery]). A query span joins the application's trace when
// the statement carries a sqlcommenter traceparent comment
// ([ParseSQLComment]); otherwise it starts its own trace and links to the
// session span, so that a long-lived pooled connection does not grow one
// unbounded trace.
//
// The sampling decision is taken before any span is created, with the same
// sampler the SDK uses, so a disabled tracer or an unsampled query costs no
// allocation: the zero [QuerySpan] and [SessionSpan] are valid no-ops.
//
// # Metrics: Prometheus collectors, not OpenTelemetry instruments
//
// [Metrics] is built directly on github.com/prometheus/client_golang rather
// than on OpenTelemetry instruments exported through the OTel Prometheus
// bridge, because:
//
//   - Prometheus exposition on /metrics is the one required output; nothing
//     pushes metrics over OTLP, so the OTel metric pipeline would be a
//     translation layer with nothing on its other side.
//   - The names and labels are exactly what ops write in PromQL and alerts
//     (pgwarp_queries_total{cache_status="hit"}), with no unit-suffix or
//     otel_scope_* label translation between the code and the dashboard.
//   - The hot path is cheaper: a session resolves its [PoolMetrics] once, and
//     each query is then an atomic add on a pre-resolved counter and
//     histogram, with no attribute-set hashing.
//   - Gauges that belong to other packages (pool occupancy, cache size) are
//     read at scrape time through a custom collector that calls
//     [PoolStatsFunc] and [CacheStatsFunc], so no goroutine polls them.
//
// # What this package is not for
//
// It does not decide anything about queries (that is query, cache and
// policy), it does not send anything to clients, and it never records
// statement parameter values or passwords: statements reach spans only in the
// normalised form the proxy passes, and only when record_statements is on.
package telemetry
