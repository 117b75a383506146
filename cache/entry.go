package cache

import (
	"slices"
	"time"
)

// TableID identifies a table (or view, or materialised view) a result reads
// or a write modifies, within one database. The cache treats it as an opaque
// string and only compares it for equality; the database is always carried
// beside it. The proxy must spell a table the same way on reads, writes and in
// [Rule.Tables]: the query package's schema-qualified, search_path-resolved
// form such as `public.orders` or `sales."Order Lines"`.
type TableID string

// Accounting overhead, in bytes, charged to every entry on top of its
// buffers, so that [Config.MaxBytes] bounds the heap and not only the payload.
// Measured with runtime.MemStats (Go 1.26, amd64): an entry without tables
// costs about 450 heap bytes in a cache that never evicted and up to about
// 700 in one churned far past its bound, because Go maps keep the capacity of
// their peak and their deleted slots; each table it reads adds about 110, up
// to about 170 under churn, plus the identifier's bytes. The figures below
// round those up. The heap test in bounds_test.go keeps them honest.
const (
	entryOverhead = 800
	tableOverhead = 200
)

// Entry is one cached result. Its bytes are exactly what the upstream sent
// and never change after the entry is built; callers must not modify the
// slices it returns. An Entry is immutable and safe for concurrent use, and
// remains valid after it has been evicted or invalidated (a replay in progress
// finishes with the bytes it started with).
//
// The layout of the two byte segments belongs to the proxy: by convention
// [Entry.Result] holds the messages replayed for Execute or Query
// (RowDescription in the simple protocol, DataRows, CommandComplete) and
// [Entry.Describe] the messages needed to answer Describe (ParameterDescription
// and RowDescription), both as complete wire messages with their headers.
type Entry struct {
	key       Key
	database  string
	tables    []TableID
	ranges    []RowRange
	rule      string
	result    []byte
	describe  []byte
	fetchedAt time.Time
	size      int64
}

// Key returns the key the entry is stored under.
func (e *Entry) Key() Key { return e.key }

// Database returns the database the result was read from.
func (e *Entry) Database() string { return e.database }

// Tables returns the tables the result depends on, sorted and without
// duplicates. The slice must not be modified.
func (e *Entry) Tables() []TableID {
	out := make([]TableID, 0, len(e.tables))
	for _, t := range e.tables {
		out = append(out, baseTable(t))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Rule returns the name of the rule that decided the entry's lifetime when it
// was filled ("default", "hint", or a [Rule.Name]).
func (e *Entry) Rule() string { return e.rule }

// Result returns the bytes to replay for the result. It must not be modified.
func (e *Entry) Result() []byte { return e.result }

// Describe returns the bytes to replay for a Describe, or nil if the proxy
// stored none. It must not be modified.
func (e *Entry) Describe() []byte { return e.describe }

// FetchedAt returns when the leader's lookup missed, which is no later than
// the moment the upstream took the snapshot the result reflects. An entry's
// age, compared with its TTL, counts from here, so a slow query does not make
// its result look fresher than it is.
func (e *Entry) FetchedAt() time.Time { return e.fetchedAt }

// Size returns the bytes the entry is charged against [Config.MaxBytes]: its
// buffers' capacity plus the fixed bookkeeping overhead.
func (e *Entry) Size() int64 { return e.size }

// entrySize is the accounted size of an entry with the given buffer capacity.
func entrySize(bufCap int, database string, tables []TableID) int64 {
	n := int64(entryOverhead + bufCap + len(database))
	for _, t := range tables {
		n += int64(tableOverhead + len(t))
	}
	return n
}
