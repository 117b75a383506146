package migrations

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgwarp/pgwarp/migrations/lint"
)

// ErrNoURL is returned by [New] without a database URL.
var ErrNoURL = errors.New("no database URL: pass --url or set DATABASE_URL")

// ErrNoRollback is returned by [Runner.Rollback] when no migration is
// applied.
var ErrNoRollback = errors.New("can't rollback: no migrations have been applied")

// Runner applies a set of migrations to one database. Each method opens its
// own direct connection and closes it before returning, so a Runner is safe
// for concurrent use; concurrent Up, Migrate and Rollback calls, from this
// process or others, are serialised by a session advisory lock
// ([LockKey]).
type Runner struct {
	cfg     Config
	connCfg *pgx.ConnConfig
	migs    []*Migration
}

// New parses the URL and the migration files of cfg. It does not connect.
func New(cfg Config) (*Runner, error) {
	if strings.TrimSpace(cfg.URL) == "" {
		return nil, ErrNoURL
	}
	cfg = cfg.withDefaults()
	connCfg, err := pgx.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("parsing the database URL: %w", err)
	}
	migs, err := Load(cfg.Migrations)
	if err != nil {
		return nil, err
	}
	return &Runner{cfg: cfg, connCfg: connCfg, migs: migs}, nil
}

// Migrations returns the runner's migrations in the order they apply.
func (r *Runner) Migrations() []*Migration { return r.migs }

// Result says what Up, Migrate or Rollback did, or would do in a dry run.
type Result struct {
	// CreatedDatabase is set when Up created the database.
	CreatedDatabase bool
	// Applied are the files applied, in order.
	Applied []string
	// RolledBack are the files rolled back.
	RolledBack []string
	// Findings are the lint findings of the pending migrations.
	Findings []lint.Finding
}

// LintError is returned when pending migrations have lint errors; nothing
// was applied.
type LintError struct {
	Findings []lint.Finding
}

func (e *LintError) Error() string {
	return fmt.Sprintf("lint: %d error(s) in pending migrations, nothing applied (fix them, or pass --no-lint to apply anyway)", lint.CountErrors(e.Findings))
}

// Up creates the database if it does not exist, then applies every pending
// migration in file order (dbmate's `up`).
func (r *Runner) Up(ctx context.Context) (*Result, error) {
	res := &Result{}
	conn, err := r.connectOrCreate(ctx, res)
	if err != nil {
		return res, err
	}
	return res, r.migrate(ctx, conn, res)
}

// Migrate applies every pending migration in file order; the database must
// exist (dbmate's `migrate`).
func (r *Runner) Migrate(ctx context.Context) (*Result, error) {
	res := &Result{}
	conn, err := r.connect(ctx, "")
	if err != nil {
		return res, err
	}
	return res, r.migrate(ctx, conn, res)
}

// migrate applies the pending migrations over conn, which it closes. conn
// is nil in a dry run against a database that does not exist yet.
func (r *Runner) migrate(ctx context.Context, conn *pgx.Conn, res *Result) error {
	applied := map[string]bool{}
	var t tables
	if conn != nil {
		defer closeConn(conn)
		var err error
		if t, err = r.locateTables(ctx, conn); err != nil {
			return err
		}
		if !r.cfg.DryRun {
			if err := r.configureSession(ctx, conn); err != nil {
				return err
			}
			unlock, err := r.lock(ctx, conn)
			if err != nil {
				return err
			}
			defer unlock()
			if err := r.ensureTables(ctx, conn, t); err != nil {
				return err
			}
		}
		if applied, err = readApplied(ctx, conn, t); err != nil {
			return err
		}
	}
	var pending []*Migration
	for _, m := range r.migs {
		if !applied[m.Version] {
			pending = append(pending, m)
		}
	}
	if !r.cfg.NoLint && len(pending) > 0 {
		res.Findings = r.lintPending(pending)
		for _, f := range res.Findings {
			fmt.Fprintf(r.cfg.Log, "lint: %s\n", f)
		}
		if lint.CountErrors(res.Findings) > 0 {
			return &LintError{Findings: res.Findings}
		}
	}
	for _, m := range pending {
		if r.cfg.DryRun {
			r.printDryRun("Would apply", m, false)
			res.Applied = append(res.Applied, m.File)
			continue
		}
		if err := r.applyUp(ctx, conn, t, m); err != nil {
			return err
		}
		res.Applied = append(res.Applied, m.File)
	}
	return nil
}

// applyUp applies the up sections of m in order, each in its own
// transaction unless it is transaction:false, and records the version and
// checksum with the last section.
func (r *Runner) applyUp(ctx context.Context, conn *pgx.Conn, t tables, m *Migration) error {
	fmt.Fprintf(r.cfg.Log, "Applying: %s\n", m.File)
	start := time.Now()
	record := func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO "+t.migrations+" (version) VALUES ($1)", m.Version); err != nil {
			return fmt.Errorf("%s: recording version %s: %w", m.File, m.Version, err)
		}
		_, err := tx.Exec(ctx, "INSERT INTO "+t.checksums+` (version, file_name, sha256) VALUES ($1, $2, $3)
ON CONFLICT (version) DO UPDATE SET file_name = excluded.file_name, sha256 = excluded.sha256, applied_at = now()`,
			m.Version, m.File, m.Checksum)
		if err != nil {
			return fmt.Errorf("%s: recording checksum: %w", m.File, err)
		}
		return nil
	}
	for i, sec := range m.Sections {
		last := i == len(m.Sections)-1
		var err error
		if sec.Up.Options.Transaction() {
			err = r.inTx(ctx, conn, func(ctx context.Context, tx pgx.Tx) error {
				if err := r.execStatements(ctx, tx, m, "up", sec.Up); err != nil {
					return err
				}
				if last {
					return record(ctx, tx)
				}
				return nil
			})
		} else {
			err = r.execWhole(ctx, conn, m, "up", sec.Up)
			if err == nil && last {
				err = r.inTx(ctx, conn, record)
			}
		}
		if err != nil {
			var me *MigrationError
			if i > 0 && errors.As(err, &me) {
				me.Partial = fmt.Sprintf("sections 1-%d of %d were applied and stay applied; the version is not recorded", i, len(m.Sections))
			}
			return err
		}
	}
	fmt.Fprintf(r.cfg.Log, "Applied: %s in %s\n", m.File, time.Since(start).Round(time.Microsecond))
	return nil
}

// Rollback rolls back the most recently applied migration (by file order,
// as dbmate does): its down sections in reverse order.
func (r *Runner) Rollback(ctx context.Context) (*Result, error) {
	res := &Result{}
	conn, err := r.connect(ctx, "")
	if err != nil {
		return res, err
	}
	defer closeConn(conn)
	t, err := r.locateTables(ctx, conn)
	if err != nil {
		return res, err
	}
	if !r.cfg.DryRun {
		if err := r.configureSession(ctx, conn); err != nil {
			return res, err
		}
		unlock, err := r.lock(ctx, conn)
		if err != nil {
			return res, err
		}
		defer unlock()
		if err := r.ensureTables(ctx, conn, t); err != nil {
			return res, err
		}
	}
	applied, err := readApplied(ctx, conn, t)
	if err != nil {
		return res, err
	}
	var latest *Migration
	for _, m := range r.migs {
		if applied[m.Version] {
			latest = m
		}
	}
	if latest == nil {
		return res, ErrNoRollback
	}
	if r.cfg.DryRun {
		r.printDryRun("Would roll back", latest, true)
		res.RolledBack = append(res.RolledBack, latest.File)
		return res, nil
	}
	if err := r.applyDown(ctx, conn, t, latest); err != nil {
		return res, err
	}
	res.RolledBack = append(res.RolledBack, latest.File)
	return res, nil
}

func (r *Runner) applyDown(ctx context.Context, conn *pgx.Conn, t tables, m *Migration) error {
	fmt.Fprintf(r.cfg.Log, "Rolling back: %s\n", m.File)
	start := time.Now()
	unrecord := func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM "+t.migrations+" WHERE version = $1", m.Version); err != nil {
			return fmt.Errorf("%s: removing version %s: %w", m.File, m.Version, err)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM "+t.checksums+" WHERE version = $1", m.Version); err != nil {
			return fmt.Errorf("%s: removing checksum: %w", m.File, err)
		}
		return nil
	}
	for i := len(m.Sections) - 1; i >= 0; i-- {
		sec := m.Sections[i]
		last := i == 0
		var err error
		if sec.Down.Options.Transaction() {
			err = r.inTx(ctx, conn, func(ctx context.Context, tx pgx.Tx) error {
				if err := r.execStatements(ctx, tx, m, "down", sec.Down); err != nil {
					return err
				}
				if last {
					return unrecord(ctx, tx)
				}
				return nil
			})
		} else {
			err = r.execWhole(ctx, conn, m, "down", sec.Down)
			if err == nil && last {
				err = r.inTx(ctx, conn, unrecord)
			}
		}
		if err != nil {
			var me *MigrationError
			if i < len(m.Sections)-1 && errors.As(err, &me) {
				me.Partial = fmt.Sprintf("sections %d-%d of %d were rolled back and stay so; the version is still recorded", i+2, len(m.Sections), len(m.Sections))
			}
			return err
		}
	}
	fmt.Fprintf(r.cfg.Log, "Rolled back: %s in %s\n", m.File, time.Since(start).Round(time.Microsecond))
	return nil
}

// printDryRun prints the SQL a migration would run.
func (r *Runner) printDryRun(verb string, m *Migration, down bool) {
	fmt.Fprintf(r.cfg.Log, "%s: %s\n", verb, m.File)
	for i := range m.Sections {
		b := m.Sections[i].Up
		if down {
			b = m.Sections[len(m.Sections)-1-i].Down
		}
		mode := "in a transaction"
		if !b.Options.Transaction() {
			mode = "without a transaction"
		}
		fmt.Fprintf(r.cfg.Log, "  -- line %d, %s:\n", b.Line, mode)
		body := strings.TrimRight(b.SQL, "\n")
		fmt.Fprintf(r.cfg.Log, "  %s\n", strings.ReplaceAll(body, "\n", "\n  "))
	}
}
