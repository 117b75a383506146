// Package lint checks migrations for changes that are dangerous on a live
// database or that break the schema's conventions, before they are applied.
//
// Every finding names the file and line. One rule is an error, because the
// schema forbids what it finds: a FOREIGN KEY or REFERENCES constraint
// (ADR-004: relations are documented in column comments, not enforced). A
// CONCURRENTLY operation inside a transaction and an unterminated quote are
// errors too, because they can only fail. The other rules are warnings about
// operations that lock or rewrite a table that may already hold data: CREATE
// INDEX without CONCURRENTLY, a column type change that rewrites the table,
// ADD COLUMN … NOT NULL without a default, a transaction:false section with
// several statements (dbmate sends it as one implicit transaction), and
// directive options dbmate would silently ignore. [Rules] lists them all.
//
// The linter reads token sequences (package sqlscan), not a full parse
// tree: it knows the statements its rules are about and ignores the rest. It
// follows the tables created and the column types declared by the files it
// is given, in order, so that it can tell a table created by the same
// migration (empty, safe to index or alter) from an existing one. It is not
// a substitute for review, and it does not connect to a database.
package lint
