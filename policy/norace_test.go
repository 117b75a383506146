//go:build !race

package policy_test

// raceEnabled is true when the race detector, which allocates on its own,
// instruments the test binary.
const raceEnabled = false
