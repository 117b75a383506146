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

// lockPoll is how often a waiting runner tries the lock again.
const lockPoll = 200 * time.Millisecond

// lock takes the migration lock on conn, waiting up to LockWait for another
// runner to finish, and returns the function that releases it.
//
// A waiting runner polls with pg_try_advisory_lock instead of blocking in
// pg_advisory_lock: a session blocked in a statement holds a snapshot, and
// the runner holding the lock may be running CREATE INDEX CONCURRENTLY,
// which waits for every older snapshot to go away; the server would see a
// deadlock.
func (r *Runner) lock(ctx context.Context, conn *pgx.Conn) (unlock func(), err error) {
	deadline := time.Now().Add(r.cfg.LockWait)
	for waited := false; ; waited = true {
		var got bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", LockKey).Scan(&got); err != nil {
			return nil, fmt.Errorf("taking the migration lock: %w", err)
		}
		if got {
			break
		}
		if !waited {
			fmt.Fprintf(r.cfg.Log, "Waiting for the migration lock (held by %s)\n", lockHolder(ctx, conn))
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w (waited %s)", ErrLockTimeout, r.cfg.LockWait)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the migration lock: %w", ctx.Err())
		case <-time.After(lockPoll):
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
