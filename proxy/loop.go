package proxy

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/pgwarp/pgwarp/pool"
	"github.com/pgwarp/pgwarp/query"
)

// errTerminate is returned by handle when the client sends Terminate.
var errTerminate = errors.New("client terminated the session")

// flushThreshold is how much the session accumulates for the backend
// before writing even though the client has more buffered.
const flushThreshold = 64 << 10

// loop reads client messages until the session ends. Messages are collected
// in s.out and written to the backend once the client has nothing more
// buffered, so a pipeline read in one system call is written in one.
func (s *Session) loop() error {
	for {
		typ, body, err := s.rd.next()
		if err != nil {
			if (s.timeoutWake.Load() || s.retryWake.Load()) && errors.Is(err, os.ErrDeadlineExceeded) && !s.interrupts.Load() && !s.relayFailed.Load() {
				if s.retryWake.Swap(false) && !s.timeoutWake.Load() {
					_ = s.raw.SetReadDeadline(time.Time{})
				}
				if s.timeoutWake.Load() {
					s.takeTimeoutWake()
				}
				if err := s.sendPendingRetry(); err != nil {
					return err
				}
				continue
			}
			return err
		}
		if err := s.handle(typ, body); err != nil {
			return err
		}
		if len(s.out) > 0 && (s.wrapWait || len(s.out) >= flushThreshold || !s.rd.hasMessage()) {
			if err := s.flush(); err != nil {
				return err
			}
		}
		// A wrapped COPY FROM STDIN is settled once its data is sent.
		if s.wrapWait && (s.copyDoneSent || !s.copyIn.Load()) {
			s.settleWrap()
		}
	}
}

// handle processes one client message.
func (s *Session) handle(typ byte, body []byte) error {
	if s.timeoutWake.Load() {
		// The transaction timer fired while messages were buffered:
		// settle it before running anything more.
		s.takeTimeoutWake()
	}
	if typ != msgTerminate && typ != msgSync && typ != msgFlush && !s.skipToSync {
		s.mu.Lock()
		failed := s.txTimeout != nil && (s.lease == nil || s.txStatus == txIdle)
		s.mu.Unlock()
		if failed {
			return s.failedTransaction(typ, body)
		}
	}
	switch typ {
	case msgTerminate:
		return errTerminate
	case msgSync:
		// The Describe and Execute of a looked-up group come before its
		// Sync: a fill still pending belongs to a group that did not
		// run.
		s.abandonPendingFills()
		return s.sync()
	case msgFlush:
		s.mu.Lock()
		if s.lease != nil && (s.batchOpen || !s.q.empty()) {
			s.unflushed = true
			s.out = appendMsg(s.out, msgFlush, nil)
		}
		s.mu.Unlock()
		return nil
	case msgCopyData, msgCopyDone, msgCopyFail:
		// Clients may send COPY data right behind the COPY statement,
		// before the server said CopyInResponse, so pgwarp cannot know
		// whether the backend is in COPY: it forwards whenever a
		// backend is leased and lets PostgreSQL decide (outside COPY it
		// ignores them). With no backend leased nothing can be in COPY,
		// and they are dropped, as PostgreSQL would.
		s.mu.Lock()
		if s.lease != nil {
			s.unflushed = true
			s.out = appendMsg(s.out, typ, body)
			if typ != msgCopyData {
				s.copyDoneSent = true
			}
		}
		s.mu.Unlock()
		return nil
	case msgQuery:
		if s.skipToSync {
			return nil
		}
		s.queries.Add(1)
		s.srv.stats.queries.Add(1)
		text := s.srv.texts.Bytes(cstringBytes(body))
		// The literals are the session's scratch until they are kept.
		res := s.srv.classify.ClassifyInto(text, s.scratch.literals)
		if cap(res.Literals) <= maxScratchLiterals {
			s.scratch.literals = res.Literals[:0]
		}
		// A simple query destroys the unnamed statement.
		// In session mode, answered from the cache, the query leaves
		// the backend's unnamed statement in place: the client's is
		// gone all the same, and pgwarp refuses its use.
		s.mu.Lock()
		s.setStmtNowLocked("", stmtState{})
		s.forgetBackendUnnamedLocked()
		s.mu.Unlock()
		answered, fill := s.lookupQuery(res, text)
		if answered {
			return nil
		}
		s.setPendingFills(nil, fill)
		s.curSQL = text
		s.nextVals = query.Values{Literals: slices.Clone(res.Literals)} // nil unless keyed
		return s.forwardInfo(expectQuery, typ, body, res.Info)
	case msgParse, msgBind, msgClose, msgDescribe:
		if s.skipToSync {
			return nil
		}
		if s.renaming() {
			return s.forwardExtended(typ, body)
		}
		answered, hooks := s.trackSessionStatement(typ, body)
		if answered {
			return nil
		}
		if usesUnnamedStatement(typ, body) {
			s.mu.Lock()
			exists := s.hasUnnamedLocked()
			s.mu.Unlock()
			switch {
			case !exists:
				s.sendErrorFor(errNoUnnamedStatement(), typ)
				return nil
			case s.unnamedStale.Load():
				if answered, err := s.reparseUnnamed(typ); answered || err != nil {
					return err
				}
			}
		}
		return s.forwardHooked(kindOf(typ, body), typ, body, nil, hooks)
	case msgExecute:
		if s.skipToSync {
			return nil
		}
		var info *query.Info
		if portal, _, ok := readCString(body); ok {
			s.mu.Lock()
			info, s.curSQL, s.nextVals = s.portals[portal], s.portalSQL[portal], s.portalVals[portal]
			s.mu.Unlock()
		}
		return s.forwardInfo(expectExecute, typ, body, info)
	case msgFunctionCall:
		if s.skipToSync {
			return nil
		}
		// A fast-path call can run any function: what it may have
		// written is unknown, so its transaction's end invalidates the
		// whole database.
		if s.srv.cache != nil {
			s.mu.Lock()
			s.txInvalidAll = true
			s.mu.Unlock()
		}
		return s.forward(expectFunctionCall, typ, body)
	}
	return newFatal(CodeProtocolViolation, "invalid frontend message type %d", typ)
}

func kindOf(typ byte, body []byte) expectKind {
	switch typ {
	case msgParse:
		return expectParse
	case msgBind:
		return expectBind
	case msgExecute:
		return expectExecute
	case msgClose:
		return expectClose
	case msgFunctionCall:
		return expectFunctionCall
	case msgDescribe:
		if len(body) > 0 && body[0] == 'S' {
			return expectDescribeStmt
		}
		return expectDescribePortal
	}
	panic("BUG: kindOf called for message type " + string(typ))
}

// forward queues a client message for the backend, leasing one first if
// the session has none.
func (s *Session) forward(kind expectKind, typ byte, body []byte) error {
	return s.forwardInfo(kind, typ, body, nil)
}

// forwardInfo is forward for a message that runs statements classified as
// info (nil when unknown or not needed).
func (s *Session) forwardInfo(kind expectKind, typ byte, body []byte, info *query.Info) error {
	return s.forwardHooked(kind, typ, body, info, stmtHooks{})
}

// stmtHooks are what pgwarp runs when a message that changed the client's
// statements ahead of the server fails (done(false)) or is skipped
// (onSkip), to match what PostgreSQL then keeps; see expectation.
type stmtHooks struct {
	done   func(ok bool)
	onSkip func()
}

// forwardHooked is forwardInfo with hooks on the message's expectation.
func (s *Session) forwardHooked(kind expectKind, typ byte, body []byte, info *query.Info, h stmtHooks) error {
	s.mu.Lock()
	if err := s.reserveLocked(); err != nil {
		if h.done != nil {
			h.done(false)
		}
		s.mu.Unlock()
		return s.leaseFailed(err, typ)
	}
	s.pinOnSendLocked(info)
	if kind != expectQuery && kind != expectFunctionCall {
		s.openBatchLocked()
	}
	var rn *run
	if kind == expectQuery || kind == expectExecute || kind == expectFunctionCall {
		rn = s.newRunLocked(info, kind == expectFunctionCall)
		if rn != nil {
			if rn.dec.WrapWrite && !rn.inTx && !hasTransactionControl(info) {
				s.wrapLocked(rn, kind)
			}
			if !rn.inTx {
				s.startStatementTimerLocked(rn)
			}
		}
	}
	switch kind {
	case expectDescribePortal:
		if _, name, err := decodeTarget(body); err == nil {
			delete(s.describeNext, name)
		}
	case expectExecute:
		if portal, _, ok := readCString(body); ok && s.describeNext[portal] {
			// The portal's statement changed shape: describe it so the
			// client decodes the new rows (retry.go).
			delete(s.describeNext, portal)
			s.pushLocked(expectation{kind: expectDescribePortal})
			s.out = appendTarget(s.out, msgDescribe, 'P', portal)
		}
	}
	s.keepForRetryLocked(kind, typ, body, info)
	if kind == expectExecute {
		s.batchRan = true
	}
	e := expectation{kind: kind, info: info, run: rn, done: h.done, onSkip: h.onSkip}
	switch kind {
	case expectQuery, expectExecute:
		e.vals, s.nextVals = s.nextVals, query.Values{}
		e.fill, s.nextExecFill = s.nextExecFill, nil
		e.obs = s.startObs(info, s.curSQL, cacheStatusOf(e.fill != nil), s.pinned && s.mode == PoolTransaction)
	case expectDescribePortal:
		e.fill, s.nextDescFill = s.nextDescFill, nil
	}
	if s.nextQueryWrapEnd && kind == expectQuery {
		e.wrapEnd, s.nextQueryWrapEnd = true, false
	}
	s.pushLocked(e)
	if typ == msgExecute {
		s.queries.Add(1)
		s.srv.stats.queries.Add(1)
	}
	s.mu.Unlock()
	s.out = appendMsg(s.out, typ, body)
	return nil
}

// cstringBytes returns body up to its terminating zero byte.
func cstringBytes(body []byte) []byte {
	if i := bytes.IndexByte(body, 0); i >= 0 {
		return body[:i]
	}
	return body
}

// trackSessionStatement records, in session mode (where statement names
// pass through unchanged), what each prepared statement and portal runs,
// for policies, invalidation and the cache. It reports whether a Bind group
// was answered from the cache.
func (s *Session) trackSessionStatement(typ byte, body []byte) (answered bool, h stmtHooks) {
	switch typ {
	case msgParse:
		if m, err := decodeParse(body, s.srv.texts); err == nil {
			sh := s.shapeOf(m.query, m.types)
			if m.name == "" {
				if s.lookupParsedGroup(&sh) {
					// The backend keeps the unnamed statement it
					// had; reparseUnnamed replaces it when the
					// client next uses its own.
					s.mu.Lock()
					s.setStmtNowLocked("", stmtState{sh: &sh, stale: true})
					s.mu.Unlock()
					return true, stmtHooks{}
				}
			}
			// The name means the new statement for the messages
			// after the Parse; if the server rejects or skips the
			// Parse, it means again what it means to PostgreSQL.
			s.mu.Lock()
			c := s.changeStmtLocked(m.name)
			s.setStmtStateLocked(m.name, stmtState{sh: &sh})
			s.mu.Unlock()
			h = stmtHooks{onSkip: func() { s.undoStmtLocked(c) }, done: func(ok bool) { s.parseAnsweredLocked(c, ok) }}
		}
	case msgBind:
		if portal, stmt, rest, err := decodeBindNames(body); err == nil {
			s.mu.Lock()
			s.settleStatementLocked(stmt)
			sh, ok := s.sessionStmts[stmt]
			if ok && stmt == "" {
				// The unnamed statement's Bind is looked up only
				// when it starts a batch (pgx's DescribeExec mode);
				// one behind its Parse was looked up with it.
				ok = s.q.empty() && !s.batchOpen
			}
			s.mu.Unlock()
			if ok {
				if s.lookupExtended(&sh, portal, rest) {
					return true, stmtHooks{}
				}
			}
			s.mu.Lock()
			s.notePortalLocked(portal, &sh, rest)
			s.mu.Unlock()
		}
	case msgClose:
		if kind, name, err := decodeTarget(body); err == nil && kind == 'S' {
			s.mu.Lock()
			c := s.changeStmtLocked(name)
			s.setStmtStateLocked(name, stmtState{})
			s.mu.Unlock()
			h = stmtHooks{onSkip: func() { s.undoStmtLocked(c) }, done: func(bool) { s.settleStmtLocked(c) }}
		}
	}
	return false, h
}

// usesUnnamedStatement reports whether a Bind or a Describe refers to the
// unnamed statement, from the bytes (no names are decoded).
func usesUnnamedStatement(typ byte, body []byte) bool {
	switch typ {
	case msgBind:
		// The portal's name, then an empty statement name.
		i := bytes.IndexByte(body, 0)
		return i >= 0 && i+1 < len(body) && body[i+1] == 0
	case msgDescribe:
		return len(body) == 2 && body[0] == 'S' && body[1] == 0
	}
	return false
}

// reparseUnnamed sends the backend of a session-mode client the Parse of
// the unnamed statement that the cache answered without it (its response
// swallowed), before a message of type typ that uses the statement. It
// reports whether it answered that message itself (with an error), or
// the session must end (err).
func (s *Session) reparseUnnamed(typ byte) (answered bool, err error) {
	s.mu.Lock()
	sh := s.sessionStmts[""]
	if err := s.reserveLocked(); err != nil {
		s.mu.Unlock()
		return true, s.leaseFailed(err, typ)
	}
	s.openBatchLocked()
	s.out = appendParse(s.out, "", sh.query, sh.types)
	s.pushLocked(expectation{kind: expectParse, swallow: true})
	s.openBatchLocked()
	s.mu.Unlock()
	s.unnamedStale.Store(false)
	return false, nil
}

// classify classifies the statement text of a Query or Parse (the body up
// to its terminating zero byte).
// shapeOf classifies a statement the client parses.
func (s *Session) shapeOf(sql string, types []uint32) stmtShape {
	if i := strings.IndexByte(sql, 0); i >= 0 {
		sql = sql[:i]
	}
	r := s.srv.classify.Classify(sql)
	return stmtShape{query: sql, types: types, info: r.Info, text: r.Text, hint: r.Hint, literals: r.Literals}
}

func (s *Session) classify(text []byte) *query.Info {
	if i := bytes.IndexByte(text, 0); i >= 0 {
		text = text[:i]
	}
	return s.srv.classify.Classify(string(text)).Info
}

// abandonLocked ends an expectation the server will not answer: skipped
// says the server skips its message after an earlier error of the batch
// (onSkip runs, if set); otherwise the message failed, or never will be
// answered (done(false)). Its cache fill is given up and its observation
// dropped. mu is held.
func (s *Session) abandonLocked(e *expectation, skipped bool) {
	switch {
	case skipped && e.onSkip != nil:
		e.onSkip()
	case e.done != nil:
		e.done(false)
	}
	finishFill(e, false, s.srv)
	s.dropObs(&e.obs)
}

// pushLocked queues an expectation, unless the server is skipping messages
// until Sync after an error (it will not answer those).
func (s *Session) pushLocked(e expectation) {
	if s.serverSkip && !e.kind.endsWithReadyForQuery() {
		s.abandonLocked(&e, true)
		return
	}
	if e.kind.endsWithReadyForQuery() {
		s.serverSkip = false
	}
	s.pushed++
	e.seq = s.pushed
	s.q.push(e)
}

// sync handles the client's Sync.
func (s *Session) sync() error {
	s.mu.Lock()
	if s.lease == nil {
		// Nothing is open upstream: answer it here (a transaction that
		// timed out still looks failed to the client).
		status := byte(txIdle)
		if s.txTimeout != nil {
			status = txFailed
		}
		s.mu.Unlock()
		s.skipToSync = false
		s.emit(appendReadyForQuery(nil, status))
		return nil
	}
	s.skipToSync = false
	s.keepForRetryLocked(expectSync, msgSync, nil, nil)
	e := expectation{kind: expectSync}
	if s.batchWrapped {
		e.wrapEnd = true
		s.batchWrapped = false
		s.wrapWait = true
	}
	s.pushLocked(e)
	s.batchOpen = false
	s.mu.Unlock()
	s.out = appendMsg(s.out, msgSync, nil)
	return nil
}

// reserveLocked makes sure the session holds a lease. It is called with mu
// held and returns with mu held; while it acquires, mu is released. The
// relay cannot release the lease before the caller, still holding mu,
// queues an expectation.
func (s *Session) reserveLocked() error {
	if s.retryPending != nil {
		if err := s.runRetryLocked(); err != nil {
			return err
		}
	}
	if s.lease != nil && s.mode == PoolTransaction && s.releasableLocked() && s.pool != nil && (s.pool.Closed() || s.pool.Paused()) {
		// The client was quicker than the release of its last lease,
		// and a reload has closed that lease's pool since, or PAUSE
		// holds the pool's new transactions: the new transaction must
		// not start on it.
		s.returnKeptLeaseLocked()
	}
	if s.lease != nil {
		// Work that starts while the session is idle on a backend it
		// kept (session mode, or a client quicker than the lease's
		// release) begins a transaction as a new lease does.
		if s.idleOnLeaseLocked() {
			s.countTransactionLocked()
		}
		s.injectAbortLocked()
		return nil
	}
	if s.pool == nil {
		return newError(CodeInternalError, "no upstream pool for this session")
	}
	start := time.Now()
	var lease *pool.Lease
	var err error
	for attempt := 0; ; attempt++ {
		if s.pool.Closed() {
			if err = s.repoolLocked(); err != nil {
				break
			}
		}
		p := s.pool
		s.mu.Unlock()
		lease, err = p.Acquire(s.srv.leaseCtx)
		s.mu.Lock()
		if !errors.Is(err, pool.ErrClosed) || attempt > 0 {
			break
		}
	}
	s.waitStart, s.wait = start, time.Since(start)
	if s.pm != nil {
		s.pm.ObservePoolWait(s.wait)
	}
	if err != nil {
		return err
	}
	s.lease = lease
	s.forgetBackendUnnamedLocked()
	s.countTransactionLocked()
	s.setState(sessionStateActive)
	if s.mode == PoolTransaction {
		s.syncSettingsLocked(lease.Backend())
	}
	s.startRelayLocked(lease)
	return nil
}

// repoolLocked moves a transaction-mode session whose pool a reload
// replaced onto the pool of the current configuration, between two
// transactions: settings and prepared statements are applied to every
// backend a transaction leases anyway, so nothing the client set is lost.
// A session-mode session, or one whose database was removed or changed
// pool mode, cannot move and gets pool.ErrClosed (57P01). mu is held; the
// session has no lease.
func (s *Session) repoolLocked() error {
	if s.mode != PoolTransaction {
		return pool.ErrClosed
	}
	db := resolveDatabase(s.srv.config(), s.database)
	if db == nil || db.Mode != PoolTransaction {
		return pool.ErrClosed
	}
	s.dbp.Store(db)
	p, err := s.srv.poolFor(s, nil)
	if err != nil {
		return err
	}
	s.pool = p
	return nil
}

// sendPendingRetry runs a batch the relay asked to retry (retry.go).
func (s *Session) sendPendingRetry() error {
	s.mu.Lock()
	if s.retryPending == nil {
		s.mu.Unlock()
		return nil
	}
	err := s.runRetryLocked()
	s.mu.Unlock()
	if err != nil {
		return s.leaseFailed(err, msgBind)
	}
	return s.flush()
}

// takeTimeoutWake clears the transaction timer's wake-up and rolls the
// timed-out transaction back.
func (s *Session) takeTimeoutWake() {
	s.timeoutWake.Store(false)
	if !s.interrupts.Load() && !s.relayFailed.Load() {
		_ = s.raw.SetReadDeadline(time.Time{})
	}
	s.rollbackTimedOut()
}

// openBatchLocked notes that an extended-protocol batch is open and, when
// it opens now, where it starts in out and in the queue, so that pgwarp can
// still put a BEGIN ahead of it while it is unwritten. mu is held.
func (s *Session) openBatchLocked() {
	if s.batchOpen {
		return
	}
	s.batchOpen = true
	s.batchOut, s.batchQ, s.batchWrapped = len(s.out), len(s.q.items), false
	s.batchRan, s.retryCur = false, nil
}

// countTransactionLocked counts a transaction beginning. mu is held.
func (s *Session) countTransactionLocked() {
	s.transactions.Add(1)
	s.srv.stats.transactions.Add(1)
}

// returnKeptLeaseLocked makes the relay release the idle lease the session
// still holds, and waits for it (at most keptLeaseWait). mu is held, and
// released while waiting.
func (s *Session) returnKeptLeaseLocked() {
	lease, done := s.lease, s.relayDone
	s.kicked = true
	_ = lease.Backend().Conn.SetReadDeadline(time.Unix(1, 0))
	s.mu.Unlock()
	t := time.NewTimer(keptLeaseWait)
	select {
	case <-done:
	case <-t.C:
		s.logger().Warn("an idle lease was not released within its bound", "wait", keptLeaseWait)
	}
	t.Stop()
	s.mu.Lock()
}

// keptLeaseWait bounds how long returnKeptLeaseLocked waits for the relay.
const keptLeaseWait = 5 * time.Second

// idleOnLeaseLocked reports whether the session holds a backend with
// nothing of the client's in flight on it: no transaction open, no
// extended-protocol batch, no COPY, no answer awaited. mu is held.
func (s *Session) idleOnLeaseLocked() bool {
	return s.lease != nil && s.q.empty() && s.txStatus == txIdle && !s.batchOpen && !s.copyIn.Load() && !s.copyOut
}

// injectAbortLocked makes the upstream transaction fail before the client's
// next statement when pgwarp failed one the server ran successfully
// (limits.go). Called with mu held, before the client's message is queued.
func (s *Session) injectAbortLocked() {
	if !s.abortPending || s.lease == nil {
		return
	}
	s.abortPending = false
	s.out = appendMsg(s.out, msgQuery, append([]byte(abortSQL), 0))
	s.pushLocked(expectation{kind: expectQuery, swallow: true, swallowErrors: true})
}

// leaseFailed reports a failure to get a backend for a message: an ERROR
// the client can retry after (53300 when the pool stayed busy), or FATAL
// when the upstream is gone.
func (s *Session) leaseFailed(err error, typ byte) error {
	e := s.backendError(err)
	var te *pool.AcquireTimeoutError
	if errors.As(err, &te) {
		e.Severity = SeverityError
	} else if de := (*pool.DialError)(nil); errors.As(err, &de) && de.PgErr == nil {
		// The upstream is unreachable: a clean error for this statement;
		// the next one tries again.
		e.Severity = SeverityError
	}
	if e.Fatal() {
		return e
	}
	s.sendErrorFor(e, typ)
	return nil
}

// sendErrorFor sends an ERROR raised by pgwarp while handling a client
// message of type typ: ReadyForQuery follows at once for a simple query;
// in an extended-protocol batch the client's messages are skipped up to its
// Sync, which gets the ReadyForQuery.
func (s *Session) sendErrorFor(e *Error, typ byte) {
	// The statement, or the rest of the batch, will not run: a fill a
	// cache miss opened for it would otherwise keep identical requests
	// waiting, or reach another statement.
	s.abandonPendingFills()
	msg := appendErrorResponse(nil, e)
	if typ == msgQuery || typ == msgFunctionCall {
		s.emitWithReady(msg)
		return
	}
	s.skipToSync = true
	s.mu.Lock()
	skipping := s.serverSkip
	s.mu.Unlock()
	if skipping {
		// The server already failed the batch and skips to its Sync:
		// PostgreSQL would not have answered this message at all.
		return
	}
	s.emit(msg)
	s.failUpstreamBatch()
}

// failedBatchPortal names a portal that never exists: executing it makes
// the server fail a batch.
const failedBatchPortal = "pgwarp_failed_batch"

// failUpstreamBatch makes the server fail the extended-protocol batch
// pgwarp has just failed itself, as PostgreSQL would have had the failing
// message reached it: what the batch already ran (an UPDATE before a Bind
// of a statement that does not exist, say) is rolled back at its Sync with
// the implicit transaction, or leaves an explicit one failed. It sends an
// Execute of a portal that does not exist, whose error is swallowed;
// nothing needs doing when the server already failed the batch, or
// outside a transaction block when no message of the batch reached it and
// nothing queued before it can open one (a pipelined BEGIN).
func (s *Session) failUpstreamBatch() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lease == nil || s.serverSkip || (!s.batchOpen && s.txStatus == txIdle && s.q.empty()) {
		return
	}
	s.openBatchLocked()
	s.pushLocked(expectation{kind: expectExecute, swallow: true, swallowErrors: true})
	body := append(appendCString(nil, failedBatchPortal), 0, 0, 0, 0)
	s.out = appendMsg(s.out, msgExecute, body)
}

// flush writes the collected messages to the backend.
func (s *Session) flush() error {
	s.mu.Lock()
	lease := s.lease
	s.mu.Unlock()
	if lease == nil {
		panic("BUG: messages queued for the backend without a lease")
	}
	_, err := lease.Backend().Conn.Write(s.out)
	s.batchOut = -1
	if cap(s.out) > 4*flushThreshold {
		s.out = nil
	} else {
		s.out = s.out[:0]
	}
	if err != nil {
		// The relay sees the broken connection too and reports it.
		s.logger().Warn("write to upstream failed", "error", err)
	}
	// Messages without a response (CopyData, Flush) held the lease while
	// unwritten; if it became releasable meanwhile, the relay, blocked on
	// an idle backend, must be told.
	// The deadline is set under mu: release clears a pending kick under
	// mu too, so a kick can never outlive the lease it was meant for.
	s.mu.Lock()
	s.unflushed = false
	if s.lease == lease && s.releasableLocked() {
		s.kicked = true
		_ = lease.Backend().Conn.SetReadDeadline(time.Unix(1, 0))
	}
	s.mu.Unlock()
	return nil
}

// emit sends a message pgwarp generated, in order with the server's
// responses: at once if nothing is in flight, otherwise when the responses
// to everything sent before it have been relayed.
func (s *Session) emit(msg []byte) { s.emitSynth(msg, false) }

// emitWithReady is emit followed by ReadyForQuery with the transaction
// status current at that point.
func (s *Session) emitWithReady(msg []byte) { s.emitSynth(msg, true) }

func (s *Session) emitSynth(msg []byte, ready bool) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	if s.lease != nil && !s.q.empty() {
		s.q.push(expectation{kind: expectSynth, synth: msg, synthReady: ready})
		s.mu.Unlock()
		return
	}
	status := s.txStatus
	if s.lease == nil {
		status = txIdle
	}
	gone := s.clientGone
	s.mu.Unlock()
	if gone {
		return
	}
	if ready {
		msg = appendReadyForQuery(msg, status)
	}
	_, _ = s.conn.Write(msg)
}

// end finishes the session after its loop returned: it tells the client why
// (unless it left), returns or destroys the backend, and logs.
func (s *Session) end(err error) {
	s.setState(sessionStateClosing)
	var e *Error
	switch {
	case errors.Is(err, errTerminate):
	case s.interrupts.Load() && errors.Is(err, os.ErrDeadlineExceeded):
		if !s.relayFailed.Load() {
			e = newFatal(CodeAdminShutdown, "terminating connection due to administrator command")
		}
	case errors.As(err, &e):
	case err != nil && !isDisconnect(err) && !s.relayFailed.Load():
		var tl *errMessageTooLarge
		if errors.As(err, &tl) {
			e = newFatal(CodeProtocolViolation, "invalid message: %v", tl).
				withHint("raise max_message_bytes in pgwarp.yaml if such large statements or parameters are intended")
		} else if errors.Is(err, errBadLength) {
			e = newFatal(CodeProtocolViolation, "invalid message length")
		}
	}
	if e != nil {
		s.sendError(e)
	}
	s.releaseAtEnd()
	s.abandonPendingFills()
	s.releaseStatements()
	s.setState(sessionStateClosed)
	s.endSessionSpan(err)
	s.logInfo("connection closed", "duration", time.Since(s.started).Round(time.Millisecond),
		"queries", s.queries.Load(), "transactions", s.transactions.Load())
}
