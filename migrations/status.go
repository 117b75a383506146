package migrations

import (
	"context"
	"fmt"
	"io"
)

// Status is one migration file and whether it is applied.
type Status struct {
	Migration *Migration
	Applied   bool
}

// Status lists every migration file and whether the database has it
// applied. Versions applied without a file are not listed (dbmate does not
// list them either); [Runner.Verify] reports them. Status takes no lock and
// writes nothing.
func (r *Runner) Status(ctx context.Context) ([]Status, error) {
	conn, err := r.connect(ctx, "")
	if err != nil {
		return nil, err
	}
	defer closeConn(conn)
	t, err := r.locateTables(ctx, conn)
	if err != nil {
		return nil, err
	}
	applied, err := readApplied(ctx, conn, t)
	if err != nil {
		return nil, err
	}
	out := make([]Status, len(r.migs))
	for i, m := range r.migs {
		out[i] = Status{Migration: m, Applied: applied[m.Version]}
	}
	return out, nil
}

// Pending counts the statuses that are not applied.
func Pending(st []Status) int {
	n := 0
	for _, s := range st {
		if !s.Applied {
			n++
		}
	}
	return n
}

// WriteStatus prints st exactly as `dbmate status` does: one "[X] file" or
// "[ ] file" line per migration, a blank line, then the Applied and Pending
// counts.
func WriteStatus(w io.Writer, st []Status) error {
	for _, s := range st {
		mark := " "
		if s.Applied {
			mark = "X"
		}
		if _, err := fmt.Fprintf(w, "[%s] %s\n", mark, s.Migration.File); err != nil {
			return err
		}
	}
	pending := Pending(st)
	_, err := fmt.Fprintf(w, "\nApplied: %d\nPending: %d\n", len(st)-pending, pending)
	return err
}
