package pool

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// readBufSize is the size of a backend's relay buffer: large enough for a
// typical result to arrive in one read, small enough to keep many backends.
const readBufSize = 32 << 10

// Backend is one upstream connection, authenticated and then driven with
// the raw protocol. It is owned by the holder of its [Lease] (or by the pool
// while idle); it is not safe for concurrent use, except Cancel.
type Backend struct {
	// Conn is the raw connection (TLS included) after authentication.
	Conn net.Conn
	// PID and secret identify the backend for CancelRequest.
	PID    uint32
	secret []byte
	// network and address are where cancel requests go.
	network, address string

	// Params holds the last value the server reported for each
	// ParameterStatus parameter.
	Params map[string]string
	// TxStatus is the transaction status of the last ReadyForQuery.
	TxStatus byte

	// ReadBuf is the relay buffer for data from this backend. Bytes the
	// server sent during login that pgconn read but did not consume are
	// in ReadBuf[:Buffered].
	ReadBuf  []byte
	Buffered int

	// Statements records the prepared statements the proxy created here.
	Statements *StatementSet
	// Settings records the session settings the proxy applied here with
	// SET (name → value), so the next session can apply only the
	// difference.
	Settings map[string]string

	created  time.Time
	lastUsed time.Time
	broken   bool
}

// Created returns when the connection was established.
func (b *Backend) Created() time.Time { return b.created }

// MarkBroken records that the connection must not be reused; the pool
// destroys it instead of taking it back.
func (b *Backend) MarkBroken() { b.broken = true }

// Broken reports whether MarkBroken was called.
func (b *Backend) Broken() bool { return b.broken }

// Addr returns the upstream address (host:port or socket path).
func (b *Backend) Addr() string { return b.address }

// Close ends the connection politely (Terminate) and closes it.
func (b *Backend) Close() error {
	_ = b.Conn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	_, _ = b.Conn.Write([]byte{'X', 0, 0, 0, 4})
	return b.Conn.Close()
}

// PasswordFunc is asked for the upstream password at the moment the server
// requests one, so that a client is asked for its password only when the
// upstream wants it (passthrough authentication).
type PasswordFunc func(ctx context.Context) (string, error)

// DialConfig says how to open one upstream connection.
type DialConfig struct {
	// Conn is the pgconn configuration (host, port, TLS, user, database,
	// password, runtime parameters). It is copied, never modified.
	Conn *pgconn.Config
	// Password, when non-nil, supplies the password lazily (see
	// [PasswordFunc]); Conn.Password is then ignored.
	Password PasswordFunc
	// Timeout bounds the whole dial and login; zero means 10s, or the
	// connect_timeout of Conn when it is shorter.
	Timeout time.Duration
}

// DialError is a failure to reach or log in to the upstream. Server is the
// address tried (never the credentials).
type DialError struct {
	Server string
	// PgErr is set when the server answered with an error (for example a
	// failed login); its code is the one to give the client.
	PgErr *pgconn.PgError
	Err   error
}

func (e *DialError) Error() string {
	if e.PgErr != nil {
		return fmt.Sprintf("upstream %s: %s (SQLSTATE %s)", e.Server, e.PgErr.Message, e.PgErr.Code)
	}
	return fmt.Sprintf("could not connect to upstream %s: %v", e.Server, e.Err)
}

func (e *DialError) Unwrap() error {
	if e.PgErr != nil {
		return e.PgErr
	}
	return e.Err
}

// Dial opens an upstream connection, logs in with pgconn and hijacks it.
func Dial(ctx context.Context, dc DialConfig) (*Backend, error) {
	cfg := dc.Conn.Copy()
	timeout := dc.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	if cfg.ConnectTimeout > 0 && cfg.ConnectTimeout < timeout && dc.Password == nil {
		timeout = cfg.ConnectTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	server := serverName(cfg)
	if dc.Password != nil {
		cfg.Password = ""
		ask := dc.Password
		cfg.AfterNetConnect = func(ctx context.Context, c *pgconn.Config, conn net.Conn) (net.Conn, error) {
			return &authSniffer{Conn: conn, cfg: c, ask: ask, ctx: ctx}, nil
		}
	}
	// pgconn must not keep trying other hosts or TLS modes after the
	// server rejected a password the client gave: that would ask again.
	pc, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, dialError(server, err)
	}
	// pgconn may have started a background reader during a slow login
	// write; it must be stopped (and its buffer drained) before the raw
	// connection is read directly, or it would swallow the first response.
	if err := pc.SyncConn(ctx); err != nil {
		pc.Close(context.Background())
		return nil, &DialError{Server: server, Err: err}
	}
	hc, err := pc.Hijack()
	if err != nil {
		return nil, &DialError{Server: server, Err: err}
	}
	conn := hc.Conn
	if s, ok := conn.(*authSniffer); ok {
		conn = s.Conn
	}
	b := &Backend{
		Conn:       conn,
		PID:        hc.PID,
		secret:     hc.SecretKey,
		Params:     hc.ParameterStatuses,
		TxStatus:   hc.TxStatus,
		ReadBuf:    make([]byte, readBufSize),
		Statements: NewStatementSet(defaultStatementsPerBackend),
		Settings:   map[string]string{},
		created:    time.Now(),
	}
	b.network, b.address = remote(conn)
	// Whatever pgconn read past the final ReadyForQuery (an early
	// notice, say) is re-encoded into the relay buffer, not lost.
	for hc.Frontend.ReadBufferLen() > 0 {
		msg, err := hc.Frontend.Receive()
		if err != nil {
			conn.Close()
			return nil, &DialError{Server: server, Err: err}
		}
		enc, err := msg.Encode(b.ReadBuf[:b.Buffered])
		if err != nil || len(enc) > len(b.ReadBuf) {
			conn.Close()
			return nil, &DialError{Server: server, Err: errors.New("unexpected data after login")}
		}
		b.Buffered = len(enc)
	}
	if b.Params == nil {
		b.Params = map[string]string{}
	}
	return b, nil
}

func dialError(server string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return &DialError{Server: server, PgErr: pe, Err: err}
	}
	// pgconn's connect errors name host, user and database; keep only
	// the cause so that nothing of the credentials travels further.
	cause := err
	for {
		u := errors.Unwrap(cause)
		if u == nil {
			break
		}
		cause = u
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		cause = errors.New("timeout")
	} else if errors.Is(err, syscall.ECONNREFUSED) {
		cause = errors.New("connection refused")
	} else if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOENT) {
		cause = errors.New("no such socket")
	}
	return &DialError{Server: server, Err: cause}
}

func serverName(cfg *pgconn.Config) string {
	if len(cfg.Host) > 0 && cfg.Host[0] == '/' {
		return fmt.Sprintf("%s/.s.PGSQL.%d", cfg.Host, cfg.Port)
	}
	return net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port))
}

func remote(c net.Conn) (network, address string) {
	type netConner interface{ NetConn() net.Conn }
	for {
		nc, ok := c.(netConner)
		if !ok {
			break
		}
		c = nc.NetConn()
	}
	a := c.RemoteAddr()
	return a.Network(), a.String()
}

// Cancel sends a CancelRequest for this backend on a new connection and
// waits until the server has acted on it (the postmaster closes the
// connection after signalling the backend). After Cancel returns nil, the
// cancel can no longer hit a query started later on this backend.
func (b *Backend) Cancel(ctx context.Context) error {
	return SendCancel(ctx, b.network, b.address, b.PID, b.secret)
}

// SendCancel sends a CancelRequest to the server at network/address and
// waits for the server to close the connection.
func SendCancel(ctx context.Context, network, address string, pid uint32, secret []byte) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, address)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	buf := make([]byte, 0, 12+len(secret))
	buf = binary.BigEndian.AppendUint32(buf, uint32(12+len(secret)))
	buf = binary.BigEndian.AppendUint32(buf, 80877102)
	buf = binary.BigEndian.AppendUint32(buf, pid)
	buf = append(buf, secret...)
	if _, err := conn.Write(buf); err != nil {
		return err
	}
	var one [1]byte
	_, err = conn.Read(one[:])
	if err == nil || errors.Is(err, net.ErrClosed) || isEOF(err) {
		return nil
	}
	return err
}

func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

// authSniffer watches the login conversation for an authentication request
// that needs a password and fetches the password just before pgconn reads
// that request, so the client is asked only when the upstream wants it.
type authSniffer struct {
	net.Conn
	cfg  *pgconn.Config
	ask  PasswordFunc
	ctx  context.Context
	once sync.Once
	err  error
	done bool
	// parse state over the stream of backend messages
	hdr    [5]byte
	hdrN   int
	remain int  // body bytes left in the current message
	isAuth bool // current message is 'R'
	code   [4]byte
	codeN  int
}

func (s *authSniffer) Read(p []byte) (int, error) {
	n, err := s.Conn.Read(p)
	if s.done || n == 0 {
		return n, err
	}
	for b := p[:n]; len(b) > 0; {
		if s.remain == 0 && s.hdrN < 5 {
			k := copy(s.hdr[s.hdrN:], b)
			s.hdrN += k
			b = b[k:]
			if s.hdrN == 5 {
				s.remain = int(binary.BigEndian.Uint32(s.hdr[1:])) - 4
				s.isAuth = s.hdr[0] == 'R'
				s.codeN = 0
				if s.remain <= 0 {
					s.hdrN, s.remain = 0, 0
				}
			}
			continue
		}
		k := min(len(b), s.remain)
		if s.isAuth && s.codeN < 4 {
			c := copy(s.code[s.codeN:], b[:k])
			s.codeN += c
			if s.codeN == 4 {
				switch binary.BigEndian.Uint32(s.code[:]) {
				case 0: // AuthenticationOk: nothing more to watch.
					s.done = true
				case 3, 5, 10: // cleartext, md5, SASL
					s.once.Do(func() {
						pw, e := s.ask(s.ctx)
						s.cfg.Password, s.err = pw, e
					})
					if s.err != nil {
						return 0, s.err
					}
				}
			}
		}
		s.remain -= k
		b = b[k:]
		if s.remain == 0 {
			s.hdrN = 0
		}
	}
	return n, err
}
