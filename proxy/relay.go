package proxy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/pgwarp/pgwarp/policy"
	"github.com/pgwarp/pgwarp/pool"
)

// maxServerMessage bounds a server message pgwarp must hold whole (all but
// DataRow and CopyData, which are streamed). PostgreSQL's own messages of
// those kinds are small; a larger one means a broken connection.
const maxServerMessage = 64 << 20

// relay copies one lease's backend output to the client. It runs in its own
// goroutine from the lease's start until it releases the lease (the backend
// is idle and nothing is in flight) or the backend fails. It is the only
// reader of the backend and the only one that ends the lease.
type relay struct {
	s     *Session
	lease *pool.Lease
	b     *pool.Backend
	buf   []byte // b.ReadBuf, or a larger buffer for one large message
	r, w  int    // unprocessed bytes are buf[r:w]
	// passLeft is the number of bytes of a large streamed message still
	// to pass through; passDrop says they are dropped.
	passLeft int
	passDrop bool
	passFill *expectation // the streamed row also goes into this fill
	out      emitter
	done     chan struct{}
	skipped  []expectation // skipBatch's buffer
}

// startRelayLocked starts the relay of a new lease on a worker goroutine
// (workers.go); mu is held.
func (s *Session) startRelayLocked(lease *pool.Lease) {
	done := make(chan struct{})
	s.relayDone = done
	b := lease.Backend()
	r := &relay{s: s, lease: lease, b: b, buf: b.ReadBuf, w: b.Buffered, done: done}
	b.Buffered = 0
	s.srv.workers.start(r.run)
}

func (r *relay) run() {
	defer close(r.done)
	for {
		if r.w > r.r || r.passLeft > 0 {
			released, err := r.process()
			if err != nil {
				r.fail(err)
				return
			}
			if released {
				return
			}
		}
		if r.w == len(r.buf) {
			if err := r.makeRoom(); err != nil {
				r.fail(err)
				return
			}
		}
		n, err := r.b.Conn.Read(r.buf[r.w:])
		r.w += n
		if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && r.takeKick() {
			_ = r.b.Conn.SetReadDeadline(time.Time{})
			if n == 0 && r.passLeft == 0 && r.release() {
				return
			}
			continue
		}
		if err != nil {
			if n > 0 {
				if _, perr := r.process(); perr != nil {
					err = perr
				}
			}
			r.fail(err)
			return
		}
	}
}

// takeKick reports (and clears) a kick from the session.
func (r *relay) takeKick() bool {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	k := r.s.kicked
	r.s.kicked = false
	return k
}

// makeRoom compacts the buffer or grows it for a message that does not fit.
func (r *relay) makeRoom() error {
	if r.r > 0 {
		r.w = copy(r.buf, r.buf[r.r:r.w])
		r.r = 0
		return nil
	}
	// One message is larger than the buffer and must be held whole.
	need := len(r.buf) * 2
	if r.w >= 5 {
		need = max(need, 1+int(binary.BigEndian.Uint32(r.buf[1:])))
	}
	if need > maxServerMessage {
		return fmt.Errorf("upstream sent a %d-byte message of type %q; the limit is %d", need, r.buf[0], maxServerMessage)
	}
	nb := make([]byte, need)
	r.w = copy(nb, r.buf[:r.w])
	r.buf = nb
	return nil
}

// process handles every complete message buffered (and passes through the
// buffered part of a large DataRow or CopyData), writes the result to the
// client, and releases the lease if the backend became idle. It reports
// whether the lease was released.
func (r *relay) process() (released bool, err error) {
	s := r.s
	s.wmu.Lock()
	s.mu.Lock()
	r.out.reset(r.buf)
	for {
		if r.passLeft > 0 {
			k := min(r.passLeft, r.w-r.r)
			if k == 0 {
				break
			}
			if !r.passDrop {
				r.out.pass(r.r, r.r+k)
			}
			if r.passFill != nil {
				s.fillResult(r.passFill, r.buf[r.r:r.r+k])
				if r.passLeft == k {
					r.passFill = nil
				}
			}
			r.r += k
			r.passLeft -= k
			continue
		}
		if r.w-r.r < 5 {
			break
		}
		typ := r.buf[r.r]
		n := int(int32(binary.BigEndian.Uint32(r.buf[r.r+1:])))
		if n < 4 {
			err = fmt.Errorf("upstream sent a message of type %q with invalid length %d", typ, n)
			break
		}
		total := 1 + n
		if r.w-r.r < total {
			// DataRow and CopyData are streamed, never held whole: a
			// 1 GB value costs one buffer.
			if (typ == msgDataRow || typ == msgCopyData) && total > len(r.buf)/2 {
				if err = r.handle(typ, nil, -1, -1, total); err != nil {
					break
				}
				r.passDrop = s.clientGone || s.mute || (s.q.peek() != nil && s.q.peek().swallow)
				r.passLeft = total
				continue
			}
			break
		}
		if err = r.handle(typ, r.buf[r.r+5:r.r+total], r.r, r.r+total, total); err != nil {
			break
		}
		r.r += total
	}
	out := r.out.result()
	gone := s.clientGone
	releasable := err == nil && s.releasableLocked()
	s.mu.Unlock()
	if len(out) > 0 && !gone {
		if _, werr := s.conn.Write(out); werr != nil {
			s.mu.Lock()
			s.clientGone = true
			s.mu.Unlock()
			s.interruptRead()
		}
	}
	s.wmu.Unlock()
	if r.r == r.w {
		r.r, r.w = 0, 0
		if len(r.buf) != len(r.b.ReadBuf) {
			r.buf = r.b.ReadBuf
		}
	}
	if err != nil {
		return false, err
	}
	if releasable {
		return r.release(), nil
	}
	return false, nil
}

// handle processes one server message; body is nil (and start/end -1) for
// the header of a streamed message, whose whole size is size. It runs with
// wmu and mu held.
func (r *relay) handle(typ byte, body []byte, start, end, size int) error {
	s := r.s
	head := s.q.peek()
	switch typ {
	case msgNoticeResponse, msgNotification:
		r.passAlways(start, end)
		return nil
	case msgParameterStatus:
		if name, rest, ok := readCString(body); ok {
			if value, _, ok := readCString(rest); ok {
				r.b.Params[name] = value
				s.noteParameterStatusLocked(name, value, head != nil && !head.swallow)
			}
		}
		r.passAlways(start, end)
		return nil
	}
	if head == nil {
		if typ == msgErrorResponse {
			// An error outside any request: the server is going away
			// (administrator shutdown, idle session timeout).
			r.passAlways(start, end)
			r.b.MarkBroken()
			return nil
		}
		return fmt.Errorf("upstream sent an unexpected %q message while nothing was in flight", typ)
	}
	switch typ {
	case msgReadyForQuery:
		if len(body) != 1 {
			return errors.New("upstream sent a malformed ReadyForQuery")
		}
		// Anything before the Sync this answers was skipped.
		for !head.kind.endsWithReadyForQuery() {
			r.complete(false)
			if head = s.q.peek(); head == nil {
				return errors.New("upstream sent ReadyForQuery with no Sync in flight")
			}
		}
		r.readyForQuery(head, body[0], start, end)
	case msgErrorResponse:
		if head.kind == expectBind && head.retry != nil && isStalePlanError(body) && r.retryStaleLocked(head) {
			return nil
		}
		finishFill(head, false, s.srv)
		_, code, _ := parseErrorFields(body)
		if head.obs.active {
			if head.kind == expectExecute {
				s.endObs(&head.obs, code)
			} else if head.errCode == "" {
				head.errCode = code
			}
		} else if !s.mute && !head.swallow {
			// A Parse, Bind or Describe failed: no statement's
			// observation logs it.
			info := head.info
			if info == nil && head.stmt != nil {
				info = head.stmt.info
			}
			s.logQueryError(info, code, 0)
		}
		r.errorResponse(head, body, start, end)
		s.copyIn.Store(false)
		s.copyOut = false
		if head.kind == expectQuery || head.kind == expectFunctionCall {
			// The rest of a simple query is skipped; ReadyForQuery
			// still ends it.
			head.failed = true
			return nil
		}
		if head.stmt != nil && isStalePlanError(body) {
			head.stmt.invalidate(head.stmtV.name)
			r.b.Statements.Remove(head.stmtV.name)
		}
		// The extended-protocol message failed: the server now skips
		// everything up to Sync.
		if head = r.skipBatch(); head == nil {
			s.serverSkip = true
		}
	case msgParseComplete:
		return r.expect(head, expectParse, typ, start, end, true)
	case msgBindComplete:
		return r.expect(head, expectBind, typ, start, end, true)
	case msgCloseComplete:
		return r.expect(head, expectClose, typ, start, end, true)
	case msgParamDescription:
		head.gotParamDesc = true
		if start >= 0 {
			noteParams(head, r.buf[start:end])
		}
		if head.onParamDesc != nil {
			if types, err := decodeParamDescription(body); err == nil {
				head.onParamDesc(types)
			}
		}
		return r.expect(head, expectDescribeStmt, typ, start, end, false)
	case msgNoData:
		if head.kind != expectDescribeStmt && head.kind != expectDescribePortal {
			return r.unexpected(head, typ)
		}
		noteShape(head, nil)
		r.pass(head, start, end)
		r.complete(true)
	case msgRowDescription:
		switch head.kind {
		case expectDescribeStmt, expectDescribePortal:
			noteShape(head, body)
			if head.fill != nil && start >= 0 {
				if !head.fill.AppendDescribe(r.buf[start:end]) {
					head.fill = nil
				}
			}
			r.pass(head, start, end)
			r.complete(true)
		case expectQuery, expectExecute:
			if start >= 0 {
				s.fillResult(head, r.buf[start:end])
			}
			r.pass(head, start, end)
		default:
			return r.unexpected(head, typ)
		}
	case msgDataRow:
		if head.kind != expectQuery && head.kind != expectExecute {
			return r.unexpected(head, typ)
		}
		r.observeRow(head, size, true)
		if s.mute {
			finishFill(head, false, s.srv)
		} else if start >= 0 {
			s.fillResult(head, r.buf[start:end])
		} else if head.fill != nil {
			// A streamed row: its chunks are copied as they pass.
			r.passFill = head
		}
		r.pass(head, start, end)
	case msgCopyData:
		if head.kind != expectQuery && head.kind != expectExecute {
			return r.unexpected(head, typ)
		}
		if s.copyOut {
			// COPY TO STDOUT sends one CopyData per row: rows returned,
			// under the same limits as DataRows.
			r.observeRow(head, size, true)
		}
		r.pass(head, start, end)
	case msgCommandComplete, msgEmptyQuery:
		if typ == msgCommandComplete {
			if rn := head.run; rn != nil && rn.violation == nil && !s.mute {
				if rn.write {
					if n, ok := writtenRows(body); ok {
						if v := rn.obs.Written(n); v != nil {
							head.obs.noteViolation(v)
							if v.Enforced() {
								r.violate(head, rn, v, false)
							}
						}
					}
				}
				// The next statement of a simple query starts afresh.
				rn.obs = rn.dec.Observe()
			}
			if !s.mute && start >= 0 {
				s.fillResult(head, r.buf[start:end])
			}
			if head.info != nil && !s.mute {
				s.invalidateLocked(head.info, head.vals)
			}
			r.pass(head, start, end)
			s.noteCommandTagLocked(body)
			if head.info != nil && head.stmtIdx < len(head.info.Statements) && !s.mute {
				s.applyOnCompleteLocked(&head.info.Statements[head.stmtIdx], r.b)
			}
			head.stmtIdx++
		} else {
			r.pass(head, start, end)
		}
		switch head.kind {
		case expectExecute:
			s.finishRunLocked(head.run)
			finishFill(head, !s.mute, s.srv)
			s.endObs(&head.obs, "")
			r.complete(true)
		case expectQuery, expectFunctionCall:
		default:
			return r.unexpected(head, typ)
		}
		s.copyIn.Store(false)
		s.copyOut = false
	case msgPortalSuspended:
		s.finishRunLocked(head.run)
		s.endObs(&head.obs, "")
		return r.expect(head, expectExecute, typ, start, end, true)
	case msgCopyInResponse:
		s.copyIn.Store(true)
		s.cond.Broadcast()
		r.pass(head, start, end)
	case msgCopyOutResponse:
		s.copyOut = true
		r.pass(head, start, end)
	case msgCopyDone:
		s.copyOut = false
		r.pass(head, start, end)
	case msgFunctionCallResp:
		// The call has finished: a result over max_result_bytes is
		// replaced by the violation, nothing is left to cancel.
		r.observeRow(head, size, false)
		r.pass(head, start, end)
	default:
		return fmt.Errorf("upstream sent an unexpected %q message (answering %s)", typ, head.kind)
	}
	return nil
}

// noteShape records the row description of a renamed statement's version
// the first time it is described, and hands it to a shape check.
func noteShape(head *expectation, desc []byte) {
	if head.kind != expectDescribeStmt || head.stmtV == nil {
		return
	}
	switch {
	case head.checkShape != nil:
		head.checkShape(desc)
	case head.probe:
		keepFirst(&head.stmtV.probedDesc, desc)
	default:
		keepFirst(&head.stmtV.desc, desc)
	}
}

// noteParams records the ParameterDescription message msg of a Describe of
// a renamed statement version, beside its row description (noteShape).
func noteParams(head *expectation, msg []byte) {
	switch {
	case head.kind != expectDescribeStmt || head.stmtV == nil || head.checkShape != nil:
	case head.probe:
		keepFirst(&head.stmtV.probedParams, msg)
	default:
		keepFirst(&head.stmtV.params, msg)
	}
}

// keepFirst stores a copy of b in p unless p holds one already: a version's
// description never changes, so only its first Describe copies it.
func keepFirst(p *atomic.Pointer[[]byte], b []byte) {
	if p.Load() != nil {
		return
	}
	c := append([]byte{}, b...)
	p.CompareAndSwap(nil, &c)
}

// pass forwards a message answering head, unless it is swallowed or muted.
func (r *relay) pass(head *expectation, start, end int) {
	if start >= 0 && !head.swallow && !r.s.mute {
		r.out.pass(start, end)
	}
}

// passAlways forwards an asynchronous message (notice, notification,
// parameter status), which PostgreSQL delivers whatever else happens.
func (r *relay) passAlways(start, end int) {
	if start >= 0 {
		r.out.pass(start, end)
	}
}

// observeRow counts one row of size bytes returned by head's statement
// and enforces the row and result-size limits on it; running says the
// statement is still running upstream (and is cancelled on a violation).
// mu is held.
func (r *relay) observeRow(head *expectation, size int, running bool) {
	s := r.s
	head.obs.rows++
	head.obs.bytes += int64(size)
	if rn := head.run; rn != nil && rn.violation == nil && !s.mute {
		if v := rn.obs.Row(size); v != nil {
			head.obs.noteViolation(v)
			if v.Enforced() {
				r.violate(head, rn, v, running)
			}
		}
	}
}

// violate ends the statement of head with an enforced policy violation:
// its error goes to the client now, everything until ReadyForQuery is
// muted (PostgreSQL skips the rest of a batch after an error), a running
// statement is cancelled upstream, and a transaction it ran in is made to
// fail.
func (r *relay) violate(head *expectation, rn *run, v *policy.Violation, running bool) {
	s := r.s
	r.out.add(appendErrorResponse(nil, violationError(v)))
	s.mute = true
	if rn.wrapped {
		s.wrapRollback = true
	} else if rn.inTx {
		s.violatedInTx = true
	}
	if running {
		s.enforceLocked(rn, v)
	} else {
		rn.violation = v
	}
}

// errorResponse forwards an ErrorResponse, replacing the server's
// "canceling statement" with pgwarp's own reason when pgwarp cancelled it
// for a timeout.
func (r *relay) errorResponse(head *expectation, body []byte, start, end int) {
	s := r.s
	if s.mute {
		return
	}
	if head.swallow && (head.errorsAsNotice || head.swallowErrors) {
		if head.errorsAsNotice {
			r.out.add(noticeFromError(body, "pgwarp could not restore session state: "))
		}
		return
	}
	_, code, _ := parseErrorFields(body)
	if code == CodeQueryCanceled {
		if rn := head.run; rn != nil && rn.timedOut != nil {
			r.out.add(appendErrorResponse(nil, violationError(rn.timedOut)))
			return
		}
		if s.txTimeout != nil {
			s.txTimeoutReported = true
			r.out.add(appendErrorResponse(nil, violationError(s.txTimeout)))
			return
		}
	}
	r.passAlways(start, end)
}

// readyForQuery completes a Sync or Query: the transaction status is
// recorded, muting ends, a status the client must see differently is
// rewritten, and a wrapped write's verdict is handed to the session.
func (r *relay) readyForQuery(head *expectation, status byte, start, end int) {
	s := r.s
	prev := s.txStatus
	s.txStatus = status
	r.b.TxStatus = status
	// pgwarp's own statements (settings sync, cancel cleanup) may be
	// queued after the client's Bind and before its Execute: only a
	// ReadyForQuery the client hears ends the client's portals.
	seq := head.seq
	if head.swallow && !head.passReady {
		seq = 0
	}
	s.endTransactionLocked(status, r.b, seq)
	s.noteTxStatusLocked(prev, status)
	s.copyIn.Store(false)
	s.copyOut = false
	s.finishRunLocked(head.run)
	finishFill(head, !head.failed && !s.mute, s.srv)
	s.endObs(&head.obs, head.errCode)
	if status == txIdle {
		s.endInvalidationsLocked()
	}
	s.mute = false
	if status == txIdle && s.txTimeout != nil && !head.swallow {
		// The client ended the timed-out transaction itself (its
		// ROLLBACK reached the server before pgwarp's).
		s.txTimeout, s.txTimeoutReported = nil, false
	}
	switch {
	case head.wrapEnd:
		// The wrapped write's ReadyForQuery: the session now commits or
		// rolls back, and the client hears of it after that.
		if status != txInTx {
			s.wrapRollback = true
		}
		s.wrapDecided = true
		s.cond.Broadcast()
	case s.violatedInTx:
		s.violatedInTx = false
		if status == txInTx {
			// pgwarp, not the server, failed the statement: the client
			// must see the transaction failed, and the server's will be
			// made to fail before the client's next statement.
			s.abortPending = true
			status = txFailed
		}
		if !head.swallow || head.passReady {
			r.out.add(appendReadyForQuery(nil, status))
		}
	case !head.swallow || head.passReady:
		r.out.pass(start, end)
	}
	r.complete(true)
}

// expect checks that the head expectation is of kind k, passes the message
// and completes the expectation when done is true.
func (r *relay) expect(head *expectation, k expectKind, typ byte, start, end int, done bool) error {
	if head.kind != k {
		return r.unexpected(head, typ)
	}
	r.pass(head, start, end)
	if done {
		r.complete(true)
	}
	return nil
}

// isStalePlanError reports PostgreSQL's "cached plan must not change result
// type" (0A000), raised for a prepared statement after a schema change.
func isStalePlanError(body []byte) bool {
	_, code, msg := parseErrorFields(body)
	return code == CodeFeatureNotSupported && msg == "cached plan must not change result type"
}

func (r *relay) unexpected(head *expectation, typ byte) error {
	return fmt.Errorf("upstream sent %q while pgwarp expected the answer to %s", typ, head.kind)
}

// complete pops the head expectation and then sends every synthetic
// response that is now at the head.
func (r *relay) complete(ok bool) {
	s := r.s
	e := s.q.pop()
	if e.done != nil {
		e.done(ok && !e.failed)
	}
	r.flushSynth()
	if s.q.empty() {
		s.cond.Broadcast()
	}
}

// skipBatch ends the head expectation, which failed, and every one queued
// after it up to its batch's Sync, as the server skips their messages, and
// returns the Sync's expectation (nil when it is not queued yet). pgwarp's
// own answers among them (a ParseComplete for a statement the backend
// already had, an error pgwarp raised) are dropped too: PostgreSQL would
// not have answered those messages. A skipped Describe or Execute gives up
// its cache fill, and a skipped Execute its observation. Their done
// callbacks run last first, as an undo: a Parse that took back a name a
// Close had just given up is undone before the Close is.
func (r *relay) skipBatch() *expectation {
	s := r.s
	skipped := r.skipped[:0]
	var head *expectation
	for {
		skipped = append(skipped, s.q.pop())
		if head = s.q.peek(); head == nil || head.kind.endsWithReadyForQuery() {
			break
		}
	}
	for i := len(skipped) - 1; i >= 0; i-- {
		s.abandonLocked(&skipped[i], i > 0) // skipped[0] failed
		skipped[i] = expectation{}
	}
	r.skipped = skipped[:0]
	if head == nil {
		s.cond.Broadcast()
	}
	return head
}

// flushSynth sends the synthetic responses at the head of the queue.
func (r *relay) flushSynth() {
	s := r.s
	for h := s.q.peek(); h != nil && h.kind == expectSynth; h = s.q.peek() {
		e := s.q.pop()
		if e.done != nil {
			e.done(!s.mute)
		}
		if s.mute {
			continue
		}
		r.out.add(e.synth)
		if e.synthReady {
			r.out.add(appendReadyForQuery(nil, s.txStatus))
		}
	}
}

// releasableLocked reports whether the lease may go back to the pool: the
// backend is idle outside a transaction, nothing is in flight or open, and
// nothing pins the session to it.
func (s *Session) releasableLocked() bool {
	return s.lease != nil && !s.pinned && s.q.empty() && s.txStatus == txIdle &&
		!s.batchOpen && !s.copyIn.Load() && !s.copyOut && !s.unflushed
}

// release ends the lease unless the session sent more in the meantime. A
// cancel request still being delivered to this backend is waited for
// first, so that it cannot hit the next session's query.
func (r *relay) release() bool {
	s := r.s
	s.mu.Lock()
	for s.cancelling != nil {
		ch := s.cancelling
		s.mu.Unlock()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			r.b.MarkBroken()
		}
		s.mu.Lock()
	}
	if !s.releasableLocked() || s.lease != r.lease {
		s.mu.Unlock()
		return false
	}
	if s.cancelFailed {
		r.b.MarkBroken()
		s.cancelFailed = false
	}
	if s.kicked {
		// A kick meant for this lease must not reach the next holder.
		s.kicked = false
		_ = r.b.Conn.SetReadDeadline(time.Time{})
	}
	s.lease = nil
	s.setState(sessionStateIdle)
	s.mu.Unlock()
	// Bytes after the final ReadyForQuery (an asynchronous notice, say)
	// stay with the backend, which Release then destroys.
	if r.r < r.w {
		if r.w-r.r <= len(r.b.ReadBuf) {
			r.b.Buffered = copy(r.b.ReadBuf, r.buf[r.r:r.w])
		} else {
			r.b.MarkBroken()
		}
	}
	r.lease.Release()
	return true
}

// fail handles a broken backend: the lease is destroyed and, unless the
// client already left, the client gets a FATAL error and the session ends.
func (r *relay) fail(err error) {
	s := r.s
	s.mu.Lock()
	gone := s.clientGone
	if s.lease == r.lease {
		s.lease = nil
	}
	// The transaction's writes may have committed just before the
	// backend went away: invalidate what they touched all the same.
	s.endInvalidationsLocked()
	// Nothing queued will be answered: give up fills (identical requests
	// would wait for them) and references as if the server skipped all.
	for !s.q.empty() {
		e := s.q.pop()
		s.abandonLocked(&e, false)
	}
	s.batchOpen, s.copyOut, s.serverSkip = false, false, false
	s.copyIn.Store(false)
	s.txStatus = txIdle
	s.cond.Broadcast()
	s.mu.Unlock()
	r.lease.Destroy()
	if gone || s.getState() >= sessionStateClosing {
		return
	}
	s.logger().Warn("upstream connection failed", "upstream", r.b.Addr(), "error", err)
	s.relayFailed.Store(true)
	e := newFatal(CodeConnectionFailure, "pgwarp lost the connection to the upstream server %s", r.b.Addr()).
		withDetail(err.Error())
	_ = s.writeClient(appendErrorResponse(nil, e))
	s.interruptRead()
}

// interruptRead makes the session goroutine's pending client read return.
func (s *Session) interruptRead() { _ = s.raw.SetReadDeadline(time.Unix(1, 0)) }

// noticeFromError re-encodes an ErrorResponse body as a WARNING
// NoticeResponse with a prefix on its message.
func noticeFromError(body []byte, prefix string) []byte {
	out, at := beginMsg(nil, msgNoticeResponse)
	for len(body) > 0 && body[0] != 0 {
		f := body[0]
		v, rest, ok := readCString(body[1:])
		if !ok {
			break
		}
		switch f {
		case 'S', 'V':
			v = "WARNING"
		case 'C':
			v = "01000"
		case 'M':
			v = prefix + v
		}
		out = append(out, f)
		out = appendCString(out, v)
		body = rest
	}
	out = append(out, 0)
	return finishMsg(out, at)
}

// emitter assembles the relay's output: ranges of the read buffer passed
// through unchanged (written without copying when contiguous) and
// messages pgwarp adds.
type emitter struct {
	src        []byte
	start, end int
	buf        []byte
}

func (e *emitter) reset(src []byte) {
	e.src, e.start, e.end = src, 0, 0
	e.buf = e.buf[:0]
	if cap(e.buf) > 1<<20 {
		e.buf = nil
	}
}

func (e *emitter) pass(a, b int) {
	if e.end == a && e.end > e.start {
		e.end = b
		return
	}
	e.spill()
	e.start, e.end = a, b
}

func (e *emitter) spill() {
	if e.end > e.start {
		e.buf = append(e.buf, e.src[e.start:e.end]...)
	}
	e.start, e.end = 0, 0
}

func (e *emitter) add(p []byte) {
	e.spill()
	e.buf = append(e.buf, p...)
}

// result returns the output; it aliases the read buffer when possible and
// is valid until the buffer is compacted.
func (e *emitter) result() []byte {
	if len(e.buf) == 0 {
		return e.src[e.start:e.end]
	}
	e.spill()
	return e.buf
}
