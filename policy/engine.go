package policy

import (
	"sync/atomic"
	"time"
)

// Engine holds the policy in force and the violation counters. It is safe
// for concurrent use: [Engine.Check] runs on every session goroutine while
// [Engine.Reload] swaps the compiled policy atomically, so a reload applies
// to the next statement without a lock on the hot path and without touching
// connections. Statements already running keep the [Decision] they got.
type Engine struct {
	// OnViolation, if not nil, is called once for every violation, enforced
	// or warned, after it has been counted: the proxy's place for a log line
	// and a span event. It runs on the goroutine that produced the
	// violation (the session's, or the one that called a timeout
	// constructor), so it must be quick and must not modify the
	// [Violation]. Set it before the Engine is shared; it must not change
	// afterwards. The default nil does nothing.
	OnViolation func(*Violation)

	rules    atomic.Pointer[ruleset]
	counters counters
}

// New validates cfg and returns an Engine enforcing it. The error, if any,
// is [Config.Validate]'s.
func New(cfg Config) (*Engine, error) {
	rs, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	e := &Engine{}
	e.rules.Store(rs)
	return e, nil
}

// Reload validates cfg and, if it is valid, makes it the policy in force for
// every statement checked from now on. If cfg is invalid the policy in force
// is unchanged and the error says why. Counters survive reloads.
func (e *Engine) Reload(cfg Config) error {
	rs, err := compile(cfg)
	if err != nil {
		return err
	}
	e.rules.Store(rs)
	return nil
}

// Statement describes a statement about to run, as far as the policy cares.
type Statement struct {
	// Write is true if the statement may change rows: INSERT, UPDATE,
	// DELETE, MERGE, COPY FROM, or a query with a data-modifying CTE. The
	// proxy gets it from the query package.
	Write bool
	// InTransaction is true if the session is inside an explicit
	// transaction block (the last ReadyForQuery status was 'T' or 'E'), and
	// false for an autocommit statement.
	InTransaction bool
	// MaxRowsWritten is an upper bound on the rows the statement can
	// write, known before it runs (INSERT … VALUES with n rows, UPDATE or
	// DELETE by a unique key), or 0 when unknown. A write bounded within
	// the rows-per-write limit cannot exceed it, so it is not wrapped.
	MaxRowsWritten int64
}

// Check returns the limits that apply to st, run by user on database. It
// does not allocate and takes no lock; the proxy calls it before every
// statement. A reload changes the result of the next Check, never of a
// [Decision] already returned.
func (e *Engine) Check(database, user string, st Statement) Decision {
	rs := e.rules.Load()
	v := rs.lookup(database, user)
	d := Decision{
		Mode:          Mode(v[fieldMode]),
		engine:        e,
		rules:         rs,
		database:      database,
		user:          user,
		inTransaction: st.InTransaction,
	}
	if d.Mode == ModeOff {
		return d
	}
	d.MaxRows = v[fieldMaxRowsPerQuery]
	d.MaxResultBytes = v[fieldMaxResultBytes]
	d.TransactionTimeout = time.Duration(v[fieldTransactionTimeout])
	if st.Write {
		d.MaxWriteRows = v[fieldMaxRowsPerWrite]
		d.WrapWrite = !st.InTransaction && d.MaxWriteRows > 0 && d.Mode == ModeEnforce &&
			(st.MaxRowsWritten <= 0 || st.MaxRowsWritten > d.MaxWriteRows)
	}
	if !st.InTransaction {
		d.StatementTimeout = time.Duration(v[fieldStatementTimeout])
	}
	return d
}

// record counts v and tells the hook about it.
func (e *Engine) record(v *Violation) {
	e.counters.add(v.Database, v.User, v.Limit, v.Mode)
	if e.OnViolation != nil {
		e.OnViolation(v)
	}
}
