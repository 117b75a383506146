// Package intern keeps one copy of strings that recur, such as the texts
// of the statements an application sends again and again, so that turning
// their bytes into a string allocates only the first time.
//
// A [Table] is a fixed array of slots indexed by a hash of the bytes, each
// holding the last string stored there; a collision replaces the older
// string. Its memory is bounded by the number of slots times the longest
// string it keeps, and a lookup never blocks: slots are atomic pointers.
package intern

import (
	"hash/maphash"
	"sync/atomic"
)

// Table interns strings. The zero value and nil are valid and intern
// nothing.
type Table struct {
	seed   maphash.Seed
	slots  []atomic.Pointer[string]
	maxLen int
}

// New returns a table of slots slots (rounded up to a power of two) that
// keeps strings of at most maxLen bytes.
func New(slots, maxLen int) *Table {
	n := 1
	for n < slots {
		n <<= 1
	}
	return &Table{seed: maphash.MakeSeed(), slots: make([]atomic.Pointer[string], n), maxLen: maxLen}
}

// Bytes returns string(b). When an equal string is in b's slot it returns
// that one without allocating; otherwise it stores the new string there
// (unless b is empty or longer than the table keeps).
func (t *Table) Bytes(b []byte) string {
	if t == nil || len(t.slots) == 0 || len(b) == 0 || len(b) > t.maxLen {
		return string(b)
	}
	slot := &t.slots[maphash.Bytes(t.seed, b)&uint64(len(t.slots)-1)]
	if p := slot.Load(); p != nil && *p == string(b) {
		return *p
	}
	s := string(b)
	slot.Store(&s)
	return s
}
