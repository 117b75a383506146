package cache

import (
	"bytes"
	"fmt"
)

// MaxInvalidationBytes is the largest encoded [Invalidation]: PostgreSQL
// rejects a NOTIFY payload of 8000 bytes or more
// (https://www.postgresql.org/docs/current/sql-notify.html).
const MaxInvalidationBytes = 7999

// invalidationHeader starts every message and versions the format.
const invalidationHeader = "pgwarp-invalidate/1"

// Invalidation is the message one pgwarp instance publishes with NOTIFY so
// that the others call [Cache.Invalidate] (or [Cache.InvalidateDatabase] when
// Tables is empty) for a write they did not see.
//
// The encoding is one line of printable ASCII, safe as a NOTIFY payload in any
// server encoding:
//
//	pgwarp-invalidate/1 <origin> <database> [<table> ...]
//
// Fields are separated by one space. In every field the bytes outside '!'
// through '~', and '%' itself, are written as '%' and two upper-case hex
// digits, except that an empty origin is written "-" and an origin of exactly
// "-" as "%2D". The database and tables are never empty. The encoding is canonical:
// each message has exactly one encoding, and the decoder rejects every other
// spelling.
type Invalidation struct {
	// Origin identifies the publishing instance so it can ignore its own
	// messages; it may be empty.
	Origin string
	// Database is the database written to.
	Database string
	// Tables are the tables written; empty means the whole database.
	Tables []TableID
}

// MarshalText encodes m. If the tables do not fit in [MaxInvalidationBytes],
// it encodes a whole-database invalidation instead, which invalidates a
// superset, so a large write is never under-invalidated. It fails only if
// the database is empty or the origin and database alone do not fit.
func (m Invalidation) MarshalText() ([]byte, error) {
	if m.Database == "" {
		return nil, fmt.Errorf("%w: empty database", ErrBadInvalidation)
	}
	b := make([]byte, 0, 64)
	b = append(b, invalidationHeader...)
	b = append(b, ' ')
	switch m.Origin {
	case "":
		b = append(b, '-')
	case "-":
		b = append(b, "%2D"...)
	default:
		b = appendEscaped(b, m.Origin)
	}
	b = append(b, ' ')
	b = appendEscaped(b, m.Database)
	if len(b) > MaxInvalidationBytes {
		return nil, fmt.Errorf("%w: origin and database take %d bytes, more than %d", ErrBadInvalidation, len(b), MaxInvalidationBytes)
	}
	whole := len(b)
	for _, t := range m.Tables {
		if t == "" {
			return nil, fmt.Errorf("%w: empty table", ErrBadInvalidation)
		}
		b = append(b, ' ')
		b = appendEscaped(b, string(t))
		if len(b) > MaxInvalidationBytes {
			return b[:whole], nil
		}
	}
	return b, nil
}

// UnmarshalText decodes a message produced by [Invalidation.MarshalText]. The
// text comes from the network (any database user can NOTIFY on the channel),
// so it is checked strictly; every error wraps [ErrBadInvalidation]. The
// decoded message does not retain text.
func (m *Invalidation) UnmarshalText(text []byte) error {
	if len(text) > MaxInvalidationBytes {
		return fmt.Errorf("%w: %d bytes, more than %d", ErrBadInvalidation, len(text), MaxInvalidationBytes)
	}
	rest, ok := bytes.CutPrefix(text, []byte(invalidationHeader+" "))
	if !ok {
		return fmt.Errorf("%w: does not start with %q", ErrBadInvalidation, invalidationHeader+" ")
	}
	var out Invalidation
	for i := 0; ; i++ {
		field, tail, more := bytes.Cut(rest, []byte{' '})
		rest = tail
		var s string
		switch {
		case i == 0 && string(field) == "-":
			s = ""
		case i == 0 && string(field) == "%2D":
			s = "-"
		default:
			var err error
			if s, err = unescape(field); err != nil {
				return fmt.Errorf("%w: field %d: %v", ErrBadInvalidation, i+1, err)
			}
			if s == "" {
				return fmt.Errorf("%w: field %d is empty", ErrBadInvalidation, i+1)
			}
		}
		switch i {
		case 0:
			out.Origin = s
		case 1:
			out.Database = s
		default:
			out.Tables = append(out.Tables, TableID(s))
		}
		if !more {
			break
		}
	}
	if out.Database == "" {
		return fmt.Errorf("%w: no database", ErrBadInvalidation)
	}
	*m = out
	return nil
}

const hexDigits = "0123456789ABCDEF"

// plain reports whether c is written as itself.
func plain(c byte) bool { return c > ' ' && c <= '~' && c != '%' }

func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if plain(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&0xF])
		}
	}
	return b
}

// unescape decodes one field and rejects every non-canonical spelling: bad or
// lower-case hex, and escapes of bytes that are written as themselves.
func unescape(field []byte) (string, error) {
	out := make([]byte, 0, len(field))
	for i := 0; i < len(field); i++ {
		c := field[i]
		switch {
		case c == '%':
			if i+2 >= len(field) {
				return "", fmt.Errorf("truncated escape at byte %d", i)
			}
			hi, lo := unhex(field[i+1]), unhex(field[i+2])
			if hi < 0 || lo < 0 {
				return "", fmt.Errorf("bad escape %q at byte %d", field[i:i+3], i)
			}
			d := byte(hi<<4 | lo)
			if plain(d) {
				return "", fmt.Errorf("needless escape %q at byte %d", field[i:i+3], i)
			}
			out = append(out, d)
			i += 2
		case plain(c):
			out = append(out, c)
		default:
			return "", fmt.Errorf("unescaped byte 0x%02X at byte %d", c, i)
		}
	}
	return string(out), nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	default:
		return -1
	}
}
