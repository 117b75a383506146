package configs

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// Cache is the cache: section. It is translated into the cache package's
// configuration when the proxy is built.
type Cache struct {
	// Enabled turns the result cache on.
	Enabled bool
	// MaxBytes bounds the memory of all entries together.
	MaxBytes int64
	// MaxEntryBytes bounds one result; larger results are not cached.
	MaxEntryBytes int64
	// Default is the rule for statements no other rule matches.
	Default CacheRule
	// MaxTTL caps every ttl, hints included.
	MaxTTL time.Duration
	// Databases turns caching off (or on) per database name.
	Databases map[string]bool
	// Rules override Default for tables or statement fingerprints.
	Rules []CacheRule
	// InvalidationChannel is the NOTIFY channel pgwarp instances use to
	// tell each other about writes; empty disables cross-instance
	// invalidation.
	InvalidationChannel string
	// VolatileCallInvalidates says what a statement calling a VOLATILE
	// function (which may write anything) invalidates: "database" or
	// "none".
	VolatileCallInvalidates string
}

// CacheRule sets TTLs for the statements it matches.
type CacheRule struct {
	Name                 string
	Tables               []string
	Fingerprints         []string
	TTL                  time.Duration
	StaleWhileRevalidate time.Duration
	Disabled             bool
	ttlSet, swrSet       bool
}

// TTLSet reports whether the rule sets ttl itself.
func (r CacheRule) TTLSet() bool { return r.ttlSet }

// SWRSet reports whether the rule sets stale_while_revalidate itself.
func (r CacheRule) SWRSet() bool { return r.swrSet }

// DefaultCache returns the cache defaults: on, 256 MiB, 8 MiB per entry,
// Hyperdrive's 60 s ttl and 15 s stale_while_revalidate.
func DefaultCache() Cache {
	return Cache{
		Enabled:                 true,
		MaxBytes:                256 << 20,
		MaxEntryBytes:           8 << 20,
		Default:                 CacheRule{Name: "default", TTL: 60 * time.Second, StaleWhileRevalidate: 15 * time.Second, ttlSet: true, swrSet: true},
		MaxTTL:                  time.Hour,
		InvalidationChannel:     "pgwarp_invalidate",
		VolatileCallInvalidates: "database",
	}
}

func (d *decoder) cache(n *yaml.Node, path string, c *Cache) {
	d.mapping(n, path, map[string]field{
		"enabled":         d.boolean(&c.Enabled),
		"max_bytes":       d.size(&c.MaxBytes),
		"max_entry_bytes": d.size(&c.MaxEntryBytes),
		"max_ttl":         d.duration(&c.MaxTTL),
		"default": func(n *yaml.Node, p string) {
			d.cacheRule(n, p, &c.Default, false)
			c.Default.Name = "default"
		},
		"databases": func(n *yaml.Node, p string) {
			if n.Kind != yaml.MappingNode {
				d.errorf(n, p, "must map database names to {enabled: true|false}")
				return
			}
			c.Databases = map[string]bool{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				name := n.Content[i].Value
				on := true
				d.mapping(n.Content[i+1], join(p, name), map[string]field{"enabled": d.boolean(&on)})
				c.Databases[name] = on
			}
		},
		"rules": func(n *yaml.Node, p string) {
			d.sequence(n, p, func(item *yaml.Node, p string) {
				var r CacheRule
				d.cacheRule(item, p, &r, true)
				c.Rules = append(c.Rules, r)
			})
		},
		"invalidation": func(n *yaml.Node, p string) {
			d.mapping(n, p, map[string]field{
				"channel":            d.str(&c.InvalidationChannel),
				"volatile_functions": d.enum(&c.VolatileCallInvalidates, "database", "none"),
			})
		},
	})
}

func (d *decoder) cacheRule(n *yaml.Node, path string, r *CacheRule, matchers bool) {
	fields := map[string]field{
		"ttl": func(n *yaml.Node, p string) {
			r.ttlSet = true
			d.duration(&r.TTL)(n, p)
		},
		"stale_while_revalidate": func(n *yaml.Node, p string) {
			r.swrSet = true
			d.duration(&r.StaleWhileRevalidate)(n, p)
		},
		"disabled": d.boolean(&r.Disabled),
	}
	if matchers {
		fields["name"] = d.str(&r.Name)
		fields["tables"] = d.strings(&r.Tables)
		fields["fingerprints"] = d.strings(&r.Fingerprints)
	}
	d.mapping(n, path, fields)
	if matchers && len(r.Tables) == 0 && len(r.Fingerprints) == 0 {
		d.errorf(n, path, "a rule needs tables or fingerprints to match")
	}
}

// Policy is the policy: section (PlanetScale's limits). 0 means unlimited.
type Policy struct {
	Mode               string
	MaxRowsPerQuery    int64
	MaxRowsPerWrite    int64
	MaxResultBytes     int64
	TransactionTimeout time.Duration
	StatementTimeout   time.Duration
	Overrides          []PolicyOverride
}

// PolicyOverride changes limits for a database, a user, or both. Nil
// fields inherit.
type PolicyOverride struct {
	Database           string
	User               string
	Mode               *string
	MaxRowsPerQuery    *int64
	MaxRowsPerWrite    *int64
	MaxResultBytes     *int64
	TransactionTimeout *time.Duration
	StatementTimeout   *time.Duration
}

// DefaultPolicy returns PlanetScale's limits, enforced.
func DefaultPolicy() Policy {
	return Policy{
		Mode:               "enforce",
		MaxRowsPerQuery:    100_000,
		MaxRowsPerWrite:    100_000,
		MaxResultBytes:     64 << 20,
		TransactionTimeout: 20 * time.Second,
		StatementTimeout:   900 * time.Second,
	}
}

func (d *decoder) policy(n *yaml.Node, path string, pol *Policy) {
	d.mapping(n, path, map[string]field{
		"mode":                d.enum(&pol.Mode, "enforce", "warn", "off"),
		"max_rows_per_query":  d.int64(&pol.MaxRowsPerQuery),
		"max_rows_per_write":  d.int64(&pol.MaxRowsPerWrite),
		"max_result_bytes":    d.size(&pol.MaxResultBytes),
		"transaction_timeout": d.duration(&pol.TransactionTimeout),
		"statement_timeout":   d.duration(&pol.StatementTimeout),
		"overrides": func(n *yaml.Node, path string) {
			d.sequence(n, path, func(item *yaml.Node, p string) {
				var o PolicyOverride
				d.mapping(item, p, map[string]field{
					"database":           d.str(&o.Database),
					"user":               d.str(&o.User),
					"mode":               func(n *yaml.Node, p string) { o.Mode = new(string); d.enum(o.Mode, "enforce", "warn", "off")(n, p) },
					"max_rows_per_query": func(n *yaml.Node, p string) { o.MaxRowsPerQuery = new(int64); d.int64(o.MaxRowsPerQuery)(n, p) },
					"max_rows_per_write": func(n *yaml.Node, p string) { o.MaxRowsPerWrite = new(int64); d.int64(o.MaxRowsPerWrite)(n, p) },
					"max_result_bytes":   func(n *yaml.Node, p string) { o.MaxResultBytes = new(int64); d.size(o.MaxResultBytes)(n, p) },
					"transaction_timeout": func(n *yaml.Node, p string) {
						o.TransactionTimeout = new(time.Duration)
						d.duration(o.TransactionTimeout)(n, p)
					},
					"statement_timeout": func(n *yaml.Node, p string) {
						o.StatementTimeout = new(time.Duration)
						d.duration(o.StatementTimeout)(n, p)
					},
				})
				if o.Database == "" && o.User == "" {
					d.errorf(item, p, "an override needs database, user, or both")
				}
				pol.Overrides = append(pol.Overrides, o)
			})
		},
	})
}

func (d *decoder) int64(dst *int64) field {
	return func(n *yaml.Node, path string) {
		var i int
		d.integer(&i, 0, 1<<62)(n, path)
		*dst = int64(i)
	}
}

// Telemetry is the telemetry: section.
type Telemetry struct {
	// Tracing exports spans over OTLP when true.
	Tracing            bool
	OTLPEndpoint       string
	OTLPProtocol       string
	ServiceName        string
	SampleRatio        float64
	RecordStatements   bool
	LogFormat          string
	LogLevel           string
	SlowQueryThreshold time.Duration
}

// DefaultTelemetry returns the telemetry defaults: tracing off until an
// endpoint is wanted, text logs at info.
func DefaultTelemetry() Telemetry {
	return Telemetry{
		OTLPEndpoint:       "127.0.0.1:4317",
		OTLPProtocol:       "grpc",
		ServiceName:        "pgwarp",
		SampleRatio:        1.0,
		LogFormat:          "text",
		LogLevel:           "info",
		SlowQueryThreshold: time.Second,
	}
}

func (d *decoder) telemetry(n *yaml.Node, path string, t *Telemetry) {
	d.mapping(n, path, map[string]field{
		"tracing":              d.boolean(&t.Tracing),
		"otlp_endpoint":        d.str(&t.OTLPEndpoint),
		"otlp_protocol":        d.enum(&t.OTLPProtocol, "grpc", "http/protobuf"),
		"service_name":         d.str(&t.ServiceName),
		"sample_ratio":         d.float(&t.SampleRatio, 0, 1),
		"record_statements":    d.boolean(&t.RecordStatements),
		"slow_query_threshold": d.duration(&t.SlowQueryThreshold),
		"log": func(n *yaml.Node, p string) {
			d.mapping(n, p, map[string]field{
				"format": d.enum(&t.LogFormat, "text", "json"),
				"level":  d.enum(&t.LogLevel, "debug", "info", "warn", "error"),
			})
		},
	})
}

// Orphans is the orphans: section: the periodic orphan scan of `pgwarp
// serve`.
type Orphans struct {
	// Interval between scans; 0 disables them.
	Interval time.Duration
	// Database is the configured database to scan.
	Database string
}

func (d *decoder) orphans(n *yaml.Node, path string, o *Orphans) {
	d.mapping(n, path, map[string]field{
		"interval": d.duration(&o.Interval),
		"database": d.str(&o.Database),
	})
}

func (c *Config) validateSections(d *decoder) {
	if c.Cache.MaxEntryBytes > c.Cache.MaxBytes {
		d.errorf(nil, "cache.max_entry_bytes", "(%d) must not exceed cache.max_bytes (%d)", c.Cache.MaxEntryBytes, c.Cache.MaxBytes)
	}
	for i, r := range append([]CacheRule{c.Cache.Default}, c.Cache.Rules...) {
		if c.Cache.MaxTTL > 0 && r.TTL > c.Cache.MaxTTL {
			name := "cache.default"
			if i > 0 {
				name = "cache.rules"
			}
			d.errorf(nil, name, "ttl %s exceeds cache.max_ttl %s", r.TTL, c.Cache.MaxTTL)
		}
	}
	if c.Orphans.Interval > 0 {
		if c.Orphans.Database == "" {
			d.errorf(nil, "orphans.database", "is required when orphans.interval is set")
		} else if _, ok := c.Databases[c.Orphans.Database]; !ok {
			d.errorf(nil, "orphans.database", "%q is not one of databases", c.Orphans.Database)
		}
	}
}
