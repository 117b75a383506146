package query

import (
	"math"
	"sort"
	"strconv"

	"github.com/pgwarp/pgwarp/internal/pgdate"
)

// TableKey narrows a dependency or a write on a relation to rows by the
// value of one column.
//
// As a read key (from [Catalog.ReadKeys]) it says that the statement
// reads only rows of Relation whose Column equals Values[0]. As a write key
// (in [WriteSet.Keys]) it says that every row the write touched, in its
// old and its new version, has Column equal to one of Values. A cached read
// with read key (T, C, x) is therefore stale after a write of T exactly
// when the write lists T in [WriteSet.Tables], or lists no TableKey for (T,
// C), or lists one whose Values hold x.
type TableKey struct {
	// Relation is the relation, schema-qualified, as
	// [Catalog.ReadDependencies] returns relations.
	Relation Relation
	// Column is the column's name as pg_attribute stores it.
	Column string
	// Values are canonical values of the column: for int2, int4 and int8
	// the decimal integer (-5, 0, 42); for text and varchar the string
	// itself; for uuid the lower-case 8-4-4-4-12 form; for date
	// YYYY-MM-DD (years 1 to 9999). A read key has
	// exactly one; a write key's are distinct.
	Values []string
}

// equalsOperator is the operator of every key predicate.
var equalsOperator = Function{Name: "=", Args: 2, Operator: true}

// readKeyable reports whether reads of rel may be keyed: an ordinary table
// or materialized view outside the system schemas, neither an inheritance
// parent nor child nor partition, without row-level security.
func readKeyable(rel *relation) bool {
	return rel != nil && (rel.kind == RelTable || rel.kind == RelMatView) &&
		len(rel.parents) == 0 && len(rel.children) == 0 && !rel.rowSecurity &&
		rel.uncacheable == "" && !systemSchema(rel.name.Schema) && len(rel.columns) > 0
}

// writeKeyable reports whether writes of rel may be keyed: an ordinary
// table outside the system schemas, neither an inheritance parent nor
// child nor partition, with no user trigger and no rule that could change
// other rows.
func writeKeyable(rel *relation) bool {
	return rel != nil && rel.kind == RelTable && len(rel.parents) == 0 && len(rel.children) == 0 &&
		!rel.triggers && !rel.rules && !systemSchema(rel.name.Schema) && len(rel.columns) > 0
}

// keyColumn returns rel's column name if its values can be keys: of type
// int2, int4, int8, uuid, date, or text or varchar with a deterministic
// collation (whose equality is bytewise).
func keyColumn(rel *relation, name string) *column {
	col := rel.column(name)
	if col == nil || !keyableType(col.typ) || col.nondeterministic {
		return nil
	}
	return col
}

// ReadKeys is [Catalog.ReadDependencies] with keys: every relation
// ReadDependencies(st, sp) returns appears exactly once, either in whole or
// as the Relation of one TableKey (a read key, with exactly one value) when
// st provably reads only rows of that relation whose Column equals that
// value. ok is false exactly when ReadDependencies' ok is false; whole is
// then what ReadDependencies returns and keys is nil.
//
// A relation is keyed when st is a SELECT without a set operation at the
// top, row locks or INTO; the relation is an ordinary table or
// materialized view with no inheritance or partitioning and no row-level
// security; st references it once (counting references through views and
// policies, and any reference to the same name); and a top-level AND
// conjunct of the query level whose FROM clause holds it is col =
// constant, constant = col, col = $n or $n = col, with col qualified by
// the relation's alias or name, or unqualified when that FROM clause holds
// only the relation. The conjuncts of a level are those of its WHERE
// clause and of the ON clauses of the inner joins its FROM clause reaches
// through inner joins only (an outer join's condition does not filter its
// preserved side). A relation is also keyed through a join: when such a
// conjunct, or an inner join's USING, equates its column with a column of
// another relation of the level that a conjunct equates with a constant,
// both in one key family (integers; text and varchar; uuid), it is keyed
// by that constant (a.x = 5 AND b.y = a.x keys b by y = 5); one step, no
// chains. The column must be keyable (see [TableKey]) and the constant's
// value canonical (see [Values]); when several conjuncts qualify the first
// usable one keys, direct ones before those carried over a join. A
// user-defined = operator on the search path disables keys.
func (c *Catalog) ReadKeys(st *Statement, sp SearchPath, v Values) (whole []Relation, keys []TableKey, ok bool) {
	whole, keys, _, ok = c.ReadKeysAndRanges(st, sp, v)
	return whole, keys, ok
}

// ReadKeysAndRanges returns what [Catalog.ReadKeys] and
// [Catalog.ReadRanges] return, from one look-up of the statement's plan:
// a cache lookup needs both.
func (c *Catalog) ReadKeysAndRanges(st *Statement, sp SearchPath, v Values) (whole []Relation, keys []TableKey, ranges []TableRange, ok bool) {
	return c.ReadKeysAndRangesInto(st, sp, v, nil)
}

// KeyBuffers holds the slices [Catalog.ReadKeysAndRangesInto] fills, for a
// caller that looks up statements one after another to reuse: what one
// call returns in them is valid until the next.
type KeyBuffers struct {
	Whole  []Relation
	Keys   []TableKey
	Values []string
	Ranges []TableRange
}

// maxKeyBuffer bounds the elements a KeyBuffers slice keeps between calls.
const maxKeyBuffer = 64

// ReadKeysAndRangesInto is [Catalog.ReadKeysAndRanges] returning its
// results in b's slices (when b is not nil), which it keeps for the next
// call.
func (c *Catalog) ReadKeysAndRangesInto(st *Statement, sp SearchPath, v Values, b *KeyBuffers) (whole []Relation, keys []TableKey, ranges []TableRange, ok bool) {
	if c == nil || st.keys == nil || (len(st.keys.reads) == 0 && len(st.keys.ranges) == 0) {
		deps, ok := c.ReadDependencies(st, sp)
		return deps, nil, nil, ok
	}
	var into KeyBuffers
	if b != nil {
		into = KeyBuffers{Whole: b.Whole[:0], Keys: b.Keys[:0], Values: b.Values[:0], Ranges: b.Ranges[:0]}
	}
	plan := c.readPlanFor(st, sp)
	whole, keys, vals := plan.keysFor(&v, into.Whole, into.Keys, into.Values)
	ranges = plan.rangesFor(&v, into.Ranges)
	if b != nil {
		keep := func(n int) bool { return n <= maxKeyBuffer }
		// Without keys, whole is the plan's own list: not a buffer.
		if len(keys) > 0 && keep(cap(whole)) {
			b.Whole = whole[:0]
		}
		if keep(cap(keys)) {
			b.Keys = keys[:0]
		}
		if keep(cap(vals)) {
			b.Values = vals[:0]
		}
		if keep(cap(ranges)) {
			b.Ranges = ranges[:0]
		}
	}
	return whole, keys, ranges, plan.ok
}

// keysFor is ReadKeys' result under the plan with the values v, appended
// to the empty slices whole and keys; the keys' values are appended to
// vals, which it returns as well.
func (p *readPlan) keysFor(v *Values, whole []Relation, keys []TableKey, vals []string) ([]Relation, []TableKey, []string) {
	deps := p.deps[:len(p.deps):len(p.deps)] // shared: appending copies
	var keyedBuf [4]*relation
	keyed := keyedBuf[:0]
	for i := range p.cands {
		cd := &p.cands[i]
		if containsRel(keyed, cd.rel) {
			continue
		}
		val, ok := cd.src.canonical(cd.arg, v, useCompare)
		if !ok {
			continue
		}
		keyed = append(keyed, cd.rel)
		vals = append(vals, val)
		n := len(vals)
		keys = append(keys, TableKey{Relation: cd.rel.name, Column: cd.col.name, Values: vals[n-1 : n : n]})
	}
	if len(keys) == 0 {
		return deps, nil, vals
	}
	for _, d := range deps {
		if !keyedRelation(keys, d) {
			whole = append(whole, d)
		}
	}
	return whole, keys, vals
}

// readPlan is the part of ReadKeys and ReadRanges that depends only on the
// catalog and the search path: the statement's dependencies, and the key
// and range predicates that can narrow a relation, resolved to the
// relation and its columns. Only the values differ between executions.
type readPlan struct {
	sp     SearchPath
	deps   []Relation
	ok     bool
	cands  []readCand
	ranges []rangeCand
}

// readCand is a key predicate that keys rel by col when its value (read
// as a value of src, the column it is compared with) is canonical.
type readCand struct {
	rel      *relation
	col, src *column
	arg      keyArg
}

// maxReadPlans bounds the plans one catalog keeps; beyond it they are
// dropped all at once and made again as statements run.
const maxReadPlans = 8192

// readPlanFor returns st's plan under sp, made on first use and kept on
// the catalog, which a reload replaces, until sp changes.
func (c *Catalog) readPlanFor(st *Statement, sp SearchPath) *readPlan {
	if v, ok := c.plans.Load(st.keys); ok {
		if p := v.(*readPlan); p.sp.equal(sp) {
			return p
		}
	}
	p := c.planReadKeys(st, sp)
	if c.nplans.Add(1) > maxReadPlans {
		c.plans.Clear()
		c.nplans.Store(1)
	}
	c.plans.Store(st.keys, p)
	return p
}

func (c *Catalog) planReadKeys(st *Statement, sp SearchPath) *readPlan {
	p := &readPlan{sp: sp}
	p.deps, p.ok = c.ReadDependencies(st, sp)
	if !p.ok || st.Kind != KindSelect || st.SelectInto || st.ModifyingCTE || st.Locking != LockNone || !c.builtinOps(st.keys.argOps, sp) {
		return p
	}
	p.ranges = c.planRanges(st, sp)
	if c.userOperator(equalsOperator, sp) {
		return p
	}
	for _, pr := range st.keys.reads {
		rel := c.resolve(pr.rel, sp)
		if !readKeyable(rel) || c.references(st, sp, rel) != 1 {
			continue
		}
		col := keyColumn(rel, pr.col)
		if col == nil {
			continue
		}
		// A constant carried over a join is compared with the column it
		// came from; both columns' equality must be identity of the
		// canonical values.
		src := col
		if pr.via != nil {
			srel := c.resolve(pr.via.rel, sp)
			if srel == nil {
				continue
			}
			if src = keyColumn(srel, pr.via.col); src == nil || keyFamily(src.typ) != keyFamily(col.typ) {
				continue
			}
		}
		p.cands = append(p.cands, readCand{rel: rel, col: col, src: src, arg: pr.arg})
	}
	return p
}

// rangeCand is a range predicate resolved to its relation and column: a
// date or integer column of a relation that may be keyed.
type rangeCand struct {
	rel *relation
	col *column
	op  string
	arg keyArg
}

// planRanges resolves the range predicates of st, the part of ReadRanges
// that does not depend on values. A user-defined comparison operator of
// the same name on the search path disables that comparison.
func (c *Catalog) planRanges(st *Statement, sp SearchPath) []rangeCand {
	var out []rangeCand
	for _, pr := range st.keys.ranges {
		rel := c.resolve(pr.rel, sp)
		if !readKeyable(rel) || c.references(st, sp, rel) != 1 {
			continue
		}
		col := rel.column(pr.col)
		if col == nil || (col.typ != oidDate && !col.isInt()) {
			continue
		}
		if c.userOperator(Function{Name: pr.op, Args: 2, Operator: true}, sp) {
			continue
		}
		out = append(out, rangeCand{rel: rel, col: col, op: pr.op, arg: pr.arg})
	}
	return out
}

// TableRange bounds a statement's read of Relation to the rows whose
// Column, of type date or an integer type, lies between Lo and Hi
// inclusive: days since 1970-01-01 for a date (Date set), the value for an
// integer. An open end is math.MinInt64 or math.MaxInt64.
type TableRange struct {
	Relation Relation
	Column   string
	Date     bool
	Lo, Hi   int64
}

// ReadRanges returns the ranges that bound st's reads of its relations, at
// most one per relation and column, with the values of one execution: a
// relation keyable as for [Catalog.ReadKeys] (referenced once, ordinary
// table or materialized view, no inheritance, no row-level security) is
// bounded by the top-level AND conjuncts of its query level (WHERE, and
// the ON clauses of inner joins reached through inner joins only) that
// compare one of its date or integer columns with a constant: col = c,
// col < c, col <= c, col > c, col >= c (either way round), col BETWEEN a
// AND b; several on one column intersect. A date constant is a
// YYYY-MM-DD string (typed date, or untyped and taking the column's
// type), optionally plus or minus an integer literal; an integer is a
// decimal literal or a parameter. A user-defined operator of the
// comparison's name, or of + or - when a constant uses it, on the search
// path disables the comparison. A range no row can satisfy is left out.
//
// A cached read bounded by (T, C, [lo, hi]) cannot change through a write
// of T whose [WriteSet.Keys] constrain C to values all outside [lo, hi].
func (c *Catalog) ReadRanges(st *Statement, sp SearchPath, v Values) []TableRange {
	_, _, ranges, _ := c.ReadKeysAndRanges(st, sp, v)
	return ranges
}

// rangesFor is ReadRanges' result under the plan with the values v,
// appended to the empty slice out.
func (p *readPlan) rangesFor(v *Values, out []TableRange) []TableRange {
	for i := range p.ranges {
		rc := &p.ranges[i]
		x, ok := rc.col.rangeValue(rc.arg, v)
		if !ok {
			continue
		}
		lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
		switch rc.op {
		case "=":
			lo, hi = x, x
		case ">":
			if x == math.MaxInt64 {
				continue
			}
			lo = x + 1
		case ">=":
			lo = x
		case "<":
			if x == math.MinInt64 {
				continue
			}
			hi = x - 1
		case "<=":
			hi = x
		default:
			continue
		}
		j := 0
		for j < len(out) && (out[j].Relation != rc.rel.name || out[j].Column != rc.col.name) {
			j++
		}
		if j == len(out) {
			out = append(out, TableRange{Relation: rc.rel.name, Column: rc.col.name, Date: rc.col.typ == oidDate, Lo: lo, Hi: hi})
			continue
		}
		out[j].Lo, out[j].Hi = max(out[j].Lo, lo), min(out[j].Hi, hi)
	}
	kept := out[:0]
	for _, r := range out {
		if r.Lo <= r.Hi {
			kept = append(kept, r)
		}
	}
	return kept
}

// rangeValue returns the value a supplies for the date or integer column
// col as a number: days since 1970-01-01 for a date.
func (col *column) rangeValue(a keyArg, v *Values) (int64, bool) {
	if a.dateLiteral() {
		return col.dateExprDays(a, v)
	}
	val, ok := col.canonical(a, v, useCompare)
	if !ok {
		return 0, false
	}
	if col.typ == oidDate {
		return pgdate.Parse(val)
	}
	n, err := strconv.ParseInt(val, 10, 64)
	return n, err == nil
}

// references counts how many of the dependency lists of st's relations
// hold rel: one for a single direct reference, more when a view or a row
// security policy also reads it.
func (c *Catalog) references(st *Statement, sp SearchPath, rel *relation) int {
	n := 0
	for _, r := range st.Reads {
		rr := c.resolve(r, sp)
		if rr == nil {
			continue
		}
		for _, d := range rr.deps {
			if d == rel.name {
				n++
			}
		}
	}
	return n
}

// builtinOps reports that none of the operators ops (those a statement's
// constants use: argOps, exprOps) is user-defined on sp, so that they are
// PostgreSQL's own (date + integer, date - integer…).
func (c *Catalog) builtinOps(ops []string, sp SearchPath) bool {
	for _, op := range ops {
		if c.userOperator(Function{Name: op, Args: 2, Operator: true}, sp) {
			return false
		}
	}
	return true
}

func keyedRelation(keys []TableKey, r Relation) bool {
	for _, k := range keys {
		if k.Relation == r {
			return true
		}
	}
	return false
}

// keyedWrite is how one statement's write of rel narrows: the constrained
// columns and the values the touched rows have in them.
type keyedWrite struct {
	rel  *relation
	cols []colValues
}

type colValues struct {
	col    *column
	values []string
}

// InvalidationsWith is [Catalog.Invalidations] using the values of one
// execution to narrow writes into [WriteSet.Keys]. With zero Values it
// returns what Invalidations returns.
//
// A statement's write narrows when it is an UPDATE, DELETE or INSERT …
// VALUES of an ordinary table that has no inheritance or partitioning, no
// user trigger and no rule, which no cascading foreign key leads back to;
// the statement has no data-modifying WITH and calls no function that may
// write; and Invalidations reports nothing it cannot follow (All). Then:
//
//   - UPDATE and DELETE constrain each column to the value of the first
//     usable top-level WHERE conjunct col = constant on the target (col
//     qualified by the target's alias or name, or unqualified without
//     FROM or USING). Generated columns are not constrained by an UPDATE.
//     WHERE CURRENT OF constrains nothing.
//   - An UPDATE's SET of a constrained column to a constant adds the new
//     value; to anything else (an expression, DEFAULT, a multiple
//     assignment, a subscript) it leaves the column unconstrained.
//   - INSERT … VALUES, with a column list or positionally in attnum
//     order, constrains each column whose value in every row is a
//     constant to the set of those values. OVERRIDING USER VALUE, INSERT …
//     SELECT and DEFAULT VALUES constrain nothing.
//   - ON CONFLICT DO NOTHING is a plain INSERT. ON CONFLICT (cols) DO
//     UPDATE keeps only the constraints on the conflict target's plain
//     columns, then applies the SET rule; ON CONFLICT ON CONSTRAINT, or a
//     table with a unique index whose equality may differ from the
//     type's =, constrains nothing.
//
// A statement whose write constrains no column invalidates the table
// whole. Several statements writing one table narrow it to the columns
// all of them constrain, with the union of their values; a table also
// written whole by another statement, or reached by a cascade, is whole.
// Everything else is as Invalidations computes it.
func (c *Catalog) InvalidationsWith(info *Info, sp SearchPath, v Values) WriteSet {
	ws := c.Invalidations(info, sp)
	if c == nil || ws.All || !info.keyed {
		return ws
	}
	narrowed := make([]*keyedWrite, len(info.Statements))
	found := false
	for k := range info.Statements {
		if kw := c.writeKeys(&info.Statements[k], sp, &v); kw != nil {
			narrowed[k], found = kw, true
		}
	}
	if !found {
		return ws
	}
	// The closure of every write as Invalidations computes it, except
	// that a narrowed target adds only what its write reaches.
	var w writeClosure
	var merged []*keyedWrite
	for k := range info.Statements {
		st := &info.Statements[k]
		for _, r := range st.Writes {
			rel := c.resolve(r, sp)
			if rel == nil {
				continue
			}
			if kw := narrowed[k]; kw != nil && kw.rel == rel {
				w.addReached(rel)
				merged = mergeWrite(merged, kw)
				continue
			}
			w.add(rel, st.Kind == KindTruncate)
		}
		for _, r := range st.Creates {
			for _, rel := range c.byName[r.Name] {
				if !containsRel(w.seen, rel) {
					w.seen = append(w.seen, rel)
				}
			}
		}
	}
	var keys []TableKey
	for _, kw := range merged {
		if len(kw.cols) == 0 || containsRel(w.seen, kw.rel) {
			// Written whole by another statement, reached by a cascade
			// (perhaps its own), or narrowed by no column common to its
			// statements. The relation has no ancestors, descendants or
			// triggers, and what it reaches is in already.
			if !containsRel(w.seen, kw.rel) {
				w.seen = append(w.seen, kw.rel)
			}
			continue
		}
		for _, cv := range kw.cols {
			keys = append(keys, TableKey{Relation: kw.rel.name, Column: cv.col.name, Values: cv.values})
		}
	}
	if len(keys) == 0 {
		return ws
	}
	ws.Tables = nil
	if len(w.seen) > 0 {
		ws.Tables = w.names()
	}
	ws.Keys = keys
	ws.All = ws.All || w.unknown
	return ws
}

// addReached adds what a write to rel reaches through cascading foreign
// keys, but not rel itself (unless a cascade leads back to it). It is for
// the relations writeKeyable accepts, which have no ancestors,
// descendants or triggers.
func (w *writeClosure) addReached(rel *relation) {
	for _, fk := range rel.referencedBy {
		if fk.cascades {
			w.add(fk.referencing, false)
		}
	}
}

// mergeWrite folds kw into the per-relation list: a relation written by
// several statements keeps the columns all of them constrain, with the
// union of their values.
func mergeWrite(list []*keyedWrite, kw *keyedWrite) []*keyedWrite {
	for _, m := range list {
		if m.rel != kw.rel {
			continue
		}
		kept := m.cols[:0]
		for _, cv := range m.cols {
			for _, other := range kw.cols {
				if other.col == cv.col {
					for _, x := range other.values {
						cv.values = appendValue(cv.values, x)
					}
					kept = append(kept, cv)
					break
				}
			}
		}
		m.cols = kept
		return list
	}
	cp := &keyedWrite{rel: kw.rel, cols: make([]colValues, len(kw.cols))}
	copy(cp.cols, kw.cols)
	return append(list, cp)
}

func appendValue(values []string, x string) []string {
	for _, v := range values {
		if v == x {
			return values
		}
	}
	return append(values, x)
}

// writeKeys returns how one statement's write narrows, or nil when it
// invalidates its target whole.
func (c *Catalog) writeKeys(st *Statement, sp SearchPath, v *Values) *keyedWrite {
	if st.keys == nil || st.keys.write == nil || st.ModifyingCTE || st.UnknownWrites || len(st.Writes) != 1 {
		return nil
	}
	switch st.Kind {
	case KindInsert, KindUpdate, KindDelete:
	default:
		return nil
	}
	wp := st.keys.write
	rel := c.resolve(wp.rel, sp)
	if !writeKeyable(rel) || c.resolve(st.Writes[0], sp) != rel {
		return nil
	}
	if !c.builtinOps(st.keys.argOps, sp) {
		return nil
	}
	// A function or view that may write could touch any row.
	for _, f := range st.Functions {
		if c.mayWriteData(f, sp) {
			return nil
		}
	}
	for _, r := range st.Reads {
		if rr := c.resolve(r, sp); rr != nil && rr.mayWrite {
			return nil
		}
	}
	var cols []colValues
	switch wp.kind {
	case writeUpdate, writeDelete:
		if c.userOperator(equalsOperator, sp) {
			return nil
		}
		for _, ca := range wp.where {
			col := keyColumn(rel, ca.col)
			if col == nil || col.generated || indexOfColumn(cols, col) >= 0 {
				continue
			}
			if val, ok := col.canonical(ca.arg, v, useCompare); ok {
				cols = append(cols, colValues{col: col, values: []string{val}})
			}
		}
	case writeInsert:
		var ok bool
		if cols, ok = insertColumns(rel, wp, v); !ok {
			return nil
		}
	}
	if wp.kind == writeUpdate || wp.upsert {
		for _, s := range wp.set {
			i := indexOfColumnName(cols, s.col)
			if i < 0 {
				continue
			}
			val, ok := cols[i].col.canonical(s.arg, v, useStore)
			if !ok {
				cols = append(cols[:i], cols[i+1:]...)
				continue
			}
			cols[i].values = appendValue(cols[i].values, val)
		}
	}
	if len(cols) == 0 {
		return nil
	}
	sort.Slice(cols, func(i, j int) bool { return cols[i].col.attnum < cols[j].col.attnum })
	return &keyedWrite{rel: rel, cols: cols}
}

// insertColumns returns the columns INSERT … VALUES constrains: those
// given a constant in every row. For ON CONFLICT DO UPDATE only the plain
// conflict-target columns are kept, since a conflicting row agrees with
// the proposed one only there. ok is false for a statement PostgreSQL
// rejects (rows longer than the column list, a column named twice).
func insertColumns(rel *relation, wp *writePredicate, v *Values) (cols []colValues, ok bool) {
	var targets []*column
	if wp.cols == nil {
		n := 0
		if len(wp.rows) > 0 {
			n = len(wp.rows[0])
		}
		if n > len(rel.columns) {
			return nil, false
		}
		for i := 0; i < n; i++ {
			targets = append(targets, keyColumn(rel, rel.columns[i].name))
		}
	} else {
		for i, ic := range wp.cols {
			for _, prev := range wp.cols[:i] {
				if prev.name == ic.name {
					return nil, false
				}
			}
			var col *column
			if ic.plain {
				col = keyColumn(rel, ic.name)
			}
			targets = append(targets, col)
		}
	}
	if wp.upsert && rel.looseUnique {
		return nil, true
	}
	for _, row := range wp.rows {
		if len(row) != len(targets) {
			return nil, false
		}
	}
	for j, col := range targets {
		if col == nil || col.generated || wp.upsert && !containsString(wp.target, col.name) {
			continue
		}
		var values []string
		all := true
		for _, row := range wp.rows {
			val, ok := col.canonical(row[j], v, useStore)
			if !ok {
				all = false
				break
			}
			values = appendValue(values, val)
		}
		if all && len(values) > 0 {
			cols = append(cols, colValues{col: col, values: values})
		}
	}
	return cols, true
}

func indexOfColumn(cols []colValues, col *column) int {
	for i := range cols {
		if cols[i].col == col {
			return i
		}
	}
	return -1
}

func indexOfColumnName(cols []colValues, name string) int {
	for i := range cols {
		if cols[i].col.name == name {
			return i
		}
	}
	return -1
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
