package relations

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Keyword starts a relation line in a column comment.
const Keyword = "references"

// Ref is the target of a relation as a comment names it.
type Ref struct {
	// Schema is empty when the comment names table.column: the target is
	// in the referencing table's schema.
	Schema string
	Table  string
	Column string
}

// Line returns the comment line that documents a relation to r, quoting
// names only where SQL would need it.
func (r Ref) Line() string {
	parts := []string{r.Table, r.Column}
	if r.Schema != "" {
		parts = append([]string{r.Schema}, parts...)
	}
	for i, p := range parts {
		parts[i] = quoteName(p)
	}
	return Keyword + " " + strings.Join(parts, ".")
}

var plainName = regexp.MustCompile(`^[a-z_][a-z0-9_$]*$`)

func quoteName(s string) string {
	if plainName.MatchString(s) {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// ErrMalformed is wrapped by every error of [ParseComment].
var ErrMalformed = errors.New("malformed relation line")

// ParseComment finds the relation line of a column comment. ok is false
// when the comment documents no relation.
func ParseComment(comment string) (ref Ref, ok bool, err error) {
	for _, line := range strings.Split(comment, "\n") {
		line = strings.Trim(line, " \t\r\f\v")
		word, rest := line, ""
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			word, rest = line[:i], line[i:]
		}
		if !strings.EqualFold(word, Keyword) {
			continue
		}
		if ok {
			return Ref{}, false, fmt.Errorf("%w: more than one %q line in one comment", ErrMalformed, Keyword)
		}
		parts, perr := parseNames(strings.Trim(rest, " \t"))
		if perr != nil {
			return Ref{}, false, fmt.Errorf("%w %q: %v (want %q or %q)", ErrMalformed, line, perr,
				Keyword+" table.column", Keyword+" schema.table.column")
		}
		switch len(parts) {
		case 2:
			ref = Ref{Table: parts[0], Column: parts[1]}
		case 3:
			ref = Ref{Schema: parts[0], Table: parts[1], Column: parts[2]}
		default:
			return Ref{}, false, fmt.Errorf("%w %q: the target has %d name parts (want %q or %q)", ErrMalformed, line, len(parts),
				Keyword+" table.column", Keyword+" schema.table.column")
		}
		ok = true
	}
	return ref, ok, nil
}

// parseNames splits a dotted chain of SQL names, folding unquoted ones to
// lower case.
func parseNames(s string) ([]string, error) {
	if s == "" {
		return nil, errors.New("no target column")
	}
	var parts []string
	for {
		var name string
		switch {
		case s[0] == '"':
			var b strings.Builder
			i := 1
			for {
				j := strings.IndexByte(s[i:], '"')
				if j < 0 {
					return nil, errors.New("unterminated quoted name")
				}
				b.WriteString(s[i : i+j])
				i += j + 1
				if i < len(s) && s[i] == '"' {
					b.WriteByte('"')
					i++
					continue
				}
				break
			}
			name, s = b.String(), s[i:]
			if name == "" {
				return nil, errors.New("empty quoted name")
			}
		case isNameStart(s[0]):
			i := 1
			for i < len(s) && (isNameStart(s[i]) || s[i] >= '0' && s[i] <= '9' || s[i] == '$') {
				i++
			}
			name, s = strings.ToLower(s[:i]), s[i:]
		default:
			return nil, fmt.Errorf("unexpected %q", s)
		}
		parts = append(parts, name)
		if s == "" {
			return parts, nil
		}
		if s[0] != '.' || len(s) == 1 {
			return nil, fmt.Errorf("unexpected %q after %q", s, name)
		}
		s = s[1:]
	}
}

func isNameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}
