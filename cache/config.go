package cache

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Defaults applied to zero fields of a [Config]. The TTL and
// stale-while-revalidate defaults and the TTL cap are Cloudflare Hyperdrive's
// (max_age 60 s, stale_while_revalidate 15 s, max_age at most 1 h).
const (
	DefaultMaxBytes      int64         = 256 << 20
	DefaultMaxEntryBytes int64         = 8 << 20
	DefaultMaxTTL        time.Duration = time.Hour
	DefaultTTL           time.Duration = 60 * time.Second
	DefaultSWR           time.Duration = 15 * time.Second
)

// Reserved rule names: they appear in [Entry.Rule], [Decision.Rule] and the
// per-rule statistics, and cannot be used as a [Rule.Name].
const (
	// RuleDefault names [Config.Default].
	RuleDefault = "default"
	// RuleHint names a per-query [Hint].
	RuleHint = "hint"
	// RuleDatabase names [Config.DisabledDatabases].
	RuleDatabase = "database"
	// RuleCache names [Config.Disabled].
	RuleCache = "cache"
)

// Config configures a [Cache]. Every zero field has a documented meaning, so
// the zero Config is a working cache with the defaults above. Config values
// are plain data; [Cache.Reload] swaps the whole configuration at runtime
// without dropping cached entries.
type Config struct {
	// Disabled turns the cache off: every lookup reports [StatusDisabled].
	// Entries already stored stay until evicted or purged. Zero: enabled.
	Disabled bool

	// MaxBytes bounds the bytes of all stored entries, including a fixed
	// per-entry bookkeeping overhead; storing past it evicts the least
	// recently used entries. The buffers of fills in progress are bounded by
	// the same number separately. Zero: [DefaultMaxBytes] (256 MiB).
	MaxBytes int64

	// MaxEntryBytes bounds the result and describe bytes of one entry; a
	// result that grows past it stops being copied and is not stored. It must
	// not exceed MaxBytes (and an entry must also fit in MaxBytes with its
	// bookkeeping overhead of about a kilobyte). Zero: [DefaultMaxEntryBytes] (8 MiB), or MaxBytes
	// if that is smaller.
	MaxEntryBytes int64

	// MaxTTL caps every TTL and stale-while-revalidate window: configured
	// ones above it are rejected by [Config.Validate] and hinted ones are
	// lowered to it. Zero: [DefaultMaxTTL] (1 h).
	MaxTTL time.Duration

	// Default is the lifetime of results no rule or hint decides.
	// Zero fields: [DefaultTTL] (60 s) and [DefaultSWR] (15 s).
	Default Lifetime

	// DisabledDatabases lists databases whose statements are never cached.
	// Zero: caching is on for every database.
	DisabledDatabases []string

	// Rules override the lifetime of, or disable, results by table or by
	// statement fingerprint; see [Cache.Resolve] for the precedence.
	// Zero: no rules.
	Rules []Rule
}

// Lifetime is how long results live: fresh for TTL, then served stale for
// StaleWhileRevalidate more while one caller refreshes them.
type Lifetime struct {
	// TTL is how long a result is served as fresh. Zero: inherit from the
	// next level of precedence.
	TTL time.Duration

	// StaleWhileRevalidate is how long after TTL a result is still served,
	// marked stale, while one caller refreshes it. A pointer to zero turns
	// stale serving off. Nil: inherit from the next level of precedence.
	StaleWhileRevalidate *time.Duration
}

// Rule overrides the lifetime of, or disables caching for, the results that
// read any of Tables or whose statement fingerprint is one of Fingerprints.
// A rule names tables or fingerprints, never both.
type Rule struct {
	// Name identifies the rule in statistics and in [Entry.Rule]. Zero: a
	// name made from the rule's database, tables or fingerprints, such as
	// "app/tables:public.orders".
	Name string

	// Database restricts the rule to one database. Zero: every database.
	Database string

	// Tables the rule applies to, spelled as the proxy spells a [TableID].
	// A statement reading several tables with rules takes the shortest TTL
	// and the shortest stale-while-revalidate among them. Zero: none.
	Tables []TableID

	// Fingerprints of statements the rule applies to, as computed by the
	// query package (pg_query's normalised fingerprint in hexadecimal).
	// Zero: none.
	Fingerprints []string

	// Lifetime of the results the rule applies to. Zero fields inherit.
	Lifetime

	// Disabled turns caching off for the results the rule applies to; a
	// disabled rule must leave Lifetime zero. Zero: caching allowed.
	Disabled bool
}

// withDefaults returns a copy of c with every zero field replaced by its
// default. It is the one place defaults are set.
func (c Config) withDefaults() Config {
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.MaxEntryBytes == 0 {
		c.MaxEntryBytes = min(DefaultMaxEntryBytes, c.MaxBytes)
	}
	if c.MaxTTL == 0 {
		c.MaxTTL = DefaultMaxTTL
	}
	if c.Default.TTL == 0 {
		c.Default.TTL = DefaultTTL
	}
	swr := DefaultSWR
	if c.Default.StaleWhileRevalidate != nil {
		swr = *c.Default.StaleWhileRevalidate
	}
	c.Default.StaleWhileRevalidate = &swr // never shared with the caller
	c.DisabledDatabases = slices.Clone(c.DisabledDatabases)
	c.Rules = slices.Clone(c.Rules)
	for i := range c.Rules {
		r := &c.Rules[i]
		r.Tables = slices.Clone(r.Tables)
		r.Fingerprints = slices.Clone(r.Fingerprints)
		if r.StaleWhileRevalidate != nil {
			rswr := *r.StaleWhileRevalidate
			r.StaleWhileRevalidate = &rswr
		}
		if r.Name == "" {
			r.Name = r.generatedName()
		}
	}
	return c
}

func (r *Rule) generatedName() string {
	var b strings.Builder
	if r.Database != "" {
		b.WriteString(r.Database)
		b.WriteByte('/')
	}
	if len(r.Tables) > 0 {
		b.WriteString("tables:")
		for i, t := range r.Tables {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(string(t))
		}
	} else {
		b.WriteString("fingerprints:")
		b.WriteString(strings.Join(r.Fingerprints, ","))
	}
	return b.String()
}

// Validate reports every problem of the configuration at once, as
// [ConfigError]s joined with [errors.Join], or nil if the configuration can be
// used. Field paths use the YAML names of pgwarp.yaml.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &ConfigError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	if c.MaxBytes < 0 {
		bad("max_bytes", "must not be negative (got %d); leave it out for %d", c.MaxBytes, DefaultMaxBytes)
	}
	if c.MaxEntryBytes < 0 {
		bad("max_entry_bytes", "must not be negative (got %d); leave it out for %d", c.MaxEntryBytes, DefaultMaxEntryBytes)
	}
	if c.MaxTTL < 0 {
		bad("max_ttl", "must not be negative (got %s); leave it out for %s", c.MaxTTL, DefaultMaxTTL)
	}
	if len(errs) > 0 {
		// The checks below compare against these limits.
		return errors.Join(errs...)
	}
	d := c.withDefaults()
	if d.MaxEntryBytes > d.MaxBytes {
		bad("max_entry_bytes", "%d exceeds max_bytes (%d): one entry could never be stored; lower max_entry_bytes or raise max_bytes", d.MaxEntryBytes, d.MaxBytes)
	}
	checkLifetime := func(field string, l Lifetime) {
		if l.TTL < 0 {
			bad(field+".ttl", "must not be negative (got %s)", l.TTL)
		} else if l.TTL > d.MaxTTL {
			bad(field+".ttl", "%s exceeds max_ttl (%s); lower the ttl or raise max_ttl", l.TTL, d.MaxTTL)
		}
		if s := l.StaleWhileRevalidate; s != nil {
			if *s < 0 {
				bad(field+".stale_while_revalidate", "must not be negative (got %s); use 0s to turn stale serving off", *s)
			} else if *s > d.MaxTTL {
				bad(field+".stale_while_revalidate", "%s exceeds max_ttl (%s); lower it or raise max_ttl", *s, d.MaxTTL)
			}
		}
	}
	checkLifetime("default", c.Default)
	for i, db := range c.DisabledDatabases {
		if db == "" {
			bad(fmt.Sprintf("disabled_databases[%d]", i), "is empty; name a database")
		}
	}

	names := map[string]int{}
	tables := map[tableRef]int{}
	prints := map[tableRef]int{} // fingerprint in the table field
	for i, r := range d.Rules {
		field := fmt.Sprintf("rules[%d]", i)
		switch r.Name {
		case RuleDefault, RuleHint, RuleDatabase, RuleCache:
			bad(field+".name", "%q is reserved; choose another name", r.Name)
		}
		if j, dup := names[r.Name]; dup {
			bad(field+".name", "%q is already the name of rules[%d]; names must be unique", r.Name, j)
		} else {
			names[r.Name] = i
		}
		switch {
		case len(r.Tables) == 0 && len(r.Fingerprints) == 0:
			bad(field, "names no tables and no fingerprints, so it applies to nothing; add tables or fingerprints")
		case len(r.Tables) > 0 && len(r.Fingerprints) > 0:
			bad(field, "names both tables and fingerprints; split it into one rule for tables and one for fingerprints")
		}
		for j, t := range r.Tables {
			if t == "" {
				bad(fmt.Sprintf("%s.tables[%d]", field, j), "is empty; name a table")
				continue
			}
			ref := tableRef{r.Database, t}
			if k, dup := tables[ref]; dup && k != i {
				bad(fmt.Sprintf("%s.tables[%d]", field, j), "table %q already has rules[%d]; merge the two rules", t, k)
			}
			tables[ref] = i
		}
		for j, fp := range r.Fingerprints {
			if fp == "" {
				bad(fmt.Sprintf("%s.fingerprints[%d]", field, j), "is empty; give a fingerprint")
				continue
			}
			ref := tableRef{r.Database, TableID(fp)}
			if k, dup := prints[ref]; dup && k != i {
				bad(fmt.Sprintf("%s.fingerprints[%d]", field, j), "fingerprint %q already has rules[%d]; merge the two rules", fp, k)
			}
			prints[ref] = i
		}
		switch {
		case r.Disabled && (r.TTL != 0 || r.StaleWhileRevalidate != nil):
			bad(field, "is disabled but sets ttl or stale_while_revalidate; remove them or drop disabled")
		case !r.Disabled && r.TTL == 0 && r.StaleWhileRevalidate == nil:
			bad(field, "sets neither ttl, stale_while_revalidate nor disabled, so it changes nothing; set one of them")
		}
		checkLifetime(field, r.Lifetime)
	}
	return errors.Join(errs...)
}
