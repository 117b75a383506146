package policy

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// The built-in defaults are PlanetScale's documented limits. They are set
// here and nowhere else: a nil [Settings] field in [Config] resolves to them.
const (
	// DefaultMode is the mode when the configuration sets none.
	DefaultMode = ModeEnforce
	// DefaultMaxRowsPerQuery is the default of [Settings.MaxRowsPerQuery].
	DefaultMaxRowsPerQuery int64 = 100_000
	// DefaultMaxRowsPerWrite is the default of [Settings.MaxRowsPerWrite].
	DefaultMaxRowsPerWrite int64 = 100_000
	// DefaultMaxResultBytes is the default of [Settings.MaxResultBytes],
	// 64 MiB.
	DefaultMaxResultBytes int64 = 64 << 20
	// DefaultTransactionTimeout is the default of
	// [Settings.TransactionTimeout].
	DefaultTransactionTimeout = 20 * time.Second
	// DefaultStatementTimeout is the default of [Settings.StatementTimeout].
	DefaultStatementTimeout = 900 * time.Second
)

// minTimeout is the smallest positive timeout Validate accepts. A smaller
// one is almost always a number that lost its unit (20 read as 20ns).
const minTimeout = time.Millisecond

// Settings is one layer of policy: the global one in [Config] or one
// [Override]. Every field is a pointer so that a layer can leave it unset
// and inherit it; for the numeric limits, a set value of 0 means unlimited.
// The zero Settings sets nothing.
type Settings struct {
	// Mode is enforce, warn or off. Nil inherits; at the global level nil
	// means [DefaultMode].
	Mode *Mode
	// MaxRowsPerQuery caps the rows one statement returns (YAML
	// max_rows_per_query). Nil inherits, globally [DefaultMaxRowsPerQuery];
	// 0 means unlimited.
	MaxRowsPerQuery *int64
	// MaxRowsPerWrite caps the rows one INSERT, UPDATE, DELETE, MERGE or
	// COPY FROM affects (YAML max_rows_per_write). Nil inherits, globally
	// [DefaultMaxRowsPerWrite]; 0 means unlimited.
	MaxRowsPerWrite *int64
	// MaxResultBytes caps the DataRow bytes one statement returns (YAML
	// max_result_bytes). Nil inherits, globally [DefaultMaxResultBytes];
	// 0 means unlimited.
	MaxResultBytes *int64
	// TransactionTimeout caps how long an explicit transaction stays open
	// (YAML transaction_timeout). Nil inherits, globally
	// [DefaultTransactionTimeout]; 0 means unlimited.
	TransactionTimeout *time.Duration
	// StatementTimeout caps how long one statement outside an explicit
	// transaction runs (YAML statement_timeout). Nil inherits, globally
	// [DefaultStatementTimeout]; 0 means unlimited.
	StatementTimeout *time.Duration
}

// Override changes some settings for one database, one user, or one
// (database, user) pair. Names match the database and user of the client's
// StartupMessage exactly, letter case included.
type Override struct {
	// Database is the database the override applies to. Empty means any
	// database, in which case User must be set.
	Database string
	// User is the user the override applies to. Empty means any user, in
	// which case Database must be set.
	User string
	// Settings holds the fields the override sets; unset fields inherit.
	Settings
}

// Config is the policy of one pgwarp process. The zero Config enforces
// PlanetScale's defaults for everyone. [New] and [Engine.Reload] copy what
// they need, so the caller may reuse or change a Config afterwards.
//
// Precedence is field by field, most specific first, as PostgreSQL resolves
// ALTER ROLE … IN DATABASE, ALTER ROLE and ALTER DATABASE settings: an
// override for the (database, user) pair, then one for the user, then one
// for the database, then the global [Settings], then the built-in defaults.
// A field a layer leaves nil falls through to the next layer.
type Config struct {
	// Settings is the global layer. Nil fields take the built-in defaults.
	Settings
	// Overrides are the per-database, per-user and per-pair layers. At most
	// one override may name the same (database, user); order is irrelevant.
	// Nil means none.
	Overrides []Override
}

// ConfigError is one problem [Config.Validate] found.
type ConfigError struct {
	// Field is the YAML path of the offending setting, for example
	// "policy.overrides[1].max_rows_per_query".
	Field string
	// Problem says what is wrong and what would be accepted.
	Problem string
}

// Error returns "Field: Problem".
func (e *ConfigError) Error() string { return e.Field + ": " + e.Problem }

// Validate reports every problem in c, one [*ConfigError] per problem joined
// with [errors.Join], or nil if c is usable.
func (c Config) Validate() error {
	var errs []error
	errs = c.Settings.validate("policy", "", errs)
	type key struct{ database, user string }
	seen := make(map[key]int, len(c.Overrides))
	for i := range c.Overrides {
		o := &c.Overrides[i]
		path := "policy.overrides[" + strconv.Itoa(i) + "]"
		who := o.describe()
		if o.Database == "" && o.User == "" {
			errs = append(errs, &ConfigError{path, "names neither a database nor a user; set database, user, or both"})
			continue
		}
		k := key{o.Database, o.User}
		if j, dup := seen[k]; dup {
			errs = append(errs, &ConfigError{path, fmt.Sprintf("repeats policy.overrides[%d] for %s; merge the two entries", j, who)})
			continue
		}
		seen[k] = i
		if o.Settings == (Settings{}) {
			errs = append(errs, &ConfigError{path, "sets neither a mode nor a limit for " + who + "; remove it or set one (a misspelt key?)"})
			continue
		}
		errs = o.Settings.validate(path, " in the override for "+who, errs)
	}
	return errors.Join(errs...)
}

// validate appends the problems of s to errs. path is the YAML path of s and
// where names the override, for messages.
func (s *Settings) validate(path, where string, errs []error) []error {
	if s.Mode != nil && *s.Mode >= numModes {
		errs = append(errs, &ConfigError{path + ".mode", "must be enforce, warn or off, got " + s.Mode.String() + where})
	}
	count := func(f field, p *int64, unit string) {
		if p != nil && *p < 0 {
			errs = append(errs, &ConfigError{path + "." + fieldNames[f],
				"must be 0 (unlimited) or a positive number of " + unit + ", got " + strconv.FormatInt(*p, 10) + where})
		}
	}
	count(fieldMaxRowsPerQuery, s.MaxRowsPerQuery, "rows")
	count(fieldMaxRowsPerWrite, s.MaxRowsPerWrite, "rows")
	count(fieldMaxResultBytes, s.MaxResultBytes, "bytes")
	timeout := func(f field, p *time.Duration) {
		switch {
		case p == nil || *p == 0 || *p >= minTimeout:
		case *p < 0:
			errs = append(errs, &ConfigError{path + "." + fieldNames[f],
				"must be 0 (unlimited) or a positive duration, got " + p.String() + where})
		default:
			errs = append(errs, &ConfigError{path + "." + fieldNames[f],
				"must be 0 (unlimited) or at least 1ms, got " + p.String() + where + "; write durations with a unit, e.g. 20s"})
		}
	}
	timeout(fieldTransactionTimeout, s.TransactionTimeout)
	timeout(fieldStatementTimeout, s.StatementTimeout)
	return errs
}

// describe names the scope of o for messages: user "etl", database "app",
// or database "app" and user "etl".
func (o *Override) describe() string {
	switch {
	case o.Database == "":
		return "user " + strconv.Quote(o.User)
	case o.User == "":
		return "database " + strconv.Quote(o.Database)
	default:
		return "database " + strconv.Quote(o.Database) + " and user " + strconv.Quote(o.User)
	}
}

// field is a slot of the compiled settings: the mode, then one per [Limit].
type field uint8

const (
	fieldMode field = iota
	fieldMaxRowsPerQuery
	fieldMaxRowsPerWrite
	fieldMaxResultBytes
	fieldTransactionTimeout
	fieldStatementTimeout

	numFields
)

// fieldNames are the YAML keys of the fields, in slot order.
var fieldNames = [numFields]string{
	fieldMode:               "mode",
	fieldMaxRowsPerQuery:    "max_rows_per_query",
	fieldMaxRowsPerWrite:    "max_rows_per_write",
	fieldMaxResultBytes:     "max_result_bytes",
	fieldTransactionTimeout: "transaction_timeout",
	fieldStatementTimeout:   "statement_timeout",
}

// defaultValues are the built-in defaults in slot order.
var defaultValues = values{
	fieldMode:               int64(DefaultMode),
	fieldMaxRowsPerQuery:    DefaultMaxRowsPerQuery,
	fieldMaxRowsPerWrite:    DefaultMaxRowsPerWrite,
	fieldMaxResultBytes:     DefaultMaxResultBytes,
	fieldTransactionTimeout: int64(DefaultTransactionTimeout),
	fieldStatementTimeout:   int64(DefaultStatementTimeout),
}
