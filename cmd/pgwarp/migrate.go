package main

import (
	"context"
	"os"

	"github.com/pgwarp/pgwarp/migrations/cli"
)

func init() {
	register(&command{name: "migrate", summary: cli.MigrateSummary, run: func(ctx context.Context, args []string) int {
		return cli.Migrate(ctx, args, os.Stdout, os.Stderr)
	}})
}
