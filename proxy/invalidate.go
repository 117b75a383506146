package proxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgwarp/pgwarp/cache"
)

// Cross-instance invalidation. When several pgwarp processes front the same
// database, each publishes the writes it saw with NOTIFY on a configured
// channel and listens on it with a dedicated upstream connection; the
// database is the coordination point, no other service is needed. A
// listener that reconnects invalidates its whole database, since it may
// have missed notifications. Writes made outside pgwarp are bounded only by
// the TTL.

// notifier publishes and receives the invalidations of one upstream
// database. Its two goroutines (publisher and listener) are owned by the
// server and stop with it.
type notifier struct {
	srv      *Server
	db       string
	channel  string
	cfg      *pgconn.Config
	queue    chan cache.Invalidation
	mu       sync.Mutex
	overflow bool // an invalidation was dropped: publish the whole database
}

// publish queues an invalidation for the other instances; it never blocks
// (a full queue degrades to a whole-database invalidation).
func (srv *Server) publish(s *Session, db string, tables []cache.TableID, writes []cache.Write) {
	n := srv.notifierFor(s, db)
	if n == nil {
		return
	}
	inv := cache.Invalidation{Origin: srv.instance, Database: db, Tables: append([]cache.TableID(nil), tables...),
		Writes: append([]cache.Write(nil), writes...)}
	select {
	case n.queue <- inv:
	default:
		n.mu.Lock()
		n.overflow = true
		n.mu.Unlock()
	}
}

// notifierFor returns (starting on first use) the notifier of the session's
// upstream database, or nil when cross-instance invalidation is off.
func (srv *Server) notifierFor(s *Session, db string) *notifier {
	channel := srv.config().InvalidationChannel
	if channel == "" || srv.cache == nil || s.dbc() == nil {
		return nil
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if n := srv.notifiers[db]; n != nil {
		return n
	}
	if srv.closed {
		return nil
	}
	cfg := srv.upstreamConfig(s)
	if srv.config().Auth.Method == AuthPassthrough {
		cred := srv.creds[s.credKey()]
		if cred != nil {
			cred.mu.Lock()
			cfg.Password = cred.password
			cred.mu.Unlock()
		}
	}
	cfg.RuntimeParams = map[string]string{"application_name": "pgwarp invalidation"}
	n := &notifier{srv: srv, db: db, channel: channel, cfg: cfg, queue: make(chan cache.Invalidation, 256)}
	srv.notifiers[db] = n
	srv.bg.Add(2)
	go func() { defer srv.bg.Done(); n.publisher() }()
	go func() { defer srv.bg.Done(); n.listener() }()
	return n
}

func newInstanceID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// connect dials the upstream, retrying with backoff until it works or the
// server stops.
func (n *notifier) connect(cfg *pgconn.Config) *pgconn.PgConn {
	backoff := 100 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(n.srv.bgCtx, 10*time.Second)
		conn, err := pgconn.ConnectConfig(ctx, cfg)
		cancel()
		if err == nil {
			return conn
		}
		select {
		case <-n.srv.bgCtx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// maxNotifyBatch bounds the invalidations one publishing round trip
// carries.
const maxNotifyBatch = 32

// notifyLinger is how long the publisher waits after an invalidation for
// more to share its NOTIFY transaction. Other instances hear of a write
// this much later at most (the target is within a second); at 1,000
// writes per second it cuts the NOTIFY transactions about fivefold.
const notifyLinger = 5 * time.Millisecond

// nextBatch waits for an invalidation, then collects what else arrives
// within linger (one NOTIFY transaction for many writes costs the database,
// and every listener it wakes once per transaction, far less than one
// each), up to maxNotifyBatch. It returns false once the server stops and
// nothing was collected.
func (n *notifier) nextBatch(batch []cache.Invalidation, timer *time.Timer, linger time.Duration) ([]cache.Invalidation, bool) {
	select {
	case <-n.srv.bgCtx.Done():
		return batch, false
	case inv := <-n.queue:
		batch = append(batch, inv)
	}
	timer.Reset(linger)
	defer timer.Stop()
	for len(batch) < maxNotifyBatch {
		select {
		case inv := <-n.queue:
			batch = append(batch, inv)
		case <-timer.C:
			return batch, true
		case <-n.srv.bgCtx.Done():
			return batch, true
		}
	}
	return batch, true
}

// publisher sends queued invalidations with pg_notify. What queued up
// while the previous round trip ran goes in one statement, one
// transaction: PostgreSQL assigns a NOTIFYing transaction an XID and
// flushes its commit, so a write-heavy instance would otherwise pay a
// second commit per write.
func (n *notifier) publisher() {
	var conn *pgconn.PgConn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	batch := make([]cache.Invalidation, 0, maxNotifyBatch)
	var sql strings.Builder
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for {
		var ok bool
		if batch, ok = n.nextBatch(batch[:0], linger, notifyLinger); !ok {
			return
		}
		n.mu.Lock()
		if n.overflow {
			// An invalidation was dropped: the first of the batch
			// stands for it, widened to its whole database.
			batch[0].Tables, batch[0].Writes, n.overflow = nil, nil, false
		}
		n.mu.Unlock()
		params := [][]byte{[]byte(n.channel)}
		sql.Reset()
		sql.WriteString("SELECT ")
		for _, inv := range batch {
			payload, err := inv.MarshalText()
			if err != nil {
				continue
			}
			if len(params) > 1 {
				sql.WriteString(", ")
			}
			params = append(params, payload)
			fmt.Fprintf(&sql, "pg_catalog.pg_notify($1, $%d)", len(params))
		}
		if len(params) == 1 {
			continue
		}
		for attempt := 0; attempt < 2; attempt++ {
			if conn == nil || conn.IsClosed() {
				if conn = n.connect(n.cfg); conn == nil {
					return
				}
			}
			ctx, cancel := context.WithTimeout(n.srv.bgCtx, 10*time.Second)
			err := conn.ExecParams(ctx, sql.String(), params, nil, nil, nil).Read().Err
			cancel()
			if err == nil {
				break
			}
			conn.Close(context.Background())
			conn = nil
		}
	}
}

func (n *notifier) listener() {
	c := n.srv.cache
	for {
		cfg := n.cfg.Copy()
		cfg.OnNotification = func(_ *pgconn.PgConn, m *pgconn.Notification) {
			if m.Channel != n.channel {
				return
			}
			var inv cache.Invalidation
			if err := inv.UnmarshalText([]byte(m.Payload)); err != nil || inv.Origin == n.srv.instance {
				return
			}
			if len(inv.Tables) == 0 && len(inv.Writes) == 0 {
				// Whole-database invalidations are what DDL publishes.
				c.InvalidateDatabase(inv.Database)
				n.srv.refreshCatalog(inv.Database)
			} else {
				c.Invalidate(inv.Database, inv.Tables...)
				c.InvalidateWrites(inv.Database, inv.Writes...)
			}
		}
		conn := n.connect(cfg)
		if conn == nil {
			return
		}
		ctx, cancel := context.WithTimeout(n.srv.bgCtx, 10*time.Second)
		err := conn.Exec(ctx, `LISTEN "`+escapeIdent(n.channel)+`"`).Close()
		cancel()
		if err == nil {
			// Notifications may have been missed before LISTEN took
			// effect (while disconnected, or since the cache started
			// serving this database).
			c.InvalidateDatabase(n.db)
			for err == nil {
				err = conn.WaitForNotification(n.srv.bgCtx)
			}
		}
		conn.Close(context.Background())
		select {
		case <-n.srv.bgCtx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func escapeIdent(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			out = append(out, '"')
		}
		out = append(out, s[i])
	}
	return string(out)
}
