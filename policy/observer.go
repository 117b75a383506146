package policy

// Observer counts what one statement returns and writes, and reports the
// first crossing of each limit. It is a plain value the proxy keeps in its
// session state; it is owned by the session goroutine and is not safe for
// concurrent use. Feeding it does not allocate; only a violation does.
//
// Each limit is reported at most once per statement, at the first count
// above it: with a limit of 1000 rows, row 1000 passes and row 1001 is the
// violation. In enforce mode the first violation ends the statement, so the
// Observer reports nothing after it, even while the proxy drains the
// cancelled result through it. In warn mode the statement goes on and each
// other limit can still be reported once.
type Observer struct {
	d        Decision
	rows     int64
	bytes    int64
	written  int64
	rowCap   int64 // maxCount when unlimited or already reported
	byteCap  int64
	writeCap int64
}

// Row records one DataRow of nbytes bytes (the whole message as relayed,
// type byte and length included) and returns the violation if this row
// crossed the row or result-size limit, else nil. If one row crosses both,
// both are counted and the row limit is returned.
//
// On a violation in enforce mode the proxy stops relaying, cancels the
// upstream statement, drains what the backend still sends, and ends the
// client's result with the violation's ErrorResponse and a ReadyForQuery
// carrying the backend's true transaction status. The proxy may also count
// COPY TO STDOUT CopyData messages as rows.
func (o *Observer) Row(nbytes int) *Violation {
	o.rows++
	o.bytes += int64(nbytes)
	if o.rows > o.rowCap || o.bytes > o.byteCap {
		return o.crossed()
	}
	return nil
}

// crossed is the slow path of Row, taken once per limit at most.
func (o *Observer) crossed() *Violation {
	var first *Violation
	if o.rows > o.rowCap {
		o.rowCap = maxCount
		first = o.d.violation(LimitRowsPerQuery, o.rows, o.d.MaxRows, o.rows)
		o.d.record(first)
		if o.d.Mode == ModeEnforce {
			o.stop()
			return first
		}
	}
	if o.bytes > o.byteCap {
		o.byteCap = maxCount
		v := o.d.violation(LimitResultBytes, o.bytes, o.d.MaxResultBytes, o.rows)
		o.d.record(v)
		if o.d.Mode == ModeEnforce {
			o.stop()
		}
		if first == nil {
			first = v
		}
	}
	return first
}

// Written records the rows affected by the statement, as its CommandComplete
// tag reports them ("UPDATE 42", "INSERT 0 42", "COPY 42"), and returns the
// violation if the statement's total crossed the write-row limit, else nil.
//
// On a violation in enforce mode the proxy withholds the CommandComplete:
// for a write it wrapped ([Decision.WrapWrite]) it rolls its transaction
// back, so nothing changed; inside the client's transaction it makes the
// backend's transaction fail, so the client's ROLLBACK behaves as
// PostgreSQL's would. Then it sends the violation and ReadyForQuery. Without
// a violation the proxy commits a wrapped write and relays the
// CommandComplete.
func (o *Observer) Written(n int64) *Violation {
	o.written += n
	if o.written <= o.writeCap {
		return nil
	}
	o.writeCap = maxCount
	v := o.d.violation(LimitRowsPerWrite, o.written, o.d.MaxWriteRows, 0)
	o.d.record(v)
	if o.d.Mode == ModeEnforce {
		o.stop()
	}
	return v
}

// stop silences the Observer once an enforced violation has ended the
// statement.
func (o *Observer) stop() {
	o.rowCap, o.byteCap, o.writeCap = maxCount, maxCount, maxCount
}

// Rows returns the DataRows recorded so far.
func (o *Observer) Rows() int64 { return o.rows }

// Bytes returns the DataRow bytes recorded so far.
func (o *Observer) Bytes() int64 { return o.bytes }

// RowsWritten returns the affected rows recorded so far.
func (o *Observer) RowsWritten() int64 { return o.written }

// Decision returns the [Decision] the Observer enforces, for the timeout
// constructors and for the proxy's log lines.
func (o *Observer) Decision() Decision { return o.d }
