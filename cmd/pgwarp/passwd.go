package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pgwarp/pgwarp/proxy"
)

func init() {
	register(&command{name: "passwd", summary: "print a SCRAM-SHA-256 verifier for a password (read from stdin)", run: runPasswd})
}

// runPasswd reads a password from the first line of stdin and prints the
// SCRAM-SHA-256 verifier to store in pgwarp.yaml (auth.users[].password),
// so that the plaintext never appears in the file.
func runPasswd(_ context.Context, args []string) int {
	if len(args) > 0 {
		fmt.Fprintf(os.Stderr, "usage: pgwarp passwd < file-with-the-password   (or: printf '%%s' \"$PASSWORD\" | pgwarp passwd)\n")
		return 2
	}
	return passwd(os.Stdin, os.Stdout, os.Stderr)
}

func passwd(in io.Reader, out, errw io.Writer) int {
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && err != io.EOF {
		fmt.Fprintln(errw, "pgwarp passwd:", err)
		return 1
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		fmt.Fprintln(errw, "pgwarp passwd: empty password on stdin")
		return 1
	}
	v, err := proxy.SCRAMVerifier(pw)
	if err != nil {
		fmt.Fprintln(errw, "pgwarp passwd:", err)
		return 1
	}
	fmt.Fprintln(out, v)
	return 0
}
