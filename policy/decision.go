package policy

import "time"

// Decision is what [Engine.Check] decided for one statement: the limits
// that apply to it and what to do when one is crossed. A limit of 0 means
// the statement is not limited in that respect, so with [ModeOff] every
// limit is 0.
//
// A Decision is an immutable value: copy it freely, including into a timer
// callback on another goroutine. The zero Decision limits nothing.
type Decision struct {
	// Mode is the mode in force for this statement's database and user.
	Mode Mode
	// MaxRows is the most DataRows the statement may return; 0 means
	// unlimited.
	MaxRows int64
	// MaxResultBytes is the most DataRow bytes the statement may return;
	// 0 means unlimited.
	MaxResultBytes int64
	// MaxWriteRows is the most rows the statement may affect; 0 means
	// unlimited, and it is always 0 for a statement that does not write.
	MaxWriteRows int64
	// StatementTimeout is how long the statement may run before the proxy
	// cancels it. It is 0 (no timer) inside an explicit transaction, where
	// TransactionTimeout bounds it instead.
	StatementTimeout time.Duration
	// TransactionTimeout is how long an explicit transaction of this
	// session may stay open; 0 means unlimited. The proxy arms its timer
	// when a transaction opens (at the statement that moved the session out
	// of ReadyForQuery 'I') and keeps it until the transaction ends; a
	// transaction the proxy opens itself to wrap a write is not subject to
	// it.
	TransactionTimeout time.Duration
	// WrapWrite is true when the statement is an autocommit write with a
	// write-row limit in enforce mode: the proxy must run it inside a
	// transaction of its own, so that it can roll it back if
	// [Observer.Written] reports a violation, and commit it otherwise.
	WrapWrite bool

	engine        *Engine
	rules         *ruleset
	database      string
	user          string
	inTransaction bool
}

// Observe returns a fresh [Observer] for one statement run under d. For a
// simple Query message holding several statements, the proxy starts a new
// Observer after each CommandComplete.
func (d Decision) Observe() Observer {
	return Observer{
		d:        d,
		rowCap:   capOf(d.MaxRows),
		byteCap:  capOf(d.MaxResultBytes),
		writeCap: capOf(d.MaxWriteRows),
	}
}

// StatementTimedOut returns the violation of d's statement timeout after
// elapsed, counts it and reports it to [Engine.OnViolation]. The proxy calls
// it once, when its statement timer fires: in enforce mode it then sends a
// CancelRequest upstream and ends the statement with this error; in warn
// mode it lets the statement run. It returns nil if d has no statement
// timeout. It is safe to call from any goroutine.
func (d Decision) StatementTimedOut(elapsed time.Duration) *Violation {
	if d.StatementTimeout <= 0 {
		return nil
	}
	v := d.violation(LimitStatementTimeout, int64(elapsed), int64(d.StatementTimeout), 0)
	d.record(v)
	return v
}

// TransactionTimedOut returns the violation of d's transaction timeout after
// the transaction has been open for elapsed, counts it and reports it to
// [Engine.OnViolation]. The proxy calls it once per transaction, when its
// transaction timer fires: in enforce mode it then cancels the running
// statement if any, rolls the transaction back upstream, releases the
// backend, and sends this error on the client's current or next statement;
// in warn mode it lets the transaction continue. It returns nil if d has no
// transaction timeout. It is safe to call from any goroutine.
func (d Decision) TransactionTimedOut(elapsed time.Duration) *Violation {
	if d.TransactionTimeout <= 0 {
		return nil
	}
	v := d.violation(LimitTransactionTimeout, int64(elapsed), int64(d.TransactionTimeout), 0)
	d.record(v)
	return v
}

// record counts v on d's engine, if d came from one.
func (d Decision) record(v *Violation) {
	if d.engine != nil {
		d.engine.record(v)
	}
}

// capOf turns a limit into the threshold an [Observer] compares against:
// unlimited becomes a count that cannot be exceeded.
func capOf(limit int64) int64 {
	if limit <= 0 {
		return maxCount
	}
	return limit
}

// maxCount is a threshold no count reaches.
const maxCount = int64(^uint64(0) >> 1)
