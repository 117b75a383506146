package query

import "strconv"

// Reason is why a query string may or may not be cached. The names follow
// Cloudflare Hyperdrive's cache-status vocabulary where it has one; the
// cache itself adds hit, miss, stale, oversizedresult and disabled.
type Reason uint8

// Eligibility reasons.
const (
	// ReasonCacheable: a single read-only, deterministic statement outside
	// a transaction block.
	ReasonCacheable Reason = iota
	// ReasonUncacheable: not a read (a write, DDL, a session or
	// transaction command), a row lock, SELECT INTO, or a read of
	// something whose changes pgwarp cannot see (system catalogs, foreign
	// tables, sequences, temporary or unknown relations).
	ReasonUncacheable
	// ReasonVolatile: calls a function that is not IMMUTABLE (directly or
	// through a view or a row security policy), has a time-relative
	// literal or parameter, or samples rows with TABLESAMPLE.
	ReasonVolatile
	// ReasonTransaction: the session is inside an explicit transaction
	// block, where results may depend on the transaction's own writes and
	// snapshot.
	ReasonTransaction
	// ReasonMultipleStatements: the string holds more than one statement.
	ReasonMultipleStatements
	// ReasonParseError: the string does not parse.
	ReasonParseError
)

// String returns the reason's Hyperdrive-style name, such as "volatile".
func (r Reason) String() string {
	switch r {
	case ReasonCacheable:
		return "cacheable"
	case ReasonUncacheable:
		return "uncacheable"
	case ReasonVolatile:
		return "volatile"
	case ReasonTransaction:
		return "transaction"
	case ReasonMultipleStatements:
		return "multiplestatements"
	case ReasonParseError:
		return "parseerror"
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// Verdict is the result of [Eligibility].
type Verdict struct {
	// Reason is the verdict; ReasonCacheable when the result may be
	// cached.
	Reason Reason
	// Detail says why in a few words, such as "FOR UPDATE" or "calls a
	// stable function"; empty when cacheable.
	Detail string
	// Subject is the function, relation or setting the detail concerns,
	// when there is one.
	Subject string
}

// Cacheable reports whether the verdict allows caching.
func (v Verdict) Cacheable() bool { return v.Reason == ReasonCacheable }

// String returns "reason: detail (subject)", or just the reason.
func (v Verdict) String() string {
	s := v.Reason.String()
	if v.Detail != "" {
		s += ": " + v.Detail
	}
	if v.Subject != "" {
		s += " (" + v.Subject + ")"
	}
	return s
}

// Env is the session context eligibility depends on.
type Env struct {
	// InTransaction reports that the session is inside an explicit
	// transaction block (ReadyForQuery status 'T' or 'E', or a BEGIN
	// earlier in the same batch).
	InTransaction bool
	// SearchPath is the session's search_path, for resolving unqualified
	// relation and function names.
	SearchPath SearchPath
	// HasTemp reports that the session may own temporary relations (it
	// created one and has not discarded them). Unqualified names may then
	// resolve to them, so statements that use any are not cached.
	HasTemp bool
	// TextParams are the values of the statement's parameters bound in
	// text format (nil for NULL). A value such as 'now' or 'today' bound to
	// a date/time parameter is read relative to the current time, so it
	// makes the statement volatile (see [TimeRelative]).
	TextParams [][]byte
}

// Eligibility decides whether the result of info may be cached, as a pure
// function of its arguments. Checks run in this order, and the first that
// fails gives the reason: parse error; more than one statement; inside a
// transaction block; not a read-only SELECT/VALUES/TABLE/WITH (writes, row
// locks, SELECT INTO, functions that write or lock); reading a relation
// that is not an ordinary table, partitioned table, materialized view or
// view over them (system catalogs, foreign tables, sequences, temporary or
// unknown relations); volatility. It does not look at hints: a
// pgwarp:nocache hint is the cache's "disabled".
func Eligibility(info *Info, cat *Catalog, env Env) Verdict {
	switch {
	case info.Err != nil:
		return Verdict{Reason: ReasonParseError, Detail: info.Err.Message}
	case len(info.Statements) == 0:
		return Verdict{Reason: ReasonUncacheable, Detail: "empty query"}
	case len(info.Statements) > 1:
		return Verdict{Reason: ReasonMultipleStatements}
	case env.InTransaction:
		return Verdict{Reason: ReasonTransaction}
	}
	st := &info.Statements[0]
	switch {
	case st.Kind != KindSelect:
		return Verdict{Reason: ReasonUncacheable, Detail: "not a query", Subject: st.Kind.String()}
	case st.SelectInto:
		return Verdict{Reason: ReasonUncacheable, Detail: "SELECT INTO"}
	case st.ModifyingCTE:
		return Verdict{Reason: ReasonUncacheable, Detail: "data-modifying WITH"}
	case st.Locking != LockNone:
		return Verdict{Reason: ReasonUncacheable, Detail: "row-locking clause", Subject: st.Locking.String()}
	case !st.ReadOnly:
		return Verdict{Reason: ReasonUncacheable, Detail: "calls a function that writes, locks or changes the session", Subject: writerSubject(st)}
	}
	for _, r := range st.Reads {
		if (env.HasTemp && r.Schema == "") || r.Schema == "pg_temp" {
			return Verdict{Reason: ReasonUncacheable, Detail: "may read a temporary relation", Subject: r.Name}
		}
		rel := cat.resolve(r, env.SearchPath)
		if rel == nil {
			return Verdict{Reason: ReasonUncacheable, Detail: "unknown relation", Subject: r.Name}
		}
		if rel.uncacheable != "" {
			return Verdict{Reason: ReasonUncacheable, Detail: rel.uncacheable, Subject: rel.name.Name}
		}
	}
	if v, culprit := cat.Volatility(st, env.SearchPath); v > VolatilityImmutable {
		detail := "calls a stable function"
		if v >= VolatilityVolatile {
			detail = "calls a volatile function"
		}
		if culprit == "time-relative literal" || culprit == "TABLESAMPLE" {
			detail, culprit = culprit, ""
		}
		return Verdict{Reason: ReasonVolatile, Detail: detail, Subject: culprit}
	}
	for _, p := range env.TextParams {
		if TimeRelative(p) {
			return Verdict{Reason: ReasonVolatile, Detail: "time-relative parameter"}
		}
	}
	return Verdict{Reason: ReasonCacheable}
}

// writerSubject names the function that made a SELECT not read-only.
func writerSubject(st *Statement) string {
	for _, f := range st.Functions {
		if f.Schema == "" || f.Schema == "pg_catalog" {
			switch f.Name {
			case "set_config", "pg_advisory_lock", "pg_advisory_lock_shared", "pg_try_advisory_lock",
				"pg_try_advisory_lock_shared", "pg_advisory_unlock", "pg_advisory_unlock_shared",
				"pg_advisory_unlock_all":
				return f.Name
			}
			if writingBuiltin(f.Name) {
				return f.Name
			}
		}
	}
	return ""
}
