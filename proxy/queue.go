package proxy

import (
	"fmt"

	"github.com/pgwarp/pgwarp/cache"
	"github.com/pgwarp/pgwarp/query"
)

// expectKind is the kind of frontend message an expectation answers, which
// decides the responses that complete it.
type expectKind uint8

const (
	expectParse          expectKind = iota // ParseComplete
	expectBind                             // BindComplete
	expectDescribeStmt                     // ParameterDescription, then RowDescription or NoData
	expectDescribePortal                   // RowDescription or NoData
	expectExecute                          // DataRow…, then CommandComplete, EmptyQuery or PortalSuspended
	expectClose                            // CloseComplete
	expectSync                             // ReadyForQuery
	expectQuery                            // everything up to ReadyForQuery
	expectFunctionCall                     // FunctionCallResponse, ReadyForQuery
	expectSynth                            // nothing from the server: pgwarp answers itself
)

func (k expectKind) String() string {
	switch k {
	case expectParse:
		return "Parse"
	case expectBind:
		return "Bind"
	case expectDescribeStmt:
		return "Describe(statement)"
	case expectDescribePortal:
		return "Describe(portal)"
	case expectExecute:
		return "Execute"
	case expectClose:
		return "Close"
	case expectSync:
		return "Sync"
	case expectQuery:
		return "Query"
	case expectFunctionCall:
		return "FunctionCall"
	case expectSynth:
		return "synthetic"
	}
	return fmt.Sprintf("expectKind(%d)", uint8(k))
}

// endsWithReadyForQuery reports whether the server answers this kind with
// ReadyForQuery.
func (k expectKind) endsWithReadyForQuery() bool {
	return k == expectSync || k == expectQuery || k == expectFunctionCall
}

// expectation is what pgwarp expects back from the server for one message it
// wrote upstream, and what to do with it. The relay completes expectations
// in order as responses arrive.
type expectation struct {
	kind expectKind
	// swallow drops the server's responses: the message was injected by
	// pgwarp (re-Parse, settings), the client never sent it. Errors are
	// still passed on, as the client's own message would have failed.
	swallow bool
	// swallowErrors drops even errors (pgwarp's own abort statement,
	// whose failure is its purpose).
	swallowErrors bool
	// passReady passes the ReadyForQuery of a swallowed message: it ends
	// what the client is waiting for (the COMMIT after a wrapped write).
	passReady bool
	// wrapEnd marks the ReadyForQuery after a write pgwarp wrapped in its
	// own transaction; the session then commits or rolls back.
	wrapEnd bool
	// retry keeps a batch whose first Bind may meet a stale plan.
	retry *retryBatch
	// fill receives the result (Query, Execute) or the row description
	// (Describe portal) for the cache.
	fill *cache.Fill
	// obs observes the statement (Query, Execute): span, metrics.
	obs queryObs
	// errCode is the SQLSTATE of the error a Query reported.
	errCode string
	// run is the policy state of the statement (Query, Execute).
	run *run
	// errorsAsNotice turns an ErrorResponse to a swallowed message into a
	// WARNING notice, for housekeeping the client did not ask for.
	errorsAsNotice bool
	// synth is sent to the client when the expectation reaches the head of
	// the queue (kind expectSynth), in place of a server response.
	synth []byte
	// synthReady appends ReadyForQuery (with the status current at that
	// point) after synth.
	synthReady bool
	// done, if set, is called (under the session lock) when the
	// expectation completes: ok is false when the server reported an
	// error for it or skipped it after an earlier error.
	done func(ok bool)
	// onSkip, if set, runs instead of done(false) when the server skips
	// the message because an earlier one of its batch failed: the message
	// then had no effect at all, where a failure may have had some (a
	// failed Parse of the unnamed statement still drops the old one).
	onSkip func()
	// info is the classification of the statements this message runs
	// (Query, Execute); stmtIdx counts the CommandCompletes seen, to match
	// each to its statement.
	info    *query.Info
	stmtIdx int
	// vals are the literal and parameter values of the statement (Query,
	// Execute), when its classification has key predicates: they narrow
	// its invalidations to rows (query.Catalog.InvalidationsWith).
	vals query.Values
	// seq numbers the expectations pushLocked queues, in order (0 for one
	// inserted out of order): portals bound after the ReadyForQuery of
	// one was queued outlive it (endTransactionLocked).
	seq uint64
	// stmt and stmtVer name the renamed statement a Bind or Describe
	// used, so that a stale plan can invalidate it.
	stmt  *stmtDef
	stmtV *stmtVersion
	// checkShape, if set, receives the RowDescription (nil for NoData) of
	// pgwarp's own Describe of a statement it re-prepared.
	checkShape func(desc []byte)
	// probe marks pgwarp's own Describe of a statement version no client
	// has described: its answer goes to the version's probed description.
	probe bool
	// failed records that a simple query reported an error.
	failed bool
	// onParamDesc, if set, receives the parameter types of a
	// Describe(statement) answer.
	onParamDesc func(types []uint32)
	// gotParamDesc records, for Describe(statement), that the
	// ParameterDescription arrived.
	gotParamDesc bool
}

// expectQueue is a FIFO of expectations. It is guarded by the session lock.
type expectQueue struct {
	items []expectation
	head  int
}

func (q *expectQueue) len() int { return len(q.items) - q.head }

func (q *expectQueue) empty() bool { return q.head == len(q.items) }

func (q *expectQueue) push(e expectation) {
	if q.head > 0 && q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	q.items = append(q.items, e)
}

// insertAt inserts e at absolute index i of items (i ≥ head).
func (q *expectQueue) insertAt(i int, e expectation) {
	if i < q.head || i > len(q.items) {
		panic("BUG: expectQueue.insertAt outside the queue")
	}
	q.items = append(q.items, expectation{})
	copy(q.items[i+1:], q.items[i:])
	q.items[i] = e
}

// peek returns the head expectation, or nil.
func (q *expectQueue) peek() *expectation {
	if q.head == len(q.items) {
		return nil
	}
	return &q.items[q.head]
}

func (q *expectQueue) pop() expectation {
	e := q.items[q.head]
	q.items[q.head] = expectation{}
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
		if cap(q.items) > 1024 {
			q.items = nil
		}
	}
	return e
}

// hasSync reports whether a Sync (or another ReadyForQuery-producing
// message) is queued.
func (q *expectQueue) hasSync() bool {
	for i := q.head; i < len(q.items); i++ {
		if q.items[i].kind.endsWithReadyForQuery() {
			return true
		}
	}
	return false
}

func (q *expectQueue) clear() {
	for i := q.head; i < len(q.items); i++ {
		q.items[i] = expectation{}
	}
	q.items, q.head = q.items[:0], 0
}
