package query

import (
	"sort"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Key predicates are found in the parse tree once per memoised shape, and
// hold no literal values: a constant is the ordinal of its literal token
// in the query string (see [keyArg]), so that every string of the same
// structure reads its own values from its own tokens. Whether a predicate
// narrows anything depends on the catalog (relation kind, column type) and
// on the values, which [Catalog.ReadKeys] and [Catalog.InvalidationsWith]
// check per call.

// predicates are the key predicates of one statement.
type predicates struct {
	// reads are the equality conjuncts that may key a SELECT's relation
	// references, in order; the first usable one per relation wins.
	reads []readPredicate
	// write narrows the target of an INSERT, UPDATE or DELETE.
	write *writePredicate
	// ranges are the comparison conjuncts that may bound a SELECT's
	// relation references by a date or integer column.
	ranges []rangePredicate
	// argOps are the operators of the constants of reads, ranges and
	// writes that are date arithmetic (date '…' - 30), for the catalog to
	// check that none is user-defined.
	argOps []string
}

// rangePredicate is a conjunct col op constant (op one of =, <, <=, >,
// >=, with the column on the left) at the query level where rel appears
// in FROM, under the same rules as a readPredicate's; col BETWEEN a AND b
// gives two.
type rangePredicate struct {
	rel Relation
	col string
	op  string
	arg keyArg
}

// readPredicate is a conjunct col = constant at the query level where rel
// (as written) appears in FROM, referring to rel; or, when via is set, the
// same constant carried over a join: a conjunct equates via's column with
// the constant, and another equates it with rel.col.
type readPredicate struct {
	rel Relation
	col string
	arg keyArg
	via *colRef
}

// colRef is a column of a relation as written.
type colRef struct {
	rel Relation
	col string
}

type writeKind uint8

const (
	writeUpdate writeKind = iota + 1
	writeDelete
	writeInsert
)

// colArg is a column and the constant it is compared with or assigned.
type colArg struct {
	col string
	arg keyArg
}

// writePredicate is what narrows the rows one INSERT, UPDATE or DELETE
// touches.
type writePredicate struct {
	kind writeKind
	rel  Relation
	// where are the top-level WHERE conjuncts col = constant on the
	// target (UPDATE, DELETE), in order.
	where []colArg
	// set are the assignments of an UPDATE or of ON CONFLICT DO UPDATE;
	// arg is noArg when the new value is not a constant (an expression,
	// DEFAULT, a subscript or field, a multiple assignment).
	set []colArg
	// cols is an INSERT's explicit column list; nil means all columns in
	// attnum order.
	cols []insertCol
	// rows are the VALUES rows of an INSERT.
	rows [][]keyArg
	// upsert reports ON CONFLICT (…) DO UPDATE; target are the plain
	// columns of its conflict target.
	upsert bool
	target []string
	// exprOps are the operators of the constant expressions in where.
	exprOps []string
}

// insertCol is one column of an INSERT's column list; plain is false for
// an assignment to a subscript or field (c[1], c.f).
type insertCol struct {
	name  string
	plain bool
}

// maxInsertArgs bounds the VALUES items an INSERT's key predicate
// records; larger INSERTs invalidate their whole table.
const maxInsertArgs = 4096

// size approximates the bytes p retains, for the memo's bound.
func (p *predicates) size() int {
	if p == nil {
		return 0
	}
	n := elementOverhead
	for _, r := range p.reads {
		n += elementOverhead + len(r.rel.Schema) + len(r.rel.Name) + len(r.col)
		if r.via != nil {
			n += elementOverhead + len(r.via.rel.Schema) + len(r.via.rel.Name) + len(r.via.col)
		}
	}
	for _, r := range p.ranges {
		n += elementOverhead + len(r.rel.Schema) + len(r.rel.Name) + len(r.col) + len(r.op)
	}
	for _, o := range p.argOps {
		n += elementOverhead + len(o)
	}
	if w := p.write; w != nil {
		n += elementOverhead + len(w.rel.Schema) + len(w.rel.Name)
		for _, c := range w.where {
			n += elementOverhead + len(c.col)
		}
		for _, c := range w.set {
			n += elementOverhead + len(c.col)
		}
		for _, c := range w.cols {
			n += elementOverhead + len(c.name)
		}
		for _, r := range w.rows {
			n += elementOverhead + 16*len(r)
		}
		for _, t := range w.target {
			n += elementOverhead + len(t)
		}
		for _, o := range w.exprOps {
			n += elementOverhead + len(o)
		}
	}
	return n
}

// finder finds the key predicates of one top-level statement.
type finder struct {
	sql  string
	lits []litSpan
	// relnames counts every RangeVar of the statement by name (whatever
	// its schema, wherever it is); ctes holds every WITH query name;
	// params counts the references to each parameter; selects are all
	// SelectStmt nodes.
	relnames map[string]int
	ctes     map[string]bool
	params   map[int32]int
	selects  []*pg_query.SelectStmt
	p        predicates
}

// keyPredicates returns the key predicates of a top-level statement of
// sql, or nil when it has none.
func keyPredicates(node *pg_query.Node, sql string, lits []litSpan) *predicates {
	f := finder{sql: sql, lits: lits}
	switch n := node.GetNode().(type) {
	case *pg_query.Node_SelectStmt:
		f.census(node)
		f.selectStmt(n.SelectStmt)
	case *pg_query.Node_UpdateStmt:
		f.census(node)
		f.update(n.UpdateStmt)
	case *pg_query.Node_DeleteStmt:
		f.census(node)
		f.delete(n.DeleteStmt)
	case *pg_query.Node_InsertStmt:
		f.census(node)
		f.insert(n.InsertStmt)
	default:
		return nil
	}
	if len(f.p.reads) == 0 && f.p.write == nil && len(f.p.ranges) == 0 {
		return nil
	}
	return &f.p
}

// census walks the whole statement once, counting relation names and
// parameter references and collecting WITH names and query levels.
func (f *finder) census(node *pg_query.Node) {
	f.relnames = make(map[string]int)
	f.ctes = make(map[string]bool)
	f.params = make(map[int32]int)
	var walk func(m protoreflect.Message)
	walk = func(m protoreflect.Message) {
		if !m.IsValid() {
			return
		}
		switch n := m.Interface().(type) {
		case *pg_query.RangeVar:
			f.relnames[n.Relname]++
		case *pg_query.ParamRef:
			f.params[n.Number]++
		case *pg_query.CommonTableExpr:
			f.ctes[n.Ctename] = true
		case *pg_query.SelectStmt:
			f.selects = append(f.selects, n)
		}
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			if fd.Kind() != protoreflect.MessageKind {
				return true
			}
			if fd.IsList() {
				l := v.List()
				for i := 0; i < l.Len(); i++ {
					walk(l.Get(i).Message())
				}
				return true
			}
			walk(v.Message())
			return true
		})
	}
	walk(node.ProtoReflect())
}

// selectStmt finds read predicates at every query level of a SELECT. A
// set operation at the top, SELECT INTO and row locks have none.
func (f *finder) selectStmt(top *pg_query.SelectStmt) {
	if top.Op != pg_query.SetOperation_SETOP_NONE || top.IntoClause != nil || len(top.LockingClause) > 0 {
		return
	}
	for _, sel := range f.selects {
		f.level(sel)
	}
}

// level finds the read predicates of one query level: for each relation
// in its FROM clause that the statement references nowhere else, the
// conjuncts col = constant that refer to it, then the same constants
// carried over conjuncts that equate a column of one such relation with a
// column of another (a.x = 5 AND b.y = a.x gives b.y = 5). The conjuncts
// are those of the WHERE clause and of the ON and USING clauses of the
// inner joins the FROM clause reaches through inner joins only: there they
// filter the rows as a WHERE conjunct does. An outer join's condition
// does not (it keeps the rows of its other side), so it is not used.
func (f *finder) level(sel *pg_query.SelectStmt) {
	if sel.Op != pg_query.SetOperation_SETOP_NONE {
		return
	}
	var rels []*pg_query.RangeVar
	for _, item := range sel.FromClause {
		rels = fromRelations(item, true, rels)
	}
	if len(rels) == 0 {
		return
	}
	single := len(sel.FromClause) == 1 && sel.FromClause[0].GetRangeVar() != nil
	var conj []*pg_query.Node
	if sel.WhereClause != nil {
		conj = conjuncts(sel.WhereClause, nil)
	}
	var pairs []colPair
	for _, item := range sel.FromClause {
		conj, pairs = innerJoinConditions(item, conj, pairs)
	}
	if len(conj) == 0 && len(pairs) == 0 {
		return
	}
	start := len(f.p.reads)
	for _, rv := range rels {
		if !f.keyableReference(rv) {
			continue
		}
		ref := refName(rv)
		for _, c := range conj {
			if col, arg, ok := f.equality(c, ref, single); ok {
				f.p.reads = append(f.p.reads, readPredicate{rel: relationOf(rv), col: col, arg: arg})
			}
			f.p.ranges = f.comparisons(c, relationOf(rv), ref, single, f.p.ranges)
		}
	}
	direct := len(f.p.reads)
	if direct == start {
		return
	}
	for _, c := range conj {
		if p, ok := columnEquality(c, rels); ok {
			pairs = append(pairs, p)
		}
	}
	for _, p := range pairs {
		if p[0].rv == p[1].rv || !f.keyableReference(p[0].rv) || !f.keyableReference(p[1].rv) {
			continue
		}
		for side := range 2 {
			from, to := p[side], p[1-side]
			for i := start; i < direct; i++ {
				d := f.p.reads[i]
				if d.rel == relationOf(from.rv) && d.col == from.col {
					f.p.reads = append(f.p.reads, readPredicate{rel: relationOf(to.rv), col: to.col, arg: d.arg,
						via: &colRef{rel: d.rel, col: d.col}})
				}
			}
		}
	}
}

// relationOf is the relation a RangeVar names, as written.
func relationOf(rv *pg_query.RangeVar) Relation {
	return Relation{Schema: rv.Schemaname, Name: rv.Relname}
}

// colPair is a conjunct that equates a column of one FROM relation with a
// column of another.
type colPair [2]struct {
	rv  *pg_query.RangeVar
	col string
}

// innerJoinConditions appends the conjuncts of the ON clauses of the inner
// joins in a FROM item, descending through inner joins only, and the
// column pairs their USING clauses equate when both sides are plain
// relations. Joins with an alias are left out, as fromRelations leaves
// out their relations.
func innerJoinConditions(n *pg_query.Node, conj []*pg_query.Node, pairs []colPair) ([]*pg_query.Node, []colPair) {
	j := n.GetJoinExpr()
	if j == nil || j.Jointype != pg_query.JoinType_JOIN_INNER || j.Alias != nil || j.IsNatural {
		return conj, pairs
	}
	if j.Quals != nil {
		conj = conjuncts(j.Quals, conj)
	}
	if l, r := j.Larg.GetRangeVar(), j.Rarg.GetRangeVar(); l != nil && r != nil {
		for _, u := range j.UsingClause {
			if name := u.GetString_(); name != nil {
				var p colPair
				p[0].rv, p[0].col, p[1].rv, p[1].col = l, name.Sval, r, name.Sval
				pairs = append(pairs, p)
			}
		}
	}
	if j.Larg != nil {
		conj, pairs = innerJoinConditions(j.Larg, conj, pairs)
	}
	if j.Rarg != nil {
		conj, pairs = innerJoinConditions(j.Rarg, conj, pairs)
	}
	return conj, pairs
}

// columnEquality reads a conjunct a.x = b.y whose qualifiers name two
// relations of the level.
func columnEquality(n *pg_query.Node, rels []*pg_query.RangeVar) (colPair, bool) {
	var p colPair
	l, r, ok := equalsOperands(n)
	if !ok {
		return p, false
	}
	for i, side := range [2]*pg_query.Node{l, r} {
		c := side.GetColumnRef()
		if c == nil || len(c.Fields) != 2 {
			return p, false
		}
		q, col := c.Fields[0].GetString_(), c.Fields[1].GetString_()
		if q == nil || col == nil {
			return p, false
		}
		for _, rv := range rels {
			if refName(rv) == q.Sval {
				p[i].rv, p[i].col = rv, col.Sval
				break
			}
		}
		if p[i].rv == nil {
			return p, false
		}
	}
	return p, true
}

// keyableReference reports whether a FROM-clause relation may be keyed by
// name: it is the statement's only reference to that name, no WITH query
// has the name, and no column aliases rename its columns.
func (f *finder) keyableReference(rv *pg_query.RangeVar) bool {
	return rv.Catalogname == "" && f.relnames[rv.Relname] == 1 && !f.ctes[rv.Relname] &&
		(rv.Alias == nil || len(rv.Alias.Colnames) == 0)
}

// refName is the name a column reference uses for a FROM item: its alias,
// or its relation name.
func refName(rv *pg_query.RangeVar) string {
	if rv.Alias != nil && rv.Alias.Aliasname != "" {
		return rv.Alias.Aliasname
	}
	return rv.Relname
}

// fromRelations appends the relations of a FROM-clause item whose columns
// the query level can qualify by their name: plain relations, and those
// inside joins, except inside a join with an alias (which hides the names
// of the tables it joins, so that a qualified reference finds an outer
// level's table of that name instead). TABLESAMPLE, subqueries and
// functions are left out.
func fromRelations(n *pg_query.Node, visible bool, out []*pg_query.RangeVar) []*pg_query.RangeVar {
	switch x := n.GetNode().(type) {
	case *pg_query.Node_RangeVar:
		if visible {
			out = append(out, x.RangeVar)
		}
	case *pg_query.Node_JoinExpr:
		vis := visible && x.JoinExpr.Alias == nil
		if x.JoinExpr.Larg != nil {
			out = fromRelations(x.JoinExpr.Larg, vis, out)
		}
		if x.JoinExpr.Rarg != nil {
			out = fromRelations(x.JoinExpr.Rarg, vis, out)
		}
	}
	return out
}

// conjuncts appends the top-level AND conjuncts of a condition, flattening
// nested ANDs.
func conjuncts(n *pg_query.Node, out []*pg_query.Node) []*pg_query.Node {
	if b := n.GetBoolExpr(); b != nil && b.Boolop == pg_query.BoolExprType_AND_EXPR {
		for _, a := range b.Args {
			out = conjuncts(a, out)
		}
		return out
	}
	return append(out, n)
}

// equality reads a conjunct col = constant (or constant = col) whose
// column refers to the FROM item named ref: qualified by ref, or
// unqualified when single reports that the level has that one FROM item.
func (f *finder) equality(n *pg_query.Node, ref string, single bool) (string, keyArg, bool) {
	l, r, ok := equalsOperands(n)
	if !ok {
		return "", noArg, false
	}
	for _, side := range [2][2]*pg_query.Node{{l, r}, {r, l}} {
		if col, ok := columnRefOf(side[0], ref, single); ok {
			if a := f.arg(side[1]); a.constant() {
				return col, a, true
			}
		}
	}
	return "", noArg, false
}

// flippedComparison maps the comparisons that bound a range to the same
// comparison with its operands swapped (c < col is col > c).
var flippedComparison = map[string]string{"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

// comparisons appends the range predicates of one conjunct on the FROM
// item named ref (see [rangePredicate]): col op constant or constant op
// col with op one of =, <, <=, >, >= (turned around so that the column is
// on the left), or col BETWEEN a AND b (neither NOT nor SYMMETRIC).
func (f *finder) comparisons(n *pg_query.Node, rel Relation, ref string, single bool, out []rangePredicate) []rangePredicate {
	e := n.GetAExpr()
	if e == nil || e.Lexpr == nil || e.Rexpr == nil {
		return out
	}
	switch e.Kind {
	case pg_query.A_Expr_Kind_AEXPR_OP:
		if !builtinName(e.Name) {
			return out
		}
		op := e.Name[len(e.Name)-1].GetString_().GetSval()
		flipped, ok := flippedComparison[op]
		if !ok {
			return out
		}
		if col, ok := columnRefOf(e.Lexpr, ref, single); ok {
			if a := f.arg(e.Rexpr); a.constant() {
				out = append(out, rangePredicate{rel: rel, col: col, op: op, arg: a})
			}
		} else if col, ok := columnRefOf(e.Rexpr, ref, single); ok {
			if a := f.arg(e.Lexpr); a.constant() {
				out = append(out, rangePredicate{rel: rel, col: col, op: flipped, arg: a})
			}
		}
	case pg_query.A_Expr_Kind_AEXPR_BETWEEN:
		// The name is BETWEEN for this kind; NOT BETWEEN and the
		// SYMMETRIC forms are kinds of their own.
		col, ok := columnRefOf(e.Lexpr, ref, single)
		bounds := e.Rexpr.GetList()
		if !ok || bounds == nil || len(bounds.Items) != 2 {
			return out
		}
		lo, hi := f.arg(bounds.Items[0]), f.arg(bounds.Items[1])
		if lo.constant() && hi.constant() {
			out = append(out, rangePredicate{rel: rel, col: col, op: ">=", arg: lo}, rangePredicate{rel: rel, col: col, op: "<=", arg: hi})
		}
	}
	return out
}

// equalsOperands returns the operands of a conjunct left = right (the
// operator = or pg_catalog.=), or false.
func equalsOperands(n *pg_query.Node) (l, r *pg_query.Node, ok bool) {
	e := n.GetAExpr()
	if e == nil || e.Kind != pg_query.A_Expr_Kind_AEXPR_OP || !isEquals(e.Name) || e.Lexpr == nil || e.Rexpr == nil {
		return nil, nil, false
	}
	return e.Lexpr, e.Rexpr, true
}

// isEquals reports the operator name = or pg_catalog.=.
func isEquals(name []*pg_query.Node) bool {
	switch len(name) {
	case 1:
		return name[0].GetString_().GetSval() == "="
	case 2:
		return name[0].GetString_().GetSval() == "pg_catalog" && name[1].GetString_().GetSval() == "="
	}
	return false
}

// columnRefOf reads a column reference ref.col, or col when unqualified is
// allowed.
func columnRefOf(n *pg_query.Node, ref string, unqualified bool) (string, bool) {
	c := n.GetColumnRef()
	if c == nil {
		return "", false
	}
	switch len(c.Fields) {
	case 1:
		if s := c.Fields[0].GetString_(); unqualified && s != nil {
			return s.Sval, true
		}
	case 2:
		q, s := c.Fields[0].GetString_(), c.Fields[1].GetString_()
		if q != nil && s != nil && q.Sval == ref {
			return s.Sval, true
		}
	}
	return "", false
}

// arg maps a constant of the parse tree to its literal token or parameter;
// anything else is noArg.
func (f *finder) arg(n *pg_query.Node) keyArg {
	switch x := n.GetNode().(type) {
	case *pg_query.Node_AConst:
		c := x.AConst
		if c.Isnull {
			return noArg
		}
		switch c.Val.(type) {
		case *pg_query.A_Const_Ival, *pg_query.A_Const_Fval:
			return f.literal(int(c.Location), LiteralNumber)
		case *pg_query.A_Const_Sval:
			return f.literal(int(c.Location), LiteralString)
		}
	case *pg_query.Node_ParamRef:
		if num := x.ParamRef.Number; num > 0 {
			return keyArg{lit: -1, param: num, shared: f.params[num] > 1}
		}
	case *pg_query.Node_TypeCast:
		// date 'x', 'x'::date, CAST('x' AS date), $1::date.
		tc := x.TypeCast
		if !isDateType(tc.TypeName) {
			return noArg
		}
		if pr := tc.Arg.GetParamRef(); pr != nil {
			if pr.Number <= 0 {
				return noArg
			}
			return keyArg{lit: -1, param: pr.Number, shared: f.params[pr.Number] > 1, date: true}
		}
		c := tc.Arg.GetAConst()
		if c == nil || c.Isnull {
			return noArg
		}
		if _, ok := c.Val.(*pg_query.A_Const_Sval); !ok {
			return noArg
		}
		a := f.literal(int(c.Location), LiteralString)
		if a.lit < 0 {
			return noArg
		}
		a.date = true
		return a
	case *pg_query.Node_AExpr:
		// A date plus or minus an integer literal: date '…' - 30.
		e := x.AExpr
		if e.Kind != pg_query.A_Expr_Kind_AEXPR_OP || !builtinName(e.Name) || e.Lexpr == nil || e.Rexpr == nil {
			return noArg
		}
		op := e.Name[len(e.Name)-1].GetString_().GetSval()
		c := e.Rexpr.GetAConst()
		if op != "+" && op != "-" || c == nil || c.Isnull {
			return noArg
		}
		if _, ok := c.Val.(*pg_query.A_Const_Ival); !ok {
			return noArg
		}
		base := f.arg(e.Lexpr)
		if !base.date || base.lit < 0 || base.off != 0 {
			// Only a date literal takes an offset: $1::date - 30 has
			// no value pgwarp computes.
			return noArg
		}
		n := f.literal(int(c.Location), LiteralNumber)
		if n.lit < 0 {
			return noArg
		}
		base.off, base.offNeg = n.lit+1, (op == "-") != n.neg
		if !containsString(f.p.argOps, op) {
			f.p.argOps = append(f.p.argOps, op)
		}
		return base
	}
	return noArg
}

// isDateType reports the type name date or pg_catalog.date, without
// modifiers or array bounds.
func isDateType(tn *pg_query.TypeName) bool {
	if tn == nil || tn.Setof || tn.PctType || len(tn.ArrayBounds) > 0 || len(tn.Typmods) > 0 || !builtinName(tn.Names) {
		return false
	}
	return tn.Names[len(tn.Names)-1].GetString_().GetSval() == "date"
}

// literal returns the keyArg of the constant the parser located at loc. A
// constant at the start of a literal token of its kind is that token. The
// parser folds unary minus into a numeric constant and locates the result
// at the first minus sign ("- (-5)" is 5 at the first "-"); the signs and
// parentheses up to the number give its sign. The tokens between are part
// of the memo key, so the sign is the same for every string sharing the
// Info.
func (f *finder) literal(loc int, kind LiteralKind) keyArg {
	if loc < 0 || loc >= len(f.sql) {
		return noArg
	}
	if k := f.ordinal(loc); k >= 0 {
		if f.lits[k].kind != kind {
			return noArg
		}
		return keyArg{lit: int32(k)}
	}
	if kind != LiteralNumber {
		return noArg
	}
	l := lexer{src: f.sql, pos: loc}
	minus := 0
	for {
		t, _, ok := l.next()
		if !ok {
			return noArg
		}
		switch tok := f.sql[t.start:t.end]; {
		case t.kind == tokOp && tok == "-":
			minus++
		case t.kind == tokOp && tok == "(":
		case t.kind == tokNumber:
			k := f.ordinal(t.start)
			if k < 0 || minus == 0 {
				return noArg
			}
			return keyArg{lit: int32(k), neg: minus%2 == 1}
		default:
			return noArg
		}
	}
}

// ordinal returns the index of the literal token starting at off, or -1.
func (f *finder) ordinal(off int) int {
	k := sort.Search(len(f.lits), func(i int) bool { return f.lits[i].start >= off })
	if k < len(f.lits) && f.lits[k].start == off {
		return k
	}
	return -1
}

// targetOf returns the written relation and the name its columns are
// qualified by, or false for a name with a database part.
func targetOf(rv *pg_query.RangeVar) (Relation, string, bool) {
	if rv == nil || rv.Catalogname != "" || rv.Relname == "" {
		return Relation{}, "", false
	}
	return Relation{Schema: rv.Schemaname, Name: rv.Relname}, refName(rv), true
}

// whereColumns returns the conjuncts col = constant of a WHERE clause on
// the target named ref, and col = constant expression with the expr flag
// set, whose operators exprOps lists.
func (f *finder) whereColumns(where *pg_query.Node, ref string, single bool) (out []colArg, exprOps []string) {
	if where == nil {
		return nil, nil
	}
	for _, c := range conjuncts(where, nil) {
		if col, arg, ok := f.equality(c, ref, single); ok {
			out = append(out, colArg{col, arg})
		} else if col, ops, ok := exprEquality(c, ref, single); ok {
			out = append(out, colArg{col, keyArg{lit: -1, expr: true}})
			exprOps = append(exprOps, ops...)
		}
	}
	return out, exprOps
}

// exprEquality reads a conjunct col = expr (or expr = col) whose column
// refers to the FROM item named ref and whose expr is constant within the
// statement without being a single literal or parameter (date '…' - 5): it
// is built only of literals, parameters, casts and operators named
// without a schema or in pg_catalog. ops are the operator names it uses,
// for the catalog to check that none is user-defined.
func exprEquality(n *pg_query.Node, ref string, single bool) (string, []string, bool) {
	l, r, ok := equalsOperands(n)
	if !ok {
		return "", nil, false
	}
	for _, side := range [2][2]*pg_query.Node{{l, r}, {r, l}} {
		if col, ok := columnRefOf(side[0], ref, single); ok {
			if ops, ok := constantExpr(side[1], nil, 0); ok {
				return col, ops, true
			}
		}
	}
	return "", nil, false
}

// maxExprDepth bounds the nesting constantExpr follows.
const maxExprDepth = 16

// constantExpr reports whether n is built only of non-NULL literals,
// parameters, casts to types named in a single word or in pg_catalog, and
// prefix or infix operators named in a single word or in pg_catalog, and
// appends the operators' names to ops.
func constantExpr(n *pg_query.Node, ops []string, depth int) ([]string, bool) {
	if depth > maxExprDepth {
		return ops, false
	}
	switch x := n.GetNode().(type) {
	case *pg_query.Node_AConst:
		return ops, !x.AConst.Isnull
	case *pg_query.Node_ParamRef:
		return ops, x.ParamRef.Number > 0
	case *pg_query.Node_TypeCast:
		tn := x.TypeCast.TypeName
		if tn == nil || tn.Setof || len(tn.ArrayBounds) > 0 || !builtinName(tn.Names) || x.TypeCast.Arg == nil {
			return ops, false
		}
		return constantExpr(x.TypeCast.Arg, ops, depth+1)
	case *pg_query.Node_AExpr:
		e := x.AExpr
		if e.Kind != pg_query.A_Expr_Kind_AEXPR_OP || !builtinName(e.Name) || e.Rexpr == nil {
			return ops, false
		}
		ops = append(ops, e.Name[len(e.Name)-1].GetString_().GetSval())
		if e.Lexpr != nil {
			var ok bool
			if ops, ok = constantExpr(e.Lexpr, ops, depth+1); !ok {
				return ops, false
			}
		}
		return constantExpr(e.Rexpr, ops, depth+1)
	}
	return ops, false
}

// builtinName reports a name of one word, or two with pg_catalog first.
func builtinName(names []*pg_query.Node) bool {
	switch len(names) {
	case 1:
		return names[0].GetString_() != nil
	case 2:
		return names[0].GetString_().GetSval() == "pg_catalog" && names[1].GetString_() != nil
	}
	return false
}

// assignments reads the SET list of an UPDATE or ON CONFLICT DO UPDATE.
func (f *finder) assignments(targets []*pg_query.Node) []colArg {
	var out []colArg
	for _, t := range targets {
		rt := t.GetResTarget()
		if rt == nil {
			continue
		}
		a := noArg
		if len(rt.Indirection) == 0 && rt.Val != nil && rt.Val.GetMultiAssignRef() == nil {
			a = f.arg(rt.Val)
		}
		out = append(out, colArg{rt.Name, a})
	}
	return out
}

// update finds the key predicate of an UPDATE: the WHERE conjuncts on the
// target (unqualified ones only without FROM) and the assignments.
func (f *finder) update(u *pg_query.UpdateStmt) {
	rel, ref, ok := targetOf(u.Relation)
	if !ok || u.WhereClause == nil || u.WhereClause.GetCurrentOfExpr() != nil {
		return
	}
	where, ops := f.whereColumns(u.WhereClause, ref, len(u.FromClause) == 0)
	if len(where) == 0 {
		return
	}
	f.p.write = &writePredicate{kind: writeUpdate, rel: rel, where: where, set: f.assignments(u.TargetList), exprOps: ops}
}

// delete finds the key predicate of a DELETE: the WHERE conjuncts on the
// target (unqualified ones only without USING).
func (f *finder) delete(d *pg_query.DeleteStmt) {
	rel, ref, ok := targetOf(d.Relation)
	if !ok || d.WhereClause == nil || d.WhereClause.GetCurrentOfExpr() != nil {
		return
	}
	where, ops := f.whereColumns(d.WhereClause, ref, len(d.UsingClause) == 0)
	if len(where) == 0 {
		return
	}
	f.p.write = &writePredicate{kind: writeDelete, rel: rel, where: where, exprOps: ops}
}

// insert finds the key predicate of INSERT … VALUES: the constants of each
// row, and for ON CONFLICT DO UPDATE the conflict target and assignments.
// INSERT … SELECT, DEFAULT VALUES, OVERRIDING USER VALUE (which replaces
// given identity values) and ON CONFLICT ON CONSTRAINT have none.
func (f *finder) insert(ins *pg_query.InsertStmt) {
	rel, _, ok := targetOf(ins.Relation)
	if !ok || ins.Override == pg_query.OverridingKind_OVERRIDING_USER_VALUE {
		return
	}
	sel := ins.SelectStmt.GetSelectStmt()
	if sel == nil || len(sel.ValuesLists) == 0 || sel.Op != pg_query.SetOperation_SETOP_NONE {
		return
	}
	w := &writePredicate{kind: writeInsert, rel: rel}
	if len(ins.Cols) > 0 {
		w.cols = make([]insertCol, 0, len(ins.Cols))
		for _, c := range ins.Cols {
			rt := c.GetResTarget()
			if rt == nil {
				return
			}
			w.cols = append(w.cols, insertCol{name: rt.Name, plain: len(rt.Indirection) == 0})
		}
	}
	total := 0
	for _, vl := range sel.ValuesLists {
		items := vl.GetList().GetItems()
		total += len(items)
		if total > maxInsertArgs {
			return
		}
		row := make([]keyArg, len(items))
		for i, it := range items {
			row[i] = f.arg(it)
		}
		w.rows = append(w.rows, row)
	}
	if oc := ins.OnConflictClause; oc != nil && oc.Action == pg_query.OnConflictAction_ONCONFLICT_UPDATE {
		if oc.Infer == nil || oc.Infer.Conname != "" {
			return
		}
		w.upsert = true
		for _, e := range oc.Infer.IndexElems {
			ie := e.GetIndexElem()
			if ie != nil && ie.Name != "" && ie.Expr == nil && len(ie.Collation) == 0 && len(ie.Opclass) == 0 {
				w.target = append(w.target, ie.Name)
			}
		}
		w.set = f.assignments(oc.TargetList)
	}
	f.p.write = w
}
