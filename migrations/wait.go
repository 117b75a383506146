package migrations

import (
	"context"
	"fmt"
	"time"
)

// Wait blocks until the database server accepts connections, trying once a
// second, as `dbmate wait` does. A server that answers that the database
// does not exist counts as available. It gives up when ctx is done; bound
// it with a deadline.
func (r *Runner) Wait(ctx context.Context) error {
	var last error
	first := true
	for {
		conn, err := r.connect(ctx, "")
		if err == nil {
			closeConn(conn)
		}
		if err == nil || pgCode(err) == sqlstateInvalidCatalogName {
			if !first {
				fmt.Fprintln(r.cfg.Log)
			}
			return nil
		}
		last = err
		if first {
			fmt.Fprint(r.cfg.Log, "Waiting for database")
			first = false
		}
		fmt.Fprint(r.cfg.Log, ".")
		select {
		case <-ctx.Done():
			fmt.Fprintln(r.cfg.Log)
			return fmt.Errorf("unable to connect to database: %w", last)
		case <-time.After(time.Second):
		}
	}
}
