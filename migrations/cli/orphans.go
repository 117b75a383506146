package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pgwarp/pgwarp/migrations"
	"github.com/pgwarp/pgwarp/migrations/orphans"
)

// OrphansSummary is the one-line description of `pgwarp orphans`.
const OrphansSummary = "report rows whose documented relations point at nothing"

// Orphans runs `pgwarp orphans` with args and returns the exit code: 0 when
// every documented relation was scanned and none has orphans, 1 when
// orphans were found, 2 when the scan failed or is incomplete (a relation
// that could not be scanned, a malformed relation comment).
func Orphans(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var (
		url  = os.Getenv("DATABASE_URL")
		asJS bool
		opts orphans.Options
	)
	fs := flag.NewFlagSet("pgwarp orphans", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&url, "url", url, "database `URL` (default $DATABASE_URL)")
	fs.BoolVar(&asJS, "json", false, "print the report as JSON")
	fs.IntVar(&opts.ChunkSize, "chunk-size", 10000, "rows of a referencing table read per query")
	fs.IntVar(&opts.SampleSize, "sample", 10, "orphan values to show per relation")
	fs.DurationVar(&opts.ChunkTimeout, "chunk-timeout", 20*time.Second, "time limit of each chunk query")
	fs.DurationVar(&opts.Pause, "pause", 0, "rest between chunk queries")
	fs.Func("relation", "scan only this referencing `table.column` (repeatable)", func(s string) error {
		opts.Only = append(opts.Only, s)
		return nil
	})
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: pgwarp orphans [flags]\n\nScans every relation documented in column comments ('references table.column')\nin chunks and reports rows that point at nothing.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitError
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pgwarp orphans: unexpected arguments %q\n", fs.Args())
		return exitError
	}
	if url == "" {
		return fail(stderr, migrations.ErrNoURL)
	}
	rep, err := orphans.ScanURL(ctx, url, opts)
	if err != nil {
		return fail(stderr, err)
	}
	if asJS {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fail(stderr, err)
		}
	} else if err := rep.WriteText(stdout); err != nil {
		return fail(stderr, err)
	}
	switch {
	case rep.Failed():
		return exitError
	case rep.OrphanRows() > 0:
		return exitFound
	}
	return exitOK
}
