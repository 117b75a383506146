package configs

import (
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pgwarp/pgwarp/cache"
	"github.com/pgwarp/pgwarp/policy"
	"github.com/pgwarp/pgwarp/telemetry"
)

// The cache:, policy: and telemetry: sections decode straight into the
// configuration types of the packages they configure; those packages set
// the defaults of their zero fields and validate.

// Cache is the cache: section: the cache package's configuration plus how
// pgwarp invalidates it.
type Cache struct {
	cache.Config
	// InvalidationChannel is the NOTIFY channel pgwarp instances use to
	// tell each other about writes; empty disables cross-instance
	// invalidation.
	InvalidationChannel string
	// VolatileCallInvalidates says what a statement calling a VOLATILE
	// function (which may write anything) invalidates: "database" or
	// "none".
	VolatileCallInvalidates string
}

// DefaultCache returns the cache defaults: on, the cache package's sizes
// and Hyperdrive's lifetimes, cross-instance invalidation on.
func DefaultCache() Cache {
	return Cache{InvalidationChannel: "pgwarp_invalidate", VolatileCallInvalidates: "database"}
}

func (d *decoder) cache(n *yaml.Node, path string, c *Cache) {
	d.mapping(n, path, map[string]field{
		"enabled": func(n *yaml.Node, p string) {
			on := true
			d.boolean(&on)(n, p)
			c.Disabled = !on
		},
		"max_bytes":       d.size(&c.MaxBytes),
		"max_entry_bytes": d.size(&c.MaxEntryBytes),
		"max_ttl":         d.duration(&c.MaxTTL),
		"default":         func(n *yaml.Node, p string) { d.lifetime(n, p, &c.Default, nil) },
		"databases": func(n *yaml.Node, p string) {
			if n.Kind != yaml.MappingNode {
				d.errorf(n, p, "must map database names to {enabled: true|false}")
				return
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				name := n.Content[i].Value
				on := true
				d.mapping(n.Content[i+1], join(p, name), map[string]field{"enabled": d.boolean(&on)})
				if !on {
					c.DisabledDatabases = append(c.DisabledDatabases, name)
				}
			}
		},
		"rules": func(n *yaml.Node, p string) {
			d.sequence(n, p, func(item *yaml.Node, p string) {
				var r cache.Rule
				var tables []string
				d.lifetime(item, p, &r.Lifetime, map[string]field{
					"name":         d.str(&r.Name),
					"database":     d.str(&r.Database),
					"tables":       d.strings(&tables),
					"fingerprints": d.strings(&r.Fingerprints),
					"disabled":     d.boolean(&r.Disabled),
				})
				for _, t := range tables {
					r.Tables = append(r.Tables, TableID(t))
				}
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

// TableID spells a table as cache rules and the proxy do: schema.table,
// with "public." added when no schema is given.
func TableID(name string) cache.TableID {
	name = strings.TrimSpace(name)
	if !strings.Contains(name, ".") {
		name = "public." + name
	}
	return cache.TableID(name)
}

// lifetime decodes ttl and stale_while_revalidate, plus extra keys.
func (d *decoder) lifetime(n *yaml.Node, path string, l *cache.Lifetime, extra map[string]field) {
	fields := map[string]field{
		"ttl": d.duration(&l.TTL),
		"stale_while_revalidate": func(n *yaml.Node, p string) {
			l.StaleWhileRevalidate = new(time.Duration)
			d.duration(l.StaleWhileRevalidate)(n, p)
		},
	}
	for k, f := range extra {
		fields[k] = f
	}
	d.mapping(n, path, fields)
}

// DefaultPolicy returns the zero policy configuration, which the policy
// package reads as PlanetScale's limits, enforced.
func DefaultPolicy() policy.Config { return policy.Config{} }

func (d *decoder) policy(n *yaml.Node, path string, pol *policy.Config) {
	fields := d.policySettings(&pol.Settings)
	fields["overrides"] = func(n *yaml.Node, path string) {
		d.sequence(n, path, func(item *yaml.Node, p string) {
			var o policy.Override
			f := d.policySettings(&o.Settings)
			f["database"] = d.str(&o.Database)
			f["user"] = d.str(&o.User)
			d.mapping(item, p, f)
			pol.Overrides = append(pol.Overrides, o)
		})
	}
	d.mapping(n, path, fields)
}

// policySettings returns the decoders of the settings an override can
// change too; each sets its pointer only when present.
func (d *decoder) policySettings(s *policy.Settings) map[string]field {
	count := func(dst **int64, bytes bool) field {
		return func(n *yaml.Node, p string) {
			var v int64
			if bytes {
				d.size(&v)(n, p)
			} else {
				var i int
				d.integer(&i, 0, 1<<62)(n, p)
				v = int64(i)
			}
			*dst = &v
		}
	}
	dur := func(dst **time.Duration) field {
		return func(n *yaml.Node, p string) {
			var v time.Duration
			d.duration(&v)(n, p)
			*dst = &v
		}
	}
	return map[string]field{
		"mode": func(n *yaml.Node, p string) {
			v, ok := d.scalar(n, p)
			if !ok {
				return
			}
			m, err := policy.ParseMode(v)
			if err != nil {
				d.errorf(n, p, "must be one of enforce, warn, off, got %q", v)
				return
			}
			s.Mode = &m
		},
		"max_rows_per_query":  count(&s.MaxRowsPerQuery, false),
		"max_rows_per_write":  count(&s.MaxRowsPerWrite, false),
		"max_result_bytes":    count(&s.MaxResultBytes, true),
		"transaction_timeout": dur(&s.TransactionTimeout),
		"statement_timeout":   dur(&s.StatementTimeout),
	}
}

// DefaultTelemetry returns the zero telemetry configuration (tracing off,
// text logs at info), which the telemetry package completes.
func DefaultTelemetry() telemetry.Config { return telemetry.Config{} }

func (d *decoder) telemetry(n *yaml.Node, path string, t *telemetry.Config) {
	d.mapping(n, path, map[string]field{
		"enabled":       d.boolean(&t.Enabled),
		"otlp_endpoint": d.str(&t.OTLPEndpoint),
		"otlp_protocol": d.enum(&t.OTLPProtocol, "grpc", "http/protobuf"),
		"service_name":  d.str(&t.ServiceName),
		"sample_ratio": func(n *yaml.Node, p string) {
			v := 1.0
			d.float(&v, 0, 1)(n, p)
			t.SampleRatio = &v
		},
		"record_statements":    d.boolean(&t.RecordStatements),
		"slow_query_threshold": d.duration(&t.SlowQueryThreshold),
		"batch": func(n *yaml.Node, p string) {
			d.mapping(n, p, map[string]field{
				"timeout":               d.duration(&t.Batch.Timeout),
				"export_timeout":        d.duration(&t.Batch.ExportTimeout),
				"max_queue_size":        d.integer(&t.Batch.MaxQueueSize, 0, 1<<24),
				"max_export_batch_size": d.integer(&t.Batch.MaxExportBatchSize, 0, 1<<24),
			})
		},
		"log": func(n *yaml.Node, p string) {
			d.mapping(n, p, map[string]field{
				"format": d.enum(&t.Log.Format, "text", "json"),
				"level":  d.enum(&t.Log.Level, "debug", "info", "warn", "error"),
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

// validateSections runs the packages' own validation, naming the section.
func (c *Config) validateSections(d *decoder) {
	add := func(section string, err error) {
		if err == nil {
			return
		}
		for _, e := range unwrapAll(err) {
			msg := e.Error()
			if !strings.HasPrefix(msg, section) {
				msg = section + ": " + msg
			}
			d.errs = append(d.errs, &LoadError{File: c.File, Msg: msg})
		}
	}
	add("cache", c.Cache.Config.Validate())
	add("policy", c.Policy.Validate())
	add("telemetry", c.Telemetry.Validate())
	if c.Orphans.Interval > 0 {
		if c.Orphans.Database == "" {
			d.errorf(nil, "orphans.database", "is required when orphans.interval is set")
		} else if _, ok := c.Databases[c.Orphans.Database]; !ok {
			d.errorf(nil, "orphans.database", "%q is not one of databases", c.Orphans.Database)
		}
	}
}

// unwrapAll flattens errors.Join trees.
func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unwrapAll(e)...)
		}
		return out
	}
	return []error{err}
}
