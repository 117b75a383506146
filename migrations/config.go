package migrations

import (
	"io"
	"io/fs"
	"time"
)

// Config configures a [Runner]. The zero value of every field but URL is
// usable.
type Config struct {
	// URL is the database to migrate, as a postgres:// URL or a libpq
	// keyword/value string. A search_path parameter in a URL chooses the
	// schema of schema_migrations, as it does for dbmate. Required.
	URL string

	// Migrations holds the migration files at its root. Nil means
	// [Bundled], pgwarp's own schema.
	Migrations fs.FS

	// Log receives progress lines in dbmate's words ("Applying: …",
	// "Applied: … in …") and lint findings. Nil discards them.
	Log io.Writer

	// LockTimeout is the lock_timeout every migration statement runs
	// with, so that DDL blocked behind application traffic fails fast
	// instead of queueing (and making that traffic queue behind it). Zero
	// means 5s.
	LockTimeout time.Duration

	// TransactionTimeout bounds each migration transaction as a whole (the
	// 20 s transaction limit of the upstream): its statements share this
	// budget. Zero means 20s.
	TransactionTimeout time.Duration

	// StatementTimeout bounds each statement of a transaction:false
	// section, such as CREATE INDEX CONCURRENTLY on a large table. Zero
	// means 15m.
	StatementTimeout time.Duration

	// LockWait is how long a runner waits for another runner's advisory
	// lock on the same database. Zero means 5m.
	LockWait time.Duration

	// ConnectTimeout bounds each connection attempt. Zero means 10s.
	ConnectTimeout time.Duration

	// DryRun prints what would be done instead of doing it: no database
	// is created, no lock taken, no table written.
	DryRun bool

	// NoLint skips linting pending migrations before applying them.
	NoLint bool

	// PgDump is the pg_dump program for [Runner.Dump]. Empty means
	// "pg_dump" on PATH, as dbmate does.
	PgDump string
}

const (
	defaultLockTimeout        = 5 * time.Second
	defaultTransactionTimeout = 20 * time.Second
	defaultStatementTimeout   = 15 * time.Minute
	defaultLockWait           = 5 * time.Minute
	defaultConnectTimeout     = 10 * time.Second
)

// withDefaults returns cfg with every zero field set to its default.
func (cfg Config) withDefaults() Config {
	if cfg.Migrations == nil {
		cfg.Migrations = Bundled()
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.LockTimeout <= 0 {
		cfg.LockTimeout = defaultLockTimeout
	}
	if cfg.TransactionTimeout <= 0 {
		cfg.TransactionTimeout = defaultTransactionTimeout
	}
	if cfg.StatementTimeout <= 0 {
		cfg.StatementTimeout = defaultStatementTimeout
	}
	if cfg.LockWait <= 0 {
		cfg.LockWait = defaultLockWait
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = defaultConnectTimeout
	}
	if cfg.PgDump == "" {
		cfg.PgDump = "pg_dump"
	}
	return cfg
}
