// Package orphans finds rows whose documented relations point at nothing:
// the check that replaces foreign keys in a schema that documents its
// relations instead of enforcing them (ADR-004; see package relations).
//
// [Scan] reads the documented relations and, for each, walks the
// referencing table in keyset-paginated chunks of its primary key (or of a
// unique index on NOT NULL columns), counting the rows of each chunk whose
// value has no match in the referenced column and keeping a sample of those
// values. Each chunk is one short statement that reads at most
// [Options.ChunkSize] rows of the referencing table and returns one row, so
// the scan is safe on a production database: no long transaction, no query
// near the proxy's 100k-rows-per-query limit, and a bounded time per
// statement. The chunks are not one snapshot: a row and its target written
// between two chunks can be reported as an orphan once; run the scan again
// before acting on a small count.
//
// The package reports; it never deletes or repairs. It is used by `pgwarp
// orphans` and, periodically, by `pgwarp serve`.
package orphans
