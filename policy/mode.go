package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// Mode says what pgwarp does when a statement crosses a limit.
type Mode uint8

const (
	// ModeEnforce stops the statement or transaction that crosses a limit and
	// sends the client an ErrorResponse. It is the zero Mode and the default.
	ModeEnforce Mode = iota
	// ModeWarn lets the statement run to completion and only records the
	// violation (counters and [Engine.OnViolation]), so that a team can
	// measure what enforcing would break before it enforces.
	ModeWarn
	// ModeOff disables every limit: [Engine.Check] returns no limits and
	// nothing is counted.
	ModeOff

	numModes
)

// String returns the configuration spelling of m: "enforce", "warn" or "off".
func (m Mode) String() string {
	switch m {
	case ModeEnforce:
		return "enforce"
	case ModeWarn:
		return "warn"
	case ModeOff:
		return "off"
	default:
		return "Mode(" + strconv.Itoa(int(m)) + ")"
	}
}

// ParseMode returns the Mode spelled s ("enforce", "warn" or "off", in any
// letter case, surrounding spaces ignored).
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "enforce":
		return ModeEnforce, nil
	case "warn":
		return ModeWarn, nil
	case "off":
		return ModeOff, nil
	default:
		return 0, fmt.Errorf("policy: mode %q is not one of enforce, warn, off", s)
	}
}

// MarshalText implements [encoding.TextMarshaler] with the spelling of
// [Mode.String].
func (m Mode) MarshalText() ([]byte, error) {
	if m >= numModes {
		return nil, fmt.Errorf("policy: cannot marshal invalid %s", m)
	}
	return []byte(m.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseMode], so
// that a YAML or flag decoder can fill a Mode directly.
func (m *Mode) UnmarshalText(text []byte) error {
	v, err := ParseMode(string(text))
	if err != nil {
		return err
	}
	*m = v
	return nil
}
