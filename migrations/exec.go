package migrations

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgwarp/pgwarp/migrations/sqlscan"
)

// MigrationError reports a migration the server rejected: which file,
// direction and statement, and where in the file.
type MigrationError struct {
	// File is the migration's file name.
	File string
	// Direction is "up" or "down".
	Direction string
	// Line is the 1-based line in File of the error: the error position
	// the server reported, else the start of the failing statement, else
	// the block's directive.
	Line int
	// Statement is the failing statement's text; empty when a
	// transaction:false block with several statements failed without a
	// position to tell which.
	Statement string
	// Hint explains a timeout or lock failure.
	Hint string
	// Partial is set when earlier sections of a multi-section file were
	// applied (or rolled back) and stay so; the version is not recorded.
	Partial string
	// Err is the server's error.
	Err error
}

func (e *MigrationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d: migrate:%s failed: %v", e.File, e.Line, e.Direction, e.Err)
	if e.Hint != "" {
		b.WriteString("\nhint: " + e.Hint)
	}
	if e.Partial != "" {
		b.WriteString("\nnote: " + e.Partial)
	}
	if e.Statement != "" {
		stmt := e.Statement
		if len(stmt) > 2000 {
			stmt = stmt[:2000] + " …"
		}
		b.WriteString("\nstatement:\n    " + strings.ReplaceAll(stmt, "\n", "\n    "))
	}
	return b.String()
}

func (e *MigrationError) Unwrap() error { return e.Err }

// execer is what a block runs on: a connection or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// execStatements runs a block one statement at a time, so that a failure
// names its statement. If the block cannot be split (an unterminated quote),
// it is sent whole and the server reports the error.
func (r *Runner) execStatements(ctx context.Context, q execer, m *Migration, dir string, b Block) error {
	stmts, err := sqlscan.Split(b.SQL)
	if err != nil {
		return r.execWhole(ctx, q, m, dir, b)
	}
	for i := range stmts {
		if _, err := q.Exec(ctx, stmts[i].Text); err != nil {
			return r.blockError(m, dir, b, stmts, &stmts[i], err)
		}
	}
	return nil
}

// execWhole sends a block as one simple query, as dbmate does for a
// transaction:false section: PostgreSQL runs several statements of one
// query as an implicit transaction.
func (r *Runner) execWhole(ctx context.Context, q execer, m *Migration, dir string, b Block) error {
	if _, err := q.Exec(ctx, b.SQL); err != nil {
		stmts, _ := sqlscan.Split(b.SQL)
		var known *sqlscan.Statement
		if len(stmts) == 1 {
			known = &stmts[0]
		}
		return r.blockError(m, dir, b, stmts, known, err)
	}
	return nil
}

// blockError builds the [*MigrationError] for err. known is the statement
// that was sent alone, nil when the whole block was sent; then the error
// position, when the server gives one, tells which statement failed.
func (r *Runner) blockError(m *Migration, dir string, b Block, stmts []sqlscan.Statement, known *sqlscan.Statement, err error) error {
	me := &MigrationError{File: m.File, Direction: dir, Line: b.Line, Err: err, Hint: r.hint(err)}
	base := 0
	if known != nil {
		base = known.Start
	}
	off := -1
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Position > 0 {
		off = base + runeOffset(b.SQL[base:], int(pe.Position)-1)
	}
	failed := known
	if known == nil && off >= 0 {
		for i := range stmts {
			if off >= stmts[i].Start && off <= stmts[i].End {
				failed = &stmts[i]
				break
			}
		}
	}
	switch {
	case off >= 0:
		me.Line = b.Line + strings.Count(b.SQL[:off], "\n")
	case failed != nil:
		me.Line = b.Line + failed.Line - 1
	}
	if failed != nil {
		me.Statement = failed.Text
	}
	return me
}

// runeOffset converts a 0-based character index into s to a byte offset.
func runeOffset(s string, chars int) int {
	off := 0
	for i := 0; i < chars && off < len(s); i++ {
		_, size := utf8.DecodeRuneInString(s[off:])
		off += size
	}
	return off
}

// hint explains the errors the runner's own limits cause.
func (r *Runner) hint(err error) string {
	switch pgCode(err) {
	case sqlstateLockNotAvailable:
		return fmt.Sprintf("a lock was not granted within lock_timeout (%s): the table is busy; retry when traffic is lower, or raise --lock-timeout", r.cfg.LockTimeout)
	case sqlstateQueryCanceled:
		var pe *pgconn.PgError
		if errors.As(err, &pe) && strings.Contains(pe.Message, "statement timeout") {
			return fmt.Sprintf("the statement ran out of time: a migration transaction may take %s (--transaction-timeout) and a transaction:false statement %s (--statement-timeout); split the migration, or move long work to transaction:false sections", r.cfg.TransactionTimeout, r.cfg.StatementTimeout)
		}
		return "the statement was cancelled (interrupted, or by an administrator); its transaction was rolled back"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("the migration exceeded its time budget (%s per transaction)", r.cfg.TransactionTimeout)
	}
	return ""
}

// inTx runs fn in a transaction bounded by TransactionTimeout, both as a
// context deadline and as the server's statement_timeout (PostgreSQL 15 has
// no transaction_timeout).
func (r *Runner) inTx(ctx context.Context, conn *pgx.Conn, fn func(ctx context.Context, tx pgx.Tx) error) error {
	tctx, cancel := context.WithTimeout(ctx, r.cfg.TransactionTimeout)
	defer cancel()
	tx, err := conn.Begin(tctx)
	if err != nil {
		return fmt.Errorf("beginning a migration transaction: %w", err)
	}
	defer rollback(tx)
	ms := r.cfg.TransactionTimeout.Milliseconds()
	if _, err := tx.Exec(tctx, fmt.Sprintf("SET LOCAL statement_timeout = %d; SET LOCAL idle_in_transaction_session_timeout = %d", ms, ms)); err != nil {
		return fmt.Errorf("setting the transaction timeout: %w", err)
	}
	if err := fn(tctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(tctx); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}
