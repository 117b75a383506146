package proxy

import (
	"bytes"
	"strconv"
	"sync"
	"time"

	"github.com/pgwarp/pgwarp/policy"
	"github.com/pgwarp/pgwarp/query"
)

// Policies (package policy decides; the proxy acts). Each statement sent
// upstream gets a run with its Decision and an Observer fed by the relay:
//
//   - Rows and bytes returned: past a limit the relay cancels the statement
//     upstream, drops the rest of its result and ends it with the
//     violation's error; nothing is buffered.
//   - Rows written: an autocommit write is preceded by a BEGIN pgwarp
//     pipelines itself; the session reads nothing more from the client until
//     the relay has seen the statement's row count, then sends COMMIT, or
//     ROLLBACK when the count is over the limit, so nothing partial remains.
//     Inside the client's own transaction the statement's result is replaced
//     by the error and the transaction is made to fail upstream before the
//     client's next statement.
//   - Statement timeout (autocommit) and transaction timeout: timers cancel
//     the statement upstream; a timed-out transaction is rolled back upstream
//     and its backend released, while the client sees it as failed until it
//     ends it (25P04 once, then 25P02), as with PostgreSQL.
//
// Only the session goroutine writes to the backend: timers interrupt its
// client read, and a wrapped write makes it wait for the relay's verdict.

// run is the policy state of one statement (one Query or Execute) in
// flight. The session goroutine creates it; afterwards it is guarded by
// Session.mu.
type run struct {
	dec     policy.Decision
	obs     policy.Observer
	write   bool
	wrapped bool
	inTx    bool
	start   time.Time
	// violation ends the statement with its error (an enforced limit).
	violation *policy.Violation
	// cancelled says pgwarp asked the server to cancel the statement.
	cancelled bool
	// timedOut is the statement-timeout violation, once fired.
	timedOut *policy.Violation
	done     bool
}

// isWrite reports whether statements write rows (for the per-write limit).
func isWrite(info *query.Info) bool {
	for i := range info.Statements {
		switch info.Statements[i].Kind {
		case query.KindInsert, query.KindUpdate, query.KindDelete, query.KindMerge, query.KindCopyFrom:
			return true
		}
		if len(info.Statements[i].Writes) > 0 && info.Statements[i].Kind != query.KindDDL {
			return true
		}
	}
	return false
}

// writeBoundLocked bounds the rows an autocommit write can write
// (query.Catalog.MaxRowsWritten), or returns 0. It uses the catalog only
// when the cache keeps it current (DDL reloads it); without the cache no
// write is bounded. mu is held.
func (s *Session) writeBoundLocked(info *query.Info) int64 {
	if c := s.srv.cache; c == nil || c.Disabled() || s.lexerUnsafe {
		return 0
	}
	cat, current := s.srv.catalogFor(s)
	if !current {
		return 0
	}
	return cat.MaxRowsWritten(info, s.searchPath(), s.nextVals)
}

// isTxExit reports whether info is a single COMMIT, END, ROLLBACK or ABORT.
func isTxExit(info *query.Info) bool {
	if info == nil || len(info.Statements) != 1 {
		return false
	}
	k := info.Statements[0].Transaction.Kind
	return k == query.TxCommit || k == query.TxRollback
}

// newRunLocked decides the policy for a statement about to be sent, or
// for a fast-path function call when call is set (info is then nil: the
// result size and the statement timeout apply, a row count has no
// meaning). It returns nil when no limit applies. mu is held.
func (s *Session) newRunLocked(info *query.Info, call bool) *run {
	eng := s.srv.policy
	if eng == nil || (info == nil && !call) || s.admin {
		return nil
	}
	write := !call && isWrite(info)
	inTx := s.lease != nil && s.txStatus != txIdle
	pst := policy.Statement{Write: write, InTransaction: inTx}
	if write && !inTx {
		pst.MaxRowsWritten = s.writeBoundLocked(info)
	}
	dec := eng.Check(s.database, s.user, pst)
	if dec.Mode == policy.ModeOff {
		return nil
	}
	s.txLimit = dec
	if dec.MaxRows == 0 && dec.MaxResultBytes == 0 && dec.MaxWriteRows == 0 && dec.StatementTimeout == 0 {
		return nil
	}
	return &run{dec: dec, obs: dec.Observe(), write: write, inTx: inTx, start: time.Now()}
}

// startStatementTimerLocked arms the statement timeout for r. mu is held.
func (s *Session) startStatementTimerLocked(r *run) {
	if r == nil || r.dec.StatementTimeout <= 0 {
		return
	}
	s.timedRun = r
	if s.stmtTimer == nil {
		s.stmtTimer = time.AfterFunc(r.dec.StatementTimeout, s.statementTimedOut)
		return
	}
	s.stmtTimer.Reset(r.dec.StatementTimeout)
}

// statementTimedOut runs on the timer's goroutine.
func (s *Session) statementTimedOut() {
	s.mu.Lock()
	r := s.timedRun
	if r == nil || r.done || r.timedOut != nil {
		s.mu.Unlock()
		return
	}
	r.timedOut = r.dec.StatementTimedOut(time.Since(r.start))
	enforced := r.timedOut.Enforced()
	s.mu.Unlock()
	if enforced {
		s.cancel()
	}
}

// finishRunLocked marks a run over and disarms its statement timer.
func (s *Session) finishRunLocked(r *run) {
	if r == nil || r.done {
		return
	}
	r.done = true
	if s.timedRun == r {
		s.timedRun = nil
		if s.stmtTimer != nil {
			s.stmtTimer.Stop()
		}
	}
}

// enforceLocked makes v end the current statement: the rest of its result is
// dropped, the statement cancelled upstream, and its end replaced by v's
// error. mu is held (in the relay).
func (s *Session) enforceLocked(r *run, v *policy.Violation) {
	r.violation = v
	if !r.cancelled {
		r.cancelled = true
		go s.cancel()
	}
}

// violationError turns a policy violation into the client's error.
func violationError(v *policy.Violation) *Error {
	return &Error{Severity: SeverityError, Code: v.Code, Message: v.Message, Detail: v.Detail, Hint: v.Hint}
}

// writtenRows parses the row count of a CommandComplete tag of a write
// (INSERT 0 n, UPDATE n, DELETE n, MERGE n, COPY n); ok is false for other
// tags.
func writtenRows(body []byte) (int64, bool) {
	tag := body
	if i := bytes.IndexByte(tag, 0); i >= 0 {
		tag = tag[:i]
	}
	sp := bytes.LastIndexByte(tag, ' ')
	if sp < 0 {
		return 0, false
	}
	switch {
	case bytes.HasPrefix(tag, []byte("INSERT ")), bytes.HasPrefix(tag, []byte("UPDATE ")),
		bytes.HasPrefix(tag, []byte("DELETE ")), bytes.HasPrefix(tag, []byte("MERGE ")),
		bytes.HasPrefix(tag, []byte("COPY ")):
	default:
		return 0, false
	}
	n, err := strconv.ParseInt(string(tag[sp+1:]), 10, 64)
	return n, err == nil
}

// abortSQL makes the upstream transaction fail after pgwarp reported an
// error the server did not raise itself, so that the client's COMMIT ends
// in ROLLBACK, as it would in PostgreSQL.
const abortSQL = `DO $pgwarp$ BEGIN RAISE EXCEPTION 'pgwarp: transaction aborted after a policy violation' USING ERRCODE = '25P02'; END $pgwarp$`

// txTimedOutLocked arms or disarms the transaction timer as the status
// changes; it runs at every ReadyForQuery. mu is held.
func (s *Session) noteTxStatusLocked(prev, status byte) {
	if s.txLimit.TransactionTimeout <= 0 {
		return
	}
	switch {
	case prev == txIdle && status != txIdle:
		s.txEpoch++
		epoch := s.txEpoch
		s.txStart = time.Now()
		dec := s.txLimit
		if s.txTimer != nil {
			s.txTimer.Stop()
		}
		s.txTimer = time.AfterFunc(dec.TransactionTimeout, func() { s.transactionTimedOut(epoch, dec) })
	case status == txIdle && s.txTimer != nil:
		s.txTimer.Stop()
		s.txTimer = nil
	}
}

// transactionTimedOut runs on the timer's goroutine: it cancels what runs
// and wakes the session goroutine to roll the transaction back.
func (s *Session) transactionTimedOut(epoch int, dec policy.Decision) {
	s.mu.Lock()
	if s.txEpoch != epoch || s.lease == nil || s.txStatus == txIdle || s.txTimeout != nil {
		s.mu.Unlock()
		return
	}
	v := dec.TransactionTimedOut(time.Since(s.txStart))
	if !v.Enforced() {
		s.mu.Unlock()
		return
	}
	s.txTimeout = v
	busy := !s.q.empty()
	s.mu.Unlock()
	s.wakeForTimeout()
	if busy {
		s.cancel()
	}
}

// wakeForTimeout interrupts the session goroutine's client read.
func (s *Session) wakeForTimeout() {
	s.timeoutWake.Store(true)
	_ = s.raw.SetReadDeadline(time.Unix(1, 0))
}

// hasTransactionControl reports whether statements include BEGIN, COMMIT,
// ROLLBACK or savepoints: a write in such a string cannot be wrapped in
// pgwarp's own transaction (the client's COMMIT would end it).
func hasTransactionControl(info *query.Info) bool {
	for i := range info.Statements {
		if info.Statements[i].Kind == query.KindTransaction {
			return true
		}
	}
	return false
}

// wrapLocked makes an autocommit write undoable: a BEGIN goes upstream
// ahead of it (for the extended protocol, ahead of its batch, which must
// still be unwritten), and the session settles the transaction once the
// relay has seen the write's row count. mu is held; the statement's own
// expectation is queued after this returns.
func (s *Session) wrapLocked(rn *run, kind expectKind) {
	begin := appendMsg(nil, msgQuery, []byte("BEGIN\x00"))
	beginExp := expectation{kind: expectQuery, swallow: true}
	defer func() {
		if rn.wrapped {
			s.wrapped.Add(1)
			s.srv.stats.wrappedWrites.Add(1)
		}
	}()
	switch {
	case kind == expectQuery:
		s.out = append(s.out, begin...)
		s.pushLocked(beginExp)
		rn.wrapped = true
		s.wrapWait = true
		s.nextQueryWrapEnd = true
	case s.batchWrapped:
		rn.wrapped = true
	case s.batchOpen && s.batchOut >= 0:
		// Insert BEGIN where the batch starts, bytes and expectation
		// alike, so both stay in the order the server will answer.
		s.out = append(s.out[:s.batchOut], append(begin, s.out[s.batchOut:]...)...)
		s.q.insertAt(s.batchQ, beginExp)
		rn.wrapped, s.batchWrapped = true, true
	case !s.batchOpen:
		s.out = append(s.out, begin...)
		s.pushLocked(beginExp)
		s.batchOut, s.batchQ = len(s.out), len(s.q.items)
		rn.wrapped, s.batchWrapped = true, true
	default:
		// The batch's first messages were already written: the write
		// cannot be undone; its violation is still reported.
		s.logger().Warn("write could not be wrapped in a transaction: its batch was already sent; max_rows_per_write is reported but not undone")
	}
}

// settleWrap runs on the session goroutine after a wrapped write was
// written upstream: it waits for the relay's verdict, then commits or rolls
// back pgwarp's transaction. The client hears the ReadyForQuery of that
// COMMIT or ROLLBACK, and the COMMIT's error if it fails.
func (s *Session) settleWrap() {
	s.mu.Lock()
	for !s.wrapDecided && s.lease != nil {
		if s.copyIn.Load() && !s.copyDoneSent {
			// COPY FROM STDIN: the client must send its data first.
			s.mu.Unlock()
			return
		}
		s.cond.Wait()
	}
	s.wrapWait, s.copyDoneSent = false, false
	rollback := s.wrapRollback
	s.wrapDecided, s.wrapRollback = false, false
	if s.lease == nil {
		s.mu.Unlock()
		return
	}
	sql := "COMMIT\x00"
	if rollback {
		sql = "ROLLBACK\x00"
	}
	s.out = appendMsg(s.out, msgQuery, []byte(sql))
	s.pushLocked(expectation{kind: expectQuery, swallow: true, passReady: true})
	s.mu.Unlock()
	_ = s.flush()
}

// rollbackTimedOut runs on the session goroutine when the transaction
// timer fired: once the cancelled statement (if any) has answered, the
// transaction is rolled back upstream and the backend released, and the
// client is left in a failed transaction it must end.
func (s *Session) rollbackTimedOut() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.txTimeout == nil {
		return
	}
	deadline := time.Now().Add(2 * cancelTimeout)
	for s.lease != nil && !s.q.empty() && time.Now().Before(deadline) {
		waitCond(s.cond, 100*time.Millisecond)
	}
	if s.lease == nil || s.txStatus == txIdle {
		return
	}
	if !s.q.empty() {
		// The server never answered: destroy the backend.
		_ = s.lease.Backend().Conn.Close()
		return
	}
	s.out = appendMsg(s.out, msgQuery, []byte("ROLLBACK\x00"))
	s.pushLocked(expectation{kind: expectQuery, swallow: true, swallowErrors: true})
	s.mu.Unlock()
	_ = s.flush()
	s.mu.Lock()
	// The client's next message must find the transaction over.
	deadline = time.Now().Add(2 * cancelTimeout)
	for s.lease != nil && !s.q.empty() && time.Now().Before(deadline) {
		waitCond(s.cond, 100*time.Millisecond)
	}
}

// waitCond waits on c (its lock held) for at most d.
func waitCond(c *sync.Cond, d time.Duration) {
	t := time.AfterFunc(d, c.Broadcast)
	c.Wait()
	t.Stop()
}

// failedTransaction answers the client while its transaction is failed
// after a timeout: pgwarp already rolled it back upstream, and the client
// must end it, as PostgreSQL requires after an error. COMMIT and ROLLBACK
// end it (COMMIT reports ROLLBACK, as PostgreSQL does); everything else is
// refused, the first time with the timeout's own error.
func (s *Session) failedTransaction(typ byte, body []byte) error {
	refuse := func() *Error {
		if !s.txTimeoutReported {
			s.txTimeoutReported = true
			return violationError(s.txTimeout)
		}
		return errInFailedTransaction()
	}
	end := func() {
		s.txTimeout, s.txTimeoutReported = nil, false
	}
	switch typ {
	case msgQuery:
		s.queries.Add(1)
		if isTxExit(s.classify(body)) {
			s.mu.Lock()
			end()
			s.mu.Unlock()
			s.emitWithReady(appendCommandComplete(nil, "ROLLBACK"))
			return nil
		}
		s.mu.Lock()
		e := refuse()
		s.mu.Unlock()
		s.emit(append(appendErrorResponse(nil, e), msgReadyForQuery, 0, 0, 0, 5, txFailed))
		return nil
	case msgParse:
		m, err := decodeParse(body, nil)
		if err != nil {
			return newFatal(CodeProtocolViolation, "invalid Parse message")
		}
		exit := isTxExit(s.classify([]byte(m.query)))
		s.failedExit[m.name] = exit
		if exit {
			s.emit(parseComplete)
			return nil
		}
	case msgBind:
		portal, name, _, err := decodeBindNames(body)
		if err != nil {
			return newFatal(CodeProtocolViolation, "invalid Bind message")
		}
		if s.failedExit[name] {
			s.failedExit["\x00portal:"+portal] = true
			s.emit([]byte{msgBindComplete, 0, 0, 0, 4})
			return nil
		}
	case msgDescribe:
		kind, name, err := decodeTarget(body)
		if err != nil {
			return newFatal(CodeProtocolViolation, "invalid Describe message")
		}
		key := name
		if kind == 'P' {
			key = "\x00portal:" + name
		}
		if s.failedExit[key] {
			if kind == 'S' {
				s.emit([]byte{msgParamDescription, 0, 0, 0, 6, 0, 0})
			}
			s.emit([]byte{msgNoData, 0, 0, 0, 4})
			return nil
		}
	case msgExecute:
		portal, _, _ := readCString(body)
		if s.failedExit["\x00portal:"+portal] {
			s.mu.Lock()
			end()
			s.mu.Unlock()
			clear(s.failedExit)
			s.emit(appendCommandComplete(nil, "ROLLBACK"))
			return nil
		}
	case msgClose:
		s.emit(closeComplete)
		return nil
	}
	s.mu.Lock()
	e := refuse()
	s.mu.Unlock()
	s.sendErrorFor(e, typ)
	return nil
}

// errInFailedTransaction is PostgreSQL's answer to a statement in a failed
// transaction block.
func errInFailedTransaction() *Error {
	return newError(CodeInFailedTransaction, "current transaction is aborted, commands ignored until end of transaction block")
}
