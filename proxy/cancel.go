package proxy

import (
	"context"
	"time"
)

// cancelTimeout bounds the delivery of one cancel request upstream.
const cancelTimeout = 5 * time.Second

// forwardCancel handles a CancelRequest: if the key names a live session,
// whatever that session is running upstream is cancelled, and nothing else.
// Unknown keys are ignored silently, as PostgreSQL does. It runs on the
// cancel connection's own goroutine; the number of cancels being forwarded
// at once is bounded so that a flood cannot exhaust the upstream.
func (srv *Server) forwardCancel(pid uint32, secret []byte) {
	srv.stats.cancelRequests.Add(1)
	sess := srv.sessionByKey(pid, secret)
	if sess == nil {
		return
	}
	select {
	case srv.cancelSlots <- struct{}{}:
		defer func() { <-srv.cancelSlots }()
	default:
		srv.logger().Warn("too many cancel requests in flight; dropping one", "session", sess.id)
		return
	}
	sess.cancel()
}

// cancel cancels the statement the session is running upstream, if any.
// While the cancel is being delivered the lease cannot be released (see
// relay.release), so the cancel can only ever reach this session's own
// work; and it waits for the server to acknowledge it, after which a later
// query on the same backend is safe from it.
func (s *Session) cancel() {
	s.mu.Lock()
	if s.lease == nil || s.cancelling != nil || (s.q.empty() && !s.copyIn.Load() && !s.copyOut) {
		s.mu.Unlock()
		return
	}
	b := s.lease.Backend()
	done := make(chan struct{})
	s.cancelling = done
	s.mu.Unlock()

	ctx, stop := context.WithTimeout(context.Background(), cancelTimeout)
	err := b.Cancel(ctx)
	stop()

	s.mu.Lock()
	if err != nil {
		// Undelivered or unconfirmed: this backend must not serve anyone
		// else, lest the cancel land later on their query.
		s.logger().Warn("cancel request to upstream failed", "error", err)
		s.cancelFailed = true
	}
	s.cancelling = nil
	s.mu.Unlock()
	close(done)
}

// releaseAtEnd brings the session's backend (if any) back to a clean idle
// state after the client left, then returns it to the pool: a statement in
// flight is cancelled, an open COPY failed, an open batch synced, an open
// transaction rolled back; a pinned backend is reset. If that does not
// finish in time, the backend is destroyed.
func (s *Session) releaseAtEnd() {
	s.mu.Lock()
	s.clientGone = true
	lease, done := s.lease, s.relayDone
	if lease == nil {
		s.mu.Unlock()
		if done != nil {
			<-done
		}
		return
	}
	busy := !s.q.empty() || s.copyIn.Load() || s.copyOut
	s.mu.Unlock()
	if busy {
		s.cancel()
	}

	s.mu.Lock()
	if s.lease == nil {
		s.mu.Unlock()
		<-done
		return
	}
	var msgs []byte
	if s.copyIn.Load() {
		msgs = appendMsg(msgs, msgCopyFail, []byte("client disconnected\x00"))
		s.copyIn.Store(false)
	}
	if s.batchOpen {
		msgs = appendMsg(msgs, msgSync, nil)
		s.pushLocked(expectation{kind: expectSync, swallow: true})
		s.batchOpen = false
	}
	if busy || s.txStatus != txIdle {
		msgs = appendMsg(msgs, msgQuery, []byte("ROLLBACK\x00"))
		s.pushLocked(expectation{kind: expectQuery, swallow: true})
	}
	if s.pinned {
		msgs = s.appendResetLocked(msgs)
		s.pinned = false
	}
	if len(msgs) == 0 {
		// Idle and unpinned already (the relay is about to release):
		// a Sync's ReadyForQuery drives the ordinary release.
		msgs = appendMsg(msgs, msgSync, nil)
		s.pushLocked(expectation{kind: expectSync, swallow: true})
	}
	s.mu.Unlock()

	conn := lease.Backend().Conn
	_ = conn.SetWriteDeadline(time.Now().Add(cancelTimeout))
	if _, err := conn.Write(msgs); err != nil {
		_ = conn.Close()
	}
	_ = conn.SetWriteDeadline(time.Time{})
	select {
	case <-done:
	case <-time.After(2 * cancelTimeout):
		// The backend did not come back to idle: destroy it.
		_ = conn.Close()
		<-done
	}
}

// appendResetLocked appends the reset of a pinned backend: the configured
// reset query (DISCARD ALL by default), after which nothing of this client
// remains on it.
func (s *Session) appendResetLocked(msgs []byte) []byte {
	q := s.dbc().ResetQuery
	msgs = appendMsg(msgs, msgQuery, append([]byte(q), 0))
	b := s.lease.Backend()
	s.pushLocked(expectation{kind: expectQuery, swallow: true, done: func(ok bool) {
		if !ok {
			b.MarkBroken()
			return
		}
		b.Statements.Clear()
		clear(b.Settings)
	}})
	return msgs
}
