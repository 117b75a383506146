package proxy

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgwarp/pgwarp/cache"
	"github.com/pgwarp/pgwarp/internal/intern"
	"github.com/pgwarp/pgwarp/policy"
	"github.com/pgwarp/pgwarp/pool"
	"github.com/pgwarp/pgwarp/query"
)

// Server accepts PostgreSQL clients and serves each with a [Session]. It is
// safe for concurrent use.
type Server struct {
	cfg    atomic.Pointer[Config]
	secret []byte // keys mock SCRAM salts and remembered passwords

	mu       sync.Mutex
	ln       net.Listener
	sessions map[uint64]*Session
	byPID    map[uint32]*Session // cancel keys
	perDB    map[string]int      // client count per database
	pools    map[poolKey]*pool.Pool
	creds    map[poolKey]*credential
	stmts    *stmtRegistry
	classify *query.Classifier
	// texts interns the statement texts of Query and Parse messages:
	// applications send the same ones again and again.
	texts *intern.Table
	// tableIDs interns the cache's spelling of table names (tableID).
	tableIDs *intern.Table
	policy   *policy.Engine
	cache    *cache.Cache
	catalogs map[string]*catalogState
	// paramsSeen remembers, per pool, the server parameters reported with
	// each set of startup settings (params.go).
	paramsSeen map[*pool.Pool]map[string]map[string]string
	notifiers  map[string]*notifier
	// paused is what PAUSE and RESUME said: "" → all databases paused;
	// a database name → paused (true), or resumed under a global PAUSE
	// (false).
	paused     map[string]bool
	endedStats map[string][3]int64 // queries, transactions and wrapped writes of ended sessions, per database
	instance   string
	// bgCtx ends at shutdown; bg counts the background goroutines.
	bgCtx  context.Context
	bgStop context.CancelFunc
	// leaseCtx bounds every wait for an upstream connection; it ends when
	// shutdown begins, so that no login or new transaction waits for a
	// backend (a paused pool, say) while the server drains.
	leaseCtx  context.Context
	leaseStop context.CancelFunc
	bg        sync.WaitGroup
	closed    bool

	cacheStats cacheStats

	nextID      atomic.Uint64
	clients     atomic.Int64
	cancelSlots chan struct{} // bounds concurrent cancel forwarding

	shuttingDown atomic.Bool
	wg           sync.WaitGroup // one per session goroutine
	started      time.Time

	stats serverStats

	// workers are the goroutines that run sessions and relays
	// (workers.go).
	workers workers
}

// serverStats are totals since start.
type serverStats struct {
	accepted       atomic.Int64
	rejected       atomic.Int64
	authFailures   atomic.Int64
	cancelRequests atomic.Int64
	queries        atomic.Int64
	transactions   atomic.Int64
	wrappedWrites  atomic.Int64
	bytesIn        atomic.Int64
	bytesOut       atomic.Int64
}

// poolKey identifies a pool: one per (database entry, upstream database,
// upstream user).
type poolKey struct {
	db       string // configured name ("*" for the wildcard)
	database string // upstream database
	user     string // upstream user
	params   string // session mode: hash of the client's startup parameters
}

// New returns a server for cfg. It does not listen until Serve or
// ListenAndServe.
func New(cfg Config) (*Server, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		secret:      make([]byte, 32),
		sessions:    map[uint64]*Session{},
		byPID:       map[uint32]*Session{},
		perDB:       map[string]int{},
		pools:       map[poolKey]*pool.Pool{},
		creds:       map[poolKey]*credential{},
		stmts:       newStmtRegistry(),
		cancelSlots: make(chan struct{}, 64),
		started:     time.Now(),
	}
	if _, err := rand.Read(s.secret); err != nil {
		return nil, err
	}
	s.texts = intern.NewStatements()
	s.tableIDs = intern.New(tableIDSlots, 2*maxIdentifierBytes+1)
	if s.classify, err = query.NewClassifier(query.Config{}); err != nil {
		return nil, err
	}
	s.policy = c.Policy
	s.cache = c.Cache
	s.catalogs = map[string]*catalogState{}
	s.paramsSeen = map[*pool.Pool]map[string]map[string]string{}
	s.notifiers = map[string]*notifier{}
	s.paused = map[string]bool{}
	s.endedStats = map[string][3]int64{}
	s.instance = newInstanceID()
	s.bgCtx, s.bgStop = context.WithCancel(context.Background())
	s.leaseCtx, s.leaseStop = context.WithCancel(context.Background())
	s.cfg.Store(c)
	return s, nil
}

func (s *Server) config() *Config { return s.cfg.Load() }

// ListenAndServe listens on Config.Listen (see [Listen]) and serves until
// Shutdown.
func (s *Server) ListenAndServe() error {
	ln, err := Listen(s.config().Listen)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// clientKeepAlive turns TCP keep-alive on for client connections and leaves
// its timings to the operating system (net.ipv4.tcp_keepalive_time and
// friends), as PgBouncer's default tcp_keepalive does. Go's own default
// would set all three timings on every accepted connection: three more
// system calls per connection for a client that connects per transaction.
var clientKeepAlive = net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: -1}

// Listen opens the TCP listener pgwarp serves on: accepted connections get
// TCP_NODELAY and SO_KEEPALIVE with the system's keep-alive timings, two
// system calls per connection.
func Listen(addr string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAliveConfig: clientKeepAlive}
	return lc.Listen(context.Background(), "tcp", addr)
}

// Serve accepts connections on ln until Shutdown. It returns nil after a
// Shutdown and the accept error otherwise. Connections are used as ln
// configured them: a net.TCPListener already sets TCP_NODELAY and keep-alive
// ([Listen] chooses which keep-alive).
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.ln = ln
	s.mu.Unlock()
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.shuttingDown.Load() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logger().Warn("accept failed; retrying", "error", err, "in", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		// Count the session under mu, where Shutdown marks the server
		// closed before it waits: no Add can follow its Wait.
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			return nil
		}
		s.wg.Add(1)
		s.mu.Unlock()
		s.stats.accepted.Add(1)
		sess := s.newSession(conn)
		s.workers.start(func() {
			defer s.wg.Done()
			sess.run()
		})
	}
}

// isTemporary reports whether an accept error is resource exhaustion
// (EMFILE and friends) that deserves a retry.
func isTemporary(err error) bool {
	var te interface{ Temporary() bool }
	return errors.As(err, &te) && te.Temporary()
}

// Addr returns the listening address, or nil before Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

func (s *Server) newSession(conn net.Conn) *Session {
	id := s.nextID.Add(1)
	sess := newSession(s, id, conn)
	s.mu.Lock()
	s.sessions[id] = sess
	s.mu.Unlock()
	return sess
}

func (s *Server) removeSession(sess *Session) {
	s.mu.Lock()
	delete(s.sessions, sess.id)
	if s.byPID[sess.keyPID] == sess {
		delete(s.byPID, sess.keyPID)
	}
	if sess.counted != "" {
		s.perDB[sess.counted]--
		s.clients.Add(-1)
	}
	if !sess.admin && sess.database != "" && (sess.queries.Load() > 0 || sess.transactions.Load() > 0) {
		// Keep the counts of sessions that ended for SHOW STATS (bounded
		// by the databases clients named; a wildcard entry lets them name
		// any, so past maxEndedStats the rest are lumped together).
		name := sess.database
		if _, ok := s.endedStats[name]; !ok && len(s.endedStats) >= maxEndedStats {
			name = "(other)"
		}
		t := s.endedStats[name]
		t[0] += sess.queries.Load()
		t[1] += sess.transactions.Load()
		t[2] += sess.wrapped.Load()
		s.endedStats[name] = t
	}
	s.mu.Unlock()
}

// maxEndedStats bounds the databases SHOW STATS keeps totals for.
const maxEndedStats = 1000

// admit counts a client against the global and per-database caps.
func (s *Server) admit(sess *Session, db *Database) *Error {
	cfg := s.config()
	s.mu.Lock()
	defer s.mu.Unlock()
	if cfg.MaxClientConnections > 0 && int(s.clients.Load()) >= cfg.MaxClientConnections {
		return newFatal(CodeTooManyConnections, "sorry, too many clients already (max_client_connections %d)", cfg.MaxClientConnections)
	}
	if db != nil && db.MaxClientConnections > 0 && s.perDB[db.Name] >= db.MaxClientConnections {
		return newFatal(CodeTooManyConnections, "sorry, too many clients already for database %q (max_client_connections %d)", db.Name, db.MaxClientConnections)
	}
	name := AdminDatabaseName
	if db != nil {
		name = db.Name
	}
	s.perDB[name]++
	s.clients.Add(1)
	sess.counted = name
	return nil
}

// registerKey assigns the session its cancel key: the backend's real PID
// when the session owns its backend, a unique synthetic one otherwise, and
// always a secret of pgwarp's own.
func (s *Server) registerKey(sess *Session, pid uint32) {
	var b [8]byte
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		_, _ = rand.Read(b[:])
		if pid == 0 {
			// Synthetic PIDs stay positive int32 like real ones.
			pid = binary.BigEndian.Uint32(b[:4])&0x3fffffff | 0x40000000
		}
		if other, taken := s.byPID[pid]; !taken || other == sess {
			break
		}
		pid = 0
	}
	sess.keyPID = pid
	sess.keySecret = binary.BigEndian.Uint32(b[4:])
	s.byPID[pid] = sess
}

// sessionByKey finds the session a CancelRequest names.
func (s *Server) sessionByKey(pid uint32, secret []byte) *Session {
	s.mu.Lock()
	sess := s.byPID[pid]
	s.mu.Unlock()
	if sess == nil || len(secret) != 4 || binary.BigEndian.Uint32(secret) != sess.keySecret {
		return nil
	}
	return sess
}

// Shutdown stops accepting connections, lets transactions in flight finish
// for up to the configured shutdown timeout (or until ctx ends), then ends
// every session with 57P01 and closes the pools.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shuttingDown.Store(true)
	s.leaseStop()
	s.mu.Lock()
	s.closed = true
	if s.ln != nil {
		s.ln.Close()
	}
	s.mu.Unlock()

	deadline := time.Now().Add(s.config().ShutdownTimeout)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		remaining := 0
		for _, sess := range s.snapshotSessions() {
			if sess.idleForShutdown() {
				sess.interrupt()
			} else {
				remaining++
			}
		}
		if remaining == 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			deadline = time.Now()
		case <-t.C:
		}
	}
	for _, sess := range s.snapshotSessions() {
		sess.interrupt()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		err = errors.New("proxy: sessions did not end within 10s of shutdown")
	}
	// Every session waits for its relay, so once the sessions have ended
	// the workers are idle; the wait covers sessions that did not end.
	if !s.workers.close(time.Second) && err == nil {
		err = errors.New("proxy: session and relay goroutines did not end within 1s of the sessions")
	}
	s.mu.Lock()
	pools := make([]*pool.Pool, 0, len(s.pools))
	for _, p := range s.pools {
		pools = append(pools, p)
	}
	s.mu.Unlock()
	for _, p := range pools {
		p.Close(5 * time.Second)
	}
	s.bgStop()
	s.bg.Wait()
	return err
}

// logger returns the current configuration's logger (a reload may
// replace it).
func (s *Server) logger() *slog.Logger { return s.config().Logger }

func (s *Server) snapshotSessions() []*Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		out = append(out, sess)
	}
	return out
}

// Reload swaps in a new configuration: new sessions, authentication, limits
// and pools created from now on use it. A pool whose upstream, mode or size
// changed (or whose database was removed) is replaced: it leases no more
// backends and closes each one as its transaction ends. Transaction-mode
// sessions move to the new pool at their next transaction; session-mode
// sessions keep their backend until they leave, and a transaction-mode
// session whose database was removed or switched to session mode gets
// 57P01 at its next transaction.
func (s *Server) Reload(cfg Config) error {
	c, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	old := s.cfg.Swap(c)
	s.mu.Lock()
	var stale []*pool.Pool
	for k, p := range s.pools {
		oldDB, newDB := old.Databases[k.db], c.Databases[k.db]
		if newDB == nil || oldDB == nil || !sameUpstream(oldDB, newDB) {
			stale = append(stale, p)
			delete(s.pools, k)
			delete(s.paramsSeen, p)
		}
	}
	s.mu.Unlock()
	for _, p := range stale {
		go p.Close(c.ShutdownTimeout)
	}
	return nil
}

func sameUpstream(a, b *Database) bool {
	return a.Upstream.Host == b.Upstream.Host && a.Upstream.Port == b.Upstream.Port &&
		a.Upstream.Database == b.Upstream.Database && a.Upstream.User == b.Upstream.User &&
		a.Upstream.Password == b.Upstream.Password && a.Mode == b.Mode && a.MaxSize == b.MaxSize &&
		(a.Upstream.TLSConfig == nil) == (b.Upstream.TLSConfig == nil)
}

// The tableIDs table of a server: tableIDSlots names of at most
// maxIdentifierBytes (NAMEDATALEN-1) per part.
const (
	tableIDSlots       = 1024
	maxIdentifierBytes = 63
)
