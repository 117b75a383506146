package query

import (
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// Info is what a query string does: one [Statement] per statement it
// contains, or the parser's error. An Info returned by [Classifier.Classify]
// is shared by every caller that sends a statement with the same structure,
// so it must never be modified.
type Info struct {
	// Statements has one element per statement, in order. It is empty when
	// the string holds no statement (only whitespace, comments or
	// semicolons) or does not parse.
	Statements []Statement

	// Err is the parser's error when the string is not valid SQL for the
	// PostgreSQL grammar pgwarp embeds; nil otherwise.
	Err *ParseError

	// Fingerprint is pg_query's fingerprint of the string: equal for
	// strings that differ only in literal values, whitespace and comments.
	// It is zero when the string does not parse.
	Fingerprint uint64
	// FingerprintHex is Fingerprint in hexadecimal, as cache rules name
	// statements; empty when the string does not parse.
	FingerprintHex string

	// Normalized is the string with every constant replaced by a
	// placeholder ($1, $2…), as pg_query normalises it: safe to record
	// (it holds no literal values), empty when the string does not parse.
	Normalized string

	// Summary names what the string does for traces and logs: the first
	// statement's operation and, when it reads or writes exactly one
	// table, that table ("SELECT sales_measurement_dataset", "UPDATE
	// orders", "BEGIN").
	Summary string

	// size is the approximate number of bytes the Info retains, for the
	// memo's byte bound.
	size int
	// valueSensitive is set when some field depends on a literal value
	// (a SET value, a parse error message), so the memo keys the Info by
	// the exact comment-free text instead of the literal-normalised one.
	valueSensitive bool
	// keyed reports that some statement has key predicates.
	keyed bool
}

// Keyed reports whether any statement of i has key predicates, for reads
// ([Catalog.ReadKeys]) or writes ([Catalog.InvalidationsWith]). Only then
// does [Classifier.Classify] fill [Result.Literals].
func (i *Info) Keyed() bool { return i.keyed }

// ReadOnly reports whether the string holds at least one statement, parses,
// and every statement is read-only in the sense of [Statement.ReadOnly].
func (i *Info) ReadOnly() bool {
	if i.Err != nil || len(i.Statements) == 0 {
		return false
	}
	for k := range i.Statements {
		if !i.Statements[k].ReadOnly {
			return false
		}
	}
	return true
}

// HasEffects reports whether any statement changes session state (see
// [Statement.Effects]) or controls the transaction.
func (i *Info) HasEffects() bool {
	for k := range i.Statements {
		if len(i.Statements[k].Effects) > 0 || i.Statements[k].Transaction.Kind != TxNone {
			return true
		}
	}
	return false
}

// ParseError is PostgreSQL's parser error for a string that is not valid
// SQL.
type ParseError struct {
	// Message is the parser's message, such as `syntax error at or near
	// "FORM"`.
	Message string
}

// Error returns the parser's message.
func (e *ParseError) Error() string { return e.Message }

// Statement is what one statement does. Slices are nil when empty.
type Statement struct {
	// Kind is the statement's kind.
	Kind Kind

	// ReadOnly reports that the statement only reads data: it writes no
	// table or sequence, takes no row lock (FOR UPDATE/SHARE…), creates
	// nothing (SELECT … INTO), calls none of the built-in functions that
	// write or take locks (nextval, setval, set_config, pg_advisory_*,
	// pg_notify, txid_current, the large-object writers…), and changes
	// neither session nor transaction state. A user-defined function may
	// still write: [Catalog.ReadOnly] refines this with pg_proc.
	ReadOnly bool

	// Reads are the relations the statement reads, as written (Schema is
	// empty for an unqualified name). Names of common table expressions in
	// scope are not relations and are left out.
	Reads []Relation

	// Writes are the relations whose contents or definition the statement
	// changes: INSERT/UPDATE/DELETE/MERGE targets (including those of
	// data-modifying WITH queries), COPY FROM, TRUNCATE, REFRESH
	// MATERIALIZED VIEW, and the relations named by DDL such as ALTER TABLE,
	// DROP TABLE, GRANT … ON TABLE and CREATE POLICY.
	Writes []Relation

	// Creates are the relations the statement creates (CREATE TABLE, CREATE
	// VIEW, CREATE TABLE AS, SELECT … INTO, CREATE SEQUENCE, the new name of
	// a RENAME). A new relation can hide one of the same name later in a
	// search_path, so [Catalog.Invalidations] treats it as a write to every
	// relation of that name.
	Creates []Relation

	// UnknownWrites reports that the statement may change data beyond
	// Writes in ways the parse tree does not show: DO, CALL, EXECUTE, and
	// DDL on functions, types, schemas, roles, extensions and the like.
	UnknownWrites bool

	// Functions are the functions and operators the statement calls,
	// deduplicated, in order of first appearance.
	Functions []Function

	// Locking is the strongest row-locking clause (FOR UPDATE, FOR NO KEY
	// UPDATE, FOR SHARE, FOR KEY SHARE) anywhere in the statement.
	Locking LockStrength

	// SelectInto reports SELECT … INTO, which creates a table.
	SelectInto bool

	// ModifyingCTE reports a WITH query that is an INSERT, UPDATE, DELETE
	// or MERGE.
	ModifyingCTE bool

	// TimeLiteral reports a string literal whose value PostgreSQL's date and
	// time input reads relative to the current time ('now', 'today',
	// 'tomorrow', 'yesterday'), as in 'now'::timestamptz, date 'today' or a
	// bare 'now' compared with a timestamp column. Such a statement is not
	// deterministic.
	TimeLiteral bool

	// Sampling reports TABLESAMPLE without REPEATABLE, whose rows differ
	// from one execution to the next.
	Sampling bool

	// ExplainAnalyze reports EXPLAIN ANALYZE, which executes the explained
	// statement; its reads, writes, functions and effects are then this
	// statement's.
	ExplainAnalyze bool

	// Transaction describes transaction control; its Kind is TxNone for
	// other statements.
	Transaction Transaction

	// Effects are the statement's effects on session state, in order, for
	// the transaction pooler.
	Effects []Effect

	// Prepared is the classification of the statement a SQL-level PREPARE
	// defines; nil for other statements.
	Prepared *Statement

	// keys are the statement's key predicates, nil when it has none.
	keys *predicates
}

// Relation names a table, view, sequence or other relation.
type Relation struct {
	// Schema is the schema as written, or empty for an unqualified name.
	// Names resolved by a [Catalog] always have it.
	Schema string
	// Name is the relation's name, case-folded as PostgreSQL does.
	Name string
}

// String returns the name in SQL syntax, quoting parts that need it.
func (r Relation) String() string {
	if r.Schema == "" {
		return quoteIdent(r.Name)
	}
	return quoteIdent(r.Schema) + "." + quoteIdent(r.Name)
}

// Function is a function or operator a statement calls.
type Function struct {
	// Schema is the schema as written, or empty for an unqualified name.
	Schema string
	// Name is the function's or operator's name.
	Name string
	// Args is the number of arguments in the call (1 or 2 for an operator).
	Args int
	// Operator reports an operator (a + b, a OPERATOR(s.===) b) rather than a
	// function call.
	Operator bool
	// Fixed is the volatility of calls whose volatility does not come from
	// pg_proc: the SQL-standard value functions CURRENT_DATE,
	// CURRENT_TIMESTAMP, LOCALTIME, CURRENT_USER… are [VolatilityStable].
	// It is VolatilityUnknown for ordinary calls, which a [Catalog] looks
	// up.
	Fixed Volatility
}

// String returns schema.name/args, or name/args when unqualified.
func (f Function) String() string {
	s := f.Name
	if f.Schema != "" {
		s = f.Schema + "." + s
	}
	return s + "/" + strconv.Itoa(f.Args)
}

// Transaction describes a transaction-control statement.
type Transaction struct {
	// Kind is the command; TxNone for other statements.
	Kind TxKind
	// Isolation is the isolation level BEGIN or START TRANSACTION asks for
	// ("serializable", "repeatable read", "read committed", "read
	// uncommitted"), or empty for the default.
	Isolation string
	// Access is the access mode BEGIN asks for.
	Access TxAccess
	// Deferrable reports BEGIN … DEFERRABLE.
	Deferrable bool
	// Chain reports COMMIT AND CHAIN or ROLLBACK AND CHAIN, which start a
	// new transaction at once.
	Chain bool
	// Name is the savepoint's name for SAVEPOINT, RELEASE and ROLLBACK TO,
	// and the transaction identifier for PREPARE TRANSACTION, COMMIT
	// PREPARED and ROLLBACK PREPARED.
	Name string
}

// Effect is one change a statement makes to session state, which a
// transaction pooler must replay on another backend or pin the session for.
type Effect struct {
	// Kind is the effect.
	Kind EffectKind
	// Name is what the effect concerns: the setting, in lower case ("role"
	// and "session_authorization" for the role effects), the LISTEN
	// channel, the cursor, the prepared statement, the temporary relation,
	// or the advisory-lock function.
	Name string
	// Value is the setting's new value for EffectSet, EffectSetRole and
	// EffectSetSessionAuthorization, flattened the way PostgreSQL's SET
	// does (list elements joined by ", ", identifiers quoted where a list
	// setting such as search_path needs it), so that set_config(Name, Value,
	// false) reproduces the setting. For EffectLoad it is the file name.
	Value string
	// Local reports an effect that ends with the transaction: SET LOCAL,
	// set_config(…, true), SET TRANSACTION, and CREATE TEMP TABLE … ON
	// COMMIT DROP.
	Local bool
}

// describe fills Normalized and Summary. Normalized comes from pg_query's
// normaliser, run once per memoised shape.
func (i *Info) describe(sql string) {
	if i.Err == nil {
		if n, err := pg_query.Normalize(sql); err == nil {
			i.Normalized = n
		}
	}
	if len(i.Statements) == 0 {
		return
	}
	st := &i.Statements[0]
	op := strings.ToUpper(st.Kind.String())
	if st.Kind == KindTransaction {
		op = st.Transaction.Kind.String()
	}
	var table *Relation
	switch {
	case len(st.Writes) == 1:
		table = &st.Writes[0]
	case len(st.Writes) == 0 && len(st.Reads) == 1:
		table = &st.Reads[0]
	}
	if table != nil {
		i.Summary = op + " " + table.Name
	} else {
		i.Summary = op
	}
	i.size += len(i.Normalized) + len(i.Summary)
}
