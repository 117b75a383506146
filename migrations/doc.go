// Package migrations holds pgwarp's bundled schema and the migration runner
// behind `pgwarp migrate`.
//
// The schema is a series of dbmate-format files (YYYYMMDDHHMMSS_name.sql with
// "-- migrate:up" and "-- migrate:down" sections) embedded in the binary; see
// [Bundled]. The [Runner] applies them, or a team's own directory of such
// files, to a database and records them in dbmate's table
// (schema_migrations(version varchar primary key), in the first schema of the
// search path), so that a database migrated by dbmate and one migrated by
// pgwarp are interchangeable. Beyond dbmate, the runner serialises runners
// with a session advisory lock, applies each migration in its own short
// transaction with lock_timeout set, keeps a checksum of every file it
// applied in a table beside schema_migrations so that [Runner.Verify] can
// report a migration edited after it was applied, and lints pending
// migrations before applying them (package lint).
//
// The package is for schema changes and their bookkeeping, run over a
// direct connection to the upstream server. It is not for application
// queries and never shares the proxy's pool. The documented relations that
// orphan detection reads live in the schema's column comments (package
// relations); the demo dataset is in package demo.
package migrations
