package cache

import "time"

// Hint is a per-query instruction the proxy parsed from a SQL comment such as
// `/* pgwarp:cache ttl=30s */` or `/* pgwarp:nocache */`. Hints come from
// clients: they can shorten or lengthen a lifetime up to [Config.MaxTTL] and
// turn caching off, but never turn on what a rule disabled.
type Hint struct {
	// NoCache turns caching off for this statement. Zero: no effect.
	NoCache bool

	// TTL overrides every rule's TTL, capped at [Config.MaxTTL].
	// Zero or negative: no effect.
	TTL time.Duration

	// StaleWhileRevalidate overrides every rule's window, capped at
	// [Config.MaxTTL]; a pointer to zero turns stale serving off.
	// Nil or negative: no effect.
	StaleWhileRevalidate *time.Duration
}

// Decision is the outcome of resolving the rules for one request.
type Decision struct {
	// Disabled is true when the request must run uncached.
	Disabled bool
	// TTL and StaleWhileRevalidate are the lifetime of the request's result;
	// both are zero when Disabled.
	TTL                  time.Duration
	StaleWhileRevalidate time.Duration
	// Rule names what decided: the rule that disabled caching, or the
	// highest-precedence source that set the TTL or the window
	// ([RuleHint], a [Rule.Name] or [RuleDefault]).
	Rule string
}

// compiledRule is a [Rule] (or a reserved pseudo-rule) ready for lookups.
type compiledRule struct {
	name     string
	disabled bool
	ttl      time.Duration // zero: inherit
	swr      time.Duration
	swrSet   bool
	stats    *counters
}

// ruleset is an immutable, compiled [Config]; the cache swaps it atomically
// on reload so lookups never take a lock to read it.
type ruleset struct {
	cfg           Config // with defaults applied
	maxBytes      int64
	maxEntryBytes int64
	maxTTL        time.Duration

	disabledDBs   map[string]struct{}
	byTable       map[tableRef]*compiledRule // database "" matches every database
	byFingerprint map[tableRef]*compiledRule // the fingerprint in the table field

	def, hint, database, cache *compiledRule
}

// compileRules validates cfg and compiles it. statsFor returns the statistics
// record of a rule name; records outlive reloads so counters keep counting.
func compileRules(cfg Config, statsFor func(name string) *counters) (*ruleset, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	rs := &ruleset{
		cfg:           cfg,
		maxBytes:      cfg.MaxBytes,
		maxEntryBytes: cfg.MaxEntryBytes,
		maxTTL:        cfg.MaxTTL,
		disabledDBs:   make(map[string]struct{}, len(cfg.DisabledDatabases)),
		byTable:       make(map[tableRef]*compiledRule),
		byFingerprint: make(map[tableRef]*compiledRule),
	}
	rs.def = &compiledRule{
		name:   RuleDefault,
		ttl:    cfg.Default.TTL,
		swr:    *cfg.Default.StaleWhileRevalidate,
		swrSet: true,
		stats:  statsFor(RuleDefault),
	}
	rs.hint = &compiledRule{name: RuleHint, stats: statsFor(RuleHint)}
	rs.database = &compiledRule{name: RuleDatabase, disabled: true, stats: statsFor(RuleDatabase)}
	rs.cache = &compiledRule{name: RuleCache, disabled: true, stats: statsFor(RuleCache)}
	for _, db := range cfg.DisabledDatabases {
		rs.disabledDBs[db] = struct{}{}
	}
	for _, r := range cfg.Rules {
		cr := &compiledRule{
			name:     r.Name,
			disabled: r.Disabled,
			ttl:      r.TTL,
			stats:    statsFor(r.Name),
		}
		if r.StaleWhileRevalidate != nil {
			cr.swr, cr.swrSet = *r.StaleWhileRevalidate, true
		}
		for _, t := range r.Tables {
			rs.byTable[tableRef{r.Database, t}] = cr
		}
		for _, fp := range r.Fingerprints {
			rs.byFingerprint[tableRef{r.Database, TableID(fp)}] = cr
		}
	}
	return rs, nil
}

// resolve implements the precedence documented on [Cache.Resolve]. It does
// not allocate.
func (rs *ruleset) resolve(req *Request) (d Decision, rule *compiledRule) {
	switch {
	case rs.cfg.Disabled:
		return Decision{Disabled: true, Rule: RuleCache}, rs.cache
	case req.Hint.NoCache:
		return Decision{Disabled: true, Rule: RuleHint}, rs.hint
	}
	if _, off := rs.disabledDBs[req.Database]; off {
		return Decision{Disabled: true, Rule: RuleDatabase}, rs.database
	}
	fp := rs.lookup(rs.byFingerprint, req.Database, TableID(req.Fingerprint))
	if fp != nil && fp.disabled {
		return Decision{Disabled: true, Rule: fp.name}, fp
	}
	var tableTTL, tableSWR *compiledRule // the most restrictive table rules
	for _, t := range req.Tables {
		r := rs.lookup(rs.byTable, req.Database, t)
		switch {
		case r == nil:
		case r.disabled:
			return Decision{Disabled: true, Rule: r.name}, r
		default:
			if r.ttl > 0 && (tableTTL == nil || r.ttl < tableTTL.ttl) {
				tableTTL = r
			}
			if r.swrSet && (tableSWR == nil || r.swr < tableSWR.swr) {
				tableSWR = r
			}
		}
	}

	// Each field comes from the first level that sets it; the decision is
	// named after the highest level that set either.
	hintSWR := req.Hint.StaleWhileRevalidate != nil && *req.Hint.StaleWhileRevalidate >= 0
	switch {
	case req.Hint.TTL > 0:
		d.TTL = req.Hint.TTL
	case fp != nil && fp.ttl > 0:
		d.TTL = fp.ttl
	case tableTTL != nil:
		d.TTL = tableTTL.ttl
	default:
		d.TTL = rs.def.ttl
	}
	switch {
	case hintSWR:
		d.StaleWhileRevalidate = *req.Hint.StaleWhileRevalidate
	case fp != nil && fp.swrSet:
		d.StaleWhileRevalidate = fp.swr
	case tableSWR != nil:
		d.StaleWhileRevalidate = tableSWR.swr
	default:
		d.StaleWhileRevalidate = rs.def.swr
	}
	d.TTL = min(d.TTL, rs.maxTTL)
	d.StaleWhileRevalidate = min(d.StaleWhileRevalidate, rs.maxTTL)
	switch {
	case req.Hint.TTL > 0 || hintSWR:
		rule = rs.hint
	case fp != nil && (fp.ttl > 0 || fp.swrSet):
		rule = fp
	case tableTTL != nil:
		rule = tableTTL
	case tableSWR != nil:
		rule = tableSWR
	default:
		rule = rs.def
	}
	d.Rule = rule.name
	return d, rule
}

// lookup finds the rule for key in database db, preferring a rule that names
// the database over one for every database.
func (rs *ruleset) lookup(m map[tableRef]*compiledRule, db string, key TableID) *compiledRule {
	if len(m) == 0 || key == "" {
		return nil
	}
	if r := m[tableRef{db, key}]; r != nil {
		return r
	}
	return m[tableRef{"", key}]
}
