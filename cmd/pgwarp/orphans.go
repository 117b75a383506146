package main

import (
	"context"
	"os"

	"github.com/pgwarp/pgwarp/migrations/cli"
)

func init() {
	register(&command{name: "orphans", summary: cli.OrphansSummary, run: func(ctx context.Context, args []string) int {
		return cli.Orphans(ctx, args, os.Stdout, os.Stderr)
	}})
}
