// Package query says what a SQL query string does, for the proxy's
// decisions: which statements it holds and of what kind, whether they only
// read, which relations they read and write, which functions they call,
// how they control the transaction and change session state, and whether
// their result may be cached.
//
// Classification uses PostgreSQL's own parser (pg_query, cgo), memoised so
// that the hot path rarely reaches it: a [Classifier] lexes each string
// with a hand-written lexer that mirrors PostgreSQL's scanner, strips
// comments, reads pgwarp hint comments, and keys an LRU by the
// literal-normalised token stream. All statements that differ only in
// literal values share one parse.
//
// What depends on the database comes from a [Catalog] built from the rows
// of [CatalogQuery]: function volatility from pg_proc, relation kinds, view
// dependencies, inheritance and partitions, cascading foreign keys, user
// triggers and rules, row-level security. With it, [Eligibility] decides
// cacheability, [Catalog.ReadDependencies] says which relations a cached
// result depends on, and [Catalog.Invalidations] which cached results a
// write invalidates.
//
// Per statement the proxy calls [Classifier.Classify], then [Eligibility]
// for a candidate read and [Catalog.Invalidations] for a write; per catalog
// refresh (at connect and after DDL) it calls [LoadCatalog].
//
// The package does no I/O: the caller runs the catalog query through a
// [Querier]. It does not execute, rewrite or forward statements, keep
// per-session state, or decide policy (limits, TTLs, which sessions to
// pin); it reports facts and leaves those decisions to the proxy, pool and
// cache packages.
package query
