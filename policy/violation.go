package policy

import (
	"fmt"
	"strconv"
	"time"
)

// Violation is one crossing of a limit by one statement or transaction,
// with the PostgreSQL error fields the proxy sends for it. It is built only
// when a limit is crossed, never on the per-row path, and it is immutable
// once returned, so it may be shared across goroutines.
//
// In enforce mode the proxy sends it as an ErrorResponse with severity
// ERROR and the Code, Message, Detail and Hint fields, followed by
// ReadyForQuery with the session's true transaction status. In warn mode it
// is only counted and logged.
type Violation struct {
	// Limit is the limit that was crossed.
	Limit Limit
	// Mode is [ModeEnforce] or [ModeWarn]; with [ModeOff] nothing is
	// violated.
	Mode Mode
	// Observed is the count that crossed the limit: rows for the row
	// limits, bytes for max_result_bytes, nanoseconds (a [time.Duration])
	// for the timeouts.
	Observed int64
	// Max is the limit that was crossed, in the unit of Observed.
	Max int64
	// Database and User are the session's, as in its StartupMessage.
	Database string
	User     string
	// Source is where the limit was set, as in the source column of SHOW
	// POLICY: "default", "config", or "override database=… user=…".
	Source string
	// InTransaction is true if the violation ends an explicit transaction,
	// which the client then has to roll back.
	InTransaction bool

	// Code is the SQLSTATE: [CodeProgramLimitExceeded],
	// [CodeTransactionTimeout] or [CodeQueryCanceled].
	Code string
	// Message is the primary message, naming the limit and its value.
	Message string
	// Detail says what was observed, which policy layer set the limit, and
	// what pgwarp did about it.
	Detail string
	// Hint tells the developer how to change the application instead.
	Hint string
}

// Error returns the message and SQLSTATE, as pgconn's PgError does.
func (v *Violation) Error() string {
	return v.Message + " (SQLSTATE " + v.Code + ")"
}

// Enforced reports whether the proxy must stop the statement or transaction
// and send the error, rather than let it go on.
func (v *Violation) Enforced() bool { return v.Mode == ModeEnforce }

// violation builds the Violation of limit l by d's statement. observed and
// limit are in l's unit; rows is the rows returned so far, used by the
// result-size DETAIL.
func (d Decision) violation(l Limit, observed, limit, rows int64) *Violation {
	src := scope{}
	if d.rules != nil {
		_, scopes := d.rules.explain(d.database, d.user)
		src = scopes[l.field()]
	}
	v := &Violation{
		Limit:         l,
		Mode:          d.Mode,
		Observed:      observed,
		Max:           limit,
		Database:      d.database,
		User:          d.user,
		Source:        src.row(),
		InTransaction: d.inTransaction || l == LimitTransactionTimeout,
		Code:          l.Code(),
	}
	who := "database " + strconv.Quote(d.database) + " and user " + strconv.Quote(d.user)
	setBy := "set by " + src.phrase()
	enforced := v.Enforced()
	batch := batchSize(limit)
	const keyset = "WHERE (day, id) > ($1, $2) ORDER BY day, id LIMIT "

	switch l {
	case LimitRowsPerQuery:
		v.Message = fmt.Sprintf("pgwarp: query returned more than %d rows (limit %s)", limit, l)
		v.Detail = fmt.Sprintf("The limit for %s is %d rows per query, %s.", who, limit, setBy)
		if enforced {
			v.Detail += fmt.Sprintf(" pgwarp canceled the statement when row %d arrived.", observed)
			if v.InTransaction {
				v.Detail += " The transaction is now aborted; roll it back to continue."
			}
		} else {
			v.Detail += " The statement was allowed to finish because the policy mode is warn."
		}
		v.Hint = "Fetch large results page by page with keyset (cursor-based) pagination: " +
			"order by a unique key and continue after the last row of the previous page, e.g. " +
			keyset + strconv.FormatInt(batch, 10) + ". Avoid OFFSET, which still reads and discards every skipped row."

	case LimitResultBytes:
		v.Message = fmt.Sprintf("pgwarp: query returned more than %s (limit %s)", formatSizeText(limit), l)
		v.Detail = fmt.Sprintf("The limit for %s is %d bytes per query result, %s.", who, limit, setBy)
		if enforced {
			v.Detail += fmt.Sprintf(" pgwarp canceled the statement when the result reached %d bytes in %d rows.", observed, rows)
			if v.InTransaction {
				v.Detail += " The transaction is now aborted; roll it back to continue."
			}
		} else {
			v.Detail += " The statement was allowed to finish because the policy mode is warn."
		}
		v.Hint = "Select only the columns you need rather than SELECT *, and leave wide values " +
			"(large json, bytea or text) out of queries that return many rows; fetch them by key " +
			"for the few rows that need them. Page through long results with keyset pagination, e.g. " +
			keyset + "1000."

	case LimitRowsPerWrite:
		v.Message = fmt.Sprintf("pgwarp: statement wrote more than %d rows (limit %s)", limit, l)
		v.Detail = fmt.Sprintf("The statement affected %d rows; the limit for %s is %d rows per statement, %s.", observed, who, limit, setBy)
		switch {
		case !enforced:
			v.Detail += " The changes were kept because the policy mode is warn."
		case v.InTransaction:
			v.Detail += " The transaction is now aborted and none of its changes will be committed; " +
				"issue ROLLBACK, or ROLLBACK TO SAVEPOINT, to continue."
		default:
			v.Detail += " pgwarp rolled the statement back, so no rows were changed."
		}
		v.Hint = fmt.Sprintf("Write in chunks: one statement and one short transaction per batch of at most %d rows, "+
			"walking the primary key, e.g. UPDATE t SET ... WHERE id IN (SELECT id FROM t WHERE id > $1 ORDER BY id LIMIT %d) RETURNING id, "+
			"then continue after the largest id returned. Split INSERT ... SELECT and COPY FROM input into batches the same way.", batch, batch)

	case LimitTransactionTimeout:
		max := time.Duration(limit)
		v.Message = fmt.Sprintf("pgwarp: transaction was open for more than %s (limit %s)", formatDuration(max), l)
		v.Detail = fmt.Sprintf("The transaction had been open for %s; the limit for %s is %s, %s.",
			formatElapsed(time.Duration(observed)), who, formatDuration(max), setBy)
		if enforced {
			v.Detail += " pgwarp canceled it and rolled it back, so none of its changes were committed; " +
				"issue ROLLBACK to continue on this connection."
		} else {
			v.Detail += " It was allowed to continue because the policy mode is warn."
		}
		v.Hint = "Keep transactions short and independent: do slow work (network calls, file processing, " +
			"waiting for user input) before BEGIN or after COMMIT, never in between, and split bulk work " +
			"into many small transactions that each commit on their own."

	case LimitStatementTimeout:
		max := time.Duration(limit)
		v.Message = fmt.Sprintf("pgwarp: statement ran for more than %s (limit %s)", formatDuration(max), l)
		v.Detail = fmt.Sprintf("The statement had been running for %s outside a transaction; the limit for %s is %s, %s.",
			formatElapsed(time.Duration(observed)), who, formatDuration(max), setBy)
		if enforced {
			v.Detail += " pgwarp canceled it, so none of its changes were committed."
		} else {
			v.Detail += " It was allowed to continue because the policy mode is warn."
		}
		v.Hint = "Bound the work of a single statement: check its plan with EXPLAIN and add the missing index " +
			"or a tighter WHERE clause, and process large tables in batches by key range, e.g. " +
			"WHERE id > $1 ORDER BY id LIMIT 1000, instead of in one long pass."

	default:
		panic("BUG: policy: violation of unknown " + l.String())
	}
	return v
}
