package proxy

import (
	"sort"
	"strings"

	"github.com/pgwarp/pgwarp/pool"
	"github.com/pgwarp/pgwarp/query"
)

// Session state in transaction mode. Statements are classified with
// PostgreSQL's parser (package query) and their effects on the session
// handled in one of two ways:
//
//   - SET, RESET, set_config(…, false) and the like change the client's
//     settings, which pgwarp re-applies on every backend the client leases
//     (see params.go). They are collected as each statement completes and
//     kept when its transaction commits.
//   - LISTEN, session advisory locks, temporary relations, WITH HOLD
//     cursors, SET ROLE / SESSION AUTHORIZATION, SQL-level PREPARE, LOAD and
//     anything pgwarp cannot describe pin the session to its backend, from
//     the moment the statement is sent until the state is undone (UNLISTEN,
//     unlock, DISCARD, CLOSE, RESET ROLE, DEALLOCATE) or the client leaves.
//
// Pinning is conservative: it is taken before the statement's outcome is
// known and kept when an undo fails or an outcome is ambiguous.

// pins counts what ties a session to its backend. Guarded by Session.mu.
type pins struct {
	listens     map[string]bool
	listenAll   bool // a LISTEN whose channel set pgwarp lost track of
	advisory    int
	temp        bool
	holdCursors map[string]bool
	role        bool
	sessionAuth bool
	sqlPrepared map[string]bool
	forever     string // LOAD, an undescribable change, an untrusted quoting mode
}

// reason returns why the session is pinned, or "".
func (p *pins) reason() string {
	var r []string
	if p.forever != "" {
		r = append(r, p.forever)
	}
	if len(p.listens) > 0 || p.listenAll {
		r = append(r, "LISTEN")
	}
	if p.advisory > 0 {
		r = append(r, "advisory lock")
	}
	if p.temp {
		r = append(r, "temporary table")
	}
	if len(p.holdCursors) > 0 {
		r = append(r, "WITH HOLD cursor")
	}
	if p.role {
		r = append(r, "SET ROLE")
	}
	if p.sessionAuth {
		r = append(r, "SET SESSION AUTHORIZATION")
	}
	if len(p.sqlPrepared) > 0 {
		r = append(r, "SQL PREPARE")
	}
	sort.Strings(r)
	return strings.Join(r, ", ")
}

// pinOnSend records the pinning effects of statements about to be sent and
// pins the session. mu is held.
func (s *Session) pinOnSendLocked(info *query.Info) {
	if info == nil {
		return
	}
	changed := false
	for i := range info.Statements {
		for _, e := range info.Statements[i].Effects {
			if !e.Kind.Pins() && e.Kind != query.EffectPrepare {
				continue
			}
			if e.Local && e.Kind == query.EffectCreateTemp {
				// ON COMMIT DROP: gone when the transaction ends, which
				// happens on this backend anyway.
				continue
			}
			changed = true
			p := &s.pins
			switch e.Kind {
			case query.EffectListen:
				if p.listens == nil {
					p.listens = map[string]bool{}
				}
				p.listens[e.Name] = true
			case query.EffectAdvisoryLock:
				p.advisory++
			case query.EffectCreateTemp:
				p.temp = true
			case query.EffectDeclareHold:
				if p.holdCursors == nil {
					p.holdCursors = map[string]bool{}
				}
				p.holdCursors[e.Name] = true
			case query.EffectSetRole:
				p.role = true
			case query.EffectSetSessionAuthorization:
				p.sessionAuth = true
			case query.EffectPrepare:
				if p.sqlPrepared == nil {
					p.sqlPrepared = map[string]bool{}
				}
				p.sqlPrepared[e.Name] = true
			case query.EffectLoad:
				p.forever = "LOAD"
			default:
				p.forever = "untracked session change"
			}
		}
	}
	if changed {
		s.updatePinLocked()
	}
}

// updatePinLocked sets pinned and pinReason from the pin state. Session
// mode is always pinned.
func (s *Session) updatePinLocked() {
	if s.mode == PoolSession {
		return
	}
	r := s.pins.reason()
	s.pinned, s.pinReason = r != "", r
}

// applyOnCompleteLocked handles the effects of one statement that
// completed successfully: undoing pins at once, collecting settings changes
// for the transaction. mu is held; b is the backend it ran on.
func (s *Session) applyOnCompleteLocked(st *query.Statement, b *pool.Backend) {
	p := &s.pins
	changed := false
	for _, e := range st.Effects {
		switch e.Kind {
		case query.EffectSet, query.EffectReset, query.EffectResetAll:
			if !e.Local {
				s.txSettings = append(s.txSettings, e)
			}
		case query.EffectUnlisten:
			delete(p.listens, e.Name)
			changed = true
		case query.EffectUnlistenAll:
			p.listens, p.listenAll = nil, false
			changed = true
		case query.EffectAdvisoryUnlock:
			if p.advisory > 0 {
				p.advisory--
			}
			changed = true
		case query.EffectAdvisoryUnlockAll:
			p.advisory = 0
			changed = true
		case query.EffectCloseAll:
			p.holdCursors = nil
			changed = true
		case query.EffectClose:
			delete(p.holdCursors, e.Name)
			changed = true
		case query.EffectResetRole:
			p.role = false
			changed = true
		case query.EffectResetSessionAuthorization:
			p.sessionAuth = false
			changed = true
		case query.EffectDeallocate:
			delete(p.sqlPrepared, e.Name)
			changed = true
		case query.EffectDeallocateAll:
			// Deallocates the protocol-level statements too, pgwarp's
			// included.
			p.sqlPrepared = nil
			b.Statements.Clear()
			s.forgetClientStatementsLocked()
			changed = true
		case query.EffectDiscardTemp:
			p.temp = false
			changed = true
		case query.EffectDiscardAll:
			*p = pins{forever: p.forever}
			b.Statements.Clear()
			clear(b.Settings)
			s.forgetClientStatementsLocked()
			s.txSettings = append(s.txSettings, query.Effect{Kind: query.EffectResetAll})
			changed = true
		}
	}
	if changed {
		s.updatePinLocked()
	}
}

// forgetClientStatementsLocked drops the client's statement names after a
// DEALLOCATE ALL or DISCARD ALL removed them upstream. mu is held.
func (s *Session) forgetClientStatementsLocked() {
	for name, cs := range s.stmts {
		s.srv.stmts.release(cs.def)
		delete(s.stmts, name)
	}
	s.setStmtNowLocked("", stmtState{})
}

// endTransactionLocked runs at every ReadyForQuery: when the transaction
// ended, the settings changes it made are kept if it committed. When pgwarp
// cannot tell (an error or ROLLBACK TO inside a transaction that changed
// settings), the session is pinned rather than guessed about. The portals
// bound before the expectation numbered seq was queued are forgotten; a
// pipelining client may already have bound the next transaction's. mu is
// held.
func (s *Session) endTransactionLocked(status byte, b *pool.Backend, seq uint64) {
	switch status {
	case txFailed:
		s.txError = true
		return
	case txInTx:
		return
	}
	defer func() {
		s.txSettings, s.txError, s.txRollbacks, s.txLastTag = s.txSettings[:0], false, 0, ""
		for p, n := range s.portalSeq {
			if n < seq {
				delete(s.portals, p)
				delete(s.portalSQL, p)
				delete(s.portalVals, p)
				delete(s.portalSeq, p)
			}
		}
	}()
	if len(s.txSettings) == 0 {
		return
	}
	// In session mode the backend keeps the settings itself; the client's
	// copy still matters (cache keys).
	backendSettings := b.Settings
	if !s.renaming() {
		backendSettings = map[string]string{}
	}
	// A transaction that ended in ROLLBACK (or in a COMMIT of a failed
	// block, which PostgreSQL tags ROLLBACK) undid every setting it made,
	// errors and savepoints or not.
	if s.txLastTag == "ROLLBACK" {
		return
	}
	if s.txError || s.txRollbacks > 0 {
		s.pins.forever = "session settings changed in a transaction with ROLLBACK TO or an error"
		s.updatePinLocked()
		return
	}
	for _, e := range s.txSettings {
		switch e.Kind {
		case query.EffectSet:
			s.settings[e.Name] = e.Value
			backendSettings[e.Name] = e.Value
		case query.EffectReset:
			// RESET returns to the connection's startup value, which the
			// next settings sync re-applies.
			if v, ok := s.startupSettings[e.Name]; ok {
				s.settings[e.Name] = v
			} else {
				delete(s.settings, e.Name)
			}
			delete(backendSettings, e.Name)
		case query.EffectResetAll:
			s.settings = copySettings(s.startupSettings)
			clear(backendSettings)
		}
	}
}

// noteCommandTagLocked records the tags that decide a transaction's fate.
func (s *Session) noteCommandTagLocked(body []byte) {
	tag, _, _ := readCString(body)
	if tag == "ROLLBACK" {
		s.txRollbacks++
	}
	s.txLastTag = tag
}
