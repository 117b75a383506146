// Package cli implements the `pgwarp migrate` and `pgwarp orphans`
// commands: flag parsing, output and exit codes over packages migrations,
// lint and orphans, testable without a process. cmd/pgwarp only registers
// them.
//
// It is not an API for other packages: `pgwarp dev` and `pgwarp serve` call
// migrations.ApplyBundled, demo.Load and orphans.Scan directly.
package cli
