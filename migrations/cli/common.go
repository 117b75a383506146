package cli

import (
	"fmt"
	"io"
	"regexp"
)

// Exit codes shared by the commands, as dbmate uses them.
const (
	exitOK = 0
	// exitFound means the command ran and found what it reports as a
	// problem: pending migrations with --exit-code, an edited migration,
	// lint errors, orphan rows.
	exitFound = 1
	// exitError means the command could not do its job, or was misused.
	exitError = 2
)

var passwordInURL = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)[^@\s]*@`)

// redact hides the password of any URL in s.
func redact(s string) string { return passwordInURL.ReplaceAllString(s, "${1}********@") }

// fail prints err as dbmate prints errors and returns the error exit code.
func fail(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "Error: %s\n", redact(err.Error()))
	return exitError
}
