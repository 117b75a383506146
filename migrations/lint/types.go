package lint

import (
	"strconv"
	"strings"
)

// sqlType is a column type reduced to what decides whether changing it
// rewrites the table.
type sqlType struct {
	base  string
	mods  []int
	array bool
	// raw is the normalised text, for messages and equality.
	raw string
}

// typeAliases maps spellings to PostgreSQL's canonical type names.
var typeAliases = map[string]string{
	"character varying": "varchar", "char varying": "varchar",
	"character": "bpchar", "char": "bpchar",
	"int": "integer", "int4": "integer", "serial": "integer", "serial4": "integer",
	"int8": "bigint", "bigserial": "bigint", "serial8": "bigint",
	"int2": "smallint", "smallserial": "smallint", "serial2": "smallint",
	"decimal": "numeric", "bool": "boolean",
	"float8": "double precision", "float": "double precision", "float4": "real",
	"timestamp with time zone": "timestamptz", "timestamp without time zone": "timestamp",
	"time with time zone": "timetz", "time without time zone": "time",
	"bit varying": "varbit",
}

// parseType normalises the text of a type name ("character varying(64)",
// "numeric(12, 2)", "text[]").
func parseType(text string) sqlType {
	s := strings.TrimSpace(strings.ToLower(text))
	t := sqlType{}
	for strings.HasSuffix(s, "[]") {
		t.array = true
		s = strings.TrimSpace(strings.TrimSuffix(s, "[]"))
	}
	base := s
	if open := strings.IndexByte(s, '('); open >= 0 && strings.HasSuffix(s, ")") {
		base = strings.TrimSpace(s[:open])
		for _, m := range strings.Split(s[open+1:len(s)-1], ",") {
			n, err := strconv.Atoi(strings.TrimSpace(m))
			if err != nil {
				t.mods = nil
				break
			}
			t.mods = append(t.mods, n)
		}
	}
	// "timestamp(3) with time zone" puts the modifier in the middle.
	if i := strings.IndexByte(base, '('); i >= 0 {
		if j := strings.IndexByte(base, ')'); j > i {
			if n, err := strconv.Atoi(base[i+1 : j]); err == nil {
				t.mods = []int{n}
			}
			base = strings.Join(strings.Fields(base[:i]+" "+base[j+1:]), " ")
		}
	}
	if a, ok := typeAliases[base]; ok {
		base = a
	}
	t.base = base
	t.raw = base
	if len(t.mods) > 0 {
		parts := make([]string, len(t.mods))
		for i, m := range t.mods {
			parts[i] = strconv.Itoa(m)
		}
		t.raw += "(" + strings.Join(parts, ",") + ")"
	}
	if t.array {
		t.raw += "[]"
	}
	return t
}

// isSerial reports whether a declared type fills itself in.
func isSerial(text string) bool {
	switch strings.ToLower(strings.TrimSpace(text)) {
	case "serial", "serial4", "bigserial", "serial8", "smallserial", "serial2":
		return true
	}
	return false
}

// rewrites reports whether changing a column from old to new rewrites the
// table, following the binary-coercible cases PostgreSQL skips the rewrite
// for (see "ALTER TABLE … SET DATA TYPE" in the PostgreSQL documentation):
// raising or removing a length or precision limit, varchar to text and back
// to unlimited varchar.
func rewrites(old, new sqlType) bool {
	if old.raw == new.raw {
		return false
	}
	if old.array != new.array {
		return true
	}
	loosened := func() bool {
		if len(new.mods) == 0 {
			return true
		}
		if len(old.mods) == 0 || len(old.mods) != len(new.mods) {
			return false
		}
		return new.mods[0] >= old.mods[0]
	}
	switch {
	case old.base == "varchar" && new.base == "text",
		old.base == "text" && new.base == "varchar" && len(new.mods) == 0:
		return false
	case old.base == "varchar" && new.base == "varchar",
		old.base == "varbit" && new.base == "varbit":
		return !loosened()
	case old.base == "numeric" && new.base == "numeric":
		if len(new.mods) == 0 {
			return false
		}
		if len(old.mods) == 0 {
			return true
		}
		// Same scale, no less precision.
		scale := func(t sqlType) int {
			if len(t.mods) >= 2 {
				return t.mods[1]
			}
			return 0
		}
		return scale(old) != scale(new) || new.mods[0] < old.mods[0]
	}
	return true
}
