package lint

import (
	"strings"

	"github.com/pgwarp/pgwarp/migrations/sqlscan"
)

// tokens is a statement's token list with the small matchers the rules
// need.
type tokens []sqlscan.Token

// words reports whether the tokens from i on are the given keywords.
func (ts tokens) words(i int, ws ...string) bool {
	if i+len(ws) > len(ts) {
		return false
	}
	for k, w := range ws {
		if !ts[i+k].Is(w) {
			return false
		}
	}
	return true
}

// skip returns the index after the keyword sequence ws if it is at i, and i
// otherwise.
func (ts tokens) skip(i int, ws ...string) int {
	if ts.words(i, ws...) {
		return i + len(ws)
	}
	return i
}

// find returns the index of the first keyword w at parenthesis depth 0 from
// i on, or -1.
func (ts tokens) find(i int, w string) int {
	depth := 0
	for ; i < len(ts); i++ {
		switch {
		case ts[i].IsPunct("("):
			depth++
		case ts[i].IsPunct(")"):
			depth--
		case depth == 0 && ts[i].Is(w):
			return i
		}
	}
	return -1
}

// qualName is a possibly schema-qualified object name.
type qualName []string

// key identifies a table regardless of its schema: the linter follows names,
// not search paths.
func (q qualName) key() string {
	if len(q) == 0 {
		return ""
	}
	return q[len(q)-1]
}

func (q qualName) String() string { return strings.Join(q, ".") }

// name parses a qualified name at i and returns it with the index after it.
func (ts tokens) name(i int) (qualName, int, bool) {
	var q qualName
	for i < len(ts) && ts[i].IsName() {
		q = append(q, ts[i].Value)
		if i+2 < len(ts) && ts[i+1].IsPunct(".") && ts[i+2].IsName() {
			i += 2
			continue
		}
		return q, i + 1, true
	}
	return nil, i, false
}

// parenNames returns the names listed in the parentheses that open at i,
// and the index after the closing parenthesis.
func (ts tokens) parenNames(i int) ([]string, int) {
	if i >= len(ts) || !ts[i].IsPunct("(") {
		return nil, i
	}
	var names []string
	depth := 0
	for ; i < len(ts); i++ {
		switch {
		case ts[i].IsPunct("("):
			depth++
		case ts[i].IsPunct(")"):
			depth--
			if depth == 0 {
				return names, i + 1
			}
		case depth == 1 && ts[i].IsName():
			names = append(names, ts[i].Value)
		}
	}
	return names, i
}

// splitTop splits ts at commas at parenthesis depth 0.
func (ts tokens) splitTop() []tokens {
	var parts []tokens
	depth, start := 0, 0
	for i, t := range ts {
		switch {
		case t.IsPunct("("):
			depth++
		case t.IsPunct(")"):
			depth--
		case depth == 0 && t.IsPunct(","):
			parts = append(parts, ts[start:i])
			start = i + 1
		}
	}
	return append(parts, ts[start:])
}

// parenBody returns the tokens inside the parentheses that open at i and the
// index after the closing one; ok is false when there is no parenthesis at
// i.
func (ts tokens) parenBody(i int) (tokens, int, bool) {
	if i >= len(ts) || !ts[i].IsPunct("(") {
		return nil, i, false
	}
	depth := 0
	for j := i; j < len(ts); j++ {
		switch {
		case ts[j].IsPunct("("):
			depth++
		case ts[j].IsPunct(")"):
			depth--
			if depth == 0 {
				return ts[i+1 : j], j + 1, true
			}
		}
	}
	return ts[i+1:], len(ts), true
}

// columnConstraintWords end the type of a column definition.
var columnConstraintWords = map[string]bool{
	"constraint": true, "not": true, "null": true, "default": true, "primary": true, "unique": true,
	"check": true, "references": true, "collate": true, "generated": true, "using": true,
}

// typeText renders the tokens of a type name as PostgreSQL would print them
// closely enough to compare: words separated by a blank, punctuation
// attached.
func typeText(ts tokens) string {
	var b strings.Builder
	for i, t := range ts {
		if i > 0 && t.Kind != sqlscan.KindPunct && ts[i-1].Kind != sqlscan.KindPunct {
			b.WriteByte(' ')
		}
		b.WriteString(t.Value)
	}
	return b.String()
}
