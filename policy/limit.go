package policy

import "strconv"

// Limit names one of the limits a policy enforces. Its String is the
// configuration key, which is also the label used in counters and the name
// quoted in error messages.
type Limit uint8

const (
	// LimitRowsPerQuery caps the DataRows one statement returns.
	LimitRowsPerQuery Limit = iota
	// LimitRowsPerWrite caps the rows one INSERT, UPDATE, DELETE, MERGE or
	// COPY FROM affects, as its CommandComplete reports them.
	LimitRowsPerWrite
	// LimitResultBytes caps the bytes of DataRow messages one statement
	// returns.
	LimitResultBytes
	// LimitTransactionTimeout caps how long an explicit transaction stays
	// open, running or idle.
	LimitTransactionTimeout
	// LimitStatementTimeout caps how long one statement outside an explicit
	// transaction runs.
	LimitStatementTimeout

	numLimits
)

// SQLSTATEs carried by [Violation.Code]. They are standard PostgreSQL codes
// (https://www.postgresql.org/docs/current/errcodes-appendix.html), so
// drivers and ORMs already know how to classify them.
const (
	// CodeProgramLimitExceeded is program_limit_exceeded, used for the row,
	// write and result-size limits.
	CodeProgramLimitExceeded = "54000"
	// CodeTransactionTimeout is transaction_timeout (PostgreSQL 17), in the
	// same class 25 (invalid transaction state) as
	// idle_in_transaction_session_timeout (25P03).
	CodeTransactionTimeout = "25P04"
	// CodeQueryCanceled is query_canceled, which PostgreSQL itself uses for
	// statement_timeout.
	CodeQueryCanceled = "57014"
)

// String returns the configuration key of l, for example
// "max_rows_per_query".
func (l Limit) String() string {
	if l < numLimits {
		return fieldNames[l.field()]
	}
	return "Limit(" + strconv.Itoa(int(l)) + ")"
}

// Code returns the SQLSTATE of a violation of l.
func (l Limit) Code() string {
	switch l {
	case LimitTransactionTimeout:
		return CodeTransactionTimeout
	case LimitStatementTimeout:
		return CodeQueryCanceled
	default:
		return CodeProgramLimitExceeded
	}
}

// field returns the compiled-settings slot of l; slot 0 is the mode.
func (l Limit) field() field { return field(l) + 1 }
