package configs

import (
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"go.yaml.in/yaml/v3"

	"github.com/pgwarp/pgwarp/policy"
	"github.com/pgwarp/pgwarp/telemetry"
)

// Config is a whole pgwarp configuration, as loaded from pgwarp.yaml and
// overridden by flags. Zero values are never meaningful here: [Default] sets
// every default and [Parse] starts from it.
type Config struct {
	// File is the path the configuration was loaded from; empty when it
	// comes from flags alone.
	File string

	// Overridden names the settings a command-line flag set, by their
	// SHOW CONFIG key ("listen", "databases.app.pool.max_size"), with the
	// flag ("--listen"). Nil when no flag overrode anything.
	Overridden map[string]string

	// Listen is the host:port clients connect to.
	Listen string

	// MaxClientConnections caps client connections across all databases;
	// 0 means unlimited.
	MaxClientConnections int

	// MaxProcs is how many CPUs pgwarp's Go scheduler uses (GOMAXPROCS).
	// 0 means half the machine's CPUs, at least one: pgwarp spends its
	// time in system calls, and on a machine it shares with the database
	// or the application, waking threads across CPUs costs more than it
	// gains (measured in docs/benchmarks.md). The GOMAXPROCS environment
	// variable, when set, wins.
	MaxProcs int

	// MaxMessageBytes caps the size of one protocol message from a client
	// (COPY data excepted, which is streamed).
	MaxMessageBytes int64

	// MaxPreparedStatements bounds the distinct prepared statements
	// (query text and parameter types) pgwarp tracks across all clients in
	// transaction mode; a Parse beyond it fails with 53400.
	MaxPreparedStatements int

	// StartupTimeout bounds how long a new connection may take to complete
	// its startup and authentication.
	StartupTimeout time.Duration

	// ShutdownTimeout bounds how long SIGTERM waits for running
	// transactions before closing sessions with 57P01.
	ShutdownTimeout time.Duration

	Admin     Admin
	TLS       TLS
	Auth      Auth
	Databases map[string]*Database

	// Sections owned by other packages (see sections.go).
	Cache     Cache
	Policy    policy.Config
	Telemetry telemetry.Config
	Orphans   Orphans

	// Unset records which top-level settings came from defaults rather
	// than from the file, so that flags can tell a default from an
	// explicit value.
	explicit map[string]bool
}

// Admin configures the admin HTTP listener and the admin console.
type Admin struct {
	// HTTP is the host:port of /metrics, /healthz and /readyz; "off" (or
	// empty) disables the listener.
	HTTP string
	// TokenEnv names an environment variable holding a bearer token that
	// the HTTP endpoints (except /healthz) require; empty means none.
	TokenEnv string
	// Token is the bearer token read from TokenEnv at load.
	Token string `json:"-"`
	// Pprof exposes /debug/pprof on the admin listener.
	Pprof bool
	// Users may connect to the admin console (database "pgwarp"); each
	// must be one of auth.users (or, with passthrough, be accepted by the
	// upstream of the first database).
	Users []string
}

// TLS configures TLS between clients and pgwarp.
type TLS struct {
	// Mode is disable (answer SSLRequest with N), allow (offer TLS,
	// accept plaintext) or require (refuse plaintext clients).
	Mode string
	Cert string
	Key  string
}

// Auth configures how pgwarp verifies clients.
type Auth struct {
	// Method is passthrough, scram-sha-256, md5 or trust.
	Method string
	// TrustRemote lets method trust accept non-loopback clients.
	TrustRemote bool
	// PassthroughCacheTTL is how long a password the upstream accepted is
	// remembered (as a salted verifier, never in plaintext) so that a
	// pooled backend can be handed to a client who presents the same
	// password without a new upstream login; 0 disables the memory.
	PassthroughCacheTTL time.Duration
	Users               []User
}

// User is a client identity pgwarp verifies itself.
type User struct {
	Name string
	// PasswordEnv names the environment variable holding the password.
	PasswordEnv string
	// Password is the secret in plaintext, resolved from PasswordEnv at
	// load; never logged.
	Password string `json:"-"`
	// Verifier is a stored SCRAM-SHA-256 verifier
	// ("SCRAM-SHA-256$iter:salt$StoredKey:ServerKey") or md5 hash
	// ("md5" + 32 hex digits).
	Verifier string
}

// String redacts secrets.
func (u User) String() string { return "user " + u.Name }

// Database maps a database name clients use to an upstream PostgreSQL.
type Database struct {
	Name string
	// Upstream is a postgres:// URL (with sslmode, sslrootcert…).
	Upstream string
	// PasswordEnv names an environment variable with the upstream
	// password, for URLs that carry a user but no password.
	PasswordEnv string
	// UpstreamConfig is Upstream parsed by pgconn.
	UpstreamConfig *pgconn.Config `json:"-"`
	Pool           Pool
}

// Pool configures the pool of upstream connections of one database.
type Pool struct {
	// Mode is transaction or session.
	Mode                 string
	MaxSize              int
	MinIdle              int
	AcquireTimeout       time.Duration
	IdleTimeout          time.Duration
	MaxLifetime          time.Duration
	HealthCheckPeriod    time.Duration
	MaxClientConnections int
	// ResetQuery runs before a session-mode backend is reused.
	ResetQuery string
}

// Wildcard is the database entry that serves any database name without an
// entry of its own; its upstream's database is replaced by the name the
// client asked for.
const Wildcard = "*"

// Default returns the configuration used when nothing is configured.
func Default() *Config {
	return &Config{
		Listen:                "127.0.0.1:6432",
		MaxMessageBytes:       64 << 20,
		MaxPreparedStatements: 10000,
		StartupTimeout:        10 * time.Second,
		ShutdownTimeout:       30 * time.Second,
		Admin:                 Admin{HTTP: "127.0.0.1:9187"},
		TLS:                   TLS{Mode: "disable"},
		Auth:                  Auth{Method: "passthrough", PassthroughCacheTTL: time.Minute},
		Databases:             map[string]*Database{},
		Cache:                 DefaultCache(),
		Policy:                DefaultPolicy(),
		Telemetry:             DefaultTelemetry(),
		explicit:              map[string]bool{},
	}
}

// DefaultPool returns the pool settings a database gets unless configured.
func DefaultPool() Pool {
	return Pool{
		Mode:              "transaction",
		MaxSize:           20,
		AcquireTimeout:    5 * time.Second,
		IdleTimeout:       10 * time.Minute,
		MaxLifetime:       time.Hour,
		HealthCheckPeriod: 30 * time.Second,
		ResetQuery:        "DISCARD ALL",
	}
}

// Load reads and validates the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a configuration document. file names it in
// error messages.
func Parse(file string, data []byte) (*Config, error) {
	c := Default()
	c.File = file
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &LoadError{File: file, Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	d := &decoder{file: file}
	if len(doc.Content) > 0 {
		root := doc.Content[0]
		d.mapping(root, "", map[string]field{
			"listen":                  c.mark("listen", d.str(&c.Listen)),
			"max_client_connections":  d.integer(&c.MaxClientConnections, 0, 10_000_000),
			"max_message_bytes":       d.size(&c.MaxMessageBytes),
			"max_prepared_statements": d.integer(&c.MaxPreparedStatements, 1, 10_000_000),
			"max_procs":               d.integer(&c.MaxProcs, 0, 4096),
			"startup_timeout":         d.duration(&c.StartupTimeout),
			"shutdown_timeout":        d.duration(&c.ShutdownTimeout),
			"admin":                   func(n *yaml.Node, p string) { d.admin(n, p, &c.Admin) },
			"tls":                     func(n *yaml.Node, p string) { d.tls(n, p, &c.TLS) },
			"auth":                    func(n *yaml.Node, p string) { d.auth(n, p, &c.Auth) },
			"databases":               func(n *yaml.Node, p string) { d.databases(n, p, c) },
			"cache":                   func(n *yaml.Node, p string) { d.cache(n, p, &c.Cache) },
			"policy":                  func(n *yaml.Node, p string) { d.policy(n, p, &c.Policy) },
			"telemetry":               func(n *yaml.Node, p string) { d.telemetry(n, p, &c.Telemetry) },
			"orphans":                 func(n *yaml.Node, p string) { d.orphans(n, p, &c.Orphans) },
		})
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) mark(key string, f field) field {
	return func(n *yaml.Node, p string) {
		c.explicit[key] = true
		f(n, p)
	}
}

func (d *decoder) admin(n *yaml.Node, path string, a *Admin) {
	d.mapping(n, path, map[string]field{
		"http": d.str(&a.HTTP),
		"token_env": func(n *yaml.Node, p string) {
			d.str(&a.TokenEnv)(n, p)
			if a.TokenEnv == "" {
				return // no token
			}
			if v, ok := os.LookupEnv(a.TokenEnv); !ok || v == "" {
				d.errorf(n, p, "environment variable %s is not set", a.TokenEnv)
			} else {
				a.Token = v
			}
		},
		"pprof": d.boolean(&a.Pprof),
		"users": d.strings(&a.Users),
	})
}

func (d *decoder) tls(n *yaml.Node, path string, t *TLS) {
	d.mapping(n, path, map[string]field{
		"mode": d.enum(&t.Mode, "disable", "allow", "require"),
		"cert": d.str(&t.Cert),
		"key":  d.str(&t.Key),
	})
}

func (d *decoder) auth(n *yaml.Node, path string, a *Auth) {
	methodSet := false
	d.mapping(n, path, map[string]field{
		"method": func(n *yaml.Node, p string) {
			methodSet = true
			d.enum(&a.Method, "passthrough", "scram-sha-256", "md5", "trust")(n, p)
		},
		"trust_remote":          d.boolean(&a.TrustRemote),
		"passthrough_cache_ttl": d.duration(&a.PassthroughCacheTTL),
		"users": func(n *yaml.Node, p string) {
			d.sequence(n, p, func(item *yaml.Node, p string) {
				var u User
				var password string
				d.mapping(item, p, map[string]field{
					"name":         d.str(&u.Name),
					"password_env": d.str(&u.PasswordEnv),
					"password":     d.str(&password),
				})
				switch {
				case password == "":
				case strings.HasPrefix(password, "SCRAM-SHA-256$"), isMD5Hash(password):
					u.Verifier = password
				default:
					d.errorf(item, p+".password", "plaintext passwords are not accepted in the file: "+
						"put the password in an environment variable and name it in password_env, "+
						"or store a SCRAM verifier (SCRAM-SHA-256$…, e.g. from `pgwarp passwd`)")
				}
				if u.Name == "" {
					d.errorf(item, p+".name", "is required")
				}
				if u.PasswordEnv == "" && u.Verifier == "" {
					d.errorf(item, p, "needs password_env or password (a SCRAM verifier or md5 hash)")
				}
				if u.PasswordEnv != "" {
					v, ok := os.LookupEnv(u.PasswordEnv)
					if !ok || v == "" {
						d.errorf(item, p+".password_env", "environment variable %s is not set", u.PasswordEnv)
					}
					u.Password = v
				}
				a.Users = append(a.Users, u)
			})
		},
	})
	// Configured users mean pgwarp verifies clients itself; SCRAM is then
	// the default, as in PostgreSQL.
	if !methodSet && len(a.Users) > 0 {
		a.Method = "scram-sha-256"
	}
}

func isMD5Hash(s string) bool {
	if len(s) != 35 || !strings.HasPrefix(s, "md5") {
		return false
	}
	for _, r := range s[3:] {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

func (d *decoder) databases(n *yaml.Node, path string, c *Config) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "must be a mapping of database names to settings, got %s", describe(n))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := k.Value
		p := join(path, name)
		if _, dup := c.Databases[name]; dup {
			d.errorf(k, p, "database given twice")
			continue
		}
		db := &Database{Name: name, Pool: DefaultPool()}
		d.mapping(v, p, map[string]field{
			"upstream":     d.str(&db.Upstream),
			"password_env": d.str(&db.PasswordEnv),
			"pool":         func(n *yaml.Node, p string) { d.pool(n, p, &db.Pool) },
		})
		if db.Upstream == "" {
			d.errorf(v, p+".upstream", "is required (a postgres:// URL)")
		} else if cfg, err := ParseUpstream(db.Upstream); err != nil {
			d.errorf(v, p+".upstream", "%v", err)
		} else {
			db.UpstreamConfig = cfg
		}
		if db.PasswordEnv != "" {
			if pw, ok := os.LookupEnv(db.PasswordEnv); !ok || pw == "" {
				d.errorf(v, p+".password_env", "environment variable %s is not set", db.PasswordEnv)
			} else if db.UpstreamConfig != nil {
				db.UpstreamConfig.Password = pw
			}
		}
		c.Databases[name] = db
	}
}

func (d *decoder) pool(n *yaml.Node, path string, p *Pool) {
	d.mapping(n, path, map[string]field{
		"mode":                   d.enum(&p.Mode, "transaction", "session"),
		"max_size":               d.integer(&p.MaxSize, 1, 100_000),
		"min_idle":               d.integer(&p.MinIdle, 0, 100_000),
		"acquire_timeout":        d.duration(&p.AcquireTimeout),
		"idle_timeout":           d.duration(&p.IdleTimeout),
		"max_lifetime":           d.duration(&p.MaxLifetime),
		"health_check_period":    d.duration(&p.HealthCheckPeriod),
		"max_client_connections": d.integer(&p.MaxClientConnections, 0, 10_000_000),
		"reset_query":            d.str(&p.ResetQuery),
	})
}

// ParseUpstream parses an upstream URL or keyword/value string with pgconn,
// rejecting what a proxy cannot use. Error messages never include the
// password.
func ParseUpstream(s string) (*pgconn.Config, error) {
	cfg, err := pgconn.ParseConfig(s)
	if err != nil {
		return nil, fmt.Errorf("invalid upstream: %s", redactParseError(err))
	}
	return cfg, nil
}

func redactParseError(err error) string {
	msg := err.Error()
	// pgconn's ParseConfigError already redacts the connection string;
	// keep only its message.
	if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "cannot parse") {
		return msg[i+2:]
	}
	return msg
}

// Validate checks relations between settings that no single key can check.
func (c *Config) Validate() error {
	d := &decoder{file: c.File}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		d.errorf(nil, "listen", "must be host:port, got %q", c.Listen)
	}
	if c.Admin.HTTP != "" && c.Admin.HTTP != "off" {
		if _, _, err := net.SplitHostPort(c.Admin.HTTP); err != nil {
			d.errorf(nil, "admin.http", "must be host:port (or empty to disable), got %q", c.Admin.HTTP)
		}
	}
	if c.MaxMessageBytes < 1024 {
		d.errorf(nil, "max_message_bytes", "must be at least 1KiB, got %d", c.MaxMessageBytes)
	}
	if c.StartupTimeout <= 0 {
		d.errorf(nil, "startup_timeout", "must be positive")
	}
	if c.TLS.Mode != "disable" && (c.TLS.Cert == "" || c.TLS.Key == "") {
		d.errorf(nil, "tls", "mode %s needs cert and key", c.TLS.Mode)
	}
	switch c.Auth.Method {
	case "scram-sha-256", "md5":
		if len(c.Auth.Users) == 0 {
			d.errorf(nil, "auth.users", "method %s needs at least one user", c.Auth.Method)
		}
	}
	if c.Auth.Method == "md5" {
		for _, u := range c.Auth.Users {
			if u.Password == "" && !isMD5Hash(u.Verifier) {
				d.errorf(nil, "auth.users", "%s: method md5 needs password_env or an md5 hash, not a SCRAM verifier", u.Name)
			}
		}
	}
	seen := map[string]bool{}
	for _, u := range c.Auth.Users {
		if seen[u.Name] {
			d.errorf(nil, "auth.users", "user %q listed twice", u.Name)
		}
		seen[u.Name] = true
	}
	for _, name := range c.DatabaseNames() {
		db := c.Databases[name]
		if db.Pool.MinIdle > db.Pool.MaxSize {
			d.errorf(nil, "databases."+name+".pool.min_idle", "(%d) must not exceed max_size (%d)", db.Pool.MinIdle, db.Pool.MaxSize)
		}
		if db.Pool.AcquireTimeout <= 0 {
			d.errorf(nil, "databases."+name+".pool.acquire_timeout", "must be positive")
		}
		if name == AdminDatabase {
			d.errorf(nil, "databases."+name, "the name %q is reserved for the admin console", AdminDatabase)
		}
	}
	c.validateSections(d)
	return d.err()
}

// AdminDatabase is the database name of the admin console.
const AdminDatabase = "pgwarp"

// DatabaseNames returns the configured database names in sorted order.
func (c *Config) DatabaseNames() []string {
	names := make([]string, 0, len(c.Databases))
	for n := range c.Databases {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Explicit reports whether a top-level key was set in the file.
func (c *Config) Explicit(key string) bool { return c.explicit[key] }
