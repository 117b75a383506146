package policy

// values holds one value per field: the mode as a Mode, row and byte counts,
// and durations in nanoseconds. 0 means unlimited for every limit.
type values [numFields]int64

// scopeKind says where a setting came from.
type scopeKind uint8

const (
	scopeDefault scopeKind = iota
	scopeGlobal
	scopeOverride
)

// scope is the origin of a setting, rendered for SHOW POLICY and for
// messages.
type scope struct {
	kind     scopeKind
	database string
	user     string
}

// row renders s for the source column of SHOW POLICY: "default", "config",
// or "override database=app user=etl".
func (s scope) row() string {
	switch s.kind {
	case scopeDefault:
		return "default"
	case scopeGlobal:
		return "config"
	}
	out := "override"
	if s.database != "" {
		out += " database=" + s.database
	}
	if s.user != "" {
		out += " user=" + s.user
	}
	return out
}

// phrase renders s for a DETAIL: "the built-in default", "the global
// policy", or `the override for user "etl"`.
func (s scope) phrase() string {
	switch s.kind {
	case scopeDefault:
		return "the built-in default"
	case scopeGlobal:
		return "the global policy"
	}
	o := Override{Database: s.database, User: s.user}
	return "the override for " + o.describe()
}

// layer is one compiled [Settings]: the fields it sets and their values.
type layer struct {
	set   uint8 // bit f is set when the layer sets field f
	v     values
	scope scope
}

// compileLayer turns s into a layer from sc.
func compileLayer(s *Settings, sc scope) layer {
	l := layer{scope: sc}
	put := func(f field, v int64) {
		l.set |= 1 << f
		l.v[f] = v
	}
	if s.Mode != nil {
		put(fieldMode, int64(*s.Mode))
	}
	if s.MaxRowsPerQuery != nil {
		put(fieldMaxRowsPerQuery, *s.MaxRowsPerQuery)
	}
	if s.MaxRowsPerWrite != nil {
		put(fieldMaxRowsPerWrite, *s.MaxRowsPerWrite)
	}
	if s.MaxResultBytes != nil {
		put(fieldMaxResultBytes, *s.MaxResultBytes)
	}
	if s.TransactionTimeout != nil {
		put(fieldTransactionTimeout, int64(*s.TransactionTimeout))
	}
	if s.StatementTimeout != nil {
		put(fieldStatementTimeout, int64(*s.StatementTimeout))
	}
	return l
}

// apply returns base with the fields l sets replaced by l's values.
func (l *layer) apply(base values) values {
	for f := range numFields {
		if l.set&(1<<f) != 0 {
			base[f] = l.v[f]
		}
	}
	return base
}

// applyScopes records l's scope for the fields l sets.
func (l *layer) applyScopes(base *[numFields]scope) {
	for f := range numFields {
		if l.set&(1<<f) != 0 {
			base[f] = l.scope
		}
	}
}

// scoped is an override for one database or one user: its own layer and the
// global values with that layer applied.
type scoped struct {
	layer    layer
	resolved values
}

// pairKey identifies a (database, user) pair.
type pairKey struct{ database, user string }

// ruleset is a compiled, validated [Config]. It is immutable once built, so
// any number of goroutines may read it while [Engine.Reload] replaces it.
type ruleset struct {
	global       values
	globalScopes [numFields]scope
	databases    map[string]*scoped
	users        map[string]*scoped
	pairs        map[pairKey]*layer
	pairValues   map[pairKey]values // fully resolved, so a pair hit costs one lookup
	overrides    []layer            // in configuration order, for SHOW POLICY
}

// compile validates cfg and builds its ruleset.
func compile(cfg Config) (*ruleset, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	global := compileLayer(&cfg.Settings, scope{kind: scopeGlobal})
	rs := &ruleset{global: global.apply(defaultValues)}
	global.applyScopes(&rs.globalScopes)
	rs.overrides = make([]layer, len(cfg.Overrides))
	for i := range cfg.Overrides {
		o := &cfg.Overrides[i]
		l := compileLayer(&o.Settings, scope{kind: scopeOverride, database: o.Database, user: o.User})
		rs.overrides[i] = l
		switch {
		case o.User == "":
			if rs.databases == nil {
				rs.databases = make(map[string]*scoped)
			}
			rs.databases[o.Database] = &scoped{layer: l, resolved: l.apply(rs.global)}
		case o.Database == "":
			if rs.users == nil {
				rs.users = make(map[string]*scoped)
			}
			rs.users[o.User] = &scoped{layer: l, resolved: l.apply(rs.global)}
		default:
			if rs.pairs == nil {
				rs.pairs = make(map[pairKey]*layer)
			}
			rs.pairs[pairKey{o.Database, o.User}] = &rs.overrides[i]
		}
	}
	if len(rs.pairs) > 0 {
		rs.pairValues = make(map[pairKey]values, len(rs.pairs))
		for k := range rs.pairs {
			v, _ := rs.explain(k.database, k.user)
			rs.pairValues[k] = v
		}
	}
	return rs, nil
}

// lookup returns the values in force for database and user. It is the hot
// path of [Engine.Check]: at most three map reads, no allocation.
func (rs *ruleset) lookup(database, user string) values {
	if rs.pairValues != nil {
		if v, ok := rs.pairValues[pairKey{database, user}]; ok {
			return v
		}
	}
	d := rs.databases[database]
	u := rs.users[user]
	switch {
	case d == nil && u == nil:
		return rs.global
	case u == nil:
		return d.resolved
	case d == nil:
		return u.resolved
	default:
		return u.layer.apply(d.resolved)
	}
}

// explain resolves database and user layer by layer, returning the values
// and the scope each came from. It is the slow path behind SHOW POLICY and
// violation messages; [ruleset.lookup] must always agree with it.
func (rs *ruleset) explain(database, user string) (values, [numFields]scope) {
	v, sc := rs.global, rs.globalScopes
	if d := rs.databases[database]; d != nil {
		v = d.layer.apply(v)
		d.layer.applyScopes(&sc)
	}
	if u := rs.users[user]; u != nil {
		v = u.layer.apply(v)
		u.layer.applyScopes(&sc)
	}
	if p := rs.pairs[pairKey{database, user}]; p != nil {
		v = p.apply(v)
		p.applyScopes(&sc)
	}
	return v, sc
}
