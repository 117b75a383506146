// Package policy decides which limits apply to a statement and whether a
// statement has crossed one of them. It reproduces PlanetScale's documented
// limits in front of any PostgreSQL (issue 5): rows returned per query, rows
// written per statement, result size per query, transaction duration and
// autocommit statement duration, each with a `54000`, `25P04` or `57014`
// error whose HINT tells the developer what to do instead.
//
// The package is pure: it performs no I/O, starts no goroutines and owns no
// timers. The proxy asks [Engine.Check] before a statement runs, feeds the
// returned [Decision]'s [Observer] as DataRows and CommandCompletes stream
// by, arms its own timers with the durations in the [Decision], and acts on
// the [Violation]s it gets back: it cancels and drains the upstream
// statement, rolls back, and sends the ErrorResponse. An autocommit write
// under a write limit is wrapped ([Decision.WrapWrite]: the proxy runs it in
// a transaction of its own so that it can be undone) unless the caller
// bounds it within the limit before it runs ([Statement.MaxRowsWritten]).
// docs/policies.md describes that behaviour end to end.
//
// The package is not for classifying SQL (the query package says whether a
// statement writes), for parsing YAML (the configs package builds a
// [Config]), or for exporting metrics (the telemetry package reads
// [Engine.Stats]).
//
// A [Config] is compiled into an immutable rule set that [Engine] holds in an
// atomic pointer, so [Engine.Reload] takes effect on the next statement
// without locking the hot path or dropping connections.
package policy
