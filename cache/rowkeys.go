package cache

import (
	"slices"
	"strconv"
	"strings"

	"github.com/pgwarp/pgwarp/internal/pgdate"
)

// Row keys: dependencies and writes narrowed to rows by the value of a
// column.
//
// A result that reads only the rows of orders whose customer_id is 42
// depends on "orders where customer_id = 42", not on all of orders, and a
// write that touched only rows with customer_id 7 need not drop it. The
// proxy learns both from the query package; the cache keeps such a
// dependency in the same table index as whole-table dependencies, under a
// keyed identifier (table, column and value joined by NUL bytes, which
// PostgreSQL allows in none of them), and keeps per table the columns and
// values that have keyed entries, so that a write can find them.
//
// A keyed entry of (T, C, x) is dropped by a write of T unless the write
// says that every row it touched had (and has) C in a set of values that
// does not contain x. A write that says nothing about C, or a whole-table
// write, drops it.

// RowKey narrows a statement's dependency on Table (which must also be in
// [Request.Tables]) to the rows whose Column equals Value. Value is the
// query package's canonical spelling for the column's type.
type RowKey struct {
	Table  TableID
	Column string
	Value  string
}

// Write is what one statement wrote of a table, for [Cache.InvalidateWrites].
type Write struct {
	Table TableID
	// Columns constrain the rows the write touched: each row had, before
	// and after the write, a value of Column among Values. A column not
	// listed is unconstrained. Nil Columns means the whole table.
	Columns []ColumnValues
}

// ColumnValues is one column constraint of a [Write].
type ColumnValues struct {
	Column string
	Values []string
}

const keySep = "\x00"

// keyedID is the index identifier of a row key.
func keyedID(k RowKey) TableID {
	return TableID(string(k.Table) + keySep + k.Column + keySep + k.Value)
}

// splitKeyed returns the table, column and value of a keyed identifier; ok
// is false for a plain table.
func splitKeyed(id TableID) (table TableID, column, value string, ok bool) {
	t, rest, found := strings.Cut(string(id), keySep)
	if !found {
		return id, "", "", false
	}
	column, value, _ = strings.Cut(rest, keySep)
	return TableID(t), column, value, true
}

// baseTable returns the table of an index identifier, keyed or not.
func baseTable(id TableID) TableID {
	t, _, _ := strings.Cut(string(id), keySep)
	return TableID(t)
}

// dependencies returns the index identifiers of req: its tables, each
// replaced by its row key when it has one; sorted, without duplicates.
func dependencies(req *Request) []TableID {
	deps := make([]TableID, 0, len(req.Tables))
	for _, t := range req.Tables {
		id := t
		for _, k := range req.RowKeys {
			if k.Table == t && !strings.Contains(string(t), keySep) && !strings.Contains(k.Column, keySep) && !strings.Contains(k.Value, keySep) {
				id = keyedID(k)
				break
			}
		}
		deps = append(deps, id)
	}
	slices.Sort(deps)
	return slices.Clip(slices.Compact(deps))
}

// keyedValues is, for one table of one database, the columns and values
// that have keyed index entries.
type keyedValues map[string]map[string]struct{}

// noteKeyedLocked records a keyed index identifier that just got an index
// entry.
func (c *Cache) noteKeyedLocked(ref tableRef) {
	t, col, val, ok := splitKeyed(ref.table)
	if !ok {
		return
	}
	base := tableRef{ref.db, t}
	kv := c.keyed[base]
	if kv == nil {
		kv = keyedValues{}
		c.keyed[base] = kv
	}
	vals := kv[col]
	if vals == nil {
		vals = map[string]struct{}{}
		kv[col] = vals
	}
	vals[val] = struct{}{}
}

// forgetKeyedLocked removes a keyed identifier whose index entry is gone.
func (c *Cache) forgetKeyedLocked(ref tableRef) {
	t, col, val, ok := splitKeyed(ref.table)
	if !ok {
		return
	}
	base := tableRef{ref.db, t}
	kv := c.keyed[base]
	if kv == nil {
		return
	}
	delete(kv[col], val)
	if len(kv[col]) == 0 {
		delete(kv, col)
	}
	if len(kv) == 0 {
		delete(c.keyed, base)
	}
}

// refsOfWriteLocked returns the index identifiers a write of w.Table in
// database drops: the whole-table identifier and the keyed ones w does not
// rule out.
func (c *Cache) refsOfWriteLocked(database string, w Write) []TableID {
	refs := []TableID{w.Table}
	kv := c.keyed[tableRef{database, w.Table}]
	for col, vals := range kv {
		var constraint []string
		constrained := false
		for _, cv := range w.Columns {
			if cv.Column == col {
				constraint, constrained = cv.Values, true
				break
			}
		}
		if !constrained {
			for v := range vals {
				refs = append(refs, keyedID(RowKey{w.Table, col, v}))
			}
			continue
		}
		for _, v := range constraint {
			if _, ok := vals[v]; ok {
				refs = append(refs, keyedID(RowKey{w.Table, col, v}))
			}
		}
	}
	return refs
}

// RowRange bounds a statement's read of Table to the rows whose Column
// lies between Lo and Hi inclusive. Column is a date (Date set; the values
// are days since 1970-01-01, and a [Write]'s values of the column are
// YYYY-MM-DD) or an integer (a Write's values are decimal). An entry with a
// range on (T, C) survives a write of T whose Columns constrain C to values
// that all lie outside the range: no row it read was touched.
type RowRange struct {
	Table  TableID
	Column string
	Date   bool
	Lo, Hi int64
}

// rangeOverhead approximates what one RowRange of an entry retains.
const rangeOverhead = 64

// excludes reports whether the write w touched no row the ranges admit:
// some range on w.Table has every value w gives its column outside it.
func excludes(ranges []RowRange, w Write) bool {
	for _, r := range ranges {
		if r.Table != w.Table {
			continue
		}
		for _, cv := range w.Columns {
			if cv.Column == r.Column && len(cv.Values) > 0 && allOutside(r, cv.Values) {
				return true
			}
		}
	}
	return false
}

func allOutside(r RowRange, values []string) bool {
	for _, v := range values {
		x, ok := parseRangeValue(r.Date, v)
		if !ok || (x >= r.Lo && x <= r.Hi) {
			return false
		}
	}
	return true
}

// parseRangeValue reads a write's canonical value of a range column: a
// YYYY-MM-DD date as days since 1970-01-01, or a decimal integer.
func parseRangeValue(date bool, s string) (int64, bool) {
	if date {
		return pgdate.Parse(s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// InvalidateWrites is [Cache.Invalidate] narrowed by row keys and ranges:
// for each write it removes the entries of database that read the whole
// table, and the keyed entries of that table the write does not rule out
// (see [Write]), except those whose ranges the write's values all miss
// (see [RowRange]), and supersedes every fill in progress that reads them.
// It returns the number of entries removed.
func (c *Cache) InvalidateWrites(database string, writes ...Write) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	removed := 0
	for _, w := range writes {
		if w.Columns == nil {
			removed += c.dropTableLocked(database, w.Table, removalInvalidated)
			continue
		}
		n := 0
		for _, id := range c.refsOfWriteLocked(database, w) {
			n += c.dropRefLocked(tableRef{database, id}, removalInvalidated, &w)
		}
		if tc := c.tableStats[tableRef{database, w.Table}]; tc != nil {
			tc.invalidations.Add(int64(n))
		}
		removed += n
	}
	return removed
}
