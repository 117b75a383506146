// Package query says what a SQL query string does, for the proxy's
// decisions: which statements it holds and of what kind, whether they only
// read, which relations they read and write, which functions they call,
// how they control the transaction and change session state, and whether
// their result may be cached.
//
// # How the proxy uses it
//
// Per statement string (a Query message, or a Parse message's text) the
// proxy calls [Classifier.Classify], which returns the shared [Info], the
// comment-free text for cache keys and the pgwarp hints. Then, as needed:
// [Eligibility] for a candidate read, [Catalog.ReadDependencies] when it
// stores a result, [Catalog.Invalidations] for a write (at completion in
// autocommit, at COMMIT in a transaction), and the [Statement.Effects] for
// the transaction pooler. Where a statement has key predicates
// ([Info.Keyed]) the row-keyed forms narrow both sides with the values of
// one execution ([Values]: the string's [Result.Literals] and the Bind's
// parameters): [Catalog.ReadKeys] keys a read's dependency on a table to
// one column value, [Catalog.InvalidationsWith] narrows a write to the
// values its rows have, and [Catalog.MaxRowsWritten] bounds the rows a
// write can touch so that the policy need not wrap it. Per database, at
// connect and after any
// [KindDDL] statement commits, it calls [LoadCatalog] and swaps the new
// [Catalog] in. Per session it keeps a [SearchPath] from
// [ParseSearchPath] and checks [LexerCompatible] whenever
// standard_conforming_strings or client_encoding change.
//
// # How it is fast
//
// Classification uses PostgreSQL's own parser (pg_query, cgo, tens of
// microseconds), memoised so that the hot path rarely reaches it. A
// hand-written lexer that mirrors PostgreSQL's scanner strips comments,
// reads hint comments, and keys a bounded LRU by the literal-normalised
// token stream, so statements that differ only in literal values share one
// parse; a hit costs a few hundred nanoseconds and no allocation. What a
// parse derives from a literal's value is made part of the key
// (time-relative strings such as 'now' are a class of their own) or keys
// the entry by exact text (SET values, set_config, parse errors).
//
// # What it is not for
//
// The package does no I/O: the caller runs [CatalogQuery] through a
// [Querier]. It does not execute, rewrite or forward statements, keep
// per-session state, or decide policy (limits, TTLs, which sessions to
// pin, what to do when a function may write); it reports facts and leaves
// those decisions to the proxy, pool and cache packages.
//
// # Limitations
//
//   - pg_query embeds the PostgreSQL 17 grammar. Syntax newer than the
//     upstream server is classified as PostgreSQL 17 reads it (the server
//     rejects it anyway); where the scanners differ (a number followed by
//     letters, a comment inside a string continuation) pgwarp sees a parse
//     error, which is never cached and never called read-only.
//   - Classification assumes standard_conforming_strings = on and an
//     ASCII-safe client encoding; see [LexerCompatible].
//   - Function bodies are not analysed: a function declared IMMUTABLE
//     that reads tables (which PostgreSQL forbids but does not check) is
//     cached until its TTL, and a function that writes is only known to
//     be unsafe by pg_proc's parallel marking ([WriteSet.MayWrite]).
//   - Operators and casts are resolved without argument types. Operators
//     in pg_catalog count as immutable, user-defined ones by the most
//     volatile of their name and arity; casts count as immutable (their
//     results depend on settings that belong to the cache key) except
//     that string literals are checked for time-relative values.
//   - Overloaded functions count as the most volatile overload of that
//     name and argument count, so date_trunc, extract and to_char, which
//     have stable timestamptz variants, make a statement volatile.
//   - Any string literal containing the word now, today, tomorrow or
//     yesterday makes its statement volatile, even 'snowfall today' used
//     as plain text.
//   - The session's own temporary relations are not in the catalog;
//     [Env.HasTemp] makes the session's unqualified reads uncacheable.
package query
