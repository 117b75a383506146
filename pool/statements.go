package pool

import (
	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// defaultStatementsPerBackend bounds the prepared statements kept on one
// backend.
const defaultStatementsPerBackend = 1000

// StatementSet is the bounded set of statements the proxy prepared on one
// backend, by their server-side names. Adding beyond the capacity evicts the
// least recently used name, which the caller must then close on the server.
// It is owned by the holder of the backend's lease.
type StatementSet struct {
	lru *simplelru.LRU[string, struct{}]
	cap int
}

// NewStatementSet returns an empty set holding at most capacity names.
func NewStatementSet(capacity int) *StatementSet {
	if capacity < 1 {
		capacity = 1
	}
	l, err := simplelru.NewLRU[string, struct{}](capacity, nil)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return &StatementSet{lru: l, cap: capacity}
}

// Has reports whether name is prepared and marks it recently used.
func (s *StatementSet) Has(name string) bool {
	_, ok := s.lru.Get(name)
	return ok
}

// Add records name as prepared. If that evicts another name, it is
// returned with evicted set.
func (s *StatementSet) Add(name string) (oldest string, evicted bool) {
	if s.lru.Contains(name) {
		s.lru.Get(name)
		return "", false
	}
	if s.lru.Len() >= s.cap {
		oldest, _, evicted = s.lru.RemoveOldest()
	}
	s.lru.Add(name, struct{}{})
	return oldest, evicted
}

// Remove forgets name.
func (s *StatementSet) Remove(name string) { s.lru.Remove(name) }

// Len returns the number of prepared statements recorded.
func (s *StatementSet) Len() int { return s.lru.Len() }

// Clear forgets every name (after DISCARD ALL, for one).
func (s *StatementSet) Clear() { s.lru.Purge() }
