package proxy

// A client's statement names change with the messages pgwarp sees (Parse
// and Close, and a simple query, which destroys the unnamed statement), but
// whether a change happened is only known when the server answers: a
// message the server skips (an earlier one of its batch failed) changed
// nothing, and a Parse that fails defines nothing (and, of the unnamed
// statement, drops the old one all the same). pgwarp applies each change at
// once, for the messages after it, and keeps, per name, the changes the
// server has not answered yet in a list, oldest first, each with what the
// name meant before it. An answer then settles its change:
//
//   - skipped (or a named Parse failed): the change is undone. When it is
//     the name's latest, what it replaced comes back; otherwise the change
//     after it now starts from that.
//   - a failed Parse of the unnamed statement: the name means nothing after
//     it, now or, when later changes were applied since (pipelined after
//     its batch), for the change after it.
//
// Changes pgwarp makes without a server answer (a simple query, a Parse
// answered from the cache) are final: they stay in the list, never undone,
// until the changes before them are settled, so that those know a later
// change overrode them.

// stmtState is what one of the client's statement names means.
type stmtState struct {
	cs    *clientStmt // transaction mode, a named statement
	sh    *stmtShape  // transaction mode, the unnamed statement; session mode, any
	stale bool        // session mode, the unnamed statement: unnamedStale
}

// stmtChange is one change of a statement name that the server has not
// answered yet.
type stmtChange struct {
	name       string
	before     stmtState // what the name meant before the change
	prev, next *stmtChange
	final      bool // no server answer settles it
}

// stmtStateLocked returns what the client's statement name means. mu is
// held.
func (s *Session) stmtStateLocked(name string) stmtState {
	switch {
	case s.renaming() && name == "":
		return stmtState{sh: s.unnamed}
	case s.renaming():
		return stmtState{cs: s.stmts[name]}
	}
	st := stmtState{stale: name == "" && s.unnamedStale.Load()}
	if sh, ok := s.sessionStmts[name]; ok {
		st.sh = &sh
	}
	return st
}

// setStmtStateLocked makes the client's statement name mean st. mu is
// held.
func (s *Session) setStmtStateLocked(name string, st stmtState) {
	switch {
	case s.renaming() && name == "":
		s.unnamed = st.sh
	case s.renaming() && st.cs == nil:
		delete(s.stmts, name)
	case s.renaming():
		s.stmts[name] = st.cs
	case st.sh == nil:
		delete(s.sessionStmts, name)
	default:
		s.sessionStmts[name] = *st.sh
	}
	if !s.renaming() && name == "" {
		s.unnamedStale.Store(st.stale)
	}
}

// changeStmtLocked records, before the caller changes what name means, a
// change the server will answer; the caller settles it with
// undoStmtLocked, parseAnsweredLocked or settleStmtLocked. mu is held.
func (s *Session) changeStmtLocked(name string) *stmtChange {
	c := &stmtChange{name: name, before: s.stmtStateLocked(name), prev: s.stmtLast[name]}
	if c.prev != nil {
		c.prev.next = c
	}
	s.stmtLast[name] = c
	return c
}

// setStmtNowLocked makes name mean st by a change no server answer can
// undo. mu is held.
func (s *Session) setStmtNowLocked(name string, st stmtState) {
	if s.stmtLast[name] == nil {
		// No change of the name waits for an answer: none needs to
		// know of this one.
		s.setStmtStateLocked(name, st)
		return
	}
	c := s.changeStmtLocked(name)
	s.setStmtStateLocked(name, st)
	c.final = true
	if c.prev == nil {
		s.settleStmtLocked(c)
	}
}

// undoStmtLocked undoes change c: the server skipped its message, or
// failed its (named) Parse. mu is held.
func (s *Session) undoStmtLocked(c *stmtChange) {
	if c.next == nil {
		s.setStmtStateLocked(c.name, c.before)
	} else {
		c.next.before = c.before
	}
	s.settleStmtLocked(c)
}

// parseAnsweredLocked settles change c, a Parse the server answered: ok,
// or failed. A failed named Parse defined nothing (the change is undone);
// a failed Parse of the unnamed statement dropped the old one all the
// same: there is no unnamed statement after it. mu is held.
func (s *Session) parseAnsweredLocked(c *stmtChange, ok bool) {
	switch {
	case ok:
	case c.name != "":
		s.undoStmtLocked(c)
		return
	case c.next == nil:
		s.setStmtStateLocked(c.name, stmtState{})
	default:
		c.next.before = stmtState{}
	}
	s.settleStmtLocked(c)
}

// hasUnnamedLocked reports whether the client has an unnamed statement.
// When it has none, it first waits for the answers that can give one back
// (a Close the server skips, awaitAnswersLocked). mu is held, and released
// while waiting.
func (s *Session) hasUnnamedLocked() bool {
	has := func() bool {
		if s.renaming() {
			return s.unnamed != nil
		}
		_, ok := s.sessionStmts[""]
		return ok
	}
	if has() {
		return true
	}
	s.awaitAnswersLocked()
	return has()
}

// errNoUnnamedStatement is the answer to a Bind or Describe of an unnamed
// statement the client does not have; the backend may still have one (of
// the client it served before, or one a cached simple query would have
// destroyed), which must not run.
func errNoUnnamedStatement() *Error {
	return newError(CodeUndefinedPreparedStmt, "unnamed prepared statement does not exist")
}

// settleStmtLocked removes change c from its name's list: the server
// answered its message. Final changes that no pending change precedes any
// more go too. mu is held.
func (s *Session) settleStmtLocked(c *stmtChange) {
	for c != nil {
		next := c.next
		if c.prev != nil {
			c.prev.next = next
		}
		if next != nil {
			next.prev = c.prev
		}
		if s.stmtLast[c.name] == c {
			if c.prev == nil {
				delete(s.stmtLast, c.name)
			} else {
				s.stmtLast[c.name] = c.prev
			}
		}
		c.prev, c.next = nil, nil
		if next == nil || next.prev != nil || !next.final {
			return
		}
		c = next
	}
}
