package cache

import (
	"bytes"
	"fmt"
)

// MaxInvalidationBytes is the largest encoded [Invalidation]: PostgreSQL
// rejects a NOTIFY payload of 8000 bytes or more
// (https://www.postgresql.org/docs/current/sql-notify.html).
const MaxInvalidationBytes = 7999

// invalidationHeader starts every message and versions the format;
// invalidationHeaderKeyed starts the messages that carry row-keyed writes.
const (
	invalidationHeader      = "pgwarp-invalidate/1"
	invalidationHeaderKeyed = "pgwarp-invalidate/2"
)

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
	// Tables are the tables written; empty (with no Writes) means the
	// whole database.
	Tables []TableID
	// Writes are writes narrowed by row keys (see [Write]), for
	// [Cache.InvalidateWrites]. A Write whose Columns are nil counts as a
	// whole table.
	Writes []Write
}

// Messages with Writes use version 2 of the format:
//
//	pgwarp-invalidate/2 <origin> <database> t:<table> ... k:<table>:<column>:<value> ...
//
// with every whole table (t:) before the keyed fields (k:), one keyed field
// per value, and the fields of one write, and of one of its columns, next to
// each other. In the parts of t: and k: fields ':' is escaped too (%3A).

// MarshalText encodes m. If the tables do not fit in [MaxInvalidationBytes],
// it encodes a whole-database invalidation instead, which invalidates a
// superset, so a large write is never under-invalidated. It fails only if
// the database is empty or the origin and database alone do not fit.
func (m Invalidation) MarshalText() ([]byte, error) {
	if m.Database == "" {
		return nil, fmt.Errorf("%w: empty database", ErrBadInvalidation)
	}
	if len(m.Writes) > 0 {
		return m.marshalKeyed()
	}
	b := m.appendHeader(make([]byte, 0, 64), invalidationHeader)
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

// appendHeader appends the fields every message starts with: the format
// header, the origin ("-" when empty) and the database.
func (m Invalidation) appendHeader(b []byte, header string) []byte {
	b = append(b, header...)
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
	return appendEscaped(b, m.Database)
}

// marshalKeyed encodes a message with Writes (version 2), or, when it does
// not fit, the same message with each write widened to its whole table.
func (m Invalidation) marshalKeyed() ([]byte, error) {
	whole := append([]TableID(nil), m.Tables...)
	var keyed []Write
	for _, w := range m.Writes {
		var cols []ColumnValues
		for _, cv := range w.Columns {
			if len(cv.Values) > 0 { // a column with no values says nothing safe
				cols = append(cols, cv)
			}
		}
		if len(cols) == 0 {
			whole = append(whole, w.Table)
			continue
		}
		keyed = append(keyed, Write{Table: w.Table, Columns: cols})
	}
	widened := Invalidation{Origin: m.Origin, Database: m.Database, Tables: whole}
	for _, w := range keyed {
		widened.Tables = append(widened.Tables, w.Table)
	}
	if len(keyed) == 0 {
		return widened.MarshalText()
	}
	b := m.appendHeader(make([]byte, 0, 128), invalidationHeaderKeyed)
	for _, t := range whole {
		if t == "" {
			return nil, fmt.Errorf("%w: empty table", ErrBadInvalidation)
		}
		b = append(b, " t:"...)
		b = appendEscapedPart(b, string(t))
	}
	for _, w := range keyed {
		if w.Table == "" {
			return nil, fmt.Errorf("%w: empty table", ErrBadInvalidation)
		}
		for _, cv := range w.Columns {
			if cv.Column == "" {
				return nil, fmt.Errorf("%w: empty column", ErrBadInvalidation)
			}
			for _, v := range cv.Values {
				b = append(b, " k:"...)
				b = appendEscapedPart(b, string(w.Table))
				b = append(b, ':')
				b = appendEscapedPart(b, cv.Column)
				b = append(b, ':')
				b = appendEscapedPart(b, v)
			}
		}
	}
	if len(b) > MaxInvalidationBytes {
		return widened.MarshalText()
	}
	return b, nil
}

// appendEscapedPart escapes one part of a t: or k: field: as appendEscaped,
// and ':' too.
func appendEscapedPart(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if plain(c) && c != ':' {
			b = append(b, c)
		} else {
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&0xF])
		}
	}
	return b
}

// plainPart reports whether c is written as itself in a part of a t: or k:
// field.
func plainPart(c byte) bool { return plain(c) && c != ':' }

// unescapePart decodes one non-empty part of a t: or k: field strictly.
func unescapePart(part []byte) (string, error) {
	s, err := unescapeWith(part, plainPart)
	if err == nil && s == "" {
		err = fmt.Errorf("empty part")
	}
	return s, err
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
	keyedFormat := false
	if !ok {
		if rest, ok = bytes.CutPrefix(text, []byte(invalidationHeaderKeyed+" ")); !ok {
			return fmt.Errorf("%w: does not start with %q", ErrBadInvalidation, invalidationHeader+" ")
		}
		keyedFormat = true
	}
	var out Invalidation
	sawKeyed := false
	for i, more := 0, true; more; i++ {
		var field []byte
		field, rest, more = bytes.Cut(rest, []byte{' '})
		if i >= 2 && keyedFormat {
			if err := out.decodeKeyedField(field, &sawKeyed); err != nil {
				return fmt.Errorf("%w: field %d: %v", ErrBadInvalidation, i+1, err)
			}
			continue
		}
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
	}
	if out.Database == "" {
		return fmt.Errorf("%w: no database", ErrBadInvalidation)
	}
	if keyedFormat && len(out.Writes) == 0 {
		return fmt.Errorf("%w: a version 2 message without keyed writes", ErrBadInvalidation)
	}
	*m = out
	return nil
}

// decodeKeyedField decodes one t: or k: field of a version 2 message into
// m, grouping consecutive k: fields of one table into one Write and of one
// column into one ColumnValues. t: fields must come first.
func (m *Invalidation) decodeKeyedField(field []byte, sawKeyed *bool) error {
	switch {
	case bytes.HasPrefix(field, []byte("t:")):
		if *sawKeyed {
			return fmt.Errorf("t: after k:")
		}
		t, err := unescapePart(field[2:])
		if err != nil {
			return err
		}
		m.Tables = append(m.Tables, TableID(t))
		return nil
	case bytes.HasPrefix(field, []byte("k:")):
		parts := bytes.Split(field[2:], []byte{':'})
		if len(parts) != 3 {
			return fmt.Errorf("k: needs table:column:value")
		}
		var s [3]string
		for i, p := range parts {
			var err error
			if s[i], err = unescapePart(p); err != nil {
				return err
			}
		}
		*sawKeyed = true
		table, column, value := TableID(s[0]), s[1], s[2]
		if n := len(m.Writes); n == 0 || m.Writes[n-1].Table != table {
			m.Writes = append(m.Writes, Write{Table: table})
		}
		w := &m.Writes[len(m.Writes)-1]
		if n := len(w.Columns); n == 0 || w.Columns[n-1].Column != column {
			w.Columns = append(w.Columns, ColumnValues{Column: column})
		}
		cv := &w.Columns[len(w.Columns)-1]
		cv.Values = append(cv.Values, value)
		return nil
	}
	return fmt.Errorf("expected t: or k:")
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
func unescape(field []byte) (string, error) { return unescapeWith(field, plain) }

func unescapeWith(field []byte, plain func(byte) bool) (string, error) {
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
