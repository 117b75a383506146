// Command pgwarp is a PostgreSQL wire-protocol gateway: a pooling proxy with a
// read cache and query policies, plus the bundled schema's migration runner.
//
// Run `pgwarp help` for the subcommands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand of the pgwarp binary. Each lives in its own file
// and registers itself from init.
type command struct {
	name    string
	summary string
	// run executes the command with the arguments after its name and
	// returns the process exit code. ctx is cancelled on SIGINT/SIGTERM
	// unless the command handles signals itself (handlesSignals).
	run            func(ctx context.Context, args []string) int
	handlesSignals bool
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("BUG: pgwarp command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(runMain(os.Args[1:]))
}

func runMain(args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "pgwarp: unknown command %q\n\n", args[0])
		usage()
		return 2
	}
	ctx := context.Background()
	if !c.handlesSignals {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	return c.run(ctx, args[1:])
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: pgwarp <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun `pgwarp <command> -h` for a command's flags.")
}

func init() {
	register(&command{name: "version", summary: "print the version", run: func(context.Context, []string) int {
		fmt.Println("pgwarp", version)
		return 0
	}})
}
