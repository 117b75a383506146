package query

// MaxRowsWritten returns an upper bound on the row count the
// CommandComplete of info reports (INSERT 0 n, UPDATE n, DELETE n), or 0
// when pgwarp cannot bound it before the statement runs. The proxy skips
// wrapping an autocommit write in a transaction of its own when the bound
// is within the rows-per-write limit: such a write can never exceed it.
//
// info must be one statement, with no data-modifying WITH, writing one
// ordinary or partitioned table that has no rewrite rules (a rule can
// replace the statement and its count):
//
//   - INSERT … VALUES with n rows is bounded by n, with or without ON
//     CONFLICT (…) DO NOTHING or DO UPDATE (each proposed row inserts or
//     updates at most one row).
//   - UPDATE and DELETE of a table with no inheritance children are
//     bounded by 1 when top-level AND conjuncts of the WHERE clause equate
//     every key column of a strict unique index (valid, immediate, not
//     partial, no expressions, default operator classes, deterministic
//     collations) with a constant: a literal, or a parameter whose type
//     the Parse message left unspecified (and which appears once) or gave
//     as the column's type; or, for a date column, an expression constant
//     within the statement (literals, parameters, casts and built-in
//     operators: date '2026-06-30' - 5, $1::date + 1). No user-defined =,
//     nor any user-defined operator such an expression uses, may be on the
//     search path.
//
// v supplies the parameter types; the values themselves do not matter.
func (c *Catalog) MaxRowsWritten(info *Info, sp SearchPath, v Values) int64 {
	if c == nil || info == nil || info.Err != nil || len(info.Statements) != 1 {
		return 0
	}
	st := &info.Statements[0]
	if st.keys == nil || st.keys.write == nil || st.ModifyingCTE || st.UnknownWrites || len(st.Writes) != 1 {
		return 0
	}
	wp := st.keys.write
	rel := c.resolve(wp.rel, sp)
	if rel == nil || rel.rules || c.resolve(st.Writes[0], sp) != rel ||
		(rel.kind != RelTable && rel.kind != RelPartitionedTable) {
		return 0
	}
	switch {
	case wp.kind == writeInsert && st.Kind == KindInsert:
		return int64(len(wp.rows))
	case (wp.kind == writeUpdate && st.Kind == KindUpdate) || (wp.kind == writeDelete && st.Kind == KindDelete):
		if rel.kind != RelTable || len(rel.children) > 0 || c.userOperator(equalsOperator, sp) ||
			!c.builtinOps(st.keys.argOps, sp) || !c.builtinOps(wp.exprOps, sp) {
			return 0
		}
		for _, key := range rel.uniqueKeys {
			if equatesAll(rel, key, wp.where, &v) {
				return 1
			}
		}
	}
	return 0
}

// equatesAll reports whether where equates every column of key with a
// constant compared as a value of the column's type.
func equatesAll(rel *relation, key []string, where []colArg, v *Values) bool {
	for _, name := range key {
		col := rel.column(name)
		if col == nil {
			return false
		}
		found := false
		for _, ca := range where {
			if ca.col == name && constantOfColumn(col, ca.arg, v) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return len(key) > 0
}

// constantOfColumn reports whether a is a constant whose comparison with
// col cannot match two distinct stored values: a literal (an untyped
// string takes the column's type; a number compares after an injective
// cast of the column, or the number is cast to the column's type), or a
// parameter typed as the column (or left to the server's inference from
// its only use).
func constantOfColumn(col *column, a keyArg, v *Values) bool {
	switch {
	case a.expr:
		// A date compares with a date, a timestamp or a timestamptz, each
		// an injective image of the date: one value of the expression
		// matches one stored date at most.
		return col.typ == oidDate
	case a.lit >= 0:
		return int(a.lit) < len(v.Literals)
	case a.param > 0:
		if int(a.param) > len(v.Params) {
			return false
		}
		p := v.Params[a.param-1]
		if p.Type == 0 {
			return !a.shared
		}
		return paramTypeFits(p.Type, col.typ)
	}
	return false
}
