package query

import (
	"slices"
	"strings"
)

// SearchPath is a session's search_path, ready for name resolution: the
// schemas PostgreSQL searches for an unqualified relation or function name,
// in order. The temporary schema (pg_temp) and pg_catalog are searched
// implicitly, before the listed schemas, unless the path lists them; the
// temporary schema is never searched for functions or operators. The zero
// value holds only the implicit schemas.
type SearchPath struct {
	relations []string
	functions []string
	creation  string
}

// ParseSearchPath reads the value of the search_path setting (as SHOW
// search_path prints it, such as `"$user", public`) for the session user
// user, with the rules of PostgreSQL's SplitIdentifierString: elements are
// separated by commas, unquoted ones are folded to lower case, and "$user"
// stands for the user's name. Elements that are not valid identifiers are
// skipped.
func ParseSearchPath(setting, user string) SearchPath {
	var listed []string
	explicitTemp, explicitCatalog := false, false
	for _, e := range splitIdentifiers(setting) {
		if e == "$user" {
			if user == "" {
				continue
			}
			e = user
		}
		switch e {
		case "pg_temp":
			explicitTemp = true
		case "pg_catalog":
			explicitCatalog = true
		}
		listed = append(listed, e)
	}
	var p SearchPath
	if !explicitTemp {
		p.relations = append(p.relations, "pg_temp")
	}
	if !explicitCatalog {
		p.relations = append(p.relations, "pg_catalog")
		p.functions = append(p.functions, "pg_catalog")
	}
	p.relations = append(p.relations, listed...)
	for _, s := range listed {
		if s != "pg_temp" {
			p.functions = append(p.functions, s)
		}
	}
	if len(listed) > 0 {
		p.creation = listed[0]
	}
	return p
}

// DefaultSearchPath is PostgreSQL's default search_path, `"$user", public`,
// for user.
func DefaultSearchPath(user string) SearchPath {
	return ParseSearchPath(`"$user", public`, user)
}

// RelationSchemas returns the schemas searched for an unqualified relation
// name, in order, "pg_temp" standing for the session's temporary schema.
// The caller must not modify the slice.
func (p SearchPath) RelationSchemas() []string {
	if p.relations == nil {
		return implicitRelationSchemas
	}
	return p.relations
}

// FunctionSchemas returns the schemas searched for an unqualified function
// or operator name, in order. The caller must not modify the slice.
func (p SearchPath) FunctionSchemas() []string {
	if p.functions == nil && p.relations == nil {
		return implicitFunctionSchemas
	}
	return p.functions
}

// CreationSchema returns the schema in which CREATE puts an unqualified new
// object: the first listed schema. It is "pg_temp" when the path starts
// with pg_temp, in which case the new object is temporary, and empty when
// the path lists no schema. (PostgreSQL skips listed schemas that do not
// exist; this does not know which exist.)
func (p SearchPath) CreationSchema() string { return p.creation }

// equal reports whether p and q resolve every name alike.
func (p SearchPath) equal(q SearchPath) bool {
	return p.creation == q.creation && slices.Equal(p.relations, q.relations) && slices.Equal(p.functions, q.functions)
}

// String returns the schemas searched for relations, comma-separated.
func (p SearchPath) String() string { return strings.Join(p.RelationSchemas(), ", ") }

var (
	implicitRelationSchemas = []string{"pg_temp", "pg_catalog"}
	implicitFunctionSchemas = []string{"pg_catalog"}
)

// splitIdentifiers splits a comma-separated list of identifiers the way
// SplitIdentifierString does, skipping malformed elements.
func splitIdentifiers(s string) []string {
	var out []string
	i := 0
	for i < len(s) {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			break
		}
		var name string
		ok := true
		if s[i] == '"' {
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(s[i])
				i++
			}
			name = b.String()
			ok = closed && name != ""
		} else {
			start := i
			for i < len(s) && s[i] != ',' && !isSpace(s[i]) {
				i++
			}
			name = foldIdent(s[start:i])
			ok = name != ""
		}
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i < len(s) && s[i] != ',' {
			// Junk after an element: skip to the next comma.
			ok = false
			for i < len(s) && s[i] != ',' {
				i++
			}
		}
		if i < len(s) {
			i++ // the comma
		}
		if ok {
			out = append(out, name)
		}
	}
	return out
}

// foldIdent folds ASCII letters to lower case, as PostgreSQL does for
// unquoted identifiers.
func foldIdent(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// quoteIdent quotes name as an SQL identifier unless it consists of lower
// case letters, digits and underscores and does not start with a digit.
// Unlike PostgreSQL's quote_identifier it does not quote keywords, which
// only matters where a keyword is parsed as a keyword, not in
// search_path-like lists.
func quoteIdent(name string) string {
	safe := name != "" && !isDigit(name[0])
	for i := 0; safe && i < len(name); i++ {
		c := name[i]
		safe = c >= 'a' && c <= 'z' || isDigit(c) || c == '_'
	}
	if safe {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
