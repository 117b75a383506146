package query

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// RelKind is a relation's kind, as pg_class.relkind records it.
type RelKind uint8

// Relation kinds the catalog knows.
const (
	RelUnknown RelKind = iota
	RelTable
	RelView
	RelMatView
	RelForeignTable
	RelPartitionedTable
	RelSequence
)

// String returns the kind in lower case, such as "materialized view".
func (k RelKind) String() string {
	switch k {
	case RelUnknown:
		return "unknown"
	case RelTable:
		return "table"
	case RelView:
		return "view"
	case RelMatView:
		return "materialized view"
	case RelForeignTable:
		return "foreign table"
	case RelPartitionedTable:
		return "partitioned table"
	case RelSequence:
		return "sequence"
	}
	return "RelKind(" + strconv.Itoa(int(k)) + ")"
}

func relKindOf(s string) RelKind {
	switch s {
	case "r":
		return RelTable
	case "v":
		return RelView
	case "m":
		return RelMatView
	case "f":
		return RelForeignTable
	case "p":
		return RelPartitionedTable
	case "S":
		return RelSequence
	}
	return RelUnknown
}

// Catalog is what pgwarp knows of one database's schema: the volatility of
// every function and user-defined operator, and the relations with the
// facts exact cache invalidation needs (kind, the relations views read, the
// inheritance and partition tree, foreign keys, user triggers and rules,
// row-level security policies). It is built from the rows of [CatalogQuery]
// by [NewCatalog] or [LoadCatalog], is immutable afterwards, and is safe
// for concurrent use. A nil *Catalog behaves as an empty one: every
// relation and function is unknown.
type Catalog struct {
	functions map[qname][]proc
	operators map[qname][]proc
	relations map[qname]*relation
	byName    map[string][]*relation
	// envPath is the search_path the catalog query ran with: view and
	// policy definitions are printed relative to it.
	envPath SearchPath
	// plans memoises ReadKeys' catalog work per statement (see
	// readPlanFor); nplans bounds it.
	plans  sync.Map // *predicates → *readPlan
	nplans atomic.Int64
	// vols memoises Volatility per statement, for the search_path it
	// was computed with; nvols bounds it as nplans does plans.
	vols  sync.Map // *Statement → *volatilityMemo
	nvols atomic.Int64
}

// volatilityMemo is one memoised [Catalog.Volatility] result.
type volatilityMemo struct {
	sp      SearchPath
	v       Volatility
	culprit string
}

// qname is a schema-qualified name.
type qname struct{ schema, name string }

// proc is one pg_proc row (or an operator's implementing function).
type proc struct {
	nargs, ndefaults int
	variadic         bool
	volatility       Volatility
	parallelUnsafe   bool
}

// accepts reports whether a call with n arguments can resolve to p.
func (p proc) accepts(n int) bool {
	if n == p.nargs {
		return true
	}
	if n < p.nargs && n >= p.nargs-p.ndefaults {
		return true
	}
	return p.variadic && n >= p.nargs-1
}

// relation is one pg_class row and what the catalog derives for it.
type relation struct {
	name        Relation
	kind        RelKind
	triggers    bool // user (not internal) triggers
	rules       bool // rewrite rules other than a view's _RETURN
	rowSecurity bool

	// columns are the columns of an ordinary table or materialized view
	// outside the system schemas, in attnum order, dropped ones left out;
	// nil for other relations.
	columns []column
	// looseUnique reports a unique index whose equality may differ from
	// the column type's = (a non-default operator class, or a
	// nondeterministic collation), which ON CONFLICT may use as arbiter.
	looseUnique bool
	// uniqueKeys are the key column names of the table's strict unique indexes
	// (see the q rows of [CatalogQuery]): equality on all of them
	// matches at most one row.
	uniqueKeys [][]string

	viewDef    string
	policyDefs []string

	parents, children []*relation
	// referencedBy are the foreign keys that reference this relation.
	referencedBy []foreignKey
	// viewReads are the relations a view's definition reads (from
	// pg_depend and from parsing its definition).
	viewReads []*relation

	// Derived by analyse.
	analysed   bool
	analysing  bool
	volatility Volatility
	culprit    string
	mayWrite   bool
	// uncacheable is why reading the relation can never be cached, or
	// empty.
	uncacheable string
	// deps are the relations whose writes change what reading this one
	// returns: itself, for a view everything it reads (recursively), and
	// the relations its row-level security policies read.
	deps []Relation
}

// column is one pg_attribute row of a relation.
type column struct {
	name   string
	attnum int
	typ    uint32 // atttypid
	typmod int32  // atttypmod: for varchar(n), n + 4; -1 when unlimited
	// nondeterministic reports a collation whose equality is not
	// bytewise.
	nondeterministic bool
	// generated reports a generated column, whose value an UPDATE
	// recomputes from other columns.
	generated bool
}

// column returns rel's column named name, or nil.
func (rel *relation) column(name string) *column {
	for i := range rel.columns {
		if rel.columns[i].name == name {
			return &rel.columns[i]
		}
	}
	return nil
}

// foreignKey is a foreign key from referencing to the relation that holds
// it in referencedBy.
type foreignKey struct {
	referencing *relation
	// cascades reports ON DELETE or ON UPDATE CASCADE, SET NULL or SET
	// DEFAULT: a write to the referenced table writes the referencing
	// one.
	cascades bool
}

// Row kinds of [CatalogQuery].
const (
	rowEnv         = "e"
	rowFunction    = "f"
	rowOperator    = "o"
	rowRelation    = "r"
	rowViewDep     = "v"
	rowInherits    = "i"
	rowForeignKey  = "k"
	rowPolicy      = "p"
	rowColumn      = "c"
	rowLooseUnique = "u"
	rowUnique      = "q"
	catalogColumns = 8
)

// NewCatalog builds a Catalog from the rows [CatalogQuery] returns, each a
// slice of its eight columns as text (NULL as the empty string). Rows of a
// kind it does not know are ignored; a row with the wrong number of columns
// or an unreadable number is an error.
func NewCatalog(rows [][]string) (*Catalog, error) {
	c := &Catalog{
		functions: make(map[qname][]proc),
		operators: make(map[qname][]proc),
		relations: make(map[qname]*relation),
		byName:    make(map[string][]*relation),
		envPath:   DefaultSearchPath(""),
	}
	var viewDeps, inherits, fks, policies, columns, loose, uniques [][]string
	for i, r := range rows {
		if len(r) != catalogColumns {
			return nil, fmt.Errorf("query: catalog row %d has %d columns, want %d", i, len(r), catalogColumns)
		}
		switch r[0] {
		case rowEnv:
			c.envPath = ParseSearchPath(r[1], r[2])
		case rowFunction, rowOperator:
			p, err := procOf(r)
			if err != nil {
				return nil, fmt.Errorf("query: catalog row %d: %w", i, err)
			}
			k := qname{r[1], r[2]}
			if r[0] == rowFunction {
				c.functions[k] = append(c.functions[k], p)
			} else {
				c.operators[k] = append(c.operators[k], p)
			}
		case rowRelation:
			rel := &relation{
				name:        Relation{Schema: r[1], Name: r[2]},
				kind:        relKindOf(r[3]),
				triggers:    r[4] == "true",
				rules:       r[5] == "true",
				rowSecurity: r[6] == "true",
				viewDef:     r[7],
			}
			c.relations[qname{r[1], r[2]}] = rel
			c.byName[r[2]] = append(c.byName[r[2]], rel)
		case rowViewDep:
			viewDeps = append(viewDeps, r)
		case rowInherits:
			inherits = append(inherits, r)
		case rowForeignKey:
			fks = append(fks, r)
		case rowPolicy:
			policies = append(policies, r)
		case rowColumn:
			columns = append(columns, r)
		case rowLooseUnique:
			loose = append(loose, r)
		case rowUnique:
			uniques = append(uniques, r)
		}
	}
	for _, r := range columns {
		col, err := columnOf(r)
		if err != nil {
			return nil, fmt.Errorf("query: catalog column row: %w", err)
		}
		if t := c.relations[qname{r[1], r[2]}]; t != nil {
			t.columns = append(t.columns, col)
		}
	}
	for _, rel := range c.relations {
		if len(rel.columns) > 1 {
			sort.Slice(rel.columns, func(i, j int) bool { return rel.columns[i].attnum < rel.columns[j].attnum })
		}
	}
	for _, r := range loose {
		if t := c.relations[qname{r[1], r[2]}]; t != nil {
			t.looseUnique = true
		}
	}
	for _, r := range uniques {
		t := c.relations[qname{r[1], r[2]}]
		if t == nil || r[3] == "" {
			continue
		}
		var key []string
		for _, f := range strings.Split(r[3], ",") {
			attnum, err := strconv.Atoi(f)
			if err != nil {
				return nil, fmt.Errorf("query: catalog unique index row: %w", err)
			}
			name := ""
			for _, col := range t.columns {
				if col.attnum == attnum {
					name = col.name
					break
				}
			}
			if name == "" {
				// A system column (attnum < 0) or one not loaded: the
				// index proves nothing pgwarp can use.
				key = nil
				break
			}
			key = append(key, name)
		}
		if key != nil {
			t.uniqueKeys = append(t.uniqueKeys, key)
		}
	}
	for _, r := range viewDeps {
		v, d := c.relations[qname{r[1], r[2]}], c.relations[qname{r[3], r[4]}]
		if v != nil && d != nil {
			v.viewReads = appendRel(v.viewReads, d)
		}
	}
	for _, r := range inherits {
		child, parent := c.relations[qname{r[1], r[2]}], c.relations[qname{r[3], r[4]}]
		if child != nil && parent != nil {
			child.parents = appendRel(child.parents, parent)
			parent.children = appendRel(parent.children, child)
		}
	}
	for _, r := range fks {
		from, to := c.relations[qname{r[1], r[2]}], c.relations[qname{r[3], r[4]}]
		if from != nil && to != nil {
			to.referencedBy = append(to.referencedBy, foreignKey{referencing: from, cascades: cascading(r[5]) || cascading(r[6])})
		}
	}
	for _, r := range policies {
		if t := c.relations[qname{r[1], r[2]}]; t != nil && r[3] != "" {
			t.policyDefs = append(t.policyDefs, r[3])
		}
	}
	for _, rel := range c.relations {
		c.analyse(rel)
	}
	return c, nil
}

// cascading reports the foreign-key actions that write the referencing
// table: cascade, set null, set default.
func cascading(action string) bool { return action == "c" || action == "n" || action == "d" }

// columnOf reads a column row: schema, table, name, attnum, type OID,
// typmod, flags (n for a nondeterministic collation, g for a generated
// column).
func columnOf(r []string) (column, error) {
	col := column{name: r[3]}
	var err error
	if col.attnum, err = strconv.Atoi(r[4]); err != nil {
		return col, err
	}
	typ, err := strconv.ParseUint(r[5], 10, 32)
	if err != nil {
		return col, err
	}
	col.typ = uint32(typ)
	typmod, err := strconv.ParseInt(r[6], 10, 32)
	if err != nil {
		return col, err
	}
	col.typmod = int32(typmod)
	col.nondeterministic = strings.Contains(r[7], "n")
	col.generated = strings.Contains(r[7], "g")
	return col, nil
}

func procOf(r []string) (proc, error) {
	var p proc
	var err error
	if p.nargs, err = strconv.Atoi(r[3]); err != nil {
		return p, err
	}
	if r[4] != "" {
		if p.ndefaults, err = strconv.Atoi(r[4]); err != nil {
			return p, err
		}
	}
	p.variadic = r[5] == "true"
	switch r[6] {
	case "i":
		p.volatility = VolatilityImmutable
	case "s":
		p.volatility = VolatilityStable
	default:
		p.volatility = VolatilityVolatile
	}
	p.parallelUnsafe = r[7] != "s" && r[7] != "r"
	return p, nil
}

func appendRel(list []*relation, r *relation) []*relation {
	for _, x := range list {
		if x == r {
			return list
		}
	}
	return append(list, r)
}

// systemSchema reports the schemas whose relations change without writes
// through pgwarp (or describe the server itself).
func systemSchema(s string) bool {
	return s == "pg_catalog" || s == "information_schema" || s == "pg_toast"
}

// analyse derives a relation's volatility, write risk, cacheability and
// dependency set, analysing the relations it reads first.
func (c *Catalog) analyse(rel *relation) {
	if rel.analysed {
		return
	}
	if rel.analysing {
		// A cycle cannot occur in a consistent catalog; be safe.
		rel.uncacheable = "relation depends on itself"
		return
	}
	rel.analysing = true
	defer func() { rel.analysing, rel.analysed = false, true }()

	rel.volatility = VolatilityImmutable
	rel.deps = []Relation{rel.name}
	switch {
	case systemSchema(rel.name.Schema):
		rel.uncacheable = "reads a system catalog"
	case rel.kind == RelForeignTable:
		rel.uncacheable = "reads a foreign table"
	case rel.kind == RelSequence:
		rel.uncacheable = "reads a sequence"
	case rel.kind == RelUnknown:
		rel.uncacheable = "reads a relation of an unsupported kind"
	}
	// Rows of inheritance children and partitions are read through the
	// parent: a foreign partition makes the parent uncacheable too.
	if rel.uncacheable == "" && (rel.kind == RelTable || rel.kind == RelPartitionedTable) {
		for _, d := range descendants(rel) {
			if d.kind == RelForeignTable {
				rel.uncacheable = "reads a foreign partition or child table"
				break
			}
		}
	}
	if rel.kind == RelView && !systemSchema(rel.name.Schema) {
		c.analyseDefinition(rel, rel.viewDef, true)
	}
	for _, def := range rel.policyDefs {
		c.analyseDefinition(rel, "SELECT "+def, false)
	}
}

// analyseDefinition folds the facts of a view definition or of a row
// security policy expression (as a SELECT) into rel.
func (c *Catalog) analyseDefinition(rel *relation, def string, isView bool) {
	var sc scan
	lex(def, &sc, true, nil)
	info := parse(def, &sc)
	if info.Err != nil || len(info.Statements) != 1 {
		if rel.uncacheable == "" {
			rel.uncacheable = "definition not understood"
		}
		rel.volatility = VolatilityVolatile
		rel.culprit = rel.name.String()
		rel.mayWrite = true
		return
	}
	st := &info.Statements[0]
	if !st.ReadOnly {
		rel.mayWrite = true
		if st.Locking != LockNone && rel.uncacheable == "" {
			rel.uncacheable = "view locks rows"
		}
	}
	c.raise(rel, VolatilityStable, st.TimeLiteral, "time-relative literal in "+rel.name.String())
	c.raise(rel, VolatilityVolatile, st.Sampling, "TABLESAMPLE in "+rel.name.String())
	for _, f := range st.Functions {
		v, unsafe, _ := c.functionVolatility(f, c.envPath)
		c.raise(rel, v, true, f.String())
		rel.mayWrite = rel.mayWrite || unsafe
	}
	reads := rel.viewReads
	if !isView {
		reads = nil
	}
	for _, r := range st.Reads {
		d := c.resolve(r, c.envPath)
		if d == nil {
			if rel.uncacheable == "" {
				rel.uncacheable = "definition reads an unknown relation"
			}
			continue
		}
		reads = appendRel(reads, d)
	}
	for _, d := range reads {
		if d == rel {
			continue
		}
		c.analyse(d)
		if d.uncacheable != "" && rel.uncacheable == "" {
			rel.uncacheable = d.uncacheable
		}
		c.raise(rel, d.volatility, true, d.culprit)
		rel.mayWrite = rel.mayWrite || d.mayWrite
		for _, n := range d.deps {
			rel.deps = appendName(rel.deps, n)
		}
	}
}

// raise makes rel at least v volatile when cond holds, remembering the
// culprit of the first increase.
func (c *Catalog) raise(rel *relation, v Volatility, cond bool, culprit string) {
	if cond && v > rel.volatility {
		rel.volatility = v
		rel.culprit = culprit
	}
}

func appendName(list []Relation, r Relation) []Relation {
	for _, x := range list {
		if x == r {
			return list
		}
	}
	return append(list, r)
}

// descendants returns the inheritance children and partitions of rel,
// recursively.
func descendants(rel *relation) []*relation {
	var out []*relation
	var walk func(r *relation)
	walk = func(r *relation) {
		for _, ch := range r.children {
			if len(out) > 0 && containsRel(out, ch) {
				continue
			}
			out = append(out, ch)
			walk(ch)
		}
	}
	walk(rel)
	return out
}

// ancestors returns the inheritance parents of rel, recursively.
func ancestors(rel *relation) []*relation {
	var out []*relation
	var walk func(r *relation)
	walk = func(r *relation) {
		for _, p := range r.parents {
			if containsRel(out, p) {
				continue
			}
			out = append(out, p)
			walk(p)
		}
	}
	walk(rel)
	return out
}

func containsRel(list []*relation, r *relation) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}

// resolve finds the relation r names under search path sp, or nil. An
// unqualified name is looked up in the path's schemas in order; the
// session's temporary schema is not in the catalog and is skipped.
func (c *Catalog) resolve(r Relation, sp SearchPath) *relation {
	if c == nil {
		return nil
	}
	if r.Schema != "" {
		return c.relations[qname{r.Schema, r.Name}]
	}
	for _, s := range sp.RelationSchemas() {
		if s == "pg_temp" {
			continue
		}
		if rel := c.relations[qname{s, r.Name}]; rel != nil {
			return rel
		}
	}
	return nil
}

// Resolve returns the schema-qualified name and kind of the relation r
// names under search path sp. It reports false when the catalog has no such
// relation (a temporary relation, or one created since the catalog was
// loaded).
func (c *Catalog) Resolve(r Relation, sp SearchPath) (Relation, RelKind, bool) {
	rel := c.resolve(r, sp)
	if rel == nil {
		return Relation{}, RelUnknown, false
	}
	return rel.name, rel.kind, true
}

// functionVolatility returns the volatility of a call: the most volatile
// of the functions of that name and argument count in the schemas the call
// can resolve to, and whether any of them is parallel-unsafe (PostgreSQL's
// marking for functions that may write). found is false for a function the
// catalog does not know, which counts as volatile and unsafe.
//
// Operators in pg_catalog count as immutable: resolving them needs the
// argument types, and the built-in ones that are not immutable are the
// date/time and text-concatenation variants whose results depend only on
// settings (TimeZone, DateStyle…) that belong to the cache key.
func (c *Catalog) functionVolatility(f Function, sp SearchPath) (v Volatility, unsafe, found bool) {
	if f.Fixed != VolatilityUnknown {
		return f.Fixed, false, true
	}
	if c == nil {
		if f.Operator {
			return VolatilityImmutable, false, true
		}
		return VolatilityVolatile, true, false
	}
	table := c.functions
	if f.Operator {
		table = c.operators
	}
	v = VolatilityImmutable
	look := func(schema string) {
		if f.Operator && schema == "pg_catalog" {
			found = true
			return
		}
		for _, p := range table[qname{schema, f.Name}] {
			if p.accepts(f.Args) {
				found = true
				if p.volatility > v {
					v = p.volatility
				}
				unsafe = unsafe || p.parallelUnsafe
			}
		}
	}
	if f.Schema != "" {
		look(f.Schema)
	} else {
		for _, s := range sp.FunctionSchemas() {
			look(s)
		}
	}
	if f.Operator {
		// An operator found nowhere outside pg_catalog is a built-in one.
		return v, unsafe, true
	}
	if !found {
		return VolatilityVolatile, true, false
	}
	return v, unsafe, true
}

// FunctionVolatility returns the volatility of a call of f under search
// path sp: f.Fixed when set, else the most volatile pg_proc entry of that
// name that accepts f.Args arguments in the schemas the name can resolve
// to. A function the catalog does not know is VolatilityVolatile.
func (c *Catalog) FunctionVolatility(f Function, sp SearchPath) Volatility {
	v, _, _ := c.functionVolatility(f, sp)
	return v
}

// Volatility returns how volatile st is under search path sp, and what
// makes it so (a function, a view, or a description) when it is not
// immutable: the most volatile of the functions it calls, the views it
// reads (their definitions' functions, recursively) and the row-level
// security policies of the tables it reads; a time-relative literal makes it
// at least stable and TABLESAMPLE without REPEATABLE volatile. Unknown
// relations are not counted here; eligibility rejects them.
//
// The result is memoised by st's address (and sp), so that a cache hit does
// not look up every function again: st must not change after the call, as
// the Statements of a [Classifier]'s Info never do. The catalog itself is
// immutable.
func (c *Catalog) Volatility(st *Statement, sp SearchPath) (Volatility, string) {
	if c == nil {
		return c.volatility(st, sp)
	}
	if m, ok := c.vols.Load(st); ok {
		if m := m.(*volatilityMemo); m.sp.equal(sp) {
			return m.v, m.culprit
		}
	}
	v, culprit := c.volatility(st, sp)
	if c.nvols.Add(1) > maxReadPlans {
		c.vols.Clear()
		c.nvols.Store(1)
	}
	c.vols.Store(st, &volatilityMemo{sp: sp, v: v, culprit: culprit})
	return v, culprit
}

func (c *Catalog) volatility(st *Statement, sp SearchPath) (Volatility, string) {
	v, culprit := VolatilityImmutable, ""
	raise := func(x Volatility, why string) {
		if x > v {
			v, culprit = x, why
		}
	}
	for _, f := range st.Functions {
		fv, _, _ := c.functionVolatility(f, sp)
		if fv > v {
			v, culprit = fv, f.String()
		}
	}
	if st.TimeLiteral {
		raise(VolatilityStable, "time-relative literal")
	}
	if st.Sampling {
		raise(VolatilityVolatile, "TABLESAMPLE")
	}
	for _, r := range st.Reads {
		if rel := c.resolve(r, sp); rel != nil && rel.volatility > v {
			v, culprit = rel.volatility, rel.name.String()+": "+rel.culprit
		}
	}
	return v, culprit
}

// ReadOnly refines [Statement.ReadOnly] with the catalog: it also requires
// that every function st calls, directly or through the views and policies
// it reads, is known and not marked parallel-unsafe (PostgreSQL's marking
// for functions that may write; user-defined functions are unsafe unless
// declared otherwise). It is the test pgwarp applies before calling a
// statement read-only.
func (c *Catalog) ReadOnly(st *Statement, sp SearchPath) bool {
	if !st.ReadOnly {
		return false
	}
	for _, f := range st.Functions {
		if _, unsafe, _ := c.functionVolatility(f, sp); unsafe {
			return false
		}
	}
	for _, r := range st.Reads {
		rel := c.resolve(r, sp)
		if rel != nil && rel.mayWrite {
			return false
		}
	}
	return true
}
