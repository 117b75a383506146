package configs_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pgwarp/pgwarp/cache"
	"github.com/pgwarp/pgwarp/configs"
	"github.com/pgwarp/pgwarp/policy"
	"github.com/pgwarp/pgwarp/telemetry"
)

// The reference configuration and the one `pgwarp dev` loads, relative to
// this package's directory (where go test runs).
const (
	referenceFile = "pgwarp.yaml"
	devFile       = "dev.yaml"
)

// exampleMarker starts the lines of pgwarp.yaml that are examples, switched
// on by deleting the marker.
const exampleMarker = "#|"

// withExamples returns the reference configuration with every example line
// switched on, as its header tells operators to do.
func withExamples(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(referenceFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	n := 0
	for i, l := range lines {
		rest := strings.TrimLeft(l, " ")
		if strings.HasPrefix(rest, exampleMarker) {
			lines[i] = l[:len(l)-len(rest)] + rest[len(exampleMarker):]
			n++
		}
	}
	if n == 0 {
		t.Fatalf("%s has no %q example lines", referenceFile, exampleMarker)
	}
	return []byte(strings.Join(lines, "\n"))
}

// setExampleEnv sets the environment variables the examples name.
func setExampleEnv(t *testing.T) {
	t.Setenv("PGWARP_ADMIN_TOKEN", "admin-token-for-the-test")
	t.Setenv("PGWARP_APP_PASSWORD", "app-password-for-the-test")
	t.Setenv("PGWARP_UPSTREAM_PASSWORD", "upstream-password-for-the-test")
}

func TestReferenceConfigLoadsWithoutEnvironmentAndStatesEveryDefault(t *testing.T) {
	for _, name := range []string{"PGWARP_ADMIN_TOKEN", "PGWARP_APP_PASSWORD", "PGWARP_UPSTREAM_PASSWORD"} {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
	c, err := configs.Load(referenceFile)
	if err != nil {
		t.Fatalf("the reference configuration does not load: %v", err)
	}
	def := configs.Default()

	// Top level, admin, tls and auth: the values of configs.Default.
	checks := []struct {
		key       string
		got, want any
	}{
		{"listen", c.Listen, def.Listen},
		{"max_client_connections", c.MaxClientConnections, def.MaxClientConnections},
		{"max_procs", c.MaxProcs, def.MaxProcs},
		{"max_message_bytes", c.MaxMessageBytes, def.MaxMessageBytes},
		{"startup_timeout", c.StartupTimeout, def.StartupTimeout},
		{"shutdown_timeout", c.ShutdownTimeout, def.ShutdownTimeout},
		{"admin.http", c.Admin.HTTP, def.Admin.HTTP},
		{"admin.token_env", c.Admin.TokenEnv, def.Admin.TokenEnv},
		{"admin.pprof", c.Admin.Pprof, def.Admin.Pprof},
		{"admin.users", len(c.Admin.Users), 0},
		{"tls.mode", c.TLS.Mode, def.TLS.Mode},
		{"tls.cert", c.TLS.Cert, def.TLS.Cert},
		{"tls.key", c.TLS.Key, def.TLS.Key},
		{"auth.method", c.Auth.Method, def.Auth.Method},
		{"auth.trust_remote", c.Auth.TrustRemote, def.Auth.TrustRemote},
		{"auth.passthrough_cache_ttl", c.Auth.PassthroughCacheTTL, def.Auth.PassthroughCacheTTL},
		{"auth.users", len(c.Auth.Users), 0},
		{"databases", c.DatabaseNames(), []string{"app"}},

		// cache: the cache package's defaults, spelt out.
		{"cache.enabled", !c.Cache.Disabled, true},
		{"cache.max_bytes", c.Cache.MaxBytes, cache.DefaultMaxBytes},
		{"cache.max_entry_bytes", c.Cache.MaxEntryBytes, cache.DefaultMaxEntryBytes},
		{"cache.max_ttl", c.Cache.MaxTTL, cache.DefaultMaxTTL},
		{"cache.default.ttl", c.Cache.Default.TTL, cache.DefaultTTL},
		{"cache.default.stale_while_revalidate", derefDuration(c.Cache.Default.StaleWhileRevalidate), cache.DefaultSWR},
		{"cache.databases", len(c.Cache.DisabledDatabases), 0},
		{"cache.rules", len(c.Cache.Rules), 0},
		{"cache.invalidation.channel", c.Cache.InvalidationChannel, configs.DefaultCache().InvalidationChannel},
		{"cache.invalidation.volatile_functions", c.Cache.VolatileCallInvalidates, configs.DefaultCache().VolatileCallInvalidates},

		// policy: the policy package's defaults, spelt out.
		{"policy.mode", derefMode(c.Policy.Mode), policy.DefaultMode},
		{"policy.max_rows_per_query", derefInt(c.Policy.MaxRowsPerQuery), policy.DefaultMaxRowsPerQuery},
		{"policy.max_rows_per_write", derefInt(c.Policy.MaxRowsPerWrite), policy.DefaultMaxRowsPerWrite},
		{"policy.max_result_bytes", derefInt(c.Policy.MaxResultBytes), policy.DefaultMaxResultBytes},
		{"policy.transaction_timeout", derefDuration(c.Policy.TransactionTimeout), policy.DefaultTransactionTimeout},
		{"policy.statement_timeout", derefDuration(c.Policy.StatementTimeout), policy.DefaultStatementTimeout},
		{"policy.overrides", len(c.Policy.Overrides), 0},

		// orphans: off.
		{"orphans.interval", c.Orphans.Interval, time.Duration(0)},
		{"orphans.database", c.Orphans.Database, ""},
	}
	for _, ck := range checks {
		if fmt.Sprint(ck.got) != fmt.Sprint(ck.want) {
			t.Errorf("%s: the reference says %v, the default is %v", ck.key, ck.got, ck.want)
		}
	}
	if db := c.Databases["app"]; db == nil {
		t.Errorf("databases.app: missing from the reference")
	} else if db.Pool != configs.DefaultPool() {
		t.Errorf("databases.app.pool: the reference says %+v, the default is %+v", db.Pool, configs.DefaultPool())
	} else if db.UpstreamConfig == nil || db.UpstreamConfig.Host != "127.0.0.1" {
		t.Errorf("databases.app.upstream: want a loopback example, got %q", db.Upstream)
	}

	// telemetry: with the package's defaults applied, the reference and
	// an empty section agree; the batch settings, which the tracing setup
	// completes, are the values its documentation gives.
	if c.Telemetry.SampleRatio == nil || *c.Telemetry.SampleRatio != telemetry.DefaultSampleRatio {
		t.Errorf("telemetry.sample_ratio: want %v spelt out", telemetry.DefaultSampleRatio)
	}
	wantBatch := telemetry.BatchConfig{Timeout: 5 * time.Second, ExportTimeout: 30 * time.Second, MaxQueueSize: 2048, MaxExportBatchSize: 512}
	if c.Telemetry.Batch != wantBatch {
		t.Errorf("telemetry.batch: the reference says %+v, telemetry.BatchConfig documents %+v", c.Telemetry.Batch, wantBatch)
	}
	got, want := c.Telemetry.WithDefaults(), (telemetry.Config{}).WithDefaults()
	got.SampleRatio, want.SampleRatio = nil, nil // compared above
	got.Batch = want.Batch                       // compared above
	if got != want {
		t.Errorf("telemetry: the reference gives %+v, the defaults are %+v", got, want)
	}
}

func TestReferenceConfigExamplesLoad(t *testing.T) {
	setExampleEnv(t)
	c, err := configs.Parse(referenceFile+" (examples on)", withExamples(t))
	if err != nil {
		t.Fatalf("the examples of the reference configuration do not load: %v", err)
	}
	if c.Admin.Token != "admin-token-for-the-test" || !slices.Equal(c.Admin.Users, []string{"ops"}) {
		t.Errorf("admin: token %q, users %v", c.Admin.Token, c.Admin.Users)
	}
	if c.Auth.Method != "scram-sha-256" || len(c.Auth.Users) != 2 {
		t.Fatalf("auth: method %q, users %v", c.Auth.Method, c.Auth.Users)
	}
	if u := c.Auth.Users[0]; u.Name != "app" || u.Password != "app-password-for-the-test" {
		t.Errorf("auth.users[0]: %q with the password from PGWARP_APP_PASSWORD expected, got %q", "app", u.Name)
	}
	// The loader only looks at the prefix; the example must be a whole
	// verifier as PostgreSQL stores it, so that a copy of it works.
	if err := checkSCRAMVerifier(c.Auth.Users[1].Verifier); err != nil {
		t.Errorf("auth.users[1]: the example verifier is malformed: %v", err)
	}
	if up := c.Databases["app"].UpstreamConfig; up.Password != "upstream-password-for-the-test" {
		t.Errorf("databases.app.password_env: upstream password not taken from the environment")
	}
	if !slices.Equal(c.Cache.DisabledDatabases, []string{"analytics"}) {
		t.Errorf("cache.databases: disabled %v", c.Cache.DisabledDatabases)
	}
	if len(c.Cache.Rules) != 3 {
		t.Fatalf("cache.rules: %d rules, want 3", len(c.Cache.Rules))
	}
	sales := c.Cache.Rules[0]
	if sales.Name != "sales" || !slices.Equal(sales.Tables, []cache.TableID{"public.sales_measurement_dataset"}) ||
		sales.TTL != 5*time.Minute || derefDuration(sales.StaleWhileRevalidate) != time.Minute {
		t.Errorf("cache.rules[0]: %+v", sales)
	}
	if r := c.Cache.Rules[1]; !r.Disabled || !slices.Equal(r.Tables, []cache.TableID{"public.auth_session"}) {
		t.Errorf("cache.rules[1]: %+v", r)
	}
	if r := c.Cache.Rules[2]; r.Database != "app" || len(r.Fingerprints) != 1 || r.TTL != 10*time.Second {
		t.Errorf("cache.rules[2]: %+v", r)
	}
	if len(c.Policy.Overrides) != 3 {
		t.Fatalf("policy.overrides: %d, want 3", len(c.Policy.Overrides))
	}
	if o := c.Policy.Overrides[0]; o.User != "etl" || derefInt(o.MaxRowsPerWrite) != 0 || o.MaxRowsPerWrite == nil ||
		derefDuration(o.TransactionTimeout) != 5*time.Minute {
		t.Errorf("policy.overrides[0]: %+v", o)
	}
	if o := c.Policy.Overrides[1]; o.Database != "analytics" || derefMode(o.Mode) != policy.ModeWarn {
		t.Errorf("policy.overrides[1]: %+v", o)
	}
	if c.Telemetry.OTLPEndpoint != telemetry.DefaultOTLPGRPCEndpoint {
		t.Errorf("telemetry.otlp_endpoint: %q", c.Telemetry.OTLPEndpoint)
	}
}

// probeKey is a key no loader mapping accepts or resembles, so that the
// loader answers it with the list of the keys it knows.
const probeKey = "zzzzzzzzzzzzzzzz"

var knownKeysRE = regexp.MustCompile(`unknown key "` + probeKey + `" \(known keys: ([^)]*)\)`)

// loaderKeys asks the loader which keys it accepts in the mapping at path
// (dotted, with [0] for the first item of a list and any name for a map
// entry), by giving it an unknown key there.
func loaderKeys(t *testing.T, path string) []string {
	t.Helper()
	var doc any = map[string]any{probeKey: 1}
	parts := strings.Split(path, ".")
	for i := len(parts) - 1; i >= 0; i-- {
		p := parts[i]
		if p == "" {
			continue
		}
		if name, ok := strings.CutSuffix(p, "[0]"); ok {
			doc = map[string]any{name: []any{doc}}
		} else {
			doc = map[string]any{p: doc}
		}
	}
	data, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	_, err = configs.Parse("probe.yaml", data)
	if err == nil {
		t.Fatalf("the loader accepted the unknown key %s at %q", probeKey, path)
	}
	m := knownKeysRE.FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("the loader's answer to an unknown key at %q lists no known keys: %v", path, err)
	}
	return strings.Split(m[1], ", ")
}

// referenceKeys returns the keys the reference (examples on) uses in the
// mapping at path; for a list or a map of names it returns the union over
// the items.
func referenceKeys(t *testing.T, root *yaml.Node, path string) map[string]bool {
	t.Helper()
	nodes := []*yaml.Node{root}
	for _, p := range strings.Split(path, ".") {
		if p == "" {
			continue
		}
		name, list := strings.CutSuffix(p, "[0]")
		var next []*yaml.Node
		for _, n := range nodes {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i].Value, n.Content[i+1]
				switch {
				case name == "*" && v.Kind == yaml.MappingNode:
					next = append(next, v)
				case k == name && list:
					next = append(next, v.Content...)
				case k == name:
					next = append(next, v)
				}
			}
		}
		nodes = next
	}
	keys := map[string]bool{}
	for _, n := range nodes {
		for i := 0; i+1 < len(n.Content); i += 2 {
			keys[n.Content[i].Value] = true
		}
	}
	return keys
}

func TestReferenceConfigDocumentsEveryKeyTheLoaderAccepts(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal(withExamples(t), &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	// Each mapping of the loader: its path for the probe, and the path of
	// the same mapping in the reference ("*": any entry of a map of names).
	for _, m := range []struct{ probe, reference string }{
		{"", ""},
		{"admin", "admin"},
		{"tls", "tls"},
		{"auth", "auth"},
		{"auth.users[0]", "auth.users[0]"},
		{"databases.app", "databases.*"},
		{"databases.app.pool", "databases.*.pool"},
		{"cache", "cache"},
		{"cache.default", "cache.default"},
		{"cache.databases.app", "cache.databases.*"},
		{"cache.rules[0]", "cache.rules[0]"},
		{"cache.invalidation", "cache.invalidation"},
		{"policy", "policy"},
		{"policy.overrides[0]", "policy.overrides[0]"},
		{"telemetry", "telemetry"},
		{"telemetry.batch", "telemetry.batch"},
		{"telemetry.log", "telemetry.log"},
		{"orphans", "orphans"},
	} {
		have := referenceKeys(t, root, m.reference)
		for _, k := range loaderKeys(t, m.probe) {
			if !have[k] {
				t.Errorf("%s: the loader accepts %q but %s does not document it (set to its default, or as a %q example)",
					strings.TrimPrefix(m.probe+"."+k, "."), k, referenceFile, exampleMarker)
			}
		}
	}
}

func TestReferenceConfigRejectsAnAddedUnknownKey(t *testing.T) {
	data, err := os.ReadFile(referenceFile)
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.Replace(string(data), "    pool:\n", "    pool:\n      max_sizee: 30\n", 1))
	_, err = configs.Parse(referenceFile, data)
	var le *configs.LoadError
	if !errors.As(err, &le) || le.Path != "databases.app.pool" || !strings.Contains(le.Msg, `"max_sizee" (did you mean "max_size"?)`) {
		t.Fatalf("a misspelt key in the reference was not caught: %v", err)
	}
}

func TestDevConfigLoads(t *testing.T) {
	c, err := configs.Load(devFile)
	if err != nil {
		t.Fatalf("%s does not load: %v", devFile, err)
	}
	if len(c.Databases) != 0 {
		t.Errorf("%s configures databases %v; pgwarp dev serves them from its local cluster", devFile, c.DatabaseNames())
	}
	if c.Cache.Disabled {
		t.Errorf("cache: off in %s, want on", devFile)
	}
	if c.Cache.Default.TTL <= 0 || c.Cache.Default.TTL > 10*time.Second {
		t.Errorf("cache.default.ttl: %s, want a short lifetime (at most 10s)", c.Cache.Default.TTL)
	}
	if swr := derefDuration(c.Cache.Default.StaleWhileRevalidate); swr > 10*time.Second {
		t.Errorf("cache.default.stale_while_revalidate: %s, want at most 10s", swr)
	}
	if c.Telemetry.Log.Level != "info" {
		t.Errorf("telemetry.log.level: %q", c.Telemetry.Log.Level)
	}
	// Policy defaults: production's limits, enforced.
	if derefMode(c.Policy.Mode) != policy.ModeEnforce || c.Policy.MaxRowsPerQuery != nil || len(c.Policy.Overrides) != 0 {
		t.Errorf("policy: %+v, want the defaults, enforced", c.Policy)
	}
	if !slices.Contains(c.Admin.Users, "postgres") {
		t.Errorf("admin.users: %v; the ready message of pgwarp dev offers the admin console to postgres", c.Admin.Users)
	}
	if c.Listen != configs.Default().Listen {
		t.Errorf("listen: %q; make run prints the default address", c.Listen)
	}
}

// checkSCRAMVerifier checks the form PostgreSQL stores in pg_authid:
// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, base64, with
// 32-byte keys (RFC 7677).
func checkSCRAMVerifier(v string) error {
	rest, ok := strings.CutPrefix(v, "SCRAM-SHA-256$")
	if !ok {
		return fmt.Errorf("%q does not start with SCRAM-SHA-256$", v)
	}
	iterSalt, keys, ok := strings.Cut(rest, "$")
	if !ok {
		return errors.New("no $ between the salt and the keys")
	}
	iter, salt, ok1 := strings.Cut(iterSalt, ":")
	stored, server, ok2 := strings.Cut(keys, ":")
	if !ok1 || !ok2 {
		return errors.New("want iterations:salt$StoredKey:ServerKey")
	}
	if n, err := strconv.Atoi(iter); err != nil || n < 1 {
		return fmt.Errorf("iterations %q", iter)
	}
	if b, err := base64.StdEncoding.DecodeString(salt); err != nil || len(b) == 0 {
		return fmt.Errorf("salt %q: %v", salt, err)
	}
	for _, k := range []string{stored, server} {
		if b, err := base64.StdEncoding.DecodeString(k); err != nil || len(b) != 32 {
			return fmt.Errorf("key %q is not 32 bytes of base64 (%v)", k, err)
		}
	}
	return nil
}

func derefDuration(p *time.Duration) time.Duration {
	if p == nil {
		return -1
	}
	return *p
}

func derefInt(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

func derefMode(p *policy.Mode) policy.Mode {
	if p == nil {
		return policy.Mode(255)
	}
	return *p
}
