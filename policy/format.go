package policy

import (
	"strconv"
	"time"
)

// sizeUnits are the binary units sizes are written with, largest first.
var sizeUnits = [...]struct {
	name  string
	bytes int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}

// formatSize renders n bytes in configuration syntax: "64MiB" when n is a
// whole number of a binary unit, else the plain number.
func formatSize(n int64) string {
	for _, u := range sizeUnits {
		if n >= u.bytes && n%u.bytes == 0 {
			return strconv.FormatInt(n/u.bytes, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}

// formatSizeText renders n bytes for a message: "64 MiB" or "1000 bytes".
func formatSizeText(n int64) string {
	for _, u := range sizeUnits {
		if n >= u.bytes && n%u.bytes == 0 {
			return strconv.FormatInt(n/u.bytes, 10) + " " + u.name
		}
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// formatDuration renders a limit as configured: whole seconds as "900s"
// rather than Go's "15m0s", anything else as [time.Duration.String].
func formatDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}

// formatElapsed renders a measured duration in seconds with millisecond
// precision, "20.004s", which reads well next to a limit in seconds.
func formatElapsed(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + "s"
}

// batchSize is the chunk size suggested in hints: a tenth of limit, at
// least 1 and at most 1000.
func batchSize(limit int64) int64 {
	return min(1000, max(1, limit/10))
}
