package migrations

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// LockKey is the key of the session advisory lock a runner holds on the
// database while it migrates: the ASCII bytes of "pgwarpmg". Two runners on
// one database never apply concurrently; dbmate takes no such lock.
const LockKey int64 = 0x7067776172706d67

// ErrLockTimeout is returned when another runner held the migration lock
// for longer than [Config.LockWait].
var ErrLockTimeout = errors.New("timed out waiting for the migration lock held by another runner")

// lock takes the migration lock on conn, waiting up to LockWait for another
// runner to finish, and returns the function that releases it.
func (r *Runner) lock(ctx context.Context, conn *pgx.Conn) (unlock func(), err error) {
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", LockKey).Scan(&got); err != nil {
		return nil, fmt.Errorf("taking the migration lock: %w", err)
	}
	if !got {
		fmt.Fprintf(r.cfg.Log, "Waiting for the migration lock (held by %s)\n", lockHolder(ctx, conn))
		// The server-side timeouts end the wait cleanly; the context
		// deadline is the backstop if the server does not answer.
		wait := r.cfg.LockWait.Milliseconds()
		wctx, cancel := context.WithTimeout(ctx, r.cfg.LockWait+10*time.Second)
		defer cancel()
		if _, err := conn.Exec(wctx, fmt.Sprintf("SET lock_timeout = %d; SET statement_timeout = %d", wait, wait+1000)); err != nil {
			return nil, fmt.Errorf("taking the migration lock: %w", err)
		}
		_, err := conn.Exec(wctx, "SELECT pg_advisory_lock($1)", LockKey)
		if err != nil {
			if c := pgCode(err); c == sqlstateLockNotAvailable || c == sqlstateQueryCanceled && ctx.Err() == nil {
				return nil, fmt.Errorf("%w (waited %s)", ErrLockTimeout, r.cfg.LockWait)
			}
			return nil, fmt.Errorf("taking the migration lock: %w", err)
		}
		if err := r.configureSession(ctx, conn); err != nil {
			return nil, err
		}
	}
	return func() {
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// Closing the connection releases the lock too; this only makes it
		// explicit for a caller that keeps the connection.
		_, _ = conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", LockKey)
	}, nil
}

// lockHolder describes the session holding the migration lock, for the
// waiting message.
func lockHolder(ctx context.Context, conn *pgx.Conn) string {
	var pid int32
	var app string
	err := conn.QueryRow(ctx, `
SELECT l.pid, coalesce(a.application_name, '')
  FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND l.classid = ($1 >> 32)::oid AND l.objid = ($1 & 4294967295)::oid AND l.objsubid = 1
 LIMIT 1`, LockKey).Scan(&pid, &app)
	if err != nil {
		return "another runner"
	}
	if app == "" {
		return fmt.Sprintf("pid %d", pid)
	}
	return fmt.Sprintf("pid %d, %s", pid, app)
}
