package pgdate

import (
	"testing"
	"time"
)

// Every canonical day round-trips, and agrees with the time package's
// calendar; other spellings are refused.
func TestParseAndFormat(t *testing.T) {
	for days := Min; days <= Max; days += 17 {
		s, ok := Format(days)
		if !ok {
			t.Fatalf("Format(%d) refused", days)
		}
		back, ok := Parse(s)
		if !ok || back != days {
			t.Fatalf("Parse(%q) = %d, %v; want %d", s, back, ok, days)
		}
		if want := time.Unix(days*86400, 0).UTC().Format("2006-01-02"); s != want {
			t.Fatalf("Format(%d) = %q, time says %q", days, s, want)
		}
	}
	if got, _ := Format(PostgresEpoch); got != "2000-01-01" {
		t.Errorf("PostgresEpoch is %q", got)
	}
	for _, s := range []string{"0000-01-01", "2023-02-29", "2026-13-01", "2026-06-31", " 2026-06-30", "2026-6-30",
		"20260630", "today", "2026-06-3x", "+026-06-30", ""} {
		if d, ok := Parse(s); ok {
			t.Errorf("Parse(%q) = %d, want refused", s, d)
		}
	}
	if _, ok := Format(Min - 1); ok {
		t.Error("Format before year 1 accepted")
	}
	if _, ok := Format(Max + 1); ok {
		t.Error("Format after year 9999 accepted")
	}
}
