package proxy

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgwarp/pgwarp/cache"
	"github.com/pgwarp/pgwarp/policy"
	"github.com/pgwarp/pgwarp/telemetry"
)

// AuthMethod is how pgwarp verifies clients.
type AuthMethod uint8

const (
	// AuthPassthrough lets the upstream decide: pgwarp asks the client for
	// a password only when the upstream asks for one.
	AuthPassthrough AuthMethod = iota
	// AuthSCRAM verifies clients with SCRAM-SHA-256 against [User]s.
	AuthSCRAM
	// AuthMD5 verifies clients with md5 against [User]s.
	AuthMD5
	// AuthTrust accepts any configured user without a password, from
	// loopback addresses unless TrustRemote is set.
	AuthTrust
)

func (m AuthMethod) String() string {
	switch m {
	case AuthPassthrough:
		return "passthrough"
	case AuthSCRAM:
		return "scram-sha-256"
	case AuthMD5:
		return "md5"
	case AuthTrust:
		return "trust"
	}
	return fmt.Sprintf("AuthMethod(%d)", uint8(m))
}

// ParseAuthMethod parses the names used in pgwarp.yaml.
func ParseAuthMethod(s string) (AuthMethod, error) {
	for _, m := range []AuthMethod{AuthPassthrough, AuthSCRAM, AuthMD5, AuthTrust} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("unknown auth method %q", s)
}

// PoolMode says when a session holds an upstream connection.
type PoolMode uint8

const (
	// PoolTransaction leases a backend for one transaction at a time.
	PoolTransaction PoolMode = iota
	// PoolSession leases a backend for the whole client session.
	PoolSession
)

func (m PoolMode) String() string {
	if m == PoolSession {
		return "session"
	}
	return "transaction"
}

// User is a client identity pgwarp verifies itself. Its String method
// never shows secrets.
type User struct {
	Name string
	// password is the plaintext, when known (from an environment
	// variable); it is also used to log in upstream.
	password string
	scram    *scramVerifier
	md5      string // "md5…" hash
}

// NewUser builds a user from a plaintext password (may be empty) and/or a
// stored verifier ("SCRAM-SHA-256$…" or an md5 hash).
func NewUser(name, password, verifier string) (*User, error) {
	u := &User{Name: name, password: password}
	switch {
	case strings.HasPrefix(verifier, "SCRAM-SHA-256$"):
		v, err := parseSCRAMVerifier(verifier)
		if err != nil {
			return nil, fmt.Errorf("user %s: %w", name, err)
		}
		u.scram = v
	case strings.HasPrefix(verifier, "md5"):
		u.md5 = verifier
	case verifier != "":
		return nil, fmt.Errorf("user %s: unrecognised verifier", name)
	}
	if password != "" {
		if u.scram == nil {
			v, err := newSCRAMVerifier(password)
			if err != nil {
				return nil, err
			}
			u.scram = v
		}
		if u.md5 == "" {
			u.md5 = md5Hash(password, name)
		}
	}
	if u.scram == nil && u.md5 == "" {
		return nil, fmt.Errorf("user %s: no password or verifier", name)
	}
	return u, nil
}

func (u *User) String() string { return "user " + u.Name }

// SCRAMVerifier returns a SCRAM-SHA-256 verifier for password in
// PostgreSQL's format (for `pgwarp passwd`).
func SCRAMVerifier(password string) (string, error) {
	v, err := newSCRAMVerifier(password)
	if err != nil {
		return "", err
	}
	return v.String(), nil
}

// Auth configures client authentication.
type Auth struct {
	Method AuthMethod
	// TrustRemote lets AuthTrust accept non-loopback clients.
	TrustRemote bool
	// PassthroughCacheTTL is how long pgwarp remembers (as a keyed hash)
	// a password the upstream accepted, so a new client presenting it can
	// share pooled backends without a new upstream login. Zero means a
	// new upstream login for every client connection.
	PassthroughCacheTTL time.Duration
	// Users are the identities for SCRAM, md5 and trust.
	Users map[string]*User
}

// Database is one database clients can connect to.
type Database struct {
	// Name is what clients put in their connection string; "*" matches
	// any name without an entry, and its upstream database is then the
	// name the client asked for.
	Name string
	// Upstream is where the database lives. With AuthPassthrough the
	// client's user (and password) replace Upstream.User (and Password).
	Upstream *pgconn.Config
	// Mode is the pooling mode.
	Mode PoolMode
	// MaxSize, MinIdle, AcquireTimeout, IdleTimeout, MaxLifetime and
	// HealthCheckPeriod configure the pool; zero values take the pool
	// package's defaults.
	MaxSize           int
	MinIdle           int
	AcquireTimeout    time.Duration
	IdleTimeout       time.Duration
	MaxLifetime       time.Duration
	HealthCheckPeriod time.Duration
	// MaxClientConnections caps clients of this database; zero means no
	// cap beyond the global one.
	MaxClientConnections int
	// ResetQuery cleans a backend before a session-mode backend is
	// reused; empty means "DISCARD ALL".
	ResetQuery string
}

// Config configures a [Server]. The zero value of every field is usable
// except Databases, which needs at least one entry.
type Config struct {
	// Listen is the address ListenAndServe binds. Empty means
	// 127.0.0.1:6432.
	Listen string
	// TLS, when non-nil, is offered to clients that send SSLRequest.
	TLS *tls.Config
	// TLSRequired refuses clients that do not use TLS.
	TLSRequired bool
	Auth        Auth
	Databases   map[string]*Database
	// MaxClientConnections caps client connections; zero means no cap.
	MaxClientConnections int
	// MaxMessageBytes caps one client message. Zero means 64 MiB.
	MaxMessageBytes int
	// StartupTimeout bounds the startup and authentication of a new
	// connection. Zero means 10s.
	StartupTimeout time.Duration
	// ShutdownTimeout bounds how long Shutdown waits for transactions in
	// flight. Zero means 30s.
	ShutdownTimeout time.Duration
	// MaxPreparedStatements bounds the distinct prepared statements
	// pgwarp tracks in transaction mode; zero means
	// DefaultMaxPreparedStatements.
	MaxPreparedStatements int
	// MaxClientStatements bounds one client's named prepared statements;
	// zero means DefaultMaxClientStatements.
	MaxClientStatements int
	// Policy enforces limits on statements; nil enforces none. The engine
	// is shared: reloading its configuration takes effect at once.
	Policy *policy.Engine
	// Tracing starts a span per session and per query; nil (or disabled)
	// traces nothing.
	Tracing *telemetry.Tracing
	// Metrics receives per-pool query and wait metrics; nil records none.
	Metrics *telemetry.Metrics
	// SlowQueryThreshold logs statements that take longer; zero or
	// negative logs none.
	SlowQueryThreshold time.Duration
	// Cache is the read cache; nil caches nothing.
	Cache *cache.Cache
	// VolatileInvalidatesAll makes a statement calling a function that may
	// write (a VOLATILE or parallel-unsafe user function) invalidate every
	// entry of its database; false trusts such calls not to write.
	VolatileInvalidatesAll bool
	// InvalidationChannel is the NOTIFY channel pgwarp instances tell each
	// other about writes on; empty turns cross-instance invalidation off.
	InvalidationChannel string
	// AdminUsers may use the admin console (database "pgwarp").
	AdminUsers []string
	// Logger receives connection and error logs. Nil means slog.Default().
	Logger *slog.Logger
	// Version is reported by SHOW VERSION.
	Version string
	// ShowConfig returns the rows (key, value, source) of the admin
	// console's SHOW CONFIG. Nil shows the proxy's own settings.
	ShowConfig func() [][3]string
	// ReloadFunc is what the admin console's RELOAD runs (reading the
	// configuration file again and calling Reload). Nil makes RELOAD
	// report that it is unavailable.
	ReloadFunc func() error
	// AdminCommands adds console commands provided by other packages
	// (SHOW CACHE, CACHE PURGE, SHOW POLICY…), keyed by their leading
	// words in upper case.
	AdminCommands map[string]AdminCommand
}

func (c *Config) withDefaults() (*Config, error) {
	cc := *c
	if cc.Listen == "" {
		cc.Listen = "127.0.0.1:6432"
	}
	if cc.MaxMessageBytes <= 0 {
		cc.MaxMessageBytes = 64 << 20
	}
	if cc.StartupTimeout <= 0 {
		cc.StartupTimeout = 10 * time.Second
	}
	if cc.ShutdownTimeout <= 0 {
		cc.ShutdownTimeout = 30 * time.Second
	}
	if cc.Logger == nil {
		cc.Logger = slog.Default()
	}
	if len(cc.Databases) == 0 {
		return nil, errors.New("proxy: no databases configured")
	}
	for name, db := range cc.Databases {
		if db.Upstream == nil {
			return nil, fmt.Errorf("proxy: database %q has no upstream", name)
		}
		if db.Name == "" {
			db.Name = name
		}
		if db.ResetQuery == "" {
			db.ResetQuery = "DISCARD ALL"
		}
	}
	if cc.Auth.Method != AuthPassthrough && len(cc.Auth.Users) == 0 && cc.Auth.Method != AuthTrust {
		return nil, fmt.Errorf("proxy: auth method %s needs users", cc.Auth.Method)
	}
	return &cc, nil
}
