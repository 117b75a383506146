package pgtest

import (
	"bytes"
	"runtime"
	"strings"
	"time"
)

// leakPrefix marks a goroutine as pgwarp's: its stack has a frame of one
// of pgwarp's packages.
const leakPrefix = "github.com/pgwarp/pgwarp/"

// Leaked returns the stacks of pgwarp goroutines still running, other than
// the caller's, after waiting up to wait for them to end. Once a test
// binary's tests are over every goroutine pgwarp started must have ended:
// each has an owner that stops it (a server's Shutdown, a pool's Close, a
// cache's Close), so one that is left is a leak.
func Leaked(wait time.Duration) []string {
	deadline := time.Now().Add(wait)
	for {
		left := pgwarpGoroutines()
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pgwarpGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var left []string
	// The first stack is the caller's own.
	for i, g := range bytes.Split(buf, []byte("\n\n")) {
		if i == 0 {
			continue
		}
		s := string(g)
		if !strings.Contains(s, leakPrefix) || ignorable(s) {
			continue
		}
		left = append(left, s)
	}
	return left
}

// ignorable reports goroutines that outlive tests by design: none for now
// beyond the runtime's own, which have no pgwarp frame.
func ignorable(stack string) bool {
	return false
}
