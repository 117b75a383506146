package proxy

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgwarp/pgwarp/pool"
	"github.com/pgwarp/pgwarp/query"
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
	// params is the ParameterDescription message of that Describe.
	params atomic.Pointer[[]byte]
	// probedDesc and probedParams are the same, from pgwarp's own
	// Describe sent behind the version's first Parse when no client had
	// described it (prepareOnBackendLocked). They answer a Describe in a
	// failed transaction block (describeInFailedBlock) and nothing else:
	// desc alone says what clients were given.
	probedDesc   atomic.Pointer[[]byte]
	probedParams atomic.Pointer[[]byte]
}

// description returns the version's RowDescription body (empty for NoData)
// and ParameterDescription message, from a client's Describe or else from
// pgwarp's probe; nil when neither has been answered.
func (v *stmtVersion) description() (desc, params *[]byte) {
	if desc, params = v.desc.Load(), v.params.Load(); desc != nil && params != nil {
		return desc, params
	}
	desc, params = v.probedDesc.Load(), v.probedParams.Load()
	if desc == nil || params == nil {
		return nil, nil
	}
	return desc, params
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
		failed := s.failedBlockLocked()
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
		s.settleStatementLocked(name)
		refused := s.bindRefusedInFailedBlockLocked(name, rest)
		s.mu.Unlock()
		if refused != nil {
			s.sendErrorFor(refused, typ)
			return nil
		}
		if name == "" {
			s.mu.Lock()
			var sh stmtShape
			// A Bind that starts a batch (the Parse came in an
			// earlier one, as pgx's DescribeExec mode sends it) can
			// be answered from the cache; one behind its Parse was
			// looked up with the Parse. The earlier batch's backend
			// may not be released yet: nothing is in flight on it.
			lookup := s.unnamed != nil && (s.lease == nil || s.q.empty() && !s.batchOpen)
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
			if s.describeUnnamedInFailedBlock() {
				return nil
			}
			return s.forwardWithUnnamed(expectDescribeStmt, typ, body)
		}
		// As for a Bind: a change of the name in an earlier batch
		// counts once the server has answered it.
		s.mu.Lock()
		s.settleStatementLocked(name)
		s.mu.Unlock()
		d, _, serr := s.statement(name)
		if serr != nil {
			s.sendErrorFor(serr, typ)
			return nil
		}
		s.described(name)
		if s.describeInFailedBlock(d) {
			return nil
		}
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
		c := s.changeStmtLocked(name)
		delete(s.stmts, name)
		if s.lease != nil {
			s.openBatchLocked()
		}
		if s.lease != nil && !s.q.empty() {
			// Answered in turn; if the server skips the batch before
			// it, the name is the client's again. What the Close
			// removed is known then (names.go).
			s.q.push(expectation{kind: expectSynth, synth: closeComplete, done: func(ok bool) {
				if !ok {
					s.undoStmtLocked(c)
					return
				}
				if cs := c.before.cs; cs != nil {
					s.srv.stmts.release(cs.def)
				}
				s.settleStmtLocked(c)
			}})
			s.mu.Unlock()
			return nil
		}
		cs := c.before.cs
		s.settleStmtLocked(c)
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
	c := s.changeStmtLocked("")
	s.unnamed = nil
	s.forgetBackendUnnamedLocked()
	s.pushLocked(expectation{kind: expectClose,
		done:   func(bool) { s.settleStmtLocked(c) },
		onSkip: func() { s.undoStmtLocked(c) }})
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
	if cs == nil && s.awaitAnswersLocked() {
		// A Close of it that the server skips gives it back.
		cs = s.stmts[name]
	}
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
		s.setStmtNowLocked("", stmtState{sh: u})
		s.mu.Unlock()
		return nil
	}
	s.mu.Lock()
	if err := s.reserveLocked(); err != nil {
		s.setStmtNowLocked("", stmtState{sh: u})
		s.mu.Unlock()
		return s.leaseFailed(err, msgParse)
	}
	c := s.changeStmtLocked("")
	s.unnamed = u
	s.openBatchLocked()
	p := s.parsingUnnamedLocked(u)
	s.pushLocked(expectation{kind: expectParse, done: func(ok bool) {
		s.parsedUnnamedLocked(p, ok, false)
		s.parseAnsweredLocked(c, ok)
	}, onSkip: func() {
		s.parsedUnnamedLocked(p, false, true)
		s.undoStmtLocked(c)
	}})
	s.mu.Unlock()
	s.out = appendMsg(s.out, msgParse, body)
	return nil
}

func (s *Session) parseNamed(m parseMsg) error {
	s.mu.Lock()
	_, exists := s.stmts[m.name]
	if exists && s.awaitAnswersLocked() {
		// A Parse of it that the server skips or fails does not
		// define it.
		_, exists = s.stmts[m.name]
	}
	n := len(s.stmts)
	s.mu.Unlock()
	if exists {
		return s.parseTakenName(m)
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
	if err := s.reserveLocked(); err != nil {
		s.mu.Unlock()
		s.srv.stmts.release(d)
		return s.leaseFailed(err, msgParse)
	}
	c := s.changeStmtLocked(name)
	s.stmts[name] = &clientStmt{def: d, ver: d.current()}
	s.openBatchLocked()
	b := s.lease.Backend()
	// If the server skips or fails the Parse, the name is free again
	// (names.go).
	forget := func(ok bool) {
		s.parseAnsweredLocked(c, ok)
		if !ok {
			s.srv.stmts.release(d)
		}
	}
	if s.preparedOnBackendLocked(b, d.current().name) {
		s.openBatchLocked()
		if s.serverSkip {
			// The server is skipping to Sync: PostgreSQL would not have
			// parsed this either.
			forget(false)
		} else if s.q.empty() {
			s.settleStmtLocked(c)
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

// parseCheckName is the statement name under which parseTakenName has the
// server parse a statement, and closes it again in the same batch.
const parseCheckName = "pgwarp_parse_check"

// parseTakenName answers a Parse under a statement name the client already
// uses (transaction mode). PostgreSQL parses and analyses the statement
// before it finds the name taken: a statement that fails reports its own
// error (a syntax error, 25P02 in a failed transaction block, an unknown
// table), and only one that would succeed gets 42P05. pgwarp lets the
// server decide: it parses the statement on the lease's backend under a
// name of its own, closes it again, and waits for the answer. A failure
// reaches the client as the server sent it, and the server then skips to
// Sync as PostgreSQL would.
func (s *Session) parseTakenName(m parseMsg) error {
	duplicate := newError(CodeDuplicatePreparedStmt, "prepared statement %q already exists", m.name)
	s.mu.Lock()
	if s.serverSkip {
		s.mu.Unlock()
		s.sendErrorFor(duplicate, msgParse) // answers nothing while the server skips
		return nil
	}
	if err := s.reserveLocked(); err != nil {
		s.mu.Unlock()
		return s.leaseFailed(err, msgParse)
	}
	s.openBatchLocked()
	parsed := false
	s.out = appendParse(s.out, parseCheckName, m.query, m.types)
	s.pushLocked(expectation{kind: expectParse, swallow: true, done: func(ok bool) { parsed = ok }})
	s.out = appendTarget(s.out, msgClose, 'S', parseCheckName)
	s.pushLocked(expectation{kind: expectClose, swallow: true})
	s.awaitAnswersLocked()
	answered := s.q.empty()
	s.mu.Unlock()
	if answered && !parsed {
		return nil // the server's error, or a skip, is PostgreSQL's answer
	}
	s.sendErrorFor(duplicate, msgParse)
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
	s.parsingNamed[v.name]++
	s.pushLocked(expectation{kind: expectParse, swallow: swallow, done: func(ok bool) {
		if s.parsingNamed[v.name]--; s.parsingNamed[v.name] <= 0 {
			delete(s.parsingNamed, v.name)
		}
		if !ok {
			b.Statements.Remove(v.name)
		}
		if done != nil {
			done(ok)
		}
	}})
	if desc, _ := v.description(); desc == nil {
		// Learn the version's description once, for a Describe that
		// may come in a failed transaction block on a backend that
		// lacks the statement and cannot parse it there. The server
		// skips it if the Parse fails.
		s.out = appendTarget(s.out, msgDescribe, 'S', v.name)
		s.pushLocked(expectation{kind: expectDescribeStmt, swallow: true, stmtV: v, probe: true})
	}
	s.openBatchLocked()
}

// preparedOnBackendLocked reports whether statement version name is
// prepared on the lease's backend b, for a message about to rely on it. A
// Parse of it the server has not answered yet counts when no Sync was sent
// since (if the server skips the Parse, it skips this message too);
// otherwise it waits for the answers: a Parse in an earlier batch that
// fails would leave the message without its statement, and a second Parse
// of the name would fail if the first succeeds. The caller has opened the
// batch, so the lease stays while it waits. mu is held, and released while
// waiting.
func (s *Session) preparedOnBackendLocked(b *pool.Backend, name string) bool {
	if !b.Statements.Has(name) {
		return false
	}
	if s.parsingNamed[name] == 0 || !s.q.hasSync() {
		return true
	}
	s.awaitAnswersLocked()
	return s.lease != nil && s.lease.Backend() == b && b.Statements.Has(name)
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
	if !s.preparedOnBackendLocked(b, v.name) {
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
	s.flushAndWaitLocked(func() bool { return result != 0 })
	return result != 2
}

// forwardWithUnnamed forwards a Bind or Describe of the unnamed statement,
// re-parsing it first when it was parsed on another backend.
func (s *Session) forwardWithUnnamed(kind expectKind, typ byte, body []byte) error {
	s.mu.Lock()
	s.settleStatementLocked("")
	if !s.hasUnnamedLocked() {
		s.mu.Unlock()
		s.sendErrorFor(errNoUnnamedStatement(), typ)
		return nil
	}
	if err := s.reserveLocked(); err != nil {
		s.mu.Unlock()
		return s.leaseFailed(err, typ)
	}
	s.openBatchLocked()
	if !s.unnamedOnBackendLocked() {
		s.out = appendParse(s.out, "", s.unnamed.query, s.unnamed.types)
		p := s.parsingUnnamedLocked(s.unnamed)
		s.pushLocked(expectation{kind: expectParse, swallow: true,
			done:   func(ok bool) { s.parsedUnnamedLocked(p, ok, false) },
			onSkip: func() { s.parsedUnnamedLocked(p, false, true) }})
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

// unnamedParse is a Parse of the unnamed statement sent to the lease's
// backend, with what pgwarp knew of the backend's unnamed statement before
// it (parsingUnnamedLocked).
type unnamedParse struct {
	prev         *stmtShape
	prevSeq, seq uint64
}

// parsingUnnamedLocked notes that a Parse of u as the unnamed statement is
// being sent to the lease's backend; parsedUnnamedLocked takes its
// outcome. mu is held.
func (s *Session) parsingUnnamedLocked(u *stmtShape) unnamedParse {
	p := unnamedParse{prev: s.backendUnnamed, prevSeq: s.backendUnnamedSeq}
	s.backendUnnamedSeq++
	p.seq = s.backendUnnamedSeq
	s.backendUnnamed = u
	return p
}

// parsedUnnamedLocked takes the server's answer to Parse p: ok, failed, or
// skipped. mu is held.
func (s *Session) parsedUnnamedLocked(p unnamedParse, ok, skipped bool) {
	if !skipped {
		// Answers come in order; a later Parse that the server then
		// skips falls back to this one and its outcome.
		s.backendUnnamedAnswered, s.backendUnnamedAnsweredOK = p.seq, ok
	}
	if s.backendUnnamedSeq != p.seq {
		return // a later Parse, or a forget, decides
	}
	if skipped {
		// The backend keeps what it had. Skipped Parses are answered
		// last first, so an earlier one of the batch finds its own
		// sequence number back.
		s.backendUnnamed, s.backendUnnamedSeq = p.prev, p.prevSeq
	}
	if s.backendUnnamedAnswered == s.backendUnnamedSeq && !s.backendUnnamedAnsweredOK {
		// A failed Parse drops the backend's unnamed statement.
		s.backendUnnamed = nil
	}
}

// backendUnnamedSureLocked reports whether the server has answered the
// Parse of backendUnnamed, successfully. mu is held.
func (s *Session) backendUnnamedSureLocked() bool {
	return s.backendUnnamedAnsweredOK && s.backendUnnamedAnswered == s.backendUnnamedSeq
}

// forgetBackendUnnamedLocked notes that the lease's backend has no
// unnamed statement of the client's: a new lease, a simple query, a Close
// of it. mu is held.
func (s *Session) forgetBackendUnnamedLocked() {
	s.backendUnnamed = nil
	s.backendUnnamedSeq++
}

// unnamedOnBackendLocked reports whether the lease's backend has the
// client's unnamed statement, so that a Bind or Describe of it needs no
// re-Parse: a Parse of it was sent on this lease, and either the server
// answered it or no Sync was sent since (if the server skips the Parse, it
// skips the Bind or Describe too). Otherwise a re-Parse is sent again,
// which is always right. mu is held.
func (s *Session) unnamedOnBackendLocked() bool {
	return s.unnamed != nil && s.backendUnnamed == s.unnamed && (s.backendUnnamedSureLocked() || !s.q.hasSync())
}

// failedBlockLocked reports whether the client's transaction block has
// failed, for an answer pgwarp gives itself. When messages already sent can
// still change that (a pipelined Sync or Query, an Execute of the open
// batch), it sends them and waits for their answers first: PostgreSQL
// would have run them before this message. mu is held, and released while
// waiting.
func (s *Session) failedBlockLocked() bool {
	if s.lease == nil {
		return false
	}
	if s.q.hasSync() || s.batchOpen && s.batchRan {
		s.awaitAnswersLocked()
	}
	// An Execute of the open batch that the server ran in a failed block
	// (it is not skipping) was a COMMIT or ROLLBACK: the block is over.
	return s.lease != nil && s.txStatus == txFailed && !(s.batchOpen && s.batchRan && !s.serverSkip)
}

// awaitAnswersLocked sends what the session collected for the server, with
// a Flush, and waits until the server has answered every message sent so
// far, for pgwarp to answer a message itself from the state those answers
// settle: a message the server skips (its batch failed earlier) gives back
// a statement name it closed, a Parse it skips or fails does not define
// one. It reports whether there was anything to wait for. mu is held, and
// released while waiting.
func (s *Session) awaitAnswersLocked() bool {
	if s.lease == nil || s.q.empty() {
		return false
	}
	s.flushAndWaitLocked(s.q.empty)
	return true
}

// flushAndWaitLocked sends what the session collected for the lease's
// backend with a Flush (the server holds the answers of an open batch until
// one) and waits, at most 2×cancelTimeout, until done reports true or the
// lease ends. The relay broadcasts cond as it answers. mu is held, and
// released while waiting.
func (s *Session) flushAndWaitLocked(done func() bool) {
	s.out = appendMsg(s.out, msgFlush, nil)
	lease := s.lease
	s.mu.Unlock()
	_ = s.flush()
	s.mu.Lock()
	deadline := time.Now().Add(2 * cancelTimeout)
	for !done() && s.lease == lease && time.Now().Before(deadline) {
		waitCond(s.cond, 100*time.Millisecond)
	}
}

// settleStatementLocked waits, before a Bind of the client's statement
// name, for the server's answers to a change of that name (a Parse or
// Close) in an earlier batch that is still unanswered: if the server skips
// it, the name means what it meant before, and the Bind runs that; pgwarp
// must know which statement runs to invalidate the cache for a write. A
// change in the Bind's own batch needs no wait: if it fails or is skipped,
// so is the Bind. mu is held.
func (s *Session) settleStatementLocked(name string) {
	if s.stmtLast[name] != nil && s.q.hasSync() {
		s.awaitAnswersLocked()
	}
}

// bindRefusedInFailedBlockLocked returns the error a Bind of the client's
// statement name gets in a failed transaction block when the leased backend
// lacks the statement (bindInFailedBlock), or nil. mu is held, and released
// while it waits for the block's state.
func (s *Session) bindRefusedInFailedBlockLocked(name string, rest []byte) *Error {
	if s.lease == nil {
		return nil
	}
	// Outside a block the server is asked nothing, unless a BEGIN in
	// flight may open one that fails before this Bind (failedBlockLocked
	// waits for it), whose re-Parse the server would then refuse (25P02
	// where PostgreSQL checks the parameter counts first).
	sh := s.reparsedShapeLocked(name)
	if sh == nil || s.txStatus == txIdle && !s.beginInFlightLocked() || !s.failedBlockLocked() {
		return nil
	}
	return bindInFailedBlock(sh, name, rest, &s.scratch.bind)
}

// reparsedShapeLocked returns the client's statement name's shape when a
// Bind of it needs pgwarp's re-Parse on the leased backend, or nil. mu is
// held.
func (s *Session) reparsedShapeLocked(name string) *stmtShape {
	switch {
	case name == "" && s.unnamed != nil && !s.unnamedOnBackendLocked():
		return s.unnamed
	case name != "" && s.stmts[name] != nil && !s.lease.Backend().Statements.Has(s.stmts[name].def.current().name):
		return &s.stmts[name].def.stmtShape
	}
	return nil
}

// beginInFlightLocked reports whether a statement sent and not answered
// yet begins a transaction block. mu is held.
func (s *Session) beginInFlightLocked() bool {
	for i := s.q.head; i < len(s.q.items); i++ {
		if info := s.q.items[i].info; info != nil {
			for j := range info.Statements {
				if info.Statements[j].Transaction.Kind == query.TxBegin {
					return true
				}
			}
		}
	}
	return false
}

// describeInFailedBlock answers a Describe of statement d in a failed
// transaction block when the leased backend lacks d and pgwarp knows its
// description (a client described it before): the server would refuse
// pgwarp's re-Parse, but PostgreSQL describes a statement that returns no
// rows even there, and refuses one that does with 25P02. It reports
// whether it answered.
func (s *Session) describeInFailedBlock(d *stmtDef) bool {
	s.mu.Lock()
	if s.lease == nil || s.txStatus == txIdle || s.serverSkip {
		s.mu.Unlock()
		return false
	}
	v := d.current()
	desc, params := v.description()
	if desc == nil || s.lease.Backend().Statements.Has(v.name) || !s.failedBlockLocked() || s.serverSkip {
		s.mu.Unlock()
		return false
	}
	s.mu.Unlock()
	s.answerDescribeInFailedBlock(*params, len(*desc) > 0)
	return true
}

// answerDescribeInFailedBlock answers a Describe of a statement in a failed
// transaction block as PostgreSQL does: one that returns rows is refused
// with 25P02, one that does not gets its ParameterDescription message
// params and NoData.
func (s *Session) answerDescribeInFailedBlock(params []byte, rows bool) {
	if rows {
		s.sendErrorFor(errInFailedTransaction(), msgDescribe)
		return
	}
	s.emit(append(append([]byte{}, params...), msgNoData, 0, 0, 0, 4))
}

// describeElsewhereWait bounds the wait for a second backend that
// describes the client's unnamed statement (describeUnnamedInFailedBlock).
const describeElsewhereWait = time.Second

// describeUnnamedInFailedBlock answers a Describe of the client's unnamed
// statement in a failed transaction block when the leased backend lacks it
// (it was parsed in an earlier transaction, on another backend): the
// server would refuse pgwarp's re-Parse with 25P02, where PostgreSQL
// describes a statement that returns no rows even there (its parameter
// types and NoData) and refuses one that does. pgwarp parses and describes
// the statement on another pooled backend, with the client's settings, and
// answers as PostgreSQL would. It reports whether it answered; it does not
// when no backend is free within describeElsewhereWait or that backend
// fails, and the Describe then goes to the server, which answers 25P02.
func (s *Session) describeUnnamedInFailedBlock() bool {
	s.mu.Lock()
	if s.lease == nil || s.txStatus == txIdle || s.serverSkip || s.unnamed == nil {
		s.mu.Unlock()
		return false
	}
	s.settleStatementLocked("")
	if s.unnamedOnBackendLocked() || !s.failedBlockLocked() || s.serverSkip || s.unnamed == nil {
		// failedBlockLocked may have waited for answers: the last
		// conditions are read after it.
		s.mu.Unlock()
		return false
	}
	u, p, settings := s.unnamed, s.pool, copySettings(s.settings)
	s.mu.Unlock()
	params, rows, ok := describeElsewhere(p, settings, u)
	if ok {
		s.answerDescribeInFailedBlock(params, rows)
	}
	return ok
}

// describeElsewhere parses u as the unnamed statement on a backend of p
// (not the caller's: it holds its own lease) with settings applied, and
// describes it: the ParameterDescription message, and whether the
// statement returns rows. ok is false when no backend was free within
// describeElsewhereWait or the server did not describe the statement.
func describeElsewhere(p *pool.Pool, settings map[string]string, u *stmtShape) (params []byte, rows, ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), describeElsewhereWait)
	defer cancel()
	var described bool
	ok = onPooledBackend(ctx, p, settings, func(b *pool.Backend) bool {
		out := appendParse(nil, "", u.query, u.types)
		out = appendTarget(out, msgDescribe, 'S', "")
		out = appendMsg(out, msgSync, nil)
		return b.RawExchange(ctx, out, func(typ byte, msg []byte) {
			switch typ {
			case msgParamDescription:
				params = append([]byte(nil), msg...)
			case msgRowDescription:
				rows, described = true, true
			case msgNoData:
				described = true
			}
		}) == nil
	})
	return params, rows, ok && described && params != nil
}

// bindInFailedBlock returns PostgreSQL's answer to a Bind of statement sh
// (the client's name for it: name) in a failed transaction block, when the
// backend lacks the statement and pgwarp cannot parse it there: the server
// refuses every Parse but of COMMIT and ROLLBACK. PostgreSQL checks the
// parameter counts first, then the block; nil means the Bind may run.
// The Bind is read into a.
func bindInFailedBlock(sh *stmtShape, name string, rest []byte, a *bindArgs) *Error {
	if !readBind(rest, a) {
		return nil // the server reports the malformed message
	}
	formats, params := len(a.formats)/2, len(a.values)
	if formats > 1 && formats != params {
		return newError(CodeProtocolViolation, "bind message has %d parameter formats but %d parameters", formats, params)
	}
	if want := max(len(sh.types), query.ParamCount(sh.query)); params != want {
		return newError(CodeProtocolViolation, "bind message supplies %d parameters, but prepared statement \"%s\" requires %d", params, name, want)
	}
	if isTxExit(sh.info) {
		return nil
	}
	return errInFailedTransaction()
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
