// Package cache holds pgwarp's read cache: a byte-bounded LRU of immutable
// query results with TTL and stale-while-revalidate, request coalescing, and
// exact invalidation through a table → entries index.
//
// The package is for the data structure and its concurrency semantics only.
// It opens no sockets, decodes no protocol messages and never decides whether
// a statement may be cached: the proxy does that with the query package, then
// hands this package opaque bytes, opaque table identifiers and a [Key] built
// from its session state with a [KeyBuilder].
//
// # Lookup
//
// [Cache.Lookup] resolves the rules for a [Request] (see [Cache.Resolve] for
// the precedence) and answers with a [Result] whose [Status] tells the proxy
// what to do:
//
//   - [StatusHit]: replay [Result.Entry].
//   - [StatusStale]: replay [Result.Entry]; if [Result.Fill] is not nil this
//     caller, and only this one, must refresh the entry in the background.
//   - [StatusMiss]: this caller leads: run the statement upstream, stream the
//     result to the client while copying it into [Result.Fill], then call
//     [Fill.Complete] (or [Fill.Abort] on any failure).
//   - [StatusFollow]: an identical statement is already running upstream:
//     call [Flight.Wait] with the statement's own context, then replay the
//     entry, or run the statement uncached if the leader failed.
//   - [StatusDisabled]: a rule or hint turned caching off: run uncached.
//
// # Invalidation and freshness
//
// A write that passes through the proxy calls [Cache.Invalidate] with the
// tables it wrote before the client sees its CommandComplete. Invalidate
// removes every entry that read one of those tables and marks every fill that
// is still fetching such a result as superseded, so that result is never
// stored and no later request joins it. Writes made outside pgwarp are only
// bounded by the TTL.
//
// Dependencies and writes can be narrower than a table. A [Request] may
// carry [RowKey]s (its result reads only the rows of a table whose column
// equals a value), and [Cache.InvalidateWrites] takes [Write]s (the rows a
// write touched had these values in these columns): a keyed entry survives
// a write of its table exactly when the write constrains the entry's column
// to values that exclude the entry's value. Keys live in the same table
// index as whole-table dependencies, so fills in progress are superseded by
// the same rule, and [Invalidation] messages carry keyed writes to other
// instances (version 2 of the format).
//
// # Memory
//
// Stored entries never exceed [Config.MaxBytes] including per-entry overhead,
// and the buffers of fills still being copied never exceed another
// MaxBytes in total, so the cache holds at most twice MaxBytes plus the
// entries that followers and hit callers are replaying at that moment.
package cache
