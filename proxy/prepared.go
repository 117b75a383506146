package proxy

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgwarp/pgwarp/pool"
)

// Prepared statements in transaction mode (as PgBouncer ≥ 1.21 does):
//
//   - The server-wide registry gives each distinct (SQL text, parameter
//     types) one internal name, "pgwarp_s<N>", from a counter, so two
//     statements can never share a name.
//   - Each session maps its client's statement names to registry entries.
//   - Each backend remembers, in a bounded LRU (pool.StatementSet), which
//     internal names are prepared on it.
//
// A client's Parse of a statement its current backend already has is
// answered with a synthetic ParseComplete; a Bind or Describe of a statement
// the backend lacks gets a Parse injected first, its answer swallowed. The
// unnamed statement is remembered with the parameter types the server
// reported, so a Bind that lands on another backend than its Parse (pgx's
// describe-exec mode) runs the same statement with the same types.

// DefaultMaxPreparedStatements bounds the registry; DefaultMaxClientStatements
// bounds one client's named statements.
const (
	DefaultMaxPreparedStatements = 10000
	DefaultMaxClientStatements   = 2000
)

// stmtDef is one registered statement. query, types and info are
// immutable; the internal name changes when the statement is invalidated
// (see invalidate), so every backend prepares it afresh.
type stmtDef struct {
	reg *stmtRegistry
	stmtShape
	refs int // client names mapped to it (under stmtRegistry.mu)
	ver  atomic.Pointer[stmtVersion]
}

// stmtVersion is one internal name of a statement and its Parse message.
type stmtVersion struct {
	name  string
	parse []byte
	// desc is the RowDescription body (empty for NoData) clients were
	// given when they described this version; nil until then.
	desc atomic.Pointer[[]byte]
}

// current returns the statement's internal name and Parse message.
func (d *stmtDef) current() *stmtVersion { return d.ver.Load() }

// invalidate gives the statement a new internal name if stale is still its
// current one. PostgreSQL raises "cached plan must not change result type"
// when a schema change altered a prepared statement's result, and answers
// Describe of it with the old description; a client that re-prepares (as
// pgx does after that error) must get a statement prepared afresh, on
// every backend.
func (d *stmtDef) invalidate(stale string) {
	cur := d.ver.Load()
	if cur.name != stale {
		return
	}
	d.ver.CompareAndSwap(cur, d.reg.newVersion(d.query, d.types))
}

// newVersion assigns a fresh internal name.
func (r *stmtRegistry) newVersion(query string, types []uint32) *stmtVersion {
	name := "pgwarp_s" + strconv.FormatUint(r.nextID.Add(1), 10)
	return &stmtVersion{name: name, parse: appendParse(nil, name, query, types)}
}

// stmtRegistry is the server-wide set of statements. It is safe for
// concurrent use.
type stmtRegistry struct {
	mu     sync.Mutex
	byKey  map[string]*stmtDef
	nextID atomic.Uint64
}

func newStmtRegistry() *stmtRegistry { return &stmtRegistry{byKey: map[string]*stmtDef{}} }

func stmtKey(query string, types []uint32) string {
	var b strings.Builder
	b.Grow(len(query) + 1 + 11*len(types))
	b.WriteString(query)
	b.WriteByte(0)
	for _, t := range types {
		b.WriteString(strconv.FormatUint(uint64(t), 10))
		b.WriteByte(',')
	}
	return b.String()
}

// acquire returns the statement for (query, types), registering it if new,
// and counts one more reference. max bounds the registry.
func (r *stmtRegistry) acquire(sh stmtShape, max int) (*stmtDef, error) {
	k := stmtKey(sh.query, sh.types)
	r.mu.Lock()
	defer r.mu.Unlock()
	if d := r.byKey[k]; d != nil {
		d.refs++
		return d, nil
	}
	if len(r.byKey) >= max {
		// Forget statements no client refers to any more; backends that
		// still have them prepared keep them until their LRU evicts them.
		for key, d := range r.byKey {
			if d.refs == 0 {
				delete(r.byKey, key)
			}
		}
		if len(r.byKey) >= max {
			return nil, newError(CodeConfigurationLimitExcdd, "too many distinct prepared statements in use through pgwarp (max_prepared_statements %d)", max).
				withHint("close prepared statements the application no longer needs, or raise max_prepared_statements in pgwarp.yaml")
		}
	}
	d := &stmtDef{reg: r, stmtShape: sh, refs: 1}
	d.ver.Store(r.newVersion(sh.query, sh.types))
	r.byKey[k] = d
	return d, nil
}

func (r *stmtRegistry) release(d *stmtDef) {
	r.mu.Lock()
	d.refs--
	r.mu.Unlock()
}

// len returns the number of registered statements.
func (r *stmtRegistry) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byKey)
}

// renaming reports whether this session renames prepared statements.
func (s *Session) renaming() bool { return s.mode == PoolTransaction }

// forwardExtended handles Parse, Bind, Describe and Close of a renaming
// session.
func (s *Session) forwardExtended(typ byte, body []byte) error {
	switch typ {
	case msgParse:
		m, err := decodeParse(body, s.srv.texts)
		if err != nil {
			return newFatal(CodeProtocolViolation, "invalid Parse message")
		}
		if m.name == "" {
			// Forwarded whatever the transaction's state: the server
			// answers, and the expectation's hooks follow its answer.
			return s.parseUnnamed(m, body)
		}
		s.mu.Lock()
		// The status is the one of the last ReadyForQuery: it holds
		// until a queued Sync or Query is answered.
		failed := s.lease != nil && s.txStatus == txFailed && !s.q.hasSync()
		s.mu.Unlock()
		if failed {
			// PostgreSQL refuses a Parse in a failed transaction block
			// before it looks at the name (only COMMIT and ROLLBACK
			// pass); parseNamed would answer 42P05 or a ParseComplete
			// of its own.
			if info := s.srv.classify.Classify(m.query).Info; info.Err == nil && !isTxExit(info) {
				s.sendErrorFor(errInFailedTransaction(), msgParse)
				return nil
			}
		}
		return s.parseNamed(m)
	case msgBind:
		portal, name, rest, err := decodeBindNames(body)
		if err != nil {
			return newFatal(CodeProtocolViolation, "invalid Bind message")
		}
		// A Bind defines its portal anew: a Describe owed to the old
		// one (its batch failed before its Execute) is not owed to it.
		s.mu.Lock()
		delete(s.describeNext, portal)
		s.mu.Unlock()
		if name == "" {
			s.mu.Lock()
			var sh stmtShape
			// A Bind that starts a batch (no backend leased: the
			// Parse came in an earlier one, as pgx's DescribeExec
			// mode sends it) can be answered from the cache; one
			// behind its Parse was looked up with the Parse.
			lookup := s.unnamed != nil && s.lease == nil
			if lookup {
				sh = *s.unnamed
			}
			s.mu.Unlock()
			if lookup {
				if s.lookupExtended(&sh, portal, rest) {
					return nil
				}
			}
			s.mu.Lock()
			if s.unnamed != nil {
				s.notePortalLocked(portal, s.unnamed, rest)
			} else {
				delete(s.portals, portal)
				delete(s.portalVals, portal)
				delete(s.portalSeq, portal)
			}
			s.mu.Unlock()
			return s.forwardWithUnnamed(expectBind, typ, body)
		}
		d, reshaped, serr := s.statement(name)
		if serr != nil {
			s.sendErrorFor(serr, typ)
			return nil
		}
		if !reshaped {
			if s.lookupExtended(&d.stmtShape, portal, rest) {
				return nil
			}
		}
		s.mu.Lock()
		s.notePortalLocked(portal, &d.stmtShape, rest)
		if reshaped {
			rest = singleResultFormat(rest)
			s.describeNext[portal] = true
		}
		s.mu.Unlock()
		return s.forwardWithNamed(d, expectBind, func(name string) []byte { return appendBind(nil, portal, name, rest) }, portal, rest)
	case msgDescribe:
		kind, name, err := decodeTarget(body)
		if err != nil {
			return newFatal(CodeProtocolViolation, "invalid Describe message")
		}
		if kind == 'P' {
			return s.forward(expectDescribePortal, typ, body)
		}
		if name == "" {
			return s.forwardWithUnnamed(expectDescribeStmt, typ, body)
		}
		d, _, serr := s.statement(name)
		if serr != nil {
			s.sendErrorFor(serr, typ)
			return nil
		}
		s.described(name)
		return s.forwardWithNamed(d, expectDescribeStmt, func(name string) []byte { return appendTarget(nil, msgDescribe, 'S', name) }, "", nil)
	case msgClose:
		kind, name, err := decodeTarget(body)
		if err != nil {
			return newFatal(CodeProtocolViolation, "invalid Close message")
		}
		if kind == 'S' && name == "" {
			return s.closeUnnamed(body)
		}
		if kind == 'P' {
			return s.forward(expectClose, typ, body)
		}
		// The statement stays prepared on backends for other clients;
		// closing a name that does not exist is not an error.
		s.mu.Lock()
		if s.serverSkip {
			// The server is skipping to Sync: PostgreSQL would not
			// have closed it either.
			s.mu.Unlock()
			return nil
		}
		cs := s.stmts[name]
		delete(s.stmts, name)
		if s.lease != nil {
			s.openBatchLocked()
		}
		if s.lease != nil && !s.q.empty() {
			// Answered in turn; if the server skips the batch before
			// it, the name is the client's again.
			s.q.push(expectation{kind: expectSynth, synth: closeComplete, done: func(ok bool) {
				switch {
				case cs == nil:
				case !ok && s.stmts[name] == nil:
					s.stmts[name] = cs
				default:
					s.srv.stmts.release(cs.def)
				}
			}})
			s.mu.Unlock()
			return nil
		}
		s.mu.Unlock()
		if cs != nil {
			s.srv.stmts.release(cs.def)
		}
		s.emit(closeComplete)
		return nil
	}
	panic("BUG: forwardExtended called for message type " + string(typ))
}

// closeUnnamed forwards a Close of the unnamed statement. The client's
// unnamed statement is gone at once, for the messages after it; if the
// server skips the Close (an earlier message of the batch failed), it is
// the client's again, as in PostgreSQL.
func (s *Session) closeUnnamed(body []byte) error {
	s.mu.Lock()
	if err := s.reserveLocked(); err != nil {
		s.mu.Unlock()
		return s.leaseFailed(err, msgClose)
	}
	s.openBatchLocked()
	old, onBackend := s.unnamed, s.unnamedOnBackend
	s.unnamed = nil
	s.pushLocked(expectation{kind: expectClose, onSkip: func() {
		if s.unnamed == nil {
			s.unnamed, s.unnamedOnBackend = old, onBackend
		}
	}})
	s.mu.Unlock()
	s.out = appendMsg(s.out, msgClose, body)
	return nil
}

var (
	parseComplete = []byte{msgParseComplete, 0, 0, 0, 4}
	closeComplete = []byte{msgCloseComplete, 0, 0, 0, 4}
)

// clientStmt is one of the client's statement names: the registry entry and
// the version (internal name) the client prepared and described.
type clientStmt struct {
	def *stmtDef
	ver *stmtVersion
	// reshaped: the statement changed shape since the client described
	// it; until the client describes it again, its Binds ask for one
	// result format and its portals are described (retry.go).
	reshaped bool
}

// statement returns the registry entry of a client's statement name, and
// whether it was re-prepared after a schema change since this client last
// used it (retry.go: the client's next Bind is then moved to it with a
// single result format and a described portal).
func (s *Session) statement(name string) (*stmtDef, bool, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.stmts[name]
	if cs == nil {
		return nil, false, newError(CodeUndefinedPreparedStmt, "prepared statement %q does not exist", name)
	}
	if cur := cs.def.current(); cs.ver != cur {
		cs.ver, cs.reshaped = cur, true
	}
	return cs.def, cs.reshaped, nil
}

// described notes that the client described its statement name and so
// knows its current shape.
func (s *Session) described(name string) {
	s.mu.Lock()
	if cs := s.stmts[name]; cs != nil {
		cs.reshaped = false
	}
	s.mu.Unlock()
}

// markReshapedLocked notes, after a retry, that the client's names for d
// still carry the old shape in the client's cache. mu is held.
func (s *Session) markReshapedLocked(d *stmtDef) {
	for _, cs := range s.stmts {
		if cs.def == d {
			cs.ver, cs.reshaped = d.current(), true
		}
	}
}

func (s *Session) parseUnnamed(m parseMsg, body []byte) error {
	u := new(s.shapeOf(m.query, m.types))
	if s.lookupParsedGroup(u) {
		// No backend saw this Parse: the next one that needs the
		// statement parses it first (forwardWithUnnamed).
		s.mu.Lock()
		s.unnamed, s.unnamedOnBackend = u, false
		s.mu.Unlock()
		return nil
	}
	s.mu.Lock()
	old, oldOnBackend := s.unnamed, s.unnamedOnBackend
	s.unnamed = u
	if err := s.reserveLocked(); err != nil {
		s.mu.Unlock()
		return s.leaseFailed(err, msgParse)
	}
	s.openBatchLocked()
	s.unnamedOnBackend = true
	s.pushLocked(expectation{kind: expectParse, done: func(ok bool) {
		// A Parse that fails has dropped the old statement all the
		// same.
		if !ok && s.unnamed == u {
			s.unnamed = nil
		}
	}, onSkip: func() {
		if s.unnamed == u {
			s.unnamed, s.unnamedOnBackend = old, oldOnBackend
		}
	}})
	s.openBatchLocked()
	s.mu.Unlock()
	s.out = appendMsg(s.out, msgParse, body)
	return nil
}

func (s *Session) parseNamed(m parseMsg) error {
	s.mu.Lock()
	_, exists := s.stmts[m.name]
	n := len(s.stmts)
	s.mu.Unlock()
	if exists {
		s.sendErrorFor(newError(CodeDuplicatePreparedStmt, "prepared statement %q already exists", m.name), msgParse)
		return nil
	}
	if n >= s.maxClientStatements() {
		s.sendErrorFor(newError(CodeConfigurationLimitExcdd, "too many prepared statements on this connection (%d)", n).
			withHint("close (DEALLOCATE) prepared statements that are no longer needed"), msgParse)
		return nil
	}
	d, err := s.srv.stmts.acquire(s.shapeOf(m.query, m.types), s.maxPreparedStatements())
	if err != nil {
		e, _ := asError(err)
		s.sendErrorFor(e, msgParse)
		return nil
	}
	name := m.name
	s.mu.Lock()
	cs := &clientStmt{def: d, ver: d.current()}
	s.stmts[name] = cs
	if err := s.reserveLocked(); err != nil {
		delete(s.stmts, name)
		s.mu.Unlock()
		s.srv.stmts.release(d)
		return s.leaseFailed(err, msgParse)
	}
	s.openBatchLocked()
	b := s.lease.Backend()
	forget := func(ok bool) {
		if !ok && s.stmts[name] == cs {
			delete(s.stmts, name)
			s.srv.stmts.release(d)
		}
	}
	if b.Statements.Has(d.current().name) {
		s.openBatchLocked()
		if s.serverSkip {
			// The server is skipping to Sync: PostgreSQL would not have
			// parsed this either.
			forget(false)
		} else if s.q.empty() {
			s.mu.Unlock()
			s.emit(parseComplete)
			return nil
		} else {
			s.q.push(expectation{kind: expectSynth, synth: parseComplete, done: forget})
		}
		s.mu.Unlock()
		return nil
	}
	s.prepareOnBackendLocked(b, d, false, forget)
	s.mu.Unlock()
	return nil
}

// prepareOnBackendLocked sends d's Parse on the leased backend b; swallow
// hides its answer from the client (an injected re-Parse). mu is held.
func (s *Session) prepareOnBackendLocked(b *pool.Backend, d *stmtDef, swallow bool, done func(bool)) {
	v := d.current()
	if evicted, ok := b.Statements.Add(v.name); ok {
		s.out = appendTarget(s.out, msgClose, 'S', evicted)
		s.pushLocked(expectation{kind: expectClose, swallow: true})
	}
	s.out = append(s.out, v.parse...)
	s.pushLocked(expectation{kind: expectParse, swallow: swallow, done: func(ok bool) {
		if !ok {
			b.Statements.Remove(v.name)
		}
		if done != nil {
			done(ok)
		}
	}})
	s.openBatchLocked()
}

// forwardWithNamed forwards a Bind or Describe of statement d, built under
// d's current internal name, preparing d on the backend first if it lacks
// it.
func (s *Session) forwardWithNamed(d *stmtDef, kind expectKind, build func(name string) []byte, portal string, rest []byte) error {
	s.mu.Lock()
	if err := s.reserveLocked(); err != nil {
		s.mu.Unlock()
		typ := byte(msgBind)
		if kind == expectDescribeStmt {
			typ = msgDescribe
		}
		return s.leaseFailed(err, typ)
	}
	s.openBatchLocked()
	v := d.current()
	b := s.lease.Backend()
	if !b.Statements.Has(v.name) {
		s.prepareOnBackendLocked(b, d, true, nil)
		if kind == expectBind && v.desc.Load() != nil && !s.shapeStillSameLocked(v) {
			// The schema changed since the client described the
			// statement: move it to a new version, as after a stale plan.
			d.invalidate(v.name)
			v = d.current()
			s.markReshapedLocked(d)
			rest = singleResultFormat(rest)
			s.describeNext[portal] = true
			s.prepareOnBackendLocked(b, d, true, nil)
			build = func(name string) []byte { return appendBind(nil, portal, name, rest) }
		}
	}
	e := expectation{kind: kind, stmt: d, stmtV: v}
	if kind == expectBind {
		e.retry = s.beginRetryLocked(d, portal, rest)
	} else {
		s.retryCur = nil
	}
	s.pushLocked(e)
	s.mu.Unlock()
	s.out = append(s.out, build(v.name)...)
	return nil
}

// shapeStillSameLocked checks, before a Bind is sent, that a statement
// pgwarp just re-prepared on this backend still has the row description its
// clients were given: it describes the statement, flushes, and waits for the
// answer. A schema change would otherwise reach the client as a Bind whose
// result formats no longer fit, or as rows it decodes with the wrong types.
// mu is held (and released while waiting).
func (s *Session) shapeStillSameLocked(v *stmtVersion) bool {
	want := *v.desc.Load()
	result := 0 // 0 pending, 1 same, 2 changed, 3 failed
	s.out = appendTarget(s.out, msgDescribe, 'S', v.name)
	s.pushLocked(expectation{kind: expectDescribeStmt, swallow: true, stmtV: v,
		checkShape: func(desc []byte) {
			if bytes.Equal(desc, want) {
				result = 1
			} else {
				result = 2
			}
			s.cond.Broadcast()
		},
		done: func(ok bool) {
			if !ok && result == 0 {
				result = 3
				s.cond.Broadcast()
			}
		}})
	s.out = appendMsg(s.out, msgFlush, nil)
	lease := s.lease
	s.mu.Unlock()
	_ = s.flush()
	s.mu.Lock()
	deadline := time.Now().Add(2 * cancelTimeout)
	for result == 0 && s.lease == lease && time.Now().Before(deadline) {
		waitCond(s.cond, 100*time.Millisecond)
	}
	return result != 2
}

// forwardWithUnnamed forwards a Bind or Describe of the unnamed statement,
// re-parsing it first when it was parsed on another backend.
func (s *Session) forwardWithUnnamed(kind expectKind, typ byte, body []byte) error {
	s.mu.Lock()
	if s.unnamed == nil {
		// The client has no unnamed statement; the backend may still
		// have the one of the client it served before.
		s.mu.Unlock()
		s.sendErrorFor(newError(CodeUndefinedPreparedStmt, "unnamed prepared statement does not exist"), typ)
		return nil
	}
	if err := s.reserveLocked(); err != nil {
		s.mu.Unlock()
		return s.leaseFailed(err, typ)
	}
	s.openBatchLocked()
	if !s.unnamedOnBackend && s.unnamed != nil {
		s.out = appendParse(s.out, "", s.unnamed.query, s.unnamed.types)
		s.pushLocked(expectation{kind: expectParse, swallow: true})
		s.unnamedOnBackend = true
	}
	e := expectation{kind: kind}
	if kind == expectDescribeStmt && s.unnamed != nil {
		// Remember the types the server inferred, so a re-Parse on
		// another backend uses exactly them.
		u := s.unnamed
		e.onParamDesc = func(types []uint32) {
			if s.unnamed == u {
				u.types = types
			}
		}
	}
	s.pushLocked(e)
	s.openBatchLocked()
	s.mu.Unlock()
	s.out = appendMsg(s.out, typ, body)
	return nil
}

func (s *Session) maxClientStatements() int {
	if n := s.srv.config().MaxClientStatements; n > 0 {
		return n
	}
	return DefaultMaxClientStatements
}

func (s *Session) maxPreparedStatements() int {
	if n := s.srv.config().MaxPreparedStatements; n > 0 {
		return n
	}
	return DefaultMaxPreparedStatements
}

// releaseStatements drops the session's references when it ends.
func (s *Session) releaseStatements() {
	s.mu.Lock()
	defs := make([]*stmtDef, 0, len(s.stmts))
	for name, cs := range s.stmts {
		defs = append(defs, cs.def)
		delete(s.stmts, name)
	}
	s.mu.Unlock()
	for _, d := range defs {
		s.srv.stmts.release(d)
	}
}

func (d *stmtDef) String() string { return fmt.Sprintf("%s(%q)", d.current().name, d.query) }
