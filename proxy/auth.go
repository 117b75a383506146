package proxy

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/pgwarp/pgwarp/pool"
)

// authenticate verifies the client according to the configured method. With
// passthrough it may return the backend it dialled to let the upstream
// judge the client's password; the caller adopts it.
func (s *Session) authenticate(cfg *Config) (*pool.Backend, error) {
	switch cfg.Auth.Method {
	case AuthPassthrough:
		return s.authPassthrough(cfg)
	case AuthTrust:
		if !cfg.Auth.TrustRemote && !isLoopback(s.raw) {
			return nil, newFatal(CodeInvalidAuthSpec, "trust authentication is only allowed from loopback addresses").
				withHint("set auth.trust_remote: true to allow it from other hosts, or use scram-sha-256")
		}
		if len(cfg.Auth.Users) > 0 && cfg.Auth.Users[s.user] == nil {
			return nil, newFatal(CodeInvalidAuthSpec, "role %q does not exist", s.user)
		}
		return nil, nil
	case AuthSCRAM:
		return nil, s.authSCRAM(cfg)
	case AuthMD5:
		return nil, s.authMD5(cfg)
	}
	return nil, newFatal(CodeInternalError, "unknown authentication method %s", cfg.Auth.Method)
}

func isLoopback(c net.Conn) bool {
	switch a := c.RemoteAddr().(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	return false
}

func (s *Session) badPassword() *Error {
	return newFatal(CodeInvalidPassword, "password authentication failed for user %q", s.user)
}

// readPasswordMessage reads the client's next message, which must be a
// password or SASL response.
func (s *Session) readPasswordMessage() ([]byte, error) {
	typ, body, err := s.rd.next()
	if err != nil {
		var tl *errMessageTooLarge
		if errors.As(err, &tl) {
			return nil, newFatal(CodeProtocolViolation, "invalid authentication message: too large")
		}
		return nil, err
	}
	if typ != msgPassword {
		return nil, newFatal(CodeProtocolViolation, "expected password response, got message type %d", typ)
	}
	return body, nil
}

func (s *Session) authSCRAM(cfg *Config) error {
	u := cfg.Auth.Users[s.user]
	x := &scramExchange{}
	if u == nil || u.scram == nil {
		x.v, x.mock = mockSCRAMVerifier(s.srv.secret, s.user), true
	} else {
		x.v = u.scram
	}
	if err := s.writeClient(appendAuth(nil, authSASL, []byte(scramMechanism+"\x00\x00"))); err != nil {
		return err
	}
	body, err := s.readPasswordMessage()
	if err != nil {
		return err
	}
	mech, rest, ok := readCString(body)
	if !ok || len(rest) < 4 {
		return errSCRAMMalformed
	}
	n := int(int32(binary.BigEndian.Uint32(rest)))
	rest = rest[4:]
	if n < 0 || n != len(rest) {
		return errSCRAMMalformed
	}
	serverFirst, err := x.start(mech, rest)
	if err != nil {
		return err
	}
	if err := s.writeClient(appendAuth(nil, authSASLContinue, serverFirst)); err != nil {
		return err
	}
	body, err = s.readPasswordMessage()
	if err != nil {
		return err
	}
	final, err := x.finish(body)
	if errors.Is(err, errBadPassword) {
		return s.badPassword()
	}
	if err != nil {
		return err
	}
	return s.writeClient(appendAuth(nil, authSASLFinal, final))
}

func (s *Session) authMD5(cfg *Config) error {
	var salt [4]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return err
	}
	if err := s.writeClient(appendAuth(nil, authMD5Password, salt[:])); err != nil {
		return err
	}
	body, err := s.readPasswordMessage()
	if err != nil {
		return err
	}
	resp, _, ok := readCString(body)
	if !ok {
		return newFatal(CodeProtocolViolation, "invalid password packet")
	}
	u := cfg.Auth.Users[s.user]
	if u == nil || u.md5 == "" {
		return s.badPassword()
	}
	want := md5Response(u.md5, salt)
	if subtle.ConstantTimeCompare([]byte(resp), []byte(want)) != 1 {
		return s.badPassword()
	}
	return nil
}

// askPassword asks the client for its password in cleartext (passthrough
// needs the password itself to log in upstream).
func (s *Session) askPassword() (string, error) {
	if err := s.writeClient(appendAuth(nil, authCleartextPassword, nil)); err != nil {
		return "", err
	}
	body, err := s.readPasswordMessage()
	if err != nil {
		return "", err
	}
	pw, _, ok := readCString(body)
	if !ok {
		return "", newFatal(CodeProtocolViolation, "invalid password packet")
	}
	return pw, nil
}

// verifyWait bounds how long a login waits for another login of the same
// user that is verifying a password with the upstream.
const verifyWait = 3 * time.Second

// credential is what pgwarp remembers, in passthrough mode, about logging in
// to one upstream database as one user: whether a password was needed and a
// keyed hash of the one that worked. The plaintext is kept only to open
// more backends for the pool (as PgBouncer does), never logged.
type credential struct {
	mu sync.Mutex
	// verifying is closed when the login verifying with the upstream now
	// finishes, so that simultaneous first logins do not each dial a
	// connection: the others wait (briefly) and use what it learned.
	verifying     chan struct{}
	password      string
	hash          []byte
	needsPassword bool
	verified      time.Time
}

func (s *Server) credentialFor(k poolKey) *credential {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.creds[k]
	if c == nil {
		c = &credential{}
		s.creds[k] = c
	}
	return c
}

func (s *Server) passwordHash(k poolKey, pw string) []byte {
	h := hmac.New(sha256.New, s.secret)
	h.Write([]byte(k.db + "\x00" + k.database + "\x00" + k.user + "\x00" + pw))
	return h.Sum(nil)
}

// authPassthrough lets the upstream decide. A client is let in without a
// new upstream login only when the upstream accepted the same user (and the
// same password, compared as a keyed hash) within the configured TTL.
// Otherwise pgwarp logs in upstream, asking the client for its password
// only if the upstream asks for one, and returns that backend.
func (s *Session) authPassthrough(cfg *Config) (*pool.Backend, error) {
	k := s.credKey()
	cred := s.srv.credentialFor(k)
	ttl := cfg.Auth.PassthroughCacheTTL
	cred.mu.Lock()
	fresh := ttl > 0 && !cred.verified.IsZero() && time.Since(cred.verified) < ttl
	if !fresh && ttl > 0 && cred.verifying != nil {
		// Another login is verifying with the upstream: wait for it a
		// little (a client slow to give its password must not hold the
		// others up), then look again.
		ch := cred.verifying
		cred.mu.Unlock()
		select {
		case <-ch:
		case <-time.After(verifyWait):
		}
		cred.mu.Lock()
		fresh = !cred.verified.IsZero() && time.Since(cred.verified) < ttl
	}
	var finished chan struct{}
	if !fresh && ttl > 0 && cred.verifying == nil {
		finished = make(chan struct{})
		cred.verifying = finished
	}
	needs, hash := cred.needsPassword, cred.hash
	cred.mu.Unlock()
	if finished != nil {
		defer func() {
			cred.mu.Lock()
			cred.verifying = nil
			cred.mu.Unlock()
			close(finished)
		}()
	}

	var (
		given  string
		known  bool // the client already gave its password
		asked  bool
		askErr error
	)
	if fresh {
		if !needs {
			return nil, nil
		}
		pw, err := s.askPassword()
		if err != nil {
			return nil, err
		}
		if subtle.ConstantTimeCompare(s.srv.passwordHash(k, pw), hash) == 1 {
			return nil, nil
		}
		// Not the password remembered: let the upstream judge it (it may
		// have changed).
		given, known = pw, true
	}
	ask := func(context.Context) (string, error) {
		if !known {
			given, askErr = s.askPassword()
			if askErr != nil {
				return "", askErr
			}
		}
		asked = true
		return given, nil
	}
	b, err := pool.Dial(context.Background(), pool.DialConfig{Conn: s.srv.upstreamConfig(s), Password: ask, Timeout: cfg.StartupTimeout})
	if askErr != nil {
		// The client hung up or misbehaved when asked for its password
		// (psql hangs up to prompt its user, then reconnects).
		return nil, askErr
	}
	if err != nil {
		return nil, s.backendError(err)
	}
	cred.mu.Lock()
	cred.password, cred.needsPassword, cred.verified = given, asked, time.Now()
	cred.hash = s.srv.passwordHash(k, given)
	cred.mu.Unlock()
	return b, nil
}
