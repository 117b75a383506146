package query

// ReadDependencies returns the relations whose writes can change what st
// returns, schema-qualified, for the cache's table → entries index: every
// relation st reads, and for a view everything it reads recursively (views
// and base tables), plus the relations the row-level security policies of
// those tables read. Inheritance and partitions need no entries here:
// [Catalog.InvalidatedBy] maps a write to a partition to its ancestors. ok
// is false when some relation is not in the catalog; such a result must not
// be cached.
func (c *Catalog) ReadDependencies(st *Statement, sp SearchPath) (deps []Relation, ok bool) {
	ok = true
	for _, r := range st.Reads {
		rel := c.resolve(r, sp)
		if rel == nil {
			ok = false
			continue
		}
		for _, d := range rel.deps {
			deps = appendName(deps, d)
		}
	}
	return deps, ok
}

// InvalidatedBy returns the relations whose cached readers a write to the
// schema-qualified relation t must invalidate: t itself; its ancestors in
// the inheritance or partition tree (their readers see t's rows); its
// descendants (a write through a parent reaches them); the tables that
// reference t through a foreign key with ON DELETE or ON UPDATE CASCADE,
// SET NULL or SET DEFAULT, recursively (the write reaches them too); and
// for a view, the base relations a write through it changes. unknown
// reports effects pgwarp cannot follow (user triggers or rewrite rules on
// any relation the write reaches): the whole database must be invalidated.
// A relation the catalog does not know yields just itself.
func (c *Catalog) InvalidatedBy(t Relation) (tables []Relation, unknown bool) {
	rel := c.resolve(t, SearchPath{})
	if rel == nil {
		return []Relation{t}, false
	}
	var w writeClosure
	w.add(rel, false)
	return w.names(), w.unknown
}

// writeClosure accumulates the relations a write reaches.
type writeClosure struct {
	seen    []*relation
	unknown bool
}

// add adds rel and everything a write to it reaches. allReferencing
// follows every foreign key, not only cascading ones, as TRUNCATE …
// CASCADE does.
func (w *writeClosure) add(rel *relation, allReferencing bool) {
	if containsRel(w.seen, rel) {
		return
	}
	w.seen = append(w.seen, rel)
	if rel.triggers || rel.rules {
		w.unknown = true
	}
	for _, a := range ancestors(rel) {
		if !containsRel(w.seen, a) {
			w.seen = append(w.seen, a)
		}
		// A statement-level trigger on a partitioned table fires for a
		// write through it; row triggers are cloned onto partitions.
		if a.rules {
			w.unknown = true
		}
	}
	for _, d := range descendants(rel) {
		w.add(d, allReferencing)
	}
	for _, fk := range rel.referencedBy {
		if fk.cascades || allReferencing {
			w.add(fk.referencing, allReferencing)
		}
	}
	if rel.kind == RelView {
		// An automatically updatable view writes its base relation.
		for _, b := range rel.viewReads {
			if b.kind == RelTable || b.kind == RelPartitionedTable || b.kind == RelView {
				w.add(b, allReferencing)
			}
		}
	}
}

func (w *writeClosure) names() []Relation {
	out := make([]Relation, len(w.seen))
	for i, r := range w.seen {
		out[i] = r.name
	}
	return out
}

// WriteSet is what the writes of a query string invalidate in the cache.
type WriteSet struct {
	// Tables are the relations whose cached readers must be invalidated,
	// schema-qualified.
	Tables []Relation
	// Keys are the written relations narrowed by columns (see [TableKey]
	// and [Catalog.InvalidationsWith]): for each such relation, one
	// TableKey per constrained column. A relation in Keys is not in
	// Tables; a cached reader that depends on it in whole, or by a key on
	// a column Keys does not constrain for it, must be invalidated too.
	// [Catalog.Invalidations] leaves it nil.
	Keys []TableKey
	// All reports writes whose effects pgwarp cannot follow: user
	// triggers or rules, DO, CALL, EXECUTE, DDL on functions or types,
	// SET SCHEMA… The whole database's entries must be invalidated.
	All bool
	// MayWrite reports a call of a function that may write although the
	// statement looks like a read: a function marked parallel-unsafe
	// (which user-defined functions are unless declared otherwise) or
	// unknown to the catalog. Whether that invalidates the whole database
	// or nothing is the proxy's configured policy.
	MayWrite bool
}

// Invalidations returns what the writes of info invalidate under search
// path sp. Reads add nothing. Unqualified written names resolve as
// PostgreSQL would resolve them, except that the session's temporary
// relations are unknown here (a write to one may invalidate a permanent
// relation of the same name, which is merely wasteful). A relation the
// statement creates invalidates every relation of that name, since it may
// hide one of them from later unqualified reads.
func (c *Catalog) Invalidations(info *Info, sp SearchPath) WriteSet {
	var ws WriteSet
	var w writeClosure
	for k := range info.Statements {
		st := &info.Statements[k]
		if st.UnknownWrites {
			ws.All = true
		}
		for _, f := range st.Functions {
			if c.mayWriteData(f, sp) {
				ws.MayWrite = true
			}
		}
		for _, r := range st.Reads {
			if rel := c.resolve(r, sp); rel != nil && rel.mayWrite {
				ws.MayWrite = true
			}
		}
		for _, r := range st.Writes {
			if rel := c.resolve(r, sp); rel != nil {
				w.add(rel, st.Kind == KindTruncate)
			}
		}
		if c == nil {
			continue
		}
		for _, r := range st.Creates {
			for _, rel := range c.byName[r.Name] {
				if !containsRel(w.seen, rel) {
					w.seen = append(w.seen, rel)
				}
			}
		}
	}
	ws.All = ws.All || w.unknown
	if len(w.seen) > 0 {
		ws.Tables = w.names()
	}
	return ws
}

// sqlRunningBuiltins are the built-in functions that run SQL given as text
// and so may write user data.
var sqlRunningBuiltins = map[string]bool{
	"query_to_xml": true, "query_to_xmlschema": true, "query_to_xml_and_xmlschema": true,
	"cursor_to_xml": true, "cursor_to_xmlschema": true, "ts_stat": true, "ts_rewrite": true,
}

// mayWriteData reports whether a call of f may write user tables. Built-in
// functions write only sequences, large objects, settings and server state,
// none of which a cached result depends on, except those that run SQL
// text; any other function that pg_proc marks VOLATILE and parallel-unsafe,
// or that the catalog does not know, may write.
func (c *Catalog) mayWriteData(f Function, sp SearchPath) bool {
	switch {
	case f.Fixed != VolatilityUnknown:
		return false
	case f.Operator && !c.userOperator(f, sp):
		return false
	case !f.Operator && (f.Schema == "" || f.Schema == "pg_catalog") && c.builtin(f):
		return sqlRunningBuiltins[f.Name]
	}
	// PostgreSQL refuses writes in STABLE and IMMUTABLE SQL and PL/pgSQL
	// functions ("UPDATE is not allowed in a non-volatile function"), and
	// functions that write must be marked PARALLEL UNSAFE.
	v, unsafe, found := c.functionVolatility(f, sp)
	return !found || (v == VolatilityVolatile && unsafe)
}

// builtin reports whether pg_catalog has a function named like f that
// accepts its arguments; pg_catalog is searched first unless a search_path
// lists it later, so such a call resolves to the built-in.
func (c *Catalog) builtin(f Function) bool {
	if c == nil {
		return writingBuiltin(f.Name) || sqlRunningBuiltins[f.Name]
	}
	for _, p := range c.functions[qname{"pg_catalog", f.Name}] {
		if p.accepts(f.Args) {
			return true
		}
	}
	return false
}

// userOperator reports whether an operator call may resolve to an operator
// outside pg_catalog.
func (c *Catalog) userOperator(f Function, sp SearchPath) bool {
	if c == nil {
		return false
	}
	if f.Schema != "" {
		return f.Schema != "pg_catalog" && len(c.operators[qname{f.Schema, f.Name}]) > 0
	}
	for _, s := range sp.FunctionSchemas() {
		if len(c.operators[qname{s, f.Name}]) > 0 {
			return true
		}
	}
	return false
}
