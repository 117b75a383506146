package migrations

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// SQLSTATEs the runner reacts to.
const (
	sqlstateInvalidCatalogName = "3D000" // database does not exist
	sqlstateInvalidSchemaName  = "3F000" // schema does not exist
	sqlstateDuplicateDatabase  = "42P04"
	sqlstateLockNotAvailable   = "55P03"
	sqlstateQueryCanceled      = "57014"
)

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// connConfig returns a fresh connection configuration for database ("" for
// the one in the URL).
func (r *Runner) connConfig(database string) *pgx.ConnConfig {
	cfg := r.connCfg.Copy()
	if database != "" {
		cfg.Database = database
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "pgwarp migrate"
	}
	// On cancellation (Ctrl-C, a deadline) ask the server to cancel the
	// running statement, so that an interrupted migration rolls back
	// cleanly; close the socket only if the server does not answer.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 5 * time.Second}
	}
	return cfg
}

// connect opens a direct connection (never through a pool) to database, ""
// meaning the one in the URL.
func (r *Runner) connect(ctx context.Context, database string) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, r.cfg.ConnectTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, r.connConfig(database))
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", r.describeDB(database), err)
	}
	return conn, nil
}

func (r *Runner) describeDB(database string) string {
	if database == "" {
		database = r.connCfg.Database
	}
	return fmt.Sprintf("database %q on %s:%d", database, r.connCfg.Host, r.connCfg.Port)
}

// closeConn closes conn within a bounded time.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

// configureSession sets the session's lock and statement timeouts.
func (r *Runner) configureSession(ctx context.Context, conn *pgx.Conn) error {
	sql := fmt.Sprintf("SET lock_timeout = %d; SET statement_timeout = %d",
		r.cfg.LockTimeout.Milliseconds(), r.cfg.StatementTimeout.Milliseconds())
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("setting session timeouts: %w", err)
	}
	return nil
}

// connectOrCreate connects to the target database, creating it first when
// it does not exist. In a dry run it returns a nil connection for a missing
// database instead.
func (r *Runner) connectOrCreate(ctx context.Context, res *Result) (*pgx.Conn, error) {
	conn, err := r.connect(ctx, "")
	if err == nil || pgCode(err) != sqlstateInvalidCatalogName {
		return conn, err
	}
	name := r.connCfg.Database
	if r.cfg.DryRun {
		fmt.Fprintf(r.cfg.Log, "Would create: %s\n", name)
		return nil, nil
	}
	fmt.Fprintf(r.cfg.Log, "Creating: %s\n", name)
	if err := r.createDatabase(ctx, name); err != nil {
		return nil, err
	}
	res.CreatedDatabase = true
	return r.connect(ctx, "")
}

// createDatabase creates database name from a maintenance database, as
// dbmate does. A concurrent runner creating it first is not an error.
func (r *Runner) createDatabase(ctx context.Context, name string) error {
	var conn *pgx.Conn
	var err error
	for _, maint := range []string{"postgres", "template1"} {
		if conn, err = r.connect(ctx, maint); err == nil || pgCode(err) != sqlstateInvalidCatalogName {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("creating database %q: %w", name, err)
	}
	defer closeConn(conn)
	cctx, cancel := context.WithTimeout(ctx, r.cfg.TransactionTimeout)
	defer cancel()
	if _, err := conn.Exec(cctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil && pgCode(err) != sqlstateDuplicateDatabase {
		return fmt.Errorf("creating database %q: %w", name, err)
	}
	return nil
}

// tables names the runner's two bookkeeping tables, schema-qualified and
// quoted.
type tables struct {
	schema     string
	migrations string
	checksums  string
}

// checksumTable is the table beside schema_migrations where pgwarp keeps
// the checksum of every file it applied.
const checksumTable = "pgwarp_migration_checksums"

// locateTables finds the schema of schema_migrations as dbmate does: the
// first schema of the URL's search_path, else the current schema, else
// public.
func (r *Runner) locateTables(ctx context.Context, conn *pgx.Conn) (tables, error) {
	schema := ""
	if sp, ok := r.connCfg.RuntimeParams["search_path"]; ok {
		schema = strings.TrimSpace(strings.Split(sp, ",")[0])
	}
	if schema == "" {
		var cur *string
		if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&cur); err != nil {
			return tables{}, fmt.Errorf("finding the current schema: %w", err)
		}
		if cur != nil {
			schema = *cur
		}
	}
	if schema == "" {
		schema = "public"
	}
	return tables{
		schema:     schema,
		migrations: pgx.Identifier{schema, "schema_migrations"}.Sanitize(),
		checksums:  pgx.Identifier{schema, checksumTable}.Sanitize(),
	}, nil
}

// ensureTables creates schema_migrations (dbmate's definition) and the
// checksum table when they are missing, and the schema when that is
// missing. Callers hold the migration lock.
func (r *Runner) ensureTables(ctx context.Context, conn *pgx.Conn, t tables) error {
	cctx, cancel := context.WithTimeout(ctx, r.cfg.TransactionTimeout)
	defer cancel()
	create := "CREATE TABLE IF NOT EXISTS " + t.migrations + " (version varchar PRIMARY KEY)"
	if _, err := conn.Exec(cctx, create); err != nil {
		if pgCode(err) != sqlstateInvalidSchemaName {
			return fmt.Errorf("creating %s: %w", t.migrations, err)
		}
		fmt.Fprintf(r.cfg.Log, "Creating schema: %s\n", t.schema)
		if _, err := conn.Exec(cctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{t.schema}.Sanitize()); err != nil {
			return fmt.Errorf("creating schema %q: %w", t.schema, err)
		}
		if _, err := conn.Exec(cctx, create); err != nil {
			return fmt.Errorf("creating %s: %w", t.migrations, err)
		}
	}
	exists, err := tableExists(cctx, conn, t.checksums)
	if err != nil || exists {
		return err
	}
	tx, err := conn.Begin(cctx)
	if err != nil {
		return fmt.Errorf("creating %s: %w", t.checksums, err)
	}
	defer rollback(tx)
	_, err = tx.Exec(cctx, `CREATE TABLE `+t.checksums+` (
  version varchar PRIMARY KEY,
  file_name text NOT NULL,
  sha256 text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE `+t.checksums+` IS 'SHA-256 of every migration file pgwarp applied, kept beside schema_migrations (which stays exactly dbmate''s) so that pgwarp migrate verify can report a file edited after it was applied.'`)
	if err != nil {
		return fmt.Errorf("creating %s: %w", t.checksums, err)
	}
	if err := tx.Commit(cctx); err != nil {
		return fmt.Errorf("creating %s: %w", t.checksums, err)
	}
	return nil
}

func tableExists(ctx context.Context, conn *pgx.Conn, quoted string) (bool, error) {
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", quoted).Scan(&exists); err != nil {
		return false, fmt.Errorf("looking up %s: %w", quoted, err)
	}
	return exists, nil
}

// readApplied returns the versions recorded in schema_migrations; none when
// the table does not exist yet.
func readApplied(ctx context.Context, conn *pgx.Conn, t tables) (map[string]bool, error) {
	applied := map[string]bool{}
	if exists, err := tableExists(ctx, conn, t.migrations); err != nil || !exists {
		return applied, err
	}
	rows, err := conn.Query(ctx, "SELECT version FROM "+t.migrations)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", t.migrations, err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", t.migrations, err)
	}
	for _, v := range versions {
		applied[v] = true
	}
	return applied, nil
}

// checksumRecord is one row of the checksum table.
type checksumRecord struct {
	file   string
	sha256 string
}

func readChecksums(ctx context.Context, conn *pgx.Conn, t tables) (map[string]checksumRecord, error) {
	out := map[string]checksumRecord{}
	if exists, err := tableExists(ctx, conn, t.checksums); err != nil || !exists {
		return out, err
	}
	rows, err := conn.Query(ctx, "SELECT version, file_name, sha256 FROM "+t.checksums)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", t.checksums, err)
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		var rec checksumRecord
		if err := rows.Scan(&v, &rec.file, &rec.sha256); err != nil {
			return nil, fmt.Errorf("reading %s: %w", t.checksums, err)
		}
		out[v] = rec
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", t.checksums, err)
	}
	return out, nil
}

// rollback ends tx if it is still open, within a bounded time and
// independently of the caller's (possibly expired) context.
func rollback(tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = tx.Rollback(ctx)
}
