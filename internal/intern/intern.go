// Package intern keeps one copy of strings that recur, such as the texts
// of the statements an application sends again and again, so that turning
// their bytes into a string allocates only the first time.
//
// A [Table] is a fixed array of slots indexed by a hash of the bytes, each
// holding the last string stored there; a collision replaces the older
// string. A string is stored at its second sighting, so that strings that
// never recur cost what a plain conversion does. Its memory is bounded by the number of slots times the longest
// string it keeps, and a lookup never blocks: slots are atomic pointers.
package intern

import (
	"hash/maphash"
	"sync/atomic"
)

// The size of a table of statement texts: at most StatementSlots strings
// of at most StatementMaxLen bytes, 4 MiB in all. Longer texts are
// converted every time, which their parsing dwarfs anyway.
const (
	StatementSlots  = 1024
	StatementMaxLen = 4096
)

// NewStatements returns a table sized for statement texts.
func NewStatements() *Table { return New(StatementSlots, StatementMaxLen) }

// Table interns strings. The zero value and nil are valid and intern
// nothing.
type Table struct {
	seed   maphash.Seed
	slots  []slot
	maxLen int
}

// slot holds the string last interned there, and the hash of the last
// string seen there that was not: a string is kept from its second
// sighting on, so strings that never recur (a statement with a new
// literal each time) cost no more than a plain conversion.
type slot struct {
	s    atomic.Pointer[string]
	seen atomic.Uint64
}

// New returns a table of slots slots (rounded up to a power of two) that
// keeps strings of at most maxLen bytes.
func New(slots, maxLen int) *Table {
	n := 1
	for n < slots {
		n <<= 1
	}
	return &Table{seed: maphash.MakeSeed(), slots: make([]slot, n), maxLen: maxLen}
}

// Bytes returns string(b). When an equal string is in b's slot it returns
// that one without allocating; otherwise it converts b, and stores the
// string in the slot if b was the last string seen there (unless b is
// empty or longer than the table keeps).
func (t *Table) Bytes(b []byte) string {
	if t == nil || len(t.slots) == 0 || len(b) == 0 || len(b) > t.maxLen {
		return string(b)
	}
	h := maphash.Bytes(t.seed, b)
	sl := &t.slots[h&uint64(len(t.slots)-1)]
	if p := sl.s.Load(); p != nil && *p == string(b) {
		return *p
	}
	s := string(b)
	if sl.seen.Swap(h) == h {
		// A box of its own: taking s's address would move s to the
		// heap on every call.
		p := new(string)
		*p = s
		sl.s.Store(p)
	}
	return s
}
