package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgwarp/pgwarp/cache"
	"github.com/pgwarp/pgwarp/policy"
	"github.com/pgwarp/pgwarp/pool"
	"github.com/pgwarp/pgwarp/query"
	"github.com/pgwarp/pgwarp/telemetry"
)

// sessionState is where a session is in its life. Transitions happen only in
// setState: by the session goroutine, and by the relay when it releases the
// backend (active → idle).
type sessionState int32

const (
	sessionStateStartup sessionState = iota // reading the startup packet, TLS
	sessionStateAuth                        // authenticating the client
	sessionStateIdle                        // ready, no backend leased
	sessionStateActive                      // a backend is leased
	sessionStateClosing                     // cleaning up its backend
	sessionStateClosed
)

func (st sessionState) String() string {
	switch st {
	case sessionStateStartup:
		return "startup"
	case sessionStateAuth:
		return "auth"
	case sessionStateIdle:
		return "idle"
	case sessionStateActive:
		return "active"
	case sessionStateClosing:
		return "closing"
	case sessionStateClosed:
		return "closed"
	}
	return fmt.Sprintf("sessionState(%d)", int32(st))
}

// AdminDatabaseName is the database name of the admin console.
const AdminDatabaseName = "pgwarp"

// Session serves one client connection.
//
// The session goroutine (run) owns the client connection's read side, the
// startup, and the write side of the leased backend. The relay goroutine of
// the current lease (see relay.go) owns the backend's read side. They share
// the fields under mu; every write to the client happens under wmu, which
// orders responses (lock order: wmu, then mu). Cancel requests reach the
// session from other goroutines through cancel, which takes mu.
type Session struct {
	srv      *Server
	id       uint64
	conn     net.Conn // the client; *tls.Conn after SSLRequest
	raw      net.Conn // the client's TCP or unix connection
	rd       *msgReader
	started  time.Time
	state    atomic.Int32
	remote   string
	tls      bool
	user     string
	database string // what the client asked for
	appName  atomic.Value
	params   []startupParam // client startup parameters to pass upstream
	// settings are the client's session settings (transaction mode): its
	// startup parameters and what it SET since, applied to each backend
	// it leases. Owned by the session goroutine; read by the relay under
	// mu.
	settings map[string]string
	dbp      atomic.Pointer[Database] // the database entry; replaced by repool
	// startupDeadline is when the login must be complete.
	startupDeadline time.Time
	mode            PoolMode
	pool            *pool.Pool
	admin           bool
	counted         string // database name counted in Server.perDB

	keyPID    uint32
	keySecret uint32

	// out collects messages for the backend until the client has nothing
	// more buffered; owned by the session goroutine.
	out []byte
	// skipToSync: an error pgwarp raised itself in an extended-protocol
	// batch; the client's messages are dropped until its Sync, as
	// PostgreSQL does after an error.
	skipToSync bool

	wmu sync.Mutex // orders and serialises writes to the client

	mu        sync.Mutex
	lease     *pool.Lease
	relayDone chan struct{} // closed when the current relay goroutine exits
	q         expectQueue
	txStatus  byte // of the last ReadyForQuery the client saw
	batchOpen bool // extended-protocol messages sent since the last Sync
	copyIn    atomic.Bool
	// unflushed: the session holds bytes for this lease that expect no
	// answer (CopyData, Flush) and are not yet written; the lease must not
	// be released under them. Messages with an expectation need no such
	// flag: the queued expectation itself keeps the lease.
	unflushed bool
	// kicked: the session interrupted the relay's read because the lease
	// became releasable without a server message.
	kicked     bool
	copyOut    bool
	pinned     bool   // the lease is kept between transactions
	pinReason  string // why (session mode, LISTEN, temp table…)
	clientGone bool   // the relay discards output
	serverSkip bool   // the server reported an error; it skips to Sync
	// stmts maps the client's prepared statement names to the registry
	// (transaction mode); unnamed is its unnamed statement.
	stmts   map[string]*clientStmt
	unnamed *stmtShape // what the client last parsed as the unnamed statement
	// backendUnnamed is the client's unnamed statement the lease's
	// backend has, as far as pgwarp knows (compared with unnamed by
	// identity): set when a Parse of it is sent, back to what it was when
	// the server skips it, nil when one fails and when the lease changes
	// or a query or Close destroys it (parsingUnnamedLocked). It is sure
	// once the server answered its Parse (backendUnnamedSureLocked). A
	// mismatch only costs a re-Parse.
	backendUnnamed    *stmtShape
	backendUnnamedSeq uint64 // numbers those Parses, and forgets
	// backendUnnamedAnswered is the sequence number of the last such
	// Parse the server answered (not skipped), and ...OK whether it
	// succeeded.
	backendUnnamedAnswered   uint64
	backendUnnamedAnsweredOK bool
	// stmtLast holds, per statement name, the latest change the server
	// has not answered yet (names.go); either mode.
	stmtLast map[string]*stmtChange
	// parsingNamed counts, per internal statement name, the Parses sent
	// to the lease's backend that the server has not answered yet
	// (preparedOnBackendLocked).
	parsingNamed map[string]int
	// Transaction-mode session state (state.go), guarded by mu.
	pins            pins
	txSettings      []query.Effect         // settings changes of the open transaction
	txError         bool                   // the open transaction reported an error
	txRollbacks     int                    // ROLLBACK tags in the open transaction
	txLastTag       string                 // the last CommandComplete tag
	portals         map[string]*query.Info // what each open portal runs
	startupSettings map[string]string      // settings from the startup packet
	cancelling      chan struct{}          // closed when the cancel being delivered is done

	// Policy enforcement (limits.go), guarded by mu.
	cond              *sync.Cond // signalled when the queue empties or a wrap is decided
	mute              bool       // drop responses until the next ReadyForQuery
	violatedInTx      bool       // pgwarp failed a statement inside a transaction
	abortPending      bool       // make the upstream transaction fail before the next statement
	wrapRollback      bool       // the wrapped write must be rolled back
	wrapDecided       bool       // the relay saw the wrapped write's ReadyForQuery
	wrapWait          bool       // the session must settle a wrapped write (session goroutine)
	batchOut          int        // offset in out of the open batch's first message, -1 if flushed
	batchQ            int        // queue index of the open batch's first expectation
	batchWrapped      bool       // the open batch got pgwarp's BEGIN
	txLimit           policy.Decision
	timedRun          *run
	stmtTimer         *time.Timer
	txTimer           *time.Timer
	txEpoch           int
	txStart           time.Time
	txTimeout         *policy.Violation // the transaction timed out; the client must end it
	txTimeoutReported bool
	timeoutWake       atomic.Bool
	nextQueryWrapEnd  bool        // the next Query expectation ends a wrapped write
	copyDoneSent      bool        // the client ended its COPY data (session goroutine)
	batchRan          bool        // the open batch already has an Execute
	retryCur          *retryBatch // the open batch, kept for a retry (retry.go)
	retryPending      *retryBatch // a batch the session must send again
	retryWake         atomic.Bool
	describeNext      map[string]bool // portals whose statement changed shape (retry.go)

	// Cache (cache.go). kb, replayBuf, scratch, nextDescFill and
	// nextExecFill belong to the session goroutine; sessionStmts is
	// guarded by mu (the relay undoes a Parse the server rejected); txInvalid and
	// txInvalidAll are guarded by mu.
	kb           cache.KeyBuilder
	replayBuf    []byte
	scratch      lookupScratch
	nextDescFill *cache.Fill
	nextExecFill *cache.Fill
	sessionStmts map[string]stmtShape // session mode: the client's statements
	// unnamedStale: session mode, the cache answered the client's Parse
	// of the unnamed statement, so the backend's is another one.
	unnamedStale atomic.Bool
	txInvalid    []cache.TableID
	txWrites     []cache.Write // row-keyed writes of the transaction
	txInvalidAll bool
	txDDL        bool // the transaction ran DDL: reload the catalog at its end
	lexerUnsafe  bool // see markLexerUnsafeLocked

	// serverEncoding and clientEncoding are the encodings the client was
	// told in ParameterStatus (mu): equal, or SQL_ASCII on the server,
	// text reaches the server unconverted, so that non-ASCII text values
	// may key cache entries (query.Values.NoConversion).
	serverEncoding, clientEncoding string
	// Observation (observe.go): the session span and its context, the
	// pool's metrics, and the pool wait of the statement about to start
	// (session goroutine).
	sessSpan  telemetry.SessionSpan
	sessCtx   context.Context
	pm        *telemetry.PoolMetrics
	waitStart time.Time
	wait      time.Duration
	curSQL    string            // raw text of the statement being forwarded
	portalSQL map[string]string // raw text each open portal runs (mu)
	// portalVals are the values each open portal was bound with, kept
	// when its statement has key predicates (mu).
	portalVals map[string]query.Values
	// portalSeq is, for each open portal, the number of expectations
	// queued before its Bind (mu): a ReadyForQuery ends the portals bound
	// before its Sync or Query was queued, not those of a pipelined next
	// transaction.
	portalSeq map[string]uint64
	pushed    uint64 // expectations queued so far (mu)
	// nextVals are the values of the Query or Execute being forwarded
	// (session goroutine), for its expectation.
	nextVals query.Values
	// sp memoises the parsed search_path (guarded by mu).
	sp         query.SearchPath
	spText     string
	spSet      bool
	spValid    bool
	failedExit map[string]bool // failed transaction: statements/portals that end it
	// cancelFailed: a cancel for this backend was not confirmed, so it must
	// not serve anyone else.
	cancelFailed bool
	interrupts   atomic.Bool // set by Shutdown to end the session
	relayFailed  atomic.Bool // the relay lost the backend and told the client

	queries      atomic.Int64
	transactions atomic.Int64
	// wrapped counts the autocommit writes pgwarp ran inside a
	// transaction of its own to enforce max_rows_per_write.
	wrapped atomic.Int64
}

func newSession(srv *Server, id uint64, conn net.Conn) *Session {
	s := &Session{srv: srv, id: id, conn: conn, raw: conn, started: time.Now(), txStatus: txIdle, stmts: map[string]*clientStmt{}, portals: map[string]*query.Info{}, failedExit: map[string]bool{}, describeNext: map[string]bool{}, sessionStmts: map[string]stmtShape{}, stmtLast: map[string]*stmtChange{}, parsingNamed: map[string]int{}, portalSQL: map[string]string{}, portalVals: map[string]query.Values{}, portalSeq: map[string]uint64{}}
	s.remote = conn.RemoteAddr().String()
	s.cond = sync.NewCond(&s.mu)
	s.batchOut = -1
	s.appName.Store("")
	return s
}

func (s *Session) setState(st sessionState) { s.state.Store(int32(st)) }

func (s *Session) getState() sessionState { return sessionState(s.state.Load()) }

func (s *Session) logger() *slog.Logger {
	return s.srv.logger().With("session", s.id, "client", s.remote, "user", s.user, "database", s.database)
}

// logInfo logs at info level with the session's attributes, building them
// only when info is enabled (a connection's open and close lines would
// otherwise cost an allocation-heavy With per connection).
func (s *Session) logInfo(msg string, args ...any) {
	if s.srv.logger().Enabled(context.Background(), slog.LevelInfo) {
		s.logger().Info(msg, args...)
	}
}

// run serves the session until the client leaves or the server shuts down.
func (s *Session) run() {
	defer s.srv.removeSession(s)
	defer s.conn.Close()
	if err := s.startup(); err != nil {
		s.finishStartupError(err)
		s.setState(sessionStateClosed)
		return
	}
	var err error
	if s.admin {
		err = s.adminLoop()
	} else {
		err = s.loop()
	}
	s.end(err)
}

// finishStartupError reports a startup failure to the client and logs it.
func (s *Session) finishStartupError(err error) {
	if errors.Is(err, errQuietClose) {
		return
	}
	// The startup deadline may have passed; the error still gets out.
	_ = s.conn.SetWriteDeadline(time.Now().Add(time.Second))
	var e *Error
	switch {
	case errors.As(err, &e):
	case isDisconnect(err):
		return
	case errors.Is(err, os.ErrDeadlineExceeded) && s.interrupts.Load():
		// Shutdown (or KILL) interrupted the login.
		e = newFatal(CodeAdminShutdown, "terminating connection due to administrator command")
	case errors.Is(err, os.ErrDeadlineExceeded):
		e = newFatal(CodeProtocolViolation, "startup timeout: the client did not complete its startup within %s", s.srv.config().StartupTimeout)
	default:
		e = newFatal(CodeProtocolViolation, "%v", err)
	}
	if e.Code == CodeInvalidPassword || e.Code == CodeInvalidAuthSpec {
		s.srv.stats.authFailures.Add(1)
	}
	s.srv.stats.rejected.Add(1)
	s.logInfo("connection rejected", "code", e.Code, "error", e.Message)
	s.sendError(e)
}

// errQuietClose ends a connection without an error message (a cancel
// request, say).
var errQuietClose = errors.New("close quietly")

func isDisconnect(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "connection reset by peer") || strings.Contains(err.Error(), "broken pipe")
}

// startup runs the connection's first phase: SSL/GSS negotiation or a
// cancel request, the StartupMessage, authentication and the backend of a
// session-mode client, ending with ReadyForQuery.
func (s *Session) startup() error {
	cfg := s.srv.config()
	s.startupDeadline = time.Now().Add(cfg.StartupTimeout)
	_ = s.conn.SetDeadline(s.startupDeadline)
	if s.interrupts.Load() {
		// Shutdown interrupted the connection before the deadline above
		// replaced its own.
		return newFatal(CodeAdminShutdown, "terminating connection due to administrator command")
	}
	pkt, err := s.negotiate(cfg)
	if err != nil {
		return err
	}
	if pkt.major != protocolMajor3 {
		return newFatal(CodeFeatureNotSupported, "unsupported frontend protocol %d.%d: server supports 3.0 to 3.0", pkt.major, pkt.minor)
	}
	if cfg.TLSRequired && !s.tls {
		return newFatal(CodeInvalidAuthSpec, "pgwarp requires TLS (SSL) connections").
			withHint("connect with sslmode=require (or stronger)")
	}
	if opts := pkt.protocolOptions(); pkt.minor > 0 || len(opts) > 0 {
		if err := s.writeClient(appendNegotiateProtocolVersion(nil, opts)); err != nil {
			return err
		}
	}
	for _, kv := range pkt.params {
		switch {
		case kv.name == "user":
			s.user = kv.value
		case kv.name == "database":
			s.database = kv.value
		case kv.name == "replication":
			if v := strings.ToLower(kv.value); v != "false" && v != "off" && v != "no" && v != "0" {
				return newFatal(CodeFeatureNotSupported, "replication connections are not supported through pgwarp").
					withHint("connect replication clients to the upstream server directly")
			}
		case strings.HasPrefix(kv.name, "_pq_."):
		default:
			if kv.name == "application_name" {
				s.appName.Store(kv.value)
			}
			s.params = append(s.params, kv)
		}
	}
	if s.user == "" {
		return newFatal(CodeInvalidAuthSpec, "no PostgreSQL user name specified in startup packet")
	}
	if s.database == "" {
		s.database = s.user
	}
	if s.settings, err = startupSettings(s.params); err != nil {
		return err
	}
	s.startupSettings = copySettings(s.settings)
	if !query.LexerCompatible(s.settings["standard_conforming_strings"], s.settings["client_encoding"]) {
		s.lexerUnsafe = true
		s.pins.forever = "standard_conforming_strings off or a client-only encoding (statements cannot be classified)"
	}
	s.rd.resize(sessionReadBuffer)
	s.setState(sessionStateAuth)
	if s.database == AdminDatabaseName {
		return s.startAdmin(cfg)
	}
	db := resolveDatabase(cfg, s.database)
	if db == nil {
		return newFatal(CodeInvalidCatalogName, "database %q does not exist", s.database)
	}
	s.dbp.Store(db)
	s.mode = db.Mode
	if e := s.srv.admit(s, db); e != nil {
		return e
	}
	b, err := s.authenticate(cfg)
	if err != nil {
		return err
	}
	return s.startBackend(cfg, b)
}

// negotiate reads packets until the StartupMessage, answering SSLRequest
// and GSSENCRequest and handling a CancelRequest. The reader it creates
// reads the session's messages from then on.
func (s *Session) negotiate(cfg *Config) (*startupPacket, error) {
	// A small buffer until the login is done: startup packets are short,
	// and allocating the session's 4 KiB buffer at accept, before the
	// login's round trips, measured 3.5 KiB more RSS per idle client
	// (10,000 of them) than giving it once the client is in.
	s.rd = newMsgReader(s.conn, startupReadBuffer, cfg.MaxMessageBytes)
	for {
		pkt, err := readStartupPacket(s.rd)
		if err != nil {
			return nil, err
		}
		if (pkt.kind == startupKindSSL || pkt.kind == startupKindGSSENC) && s.rd.buffered() > 0 {
			// The client must wait for the answer; bytes already here
			// were sent unencrypted before any TLS handshake, perhaps by
			// a man in the middle (CVE-2021-23214).
			what := "SSL"
			if pkt.kind == startupKindGSSENC {
				what = "GSSAPI encryption"
			}
			return nil, newFatal(CodeProtocolViolation, "received unencrypted data after %s request", what).
				withDetail("This could be either a client-software bug or evidence of an attempted man-in-the-middle attack.")
		}
		switch pkt.kind {
		case startupKindMessage:
			return pkt, nil
		case startupKindCancel:
			s.srv.forwardCancel(pkt.cancelPID, pkt.cancelSecret)
			return nil, errQuietClose
		case startupKindGSSENC:
			if _, err := s.conn.Write([]byte{'N'}); err != nil {
				return nil, err
			}
		case startupKindSSL:
			if s.tls || cfg.TLS == nil {
				if _, err := s.conn.Write([]byte{'N'}); err != nil {
					return nil, err
				}
				continue
			}
			if _, err := s.conn.Write([]byte{'S'}); err != nil {
				return nil, err
			}
			tc := tls.Server(s.conn, cfg.TLS)
			if err := tc.Handshake(); err != nil {
				return nil, fmt.Errorf("TLS handshake: %w", err)
			}
			s.conn, s.tls = tc, true
			s.rd.rd = tc
		}
	}
}

// resolveDatabase finds the entry for a database name, falling back to the
// wildcard entry.
func resolveDatabase(cfg *Config, name string) *Database {
	if db, ok := cfg.Databases[name]; ok {
		return db
	}
	return cfg.Databases["*"]
}

// acquireAtLogin leases a backend during startup, within the startup
// deadline.
func (s *Session) acquireAtLogin(p *pool.Pool) (*pool.Lease, error) {
	ctx, cancel := context.WithDeadline(s.srv.leaseCtx, s.startupDeadline)
	defer cancel()
	return p.Acquire(ctx)
}

// dbc returns the session's database entry (nil for the admin console).
// It is set at login and replaced only by repoolLocked.
func (s *Session) dbc() *Database { return s.dbp.Load() }

// upstreamDatabase is the database name to use upstream for this session.
func (s *Session) upstreamDatabase() string {
	if s.dbc().Name == "*" || s.dbc().Upstream.Database == "" {
		return s.database
	}
	return s.dbc().Upstream.Database
}

// startBackend finishes the startup: in session mode it leases the
// session's own backend (b, when authentication already dialled one), then
// sends AuthenticationOk (unless sent), ParameterStatus, BackendKeyData and
// ReadyForQuery.
func (s *Session) startBackend(cfg *Config, b *pool.Backend) error {
	p, err := s.srv.poolFor(s, b)
	if err != nil {
		return err
	}
	s.pool = p
	var params map[string]string
	var pid uint32
	if s.mode == PoolSession {
		lease, err := s.acquireAtLogin(p)
		if err != nil {
			return s.backendError(err)
		}
		s.mu.Lock()
		s.lease, s.pinned, s.pinReason = lease, true, "session mode"
		s.mu.Unlock()
		be := lease.Backend()
		params, pid = be.Params, be.PID
		s.mu.Lock()
		s.startRelayLocked(lease)
		s.mu.Unlock()
	} else {
		// Apply the client's settings on a pooled backend now, so that
		// invalid ones fail the login as they would upstream, and report
		// the server's parameters as they stand with them; a set of
		// settings this pool already accepted is not checked again (it is
		// applied at the client's first transaction all the same).
		sk := settingsKey(s.settings)
		if params = s.srv.knownParams(p, sk); params == nil {
			lease, err := s.acquireAtLogin(p)
			if err != nil {
				return s.backendError(err)
			}
			be := lease.Backend()
			if err := s.applySettingsNow(be); err != nil {
				lease.Destroy()
				return err
			}
			params = make(map[string]string, len(be.Params))
			for k, v := range be.Params {
				params[k] = v
			}
			lease.Release()
			s.srv.rememberParams(p, sk, params)
		}
	}
	s.srv.registerKey(s, pid)
	s.mu.Lock()
	s.serverEncoding, s.clientEncoding = params["server_encoding"], params["client_encoding"]
	s.updatePinLocked()
	s.mu.Unlock()
	s.startSessionSpan()
	var msg []byte
	msg = appendAuth(msg, authOK, nil)
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		msg = appendParameterStatus(msg, k, params[k])
	}
	msg = appendBackendKeyData(msg, s.keyPID, s.keySecret)
	msg = appendReadyForQuery(msg, txIdle)
	_ = s.conn.SetDeadline(time.Time{})
	s.setState(sessionStateIdle)
	if s.mode == PoolSession {
		s.setState(sessionStateActive)
	}
	s.logInfo("connection opened", "mode", s.mode.String(), "tls", s.tls, "application_name", s.appName.Load())
	return s.writeClient(msg)
}

// backendError turns a failure to get a backend into the client's error.
func (s *Session) backendError(err error) *Error {
	var de *pool.DialError
	var te *pool.AcquireTimeoutError
	switch {
	case errors.As(err, &de) && de.PgErr != nil:
		return fromPgError(de.PgErr, SeverityFatal)
	case errors.As(err, &de):
		return newFatal(CodeConnectionFailure, "pgwarp could not connect to the upstream server %s: %v", de.Server, de.Err).
			withHint("check that the database server is running and accepting TCP/IP connections")
	case errors.As(err, &te) && te.Paused:
		return newFatal(CodeCannotConnectNow, "%s", te.Error()).
			withHint("an operator paused this database; try again after RESUME")
	case errors.As(err, &te):
		return newFatal(CodeTooManyConnections, "%s", te.Error()).
			withHint("raise pool.max_size or acquire_timeout, or shorten transactions")
	case errors.Is(err, pool.ErrClosed), errors.Is(err, context.Canceled) && s.srv.shuttingDown.Load():
		return newFatal(CodeAdminShutdown, "terminating connection due to administrator command")
	case errors.Is(err, context.DeadlineExceeded):
		return newFatal(CodeCannotConnectNow, "no upstream connection within startup_timeout (%s): the database is paused or its pool stayed full", s.srv.config().StartupTimeout).
			withHint("try again after RESUME, or raise pool.max_size")
	}
	return newFatal(CodeConnectionFailure, "pgwarp could not get an upstream connection: %v", err)
}

// writeClient writes b to the client in order with every other response.
func (s *Session) writeClient(b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err := s.conn.Write(b)
	return err
}

// sendError is the one function that reports an error to the client. A
// FATAL error is written and the caller ends the session. An ERROR is
// followed by ReadyForQuery with the session's real transaction status —
// at once for a simple query, or at the client's Sync when it interrupts an
// extended-protocol batch (the messages in between are skipped, as
// PostgreSQL does).
func (s *Session) sendError(e *Error) {
	msg := appendErrorResponse(nil, e)
	if e.Fatal() || s.getState() < sessionStateIdle {
		_ = s.writeClient(msg)
		return
	}
	s.emit(msg)
}

// interrupt makes the session goroutine return from its client read, for
// shutdown.
func (s *Session) interrupt() {
	s.interrupts.Store(true)
	_ = s.raw.SetReadDeadline(time.Unix(1, 0))
}

// idleForShutdown reports whether the session may be closed without
// breaking a transaction: nothing leased, or a session-mode backend idle.
func (s *Session) idleForShutdown() bool {
	st := s.getState()
	if st < sessionStateIdle {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lease == nil || s.idleOnLeaseLocked()
}
