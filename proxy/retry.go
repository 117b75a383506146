package proxy

import (
	"encoding/binary"
	"time"

	"github.com/pgwarp/pgwarp/query"
)

// Transparent retry after a schema change. PostgreSQL refuses to run a
// prepared statement whose result type changed ("cached plan must not
// change result type"); pgwarp then re-prepares the statement (prepared.go)
// and, when it is safe, runs the client's batch again instead of failing
// it:
//
//   - the stale Bind is the first message of its batch that runs anything,
//     and the batch runs outside an explicit transaction, so nothing of it
//     took effect;
//   - nothing was sent after the batch's Sync.
//
// The retried Bind asks for a single result format (the client's, when it
// asked the same for every column, else text) since the column count may
// have changed, and the portal is described (pgwarp adds the Describe when
// the client, relying on a cached description as pgx does, sent none), so
// the client decodes the new row shape from the RowDescription. Otherwise
// the client gets the error, as from PostgreSQL, and re-prepares. A client
// whose statement was re-prepared because another client met the stale
// plan is moved to the new statement the same way on its next Bind.

// retryBatch is what pgwarp keeps to run the rest of a batch again.
type retryBatch struct {
	def       *stmtDef
	portal    string
	rest      []byte // the Bind's parameters and result formats
	described bool   // the batch describes the portal
	synced    bool   // the client's Sync was queued
	msgs      []retryMsg
}

// retryMsg is one later message of the batch, as written upstream.
type retryMsg struct {
	kind expectKind
	raw  []byte
	info *query.Info
}

// beginRetryLocked starts keeping a batch whose first executing message is
// a Bind of a renamed statement, outside a transaction. mu is held.
func (s *Session) beginRetryLocked(d *stmtDef, portal string, rest []byte) *retryBatch {
	s.retryCur = nil
	if s.batchRan || (s.lease != nil && s.txStatus != txIdle) {
		return nil
	}
	rb := &retryBatch{def: d, portal: portal, rest: append([]byte(nil), rest...)}
	s.retryCur = rb
	return rb
}

// keepForRetryLocked records a later message of the kept batch, or gives
// up on the retry for messages pgwarp does not replay. mu is held.
func (s *Session) keepForRetryLocked(kind expectKind, typ byte, body []byte, info *query.Info) {
	rb := s.retryCur
	if rb == nil {
		return
	}
	switch kind {
	case expectDescribePortal:
		if _, name, err := decodeTarget(body); err == nil && name == rb.portal {
			rb.described = true
		}
	case expectExecute, expectSync:
	default:
		s.retryCur = nil
		return
	}
	rb.msgs = append(rb.msgs, retryMsg{kind: kind, raw: appendMsg(nil, typ, body), info: info})
	if kind == expectSync {
		rb.synced = true
		s.retryCur = nil
	}
}

// retryStaleLocked decides, in the relay, whether a stale-plan error on the
// Bind at the head of the queue is retried: if so the error and the rest of
// the batch are hidden from the client and the session is woken to run it
// again. mu is held.
func (r *relay) retryStaleLocked(head *expectation) bool {
	s := r.s
	rb := head.retry
	if rb == nil || !rb.synced || s.retryPending != nil {
		return false
	}
	// The batch's own entries must be the last ones queued.
	if s.q.len() != 1+len(rb.msgs) || !s.q.items[len(s.q.items)-1].kind.endsWithReadyForQuery() {
		return false
	}
	head.stmt.invalidate(head.stmtV.name)
	r.b.Statements.Remove(head.stmtV.name)
	r.complete(false)
	for h := s.q.peek(); h != nil && !h.kind.endsWithReadyForQuery(); h = s.q.peek() {
		r.complete(false)
	}
	if h := s.q.peek(); h != nil {
		h.swallow, h.passReady = true, false
	}
	s.retryPending = rb
	s.retryWake.Store(true)
	_ = s.raw.SetReadDeadline(time.Unix(1, 0))
	return true
}

// runRetryLocked sends a kept batch again against the re-prepared
// statement. It runs on the session goroutine with mu held.
func (s *Session) runRetryLocked() error {
	rb := s.retryPending
	s.retryPending = nil
	if rb == nil {
		return nil
	}
	if err := s.reserveLocked(); err != nil {
		return err
	}
	s.openBatchLocked()
	b := s.lease.Backend()
	v := rb.def.current()
	s.markReshapedLocked(rb.def)
	if !s.preparedOnBackendLocked(b, v.name) {
		s.prepareOnBackendLocked(b, rb.def, true, nil)
	}
	s.pushLocked(expectation{kind: expectBind, stmt: rb.def, stmtV: v})
	s.out = appendBind(s.out, rb.portal, v.name, singleResultFormat(rb.rest))
	if !rb.described {
		s.pushLocked(expectation{kind: expectDescribePortal})
		s.out = appendTarget(s.out, msgDescribe, 'P', rb.portal)
	}
	for _, m := range rb.msgs {
		s.pushLocked(expectation{kind: m.kind, info: m.info})
		s.out = append(s.out, m.raw...)
		if m.kind == expectSync {
			s.batchOpen = false
		}
	}
	return nil
}

// singleResultFormat rewrites the result-format list at the end of a Bind
// body to one code valid for any number of columns: the client's own when
// it asked the same for every column, else text. A malformed body is
// returned unchanged (the server will say what is wrong with it).
func singleResultFormat(rest []byte) []byte {
	b := rest
	skip := func(n int) bool {
		if n < 0 || n > len(b) {
			return false
		}
		b = b[n:]
		return true
	}
	u16 := func() (int, bool) {
		if len(b) < 2 {
			return 0, false
		}
		v := int(int16(binary.BigEndian.Uint16(b)))
		b = b[2:]
		return v, true
	}
	nfc, ok := u16()
	if !ok || !skip(2*nfc) {
		return rest
	}
	np, ok := u16()
	if !ok {
		return rest
	}
	for range np {
		if len(b) < 4 {
			return rest
		}
		n := int(int32(binary.BigEndian.Uint32(b)))
		b = b[4:]
		if n > 0 && !skip(n) {
			return rest
		}
	}
	head := rest[:len(rest)-len(b)]
	nrf, ok := u16()
	if !ok || nrf <= 1 || len(b) != 2*nrf {
		return rest
	}
	code := int16(binary.BigEndian.Uint16(b))
	for i := 1; i < nrf; i++ {
		if int16(binary.BigEndian.Uint16(b[2*i:])) != code {
			code = 0
			break
		}
	}
	out := append([]byte(nil), head...)
	out = binary.BigEndian.AppendUint16(out, 1)
	return binary.BigEndian.AppendUint16(out, uint16(code))
}
