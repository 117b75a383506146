package configs_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/cache"
	"github.com/pgwarp/pgwarp/configs"
	"github.com/pgwarp/pgwarp/policy"
)

// yamlLines joins lines into a document, so that a test's line numbers can
// be read off its source: the first line is line 1.
func yamlLines(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

// writeConfig writes doc to pgwarp.yaml in a fresh directory and returns
// the path.
func writeConfig(t *testing.T, doc string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pgwarp.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadDoc writes doc to a file and loads it with configs.Load.
func loadDoc(t *testing.T, doc string) (*configs.Config, string, error) {
	t.Helper()
	path := writeConfig(t, doc)
	c, err := configs.Load(path)
	return c, path, err
}

// loadErrors flattens the errors.Join of the loader into its LoadErrors.
func loadErrors(t *testing.T, err error) []*configs.LoadError {
	t.Helper()
	var all []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		all = j.Unwrap()
	} else {
		all = []error{err}
	}
	var out []*configs.LoadError
	for _, e := range all {
		var le *configs.LoadError
		if !errors.As(e, &le) {
			t.Fatalf("the loader returned %T, not a *configs.LoadError: %v", e, e)
		}
		out = append(out, le)
	}
	return out
}

const upstreamLine = "    upstream: postgres://app@127.0.0.1:5432/app"

func TestLoadRejectsWithFileLineKeyPathAndMessage(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		env  map[string]string
		// lines are the lines the error may name: the offending key's own
		// line and, where the loader reports a problem at the enclosing
		// list item or entry, that entry's first line. A 0 among them
		// admits an error without a line: relations between settings are
		// checked after decoding and reported with the file and the key
		// path only.
		lines []int
		// path is the dotted key path the error names.
		path string
		// msg is part of the message a person reads.
		msg string
		// secret must not appear in the error.
		secret string
	}{
		{
			name:  "unknown top-level key suggests the closest known key",
			doc:   yamlLines("listen: 127.0.0.1:6432", "listne: 127.0.0.1:7000"),
			lines: []int{2},
			msg:   `unknown key "listne" (did you mean "listen"?)`,
		},
		{
			name: "unknown nested key names its mapping and suggests the closest key",
			doc: yamlLines(
				"databases:",
				"  app:",
				upstreamLine,
				"    pool:",
				"      max_sise: 5"),
			lines: []int{5},
			path:  "databases.app.pool",
			msg:   `unknown key "max_sise" (did you mean "max_size"?)`,
		},
		{
			name:  "unknown key unlike any known key lists the known keys",
			doc:   yamlLines("cache:", "  colour: blue"),
			lines: []int{2},
			path:  "cache",
			msg:   `unknown key "colour" (known keys: `,
		},
		{
			name:  "key given twice",
			doc:   yamlLines("listen: 127.0.0.1:6432", "listen: 127.0.0.1:6433"),
			lines: []int{2},
			path:  "listen",
			msg:   "key given twice",
		},
		{
			name:  "list where a single value belongs",
			doc:   yamlLines("listen: [127.0.0.1, 6432]"),
			lines: []int{1},
			path:  "listen",
			msg:   "must be a single value, got a list",
		},
		{
			name:  "single value where a mapping belongs",
			doc:   yamlLines("cache: on"),
			lines: []int{1},
			path:  "cache",
			msg:   `must be a mapping (key: value lines), got "on"`,
		},
		{
			name:  "databases as a list instead of a mapping of names",
			doc:   yamlLines("databases: [app]"),
			lines: []int{1},
			path:  "databases",
			msg:   "must be a mapping of database names to settings, got a list",
		},
		{
			name: "text where a whole number belongs",
			doc: yamlLines(
				"databases:",
				"  app:",
				upstreamLine,
				"    pool:",
				"      max_size: twenty"),
			lines: []int{5},
			path:  "databases.app.pool.max_size",
			msg:   `must be a whole number, got "twenty"`,
		},
		{
			name: "whole number out of range",
			doc: yamlLines(
				"databases:",
				"  app:",
				upstreamLine,
				"    pool:",
				"      max_size: 0"),
			lines: []int{5},
			path:  "databases.app.pool.max_size",
			msg:   "must be between 1 and 100000, got 0",
		},
		{
			name:  "neither true nor false",
			doc:   yamlLines("admin:", "  pprof: maybe"),
			lines: []int{2},
			path:  "admin.pprof",
			msg:   `must be true or false, got "maybe"`,
		},
		{
			name:  "value not among the choices",
			doc:   yamlLines("tls:", "  mode: strict"),
			lines: []int{2},
			path:  "tls.mode",
			msg:   `must be one of disable, allow, require, got "strict"`,
		},
		{
			name:  "duration without a unit",
			doc:   yamlLines("startup_timeout: 10"),
			lines: []int{1},
			path:  "startup_timeout",
			msg:   `invalid duration "10": use a number with a unit, like 500ms, 20s, 5m or 1h`,
		},
		{
			name:  "negative duration",
			doc:   yamlLines("listen: 127.0.0.1:6432", "shutdown_timeout: -5s"),
			lines: []int{2},
			path:  "shutdown_timeout",
			msg:   `invalid duration "-5s": must not be negative`,
		},
		{
			name: "duration that is not one",
			doc: yamlLines(
				"databases:",
				"  app:",
				upstreamLine,
				"    pool:",
				"      idle_timeout: soon"),
			lines: []int{5},
			path:  "databases.app.pool.idle_timeout",
			msg:   `invalid duration "soon"`,
		},
		{
			name:  "size with an unknown unit",
			doc:   yamlLines("max_message_bytes: 64 megs"),
			lines: []int{1},
			path:  "max_message_bytes",
			msg:   `invalid size "64 megs": unknown unit "megs" (use B, KiB, MiB or GiB)`,
		},
		{
			name:  "size that is not a number",
			doc:   yamlLines("cache:", "  max_bytes: lots"),
			lines: []int{2},
			path:  "cache.max_bytes",
			msg:   `invalid size "lots": use a whole number of bytes with an optional unit`,
		},
		{
			name:  "negative size",
			doc:   yamlLines("cache:", "  max_entry_bytes: -1MiB"),
			lines: []int{2},
			path:  "cache.max_entry_bytes",
			msg:   `invalid size "-1MiB"`,
		},
		{
			name: "database without an upstream",
			doc: yamlLines(
				"databases:",
				"  app:",
				"    pool:",
				"      max_size: 5"),
			lines: []int{2, 3},
			path:  "databases.app.upstream",
			msg:   "is required (a postgres:// URL)",
		},
		{
			name: "invalid upstream does not repeat its password",
			doc: yamlLines(
				"databases:",
				"  app:",
				"    upstream: postgres://app:s3cret-pw@127.0.0.1:notaport/app"),
			lines:  []int{3},
			path:   "databases.app.upstream",
			msg:    "invalid upstream",
			secret: "s3cret-pw",
		},
		{
			name: "upstream password variable not set",
			doc: yamlLines(
				"databases:",
				"  app:",
				upstreamLine,
				"    password_env: PGWARP_TEST_UNSET_UPSTREAM_PASSWORD"),
			lines: []int{3, 4},
			path:  "databases.app.password_env",
			msg:   "environment variable PGWARP_TEST_UNSET_UPSTREAM_PASSWORD is not set",
		},
		{
			name: "user password variable set but empty",
			doc: yamlLines(
				"auth:",
				"  users:",
				"    - name: app",
				"      password_env: PGWARP_TEST_EMPTY_PASSWORD"),
			env:   map[string]string{"PGWARP_TEST_EMPTY_PASSWORD": ""},
			lines: []int{3, 4},
			path:  "auth.users[0].password_env",
			msg:   "environment variable PGWARP_TEST_EMPTY_PASSWORD is not set",
		},
		{
			name:  "admin token variable not set",
			doc:   yamlLines("admin:", "  token_env: PGWARP_TEST_UNSET_ADMIN_TOKEN"),
			lines: []int{2},
			path:  "admin.token_env",
			msg:   "environment variable PGWARP_TEST_UNSET_ADMIN_TOKEN is not set",
		},
		{
			name: "plaintext password rejected without repeating it",
			doc: yamlLines(
				"auth:",
				"  users:",
				"    - name: app",
				"      password: hunter2-plain"),
			lines:  []int{3, 4},
			path:   "auth.users[0].password",
			msg:    "plaintext passwords are not accepted in the file: put the password in an environment variable and name it in password_env",
			secret: "hunter2-plain",
		},
		{
			name: "user without a name",
			doc: yamlLines(
				"auth:",
				"  users:",
				"    - password_env: HOME"),
			lines: []int{3},
			path:  "auth.users[0].name",
			msg:   "is required",
		},
		{
			name: "min_idle above max_size",
			doc: yamlLines(
				"databases:",
				"  app:",
				upstreamLine,
				"    pool:",
				"      max_size: 4",
				"      min_idle: 8"),
			lines: []int{0, 6},
			path:  "databases.app.pool.min_idle",
			msg:   "(8) must not exceed max_size (4)",
		},
		{
			name:  "cache max_entry_bytes above max_bytes",
			doc:   yamlLines("cache:", "  max_bytes: 1MiB", "  max_entry_bytes: 2MiB"),
			lines: []int{0, 3},
			path:  "cache.max_entry_bytes",
			msg:   "2097152 exceeds max_bytes (1048576): one entry could never be stored",
		},
		{
			name:  "cache ttl above max_ttl",
			doc:   yamlLines("cache:", "  max_ttl: 1m", "  default:", "    ttl: 5m"),
			lines: []int{0, 4},
			path:  "cache.default.ttl",
			msg:   "5m0s exceeds max_ttl (1m0s)",
		},
		{
			name: "cache rule that changes nothing",
			doc: yamlLines(
				"cache:",
				"  rules:",
				"    - tables: [sales_measurement_dataset]"),
			lines: []int{0, 3},
			path:  "cache.rules[0]",
			msg:   "sets neither ttl, stale_while_revalidate nor disabled",
		},
		{
			name:  "policy mode not among the choices",
			doc:   yamlLines("policy:", "  mode: strict"),
			lines: []int{2},
			path:  "policy.mode",
			msg:   `must be one of enforce, warn, off, got "strict"`,
		},
		{
			name:  "policy negative row limit",
			doc:   yamlLines("policy:", "  max_rows_per_query: -1"),
			lines: []int{2},
			path:  "policy.max_rows_per_query",
			msg:   "must be between 0 and",
		},
		{
			name:  "policy timeout below a millisecond",
			doc:   yamlLines("policy:", "  transaction_timeout: 20ns"),
			lines: []int{0, 2},
			path:  "policy.transaction_timeout",
			msg:   "must be 0 (unlimited) or at least 1ms",
		},
		{
			name: "policy override naming neither database nor user",
			doc: yamlLines(
				"policy:",
				"  overrides:",
				"    - max_rows_per_query: 5"),
			lines: []int{0, 3},
			path:  "policy.overrides[0]",
			msg:   "names neither a database nor a user",
		},
		{
			name:  "telemetry log level not among the choices",
			doc:   yamlLines("telemetry:", "  log:", "    level: verbose"),
			lines: []int{3},
			path:  "telemetry.log.level",
			msg:   `must be one of debug, info, warn, error, got "verbose"`,
		},
		{
			name:  "telemetry sample ratio above 1",
			doc:   yamlLines("telemetry:", "  sample_ratio: 2"),
			lines: []int{2},
			path:  "telemetry.sample_ratio",
			msg:   "must be between 0 and 1, got 2",
		},
		{
			name:  "telemetry protocol not among the choices",
			doc:   yamlLines("telemetry:", "  otlp_protocol: udp"),
			lines: []int{2},
			path:  "telemetry.otlp_protocol",
			msg:   `must be one of grpc, http/protobuf, got "udp"`,
		},
		{
			name:  "listen without a port",
			doc:   yamlLines("listen: localhost"),
			lines: []int{0, 1},
			path:  "listen",
			msg:   `must be host:port, got "localhost"`,
		},
		{
			name:  "tls required without certificate",
			doc:   yamlLines("tls:", "  mode: require"),
			lines: []int{0, 1, 2},
			path:  "tls",
			msg:   "mode require needs cert and key",
		},
		{
			name:  "scram without users",
			doc:   yamlLines("auth:", "  method: scram-sha-256"),
			lines: []int{0, 2},
			path:  "auth.users",
			msg:   "method scram-sha-256 needs at least one user",
		},
		{
			name: "database named like the admin console",
			doc: yamlLines(
				"databases:",
				"  pgwarp:",
				upstreamLine),
			lines: []int{0, 2},
			path:  "databases.pgwarp",
			msg:   `the name "pgwarp" is reserved for the admin console`,
		},
		{
			name:  "orphan scan without a database",
			doc:   yamlLines("orphans:", "  interval: 1h"),
			lines: []int{0, 1, 2},
			path:  "orphans.database",
			msg:   "is required when orphans.interval is set",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, file, err := loadDoc(t, tt.doc)
			if err == nil {
				t.Fatalf("loaded without error:\n%s", tt.doc)
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("the error repeats the secret %q: %v", tt.secret, err)
			}
			var found *configs.LoadError
			for _, le := range loadErrors(t, err) {
				text := le.Error()
				if strings.Contains(text, tt.msg) && strings.Contains(text, tt.path) {
					found = le
					break
				}
			}
			if found == nil {
				t.Fatalf("no error names %q with %q; got:\n%v", tt.path, tt.msg, err)
			}
			text := found.Error()
			if found.File != file || !strings.HasPrefix(text, file+":") {
				t.Errorf("the error does not start with the file %s: %s", file, text)
			}
			if !slices.Contains(tt.lines, found.Line) {
				t.Errorf("the error names line %d, want one of %v: %s", found.Line, tt.lines, text)
			}
			if found.Line > 0 && !strings.HasPrefix(text, fmt.Sprintf("%s:%d:%d: ", file, found.Line, found.Column)) {
				t.Errorf("the error does not start with file:line:column: %s", text)
			}
			if tt.path != "" && !strings.Contains(text, ": "+tt.path+":") && !strings.Contains(text, ": "+tt.path+" ") {
				t.Errorf("the error does not name the key path %s as such: %s", tt.path, text)
			}
		})
	}
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	_, file, err := loadDoc(t, yamlLines(
		"listne: 127.0.0.1:6432",
		"startup_timeout: 10",
		"policy:",
		"  mode: strict"))
	if err == nil {
		t.Fatal("loaded without error")
	}
	errs := loadErrors(t, err)
	var got []string
	for _, le := range errs {
		got = append(got, fmt.Sprintf("%d:%s", le.Line, le.Path))
	}
	want := []string{"1:", "2:startup_timeout", "4:policy.mode"}
	if !slices.Equal(got, want) {
		t.Fatalf("errors at %v, want %v (in file order):\n%v", got, want, err)
	}
	if !strings.Contains(err.Error(), file+":4:") {
		t.Errorf("the joined error lacks file:line of the last problem: %v", err)
	}
}

func TestLoadRejectsInvalidYAMLNamingTheFileAndLine(t *testing.T) {
	_, file, err := loadDoc(t, yamlLines("listen: 127.0.0.1:6432", "\tcache: {}"))
	if err == nil {
		t.Fatal("loaded without error")
	}
	if text := err.Error(); !strings.HasPrefix(text, file+":") || !strings.Contains(text, "not valid YAML") || !strings.Contains(text, "line 2") {
		t.Fatalf("want the file, \"not valid YAML\" and line 2, got: %v", err)
	}
}

func TestLoadMissingFileSaysWhichFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nowhere.yaml")
	_, err := configs.Load(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("want a not-exist error naming %s, got %v", path, err)
	}
}

func TestLoadEmptyFileGivesTheDefaults(t *testing.T) {
	c, file, err := loadDoc(t, "# nothing configured\n")
	if err != nil {
		t.Fatal(err)
	}
	def := configs.Default()
	if c.File != file {
		t.Errorf("File = %q, want %q", c.File, file)
	}
	checks := []struct {
		key       string
		got, want any
	}{
		{"listen", c.Listen, "127.0.0.1:6432"},
		{"max_client_connections", c.MaxClientConnections, 0},
		{"max_procs", c.MaxProcs, 0},
		{"max_message_bytes", c.MaxMessageBytes, int64(64 << 20)},
		{"startup_timeout", c.StartupTimeout, 10 * time.Second},
		{"shutdown_timeout", c.ShutdownTimeout, 30 * time.Second},
		{"admin.http", c.Admin.HTTP, "127.0.0.1:9187"},
		{"tls.mode", c.TLS.Mode, "disable"},
		{"auth.method", c.Auth.Method, "passthrough"},
		{"auth.passthrough_cache_ttl", c.Auth.PassthroughCacheTTL, time.Minute},
		{"databases", len(c.Databases), 0},
		{"cache.invalidation.channel", c.Cache.InvalidationChannel, "pgwarp_invalidate"},
		{"cache.invalidation.volatile_functions", c.Cache.VolatileCallInvalidates, "database"},
		{"orphans.interval", c.Orphans.Interval, time.Duration(0)},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.key, ck.got, ck.want)
		}
	}
	// The sections of other packages stay zero: those packages apply
	// their own documented defaults to zero fields.
	if c.Cache.Disabled || c.Cache.MaxBytes != 0 || c.Cache.Default.TTL != 0 || c.Cache.Default.StaleWhileRevalidate != nil || len(c.Cache.Rules) != 0 {
		t.Errorf("cache = %+v, want zero settings (the cache package's defaults)", c.Cache.Config)
	}
	if c.Policy.Mode != nil || c.Policy.MaxRowsPerQuery != nil || c.Policy.StatementTimeout != nil || len(c.Policy.Overrides) != 0 {
		t.Errorf("policy = %+v, want unset settings (the policy package's defaults)", c.Policy)
	}
	if c.Telemetry.Enabled || c.Telemetry.SampleRatio != nil || c.Telemetry.Log.Level != "" {
		t.Errorf("telemetry = %+v, want zero (the telemetry package's defaults)", c.Telemetry)
	}
	if c.Listen != def.Listen || c.Explicit("listen") {
		t.Errorf("listen %q (explicit %v), want the default, not explicit", c.Listen, c.Explicit("listen"))
	}
}

func TestLoadAppliesDefaultsBesideWhatTheFileSets(t *testing.T) {
	t.Setenv("PGWARP_TEST_APP_PASSWORD", "app-secret")
	t.Setenv("PGWARP_TEST_UPSTREAM_PASSWORD", "upstream-secret")
	tests := []struct {
		name  string
		doc   string
		check func(t *testing.T, c *configs.Config)
	}{
		{
			name: "a database's pool takes the defaults it does not set",
			doc:  yamlLines("databases:", "  app:", upstreamLine, "    pool:", "      max_size: 5"),
			check: func(t *testing.T, c *configs.Config) {
				want := configs.DefaultPool()
				want.MaxSize = 5
				if got := c.Databases["app"].Pool; got != want {
					t.Errorf("pool = %+v, want %+v", got, want)
				}
			},
		},
		{
			name: "a database without pool settings gets the default pool",
			doc:  yamlLines("databases:", "  app:", upstreamLine),
			check: func(t *testing.T, c *configs.Config) {
				db := c.Databases["app"]
				if db.Name != "app" || db.Pool != configs.DefaultPool() {
					t.Errorf("database = %+v, want the default pool", db)
				}
				if db.UpstreamConfig == nil || db.UpstreamConfig.Host != "127.0.0.1" || db.UpstreamConfig.Database != "app" {
					t.Errorf("upstream parsed as %+v", db.UpstreamConfig)
				}
			},
		},
		{
			name: "the wildcard database is an ordinary entry",
			doc:  yamlLines("databases:", `  "*":`, "    upstream: postgres://app@127.0.0.1:5432/postgres"),
			check: func(t *testing.T, c *configs.Config) {
				if c.Databases[configs.Wildcard] == nil {
					t.Errorf("databases = %v, want the wildcard", c.DatabaseNames())
				}
			},
		},
		{
			name: "upstream password comes from the environment",
			doc:  yamlLines("databases:", "  app:", upstreamLine, "    password_env: PGWARP_TEST_UPSTREAM_PASSWORD"),
			check: func(t *testing.T, c *configs.Config) {
				if got := c.Databases["app"].UpstreamConfig.Password; got != "upstream-secret" {
					t.Errorf("upstream password %q, want the variable's value", got)
				}
			},
		},
		{
			name: "users make scram-sha-256 the default method",
			doc:  yamlLines("auth:", "  users:", "    - name: app", "      password_env: PGWARP_TEST_APP_PASSWORD"),
			check: func(t *testing.T, c *configs.Config) {
				if c.Auth.Method != "scram-sha-256" {
					t.Errorf("method %q, want scram-sha-256", c.Auth.Method)
				}
				u := c.Auth.Users[0]
				if u.Name != "app" || u.Password != "app-secret" {
					t.Errorf("user %q with password from the environment expected", u.Name)
				}
				if s := fmt.Sprint(u); strings.Contains(s, "app-secret") {
					t.Errorf("a user prints its password: %s", s)
				}
			},
		},
		{
			name: "an explicit method is kept with users",
			doc:  yamlLines("auth:", "  method: md5", "  users:", "    - name: app", "      password_env: PGWARP_TEST_APP_PASSWORD"),
			check: func(t *testing.T, c *configs.Config) {
				if c.Auth.Method != "md5" {
					t.Errorf("method %q, want md5", c.Auth.Method)
				}
			},
		},
		{
			name: "a stored md5 hash is a verifier, not a plaintext password",
			doc:  yamlLines("auth:", "  method: md5", "  users:", "    - name: app", "      password: md5"+strings.Repeat("0123456789abcdef", 2)),
			check: func(t *testing.T, c *configs.Config) {
				if u := c.Auth.Users[0]; u.Verifier == "" || u.Password != "" {
					t.Errorf("user = %+v, want the hash as its verifier", u)
				}
			},
		},
		{
			name: "listen set in the file is explicit",
			doc:  yamlLines("listen: 127.0.0.1:7432"),
			check: func(t *testing.T, c *configs.Config) {
				if c.Listen != "127.0.0.1:7432" || !c.Explicit("listen") {
					t.Errorf("listen %q explicit %v", c.Listen, c.Explicit("listen"))
				}
			},
		},
		{
			name: "cache enabled false turns the cache off",
			doc:  yamlLines("cache:", "  enabled: false"),
			check: func(t *testing.T, c *configs.Config) {
				if !c.Cache.Disabled {
					t.Error("cache still enabled")
				}
			},
		},
		{
			name: "cache rule tables get the public schema and stale serving can be turned off",
			doc: yamlLines(
				"cache:",
				"  default:",
				"    stale_while_revalidate: 0s",
				"  databases:",
				"    analytics: { enabled: false }",
				"    app: { enabled: true }",
				"  rules:",
				"    - tables: [sales_measurement_dataset, audit.event]",
				"      ttl: 5m"),
			check: func(t *testing.T, c *configs.Config) {
				if p := c.Cache.Default.StaleWhileRevalidate; p == nil || *p != 0 {
					t.Errorf("default.stale_while_revalidate = %v, want a set zero", p)
				}
				if c.Cache.Default.TTL != 0 {
					t.Errorf("default.ttl = %s, want unset (the cache package's 60s)", c.Cache.Default.TTL)
				}
				if !slices.Equal(c.Cache.DisabledDatabases, []string{"analytics"}) {
					t.Errorf("disabled databases %v", c.Cache.DisabledDatabases)
				}
				r := c.Cache.Rules[0]
				if !slices.Equal(r.Tables, []cache.TableID{"public.sales_measurement_dataset", "audit.event"}) || r.TTL != 5*time.Minute || r.StaleWhileRevalidate != nil {
					t.Errorf("rule = %+v", r)
				}
			},
		},
		{
			name: "policy settings left out stay unset for the policy package's defaults",
			doc: yamlLines(
				"policy:",
				"  mode: warn",
				"  max_result_bytes: 8MiB",
				"  statement_timeout: 0",
				"  overrides:",
				"    - user: etl",
				"      max_rows_per_write: 0"),
			check: func(t *testing.T, c *configs.Config) {
				p := c.Policy
				if p.Mode == nil || *p.Mode != policy.ModeWarn {
					t.Errorf("mode = %v, want warn", p.Mode)
				}
				if p.MaxResultBytes == nil || *p.MaxResultBytes != 8<<20 {
					t.Errorf("max_result_bytes = %v, want 8MiB", p.MaxResultBytes)
				}
				if p.StatementTimeout == nil || *p.StatementTimeout != 0 {
					t.Errorf("statement_timeout = %v, want a set 0 (unlimited)", p.StatementTimeout)
				}
				if p.MaxRowsPerQuery != nil || p.TransactionTimeout != nil {
					t.Errorf("unset settings were set: %+v", p.Settings)
				}
				o := p.Overrides[0]
				if o.User != "etl" || o.MaxRowsPerWrite == nil || *o.MaxRowsPerWrite != 0 || o.Mode != nil {
					t.Errorf("override = %+v", o)
				}
			},
		},
		{
			name: "telemetry sets only what it names",
			doc:  yamlLines("telemetry:", "  enabled: true", "  sample_ratio: 0.25", "  log:", "    format: json"),
			check: func(t *testing.T, c *configs.Config) {
				tc := c.Telemetry
				if !tc.Enabled || tc.SampleRatio == nil || *tc.SampleRatio != 0.25 || tc.Log.Format != "json" || tc.Log.Level != "" || tc.ServiceName != "" {
					t.Errorf("telemetry = %+v", tc)
				}
			},
		},
		{
			name: "orphan scan of a configured database",
			doc:  yamlLines("databases:", "  app:", upstreamLine, "orphans:", "  interval: 1h", "  database: app"),
			check: func(t *testing.T, c *configs.Config) {
				if c.Orphans.Interval != time.Hour || c.Orphans.Database != "app" {
					t.Errorf("orphans = %+v", c.Orphans)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := loadDoc(t, tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestConfigSizesAcceptPostgresUnits(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int64
		err  string
	}{
		{name: "bare bytes", in: "512", want: 512},
		{name: "zero", in: "0", want: 0},
		{name: "underscores", in: "1_000_000", want: 1_000_000},
		{name: "B", in: "64B", want: 64},
		{name: "kB is 1024", in: "1kB", want: 1 << 10},
		{name: "KiB", in: "8KiB", want: 8 << 10},
		{name: "MiB", in: "256MiB", want: 256 << 20},
		{name: "MB is a power of 1024", in: "8MB", want: 8 << 20},
		{name: "GiB with a space", in: "1 GiB", want: 1 << 30},
		{name: "unknown unit", in: "1TB", err: `unknown unit "TB"`},
		{name: "negative", in: "-1", err: "use a whole number of bytes"},
		{name: "empty", in: "", err: "use a whole number of bytes"},
		{name: "overflow", in: "9223372036854775807GiB", err: "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := configs.ParseSize(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseSize(%q) = %d, %v; want an error with %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestConfigDurationsNeedAUnit(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want time.Duration
		err  string
	}{
		{name: "bare zero", in: "0", want: 0},
		{name: "milliseconds", in: "500ms", want: 500 * time.Millisecond},
		{name: "compound", in: "1h30m", want: 90 * time.Minute},
		{name: "surrounding spaces", in: " 20s ", want: 20 * time.Second},
		{name: "no unit", in: "20", err: "use a number with a unit"},
		{name: "negative", in: "-1s", err: "must not be negative"},
		{name: "words", in: "a while", err: "use a number with a unit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := configs.ParseDuration(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseDuration(%q) = %s, %v; want an error with %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseDuration(%q) = %s, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
}
