//go:build !race

package telemetry_test

// raceEnabled reports whether the race detector is on; it adds allocations
// of its own, so allocation counts are only checked without it.
const raceEnabled = false
