package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pgwarp/pgwarp/migrations"
	"github.com/pgwarp/pgwarp/migrations/lint"
)

// MigrateSummary is the one-line description of `pgwarp migrate`.
const MigrateSummary = "apply, roll back, inspect and lint schema migrations (dbmate-compatible)"

// migrateCommands lists the subcommands with their help lines.
var migrateCommands = []struct{ name, help string }{
	{"new", "NAME  write a new migration file into --dir"},
	{"up", "create the database if missing, then apply pending migrations"},
	{"migrate", "apply pending migrations (the database must exist)"},
	{"rollback", "roll back the most recently applied migration (alias: down)"},
	{"status", "list applied [X] and pending [ ] migrations"},
	{"dump", "print the schema (pg_dump --schema-only) and applied versions, as dbmate dump writes it"},
	{"wait", "wait until the database server accepts connections"},
	{"verify", "report applied migrations whose files changed since they were applied"},
	{"lint", "lint every migration file (no database needed)"},
}

// migrateFlags are the flags of every subcommand; each may come before or
// after the subcommand's name.
type migrateFlags struct {
	url, dir                    string
	dryRun, noLint, wait        bool
	lockTimeout, txTimeout      time.Duration
	stmtTimeout, lockWait       time.Duration
	waitTimeout                 time.Duration
	exitCode, quiet, failOnWarn bool
	schemaFile                  string
}

func (f *migrateFlags) registerCommon(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "url", f.url, "database `URL` (default $DATABASE_URL)")
	fs.StringVar(&f.dir, "dir", f.dir, "migrations `directory` (default $DBMATE_MIGRATIONS_DIR, else the bundled pgwarp schema)")
	fs.BoolVar(&f.dryRun, "dry-run", f.dryRun, "print what would run, change nothing")
	fs.BoolVar(&f.noLint, "no-lint", f.noLint, "apply without linting pending migrations first")
	fs.BoolVar(&f.wait, "wait", f.wait, "wait for the database server before running the command")
	fs.DurationVar(&f.waitTimeout, "wait-timeout", f.waitTimeout, "how long wait and --wait wait")
	fs.DurationVar(&f.lockTimeout, "lock-timeout", f.lockTimeout, "lock_timeout of migration statements")
	fs.DurationVar(&f.txTimeout, "transaction-timeout", f.txTimeout, "time budget of each migration transaction")
	fs.DurationVar(&f.stmtTimeout, "statement-timeout", f.stmtTimeout, "time budget of each transaction:false statement and of dump")
	fs.DurationVar(&f.lockWait, "lock-wait", f.lockWait, "how long to wait for another runner's migration lock")
}

func (f *migrateFlags) registerFor(fs *flag.FlagSet, sub string) {
	switch sub {
	case "status":
		fs.BoolVar(&f.exitCode, "exit-code", false, "exit 1 if there are pending migrations")
		fs.BoolVar(&f.quiet, "quiet", false, "print nothing (implies --exit-code)")
	case "dump":
		fs.StringVar(&f.schemaFile, "schema-file", "", "write the schema to this `file` instead of standard output")
	case "lint":
		fs.BoolVar(&f.failOnWarn, "fail-on-warning", false, "exit 1 on warnings too")
	}
}

func migrateUsage(w io.Writer, fs *flag.FlagSet) func() {
	return func() {
		fmt.Fprintln(w, "usage: pgwarp migrate [flags] <command> [flags] [args]\n\ncommands:")
		for _, c := range migrateCommands {
			fmt.Fprintf(w, "  %-9s %s\n", c.name, c.help)
		}
		fmt.Fprintln(w, "\nflags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

// Migrate runs `pgwarp migrate` with args (the arguments after "migrate")
// and returns the exit code: 0 on success, 1 when status --exit-code finds
// pending migrations, verify finds an edited or missing file, or lint finds
// errors, 2 on any error.
func Migrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := &migrateFlags{
		url: os.Getenv("DATABASE_URL"), dir: os.Getenv("DBMATE_MIGRATIONS_DIR"),
		waitTimeout: 60 * time.Second, lockTimeout: 5 * time.Second, txTimeout: 20 * time.Second,
		stmtTimeout: 15 * time.Minute, lockWait: 5 * time.Minute,
	}
	global := flag.NewFlagSet("pgwarp migrate", flag.ContinueOnError)
	f.registerCommon(global)
	global.SetOutput(io.Discard)
	global.Usage = migrateUsage(stderr, global)
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			global.Usage()
			return exitOK
		}
		fmt.Fprintln(stderr, "pgwarp migrate:", err)
		global.Usage()
		return exitError
	}
	if global.NArg() == 0 {
		global.Usage()
		return exitError
	}
	sub := global.Arg(0)
	if sub == "down" {
		sub = "rollback"
	}
	known := false
	for _, c := range migrateCommands {
		known = known || c.name == sub
	}
	if !known {
		fmt.Fprintf(stderr, "pgwarp migrate: unknown command %q\n\n", sub)
		global.Usage()
		return exitError
	}
	fs := flag.NewFlagSet("pgwarp migrate "+sub, flag.ContinueOnError)
	f.registerCommon(fs)
	f.registerFor(fs, sub)
	fs.SetOutput(stderr)
	if err := fs.Parse(global.Args()[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitError
	}
	return f.run(ctx, sub, fs.Args(), stdout, stderr)
}

func (f *migrateFlags) config(stdout io.Writer) migrations.Config {
	cfg := migrations.Config{
		URL: f.url, Log: stdout, DryRun: f.dryRun, NoLint: f.noLint,
		LockTimeout: f.lockTimeout, TransactionTimeout: f.txTimeout, StatementTimeout: f.stmtTimeout, LockWait: f.lockWait,
	}
	if f.dir != "" {
		cfg.Migrations = os.DirFS(f.dir)
	}
	return cfg
}

func (f *migrateFlags) run(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) int {
	switch sub {
	case "new":
		return f.runNew(args, stdout, stderr)
	case "lint":
		return f.runLint(stdout, stderr)
	}
	if len(args) > 0 && sub != "dump" {
		fmt.Fprintf(stderr, "pgwarp migrate %s: unexpected arguments %q\n", sub, args)
		return exitError
	}
	r, err := migrations.New(f.config(stdout))
	if err != nil {
		return fail(stderr, err)
	}
	if f.wait || sub == "wait" {
		wctx, cancel := context.WithTimeout(ctx, f.waitTimeout)
		err := r.Wait(wctx)
		cancel()
		if err != nil || sub == "wait" {
			if err != nil {
				return fail(stderr, err)
			}
			return exitOK
		}
	}
	switch sub {
	case "up", "migrate":
		apply := r.Up
		if sub == "migrate" {
			apply = r.Migrate
		}
		if _, err := apply(ctx); err != nil {
			return fail(stderr, err)
		}
	case "rollback":
		if _, err := r.Rollback(ctx); err != nil {
			return fail(stderr, err)
		}
	case "status":
		return f.runStatus(ctx, r, stdout, stderr)
	case "dump":
		return f.runDump(ctx, r, args, stdout, stderr)
	case "verify":
		return runVerify(ctx, r, stdout, stderr)
	}
	return exitOK
}

func (f *migrateFlags) runNew(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: pgwarp migrate --dir DIR new NAME")
		return exitError
	}
	if f.dir == "" {
		return fail(stderr, errors.New("new writes into a directory: pass --dir (or set DBMATE_MIGRATIONS_DIR); the bundled migrations are read-only"))
	}
	path, err := migrations.NewFile(f.dir, args[0], time.Now())
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "Creating migration: %s\n", path)
	return exitOK
}

func (f *migrateFlags) runLint(stdout, stderr io.Writer) int {
	cfg := f.config(stdout)
	fsys := cfg.Migrations
	if fsys == nil {
		fsys = migrations.Bundled()
	}
	migs, err := migrations.Load(fsys)
	if err != nil {
		return fail(stderr, err)
	}
	findings := lint.Check(migrations.LintFiles(migs))
	for _, fd := range findings {
		fmt.Fprintln(stdout, fd)
	}
	errs := lint.CountErrors(findings)
	fmt.Fprintf(stdout, "%d files, %d errors, %d warnings\n", len(migs), errs, len(findings)-errs)
	if errs > 0 || f.failOnWarn && len(findings) > 0 {
		return exitFound
	}
	return exitOK
}

func (f *migrateFlags) runStatus(ctx context.Context, r *migrations.Runner, stdout, stderr io.Writer) int {
	st, err := r.Status(ctx)
	if err != nil {
		return fail(stderr, err)
	}
	if !f.quiet {
		if err := migrations.WriteStatus(stdout, st); err != nil {
			return fail(stderr, err)
		}
	}
	if (f.exitCode || f.quiet) && migrations.Pending(st) > 0 {
		return exitFound
	}
	return exitOK
}

func (f *migrateFlags) runDump(ctx context.Context, r *migrations.Runner, extra []string, stdout, stderr io.Writer) int {
	schema, err := r.Dump(ctx, extra...)
	if err != nil {
		return fail(stderr, err)
	}
	if f.schemaFile == "" {
		if _, err := stdout.Write(schema); err != nil {
			return fail(stderr, err)
		}
		return exitOK
	}
	fmt.Fprintf(stdout, "Writing: %s\n", f.schemaFile)
	if err := os.MkdirAll(filepath.Dir(f.schemaFile), 0o755); err != nil {
		return fail(stderr, fmt.Errorf("creating the schema file's directory: %w", err))
	}
	if err := os.WriteFile(f.schemaFile, schema, 0o644); err != nil {
		return fail(stderr, fmt.Errorf("writing the schema file: %w", err))
	}
	return exitOK
}

func runVerify(ctx context.Context, r *migrations.Runner, stdout, stderr io.Writer) int {
	rep, err := r.Verify(ctx)
	if err != nil {
		return fail(stderr, err)
	}
	short := func(s string) string {
		if len(s) > 12 {
			return s[:12]
		}
		return s
	}
	for _, e := range rep.Entries {
		line := fmt.Sprintf("%-10s %s", e.State, e.File)
		switch e.State {
		case migrations.VerifyModified:
			line += fmt.Sprintf(" (applied sha256 %s…, file now %s…)", short(e.Recorded), short(e.Current))
		case migrations.VerifyMissingFile:
			if e.File == "" {
				line = fmt.Sprintf("%-10s %s", e.State, e.Version)
			}
			line += " (applied, but no migration file has this version)"
		case migrations.VerifyUnrecorded:
			line += " (applied by another tool: no checksum to compare)"
		}
		fmt.Fprintln(stdout, line)
	}
	problems := rep.Problems()
	fmt.Fprintf(stdout, "\nVerified: %d\nProblems: %d\n", len(rep.Entries), len(problems))
	if len(problems) > 0 {
		names := make([]string, len(problems))
		for i, p := range problems {
			names[i] = p.Version
		}
		fmt.Fprintf(stderr, "Error: applied migrations differ from their files: %s\n", strings.Join(names, ", "))
		return exitFound
	}
	return exitOK
}
