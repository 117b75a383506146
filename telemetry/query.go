package telemetry

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// QueryInfo describes one statement execution (a simple Query, or one
// extended-protocol Execute) as the query classifier saw it. Every field is
// optional. Strings are kept, not copied: pass memoised classifier strings,
// not slices of a reused read buffer.
type QueryInfo struct {
	// RawSQL is the statement text as the client sent it. It is only
	// searched for a sqlcommenter traceparent (see [ParseSQLComment]) and
	// never recorded, because it may hold literal values.
	RawSQL string
	// Operation is db.operation.name, e.g. "SELECT". Zero: unknown.
	Operation string
	// Table is db.collection.name: the table the statement reads or writes
	// when there is exactly one. Zero: none or several.
	Table string
	// Summary is db.query.summary and the span name, e.g.
	// "SELECT sales_measurement_dataset". Zero: Operation and Table joined
	// by a space, or Operation alone, or "postgresql" when both are empty.
	// Memoising it per statement saves that concatenation per query.
	Summary string
	// Normalized is the statement with every constant replaced by a
	// placeholder, as the classifier's normaliser produces it. It becomes
	// db.query.text only when record_statements is on. It must never
	// contain parameter values.
	Normalized string
}

// QuerySpan is the span of one query. The zero value, which the helpers
// return when tracing is off or the query is not sampled, is a valid no-op,
// so the proxy calls its methods unconditionally: they cost a nil check when
// not recording. It is owned by the session's goroutine.
type QuerySpan struct {
	span trace.Span // nil when not recording
	s    *SessionSpan
}

// StartQuery starts the span of one query. When q.RawSQL carries a valid
// sqlcommenter traceparent, the span is that remote span's child (sampled
// when the application's trace is, parent-based); otherwise it is the root
// of a new trace, sampled at the configured ratio, with a link to the
// session span. ctx is only extended, never replaced: the returned context
// carries the query span when it is recording, and is ctx itself otherwise.
// Call [QuerySpan.End] when the query's result has been sent.
func (s *SessionSpan) StartQuery(ctx context.Context, q QueryInfo) (context.Context, QuerySpan) {
	t := s.t
	if t == nil {
		return ctx, QuerySpan{}
	}
	parent, remote := ParseSQLComment(q.RawSQL)
	var tid trace.TraceID
	if remote {
		if !t.sampler.decide(parent, parent.TraceID()) {
			return ctx, QuerySpan{}
		}
	} else {
		tid = newTraceID()
		if !t.sampler.decide(trace.SpanContext{}, tid) {
			return ctx, QuerySpan{}
		}
	}
	return s.startSampled(ctx, q, parent, remote, tid)
}

// startSampled is the recording half of StartQuery, kept apart so that the
// not-sampled path stays small and allocation-free.
func (s *SessionSpan) startSampled(ctx context.Context, q QueryInfo, parent trace.SpanContext, remote bool, tid trace.TraceID) (context.Context, QuerySpan) {
	t := s.t
	name := q.Summary
	if name == "" {
		switch {
		case q.Operation != "" && q.Table != "":
			name = q.Operation + " " + q.Table
		case q.Operation != "":
			name = q.Operation
		default:
			name = spanQueryUnknown
		}
	}
	attrs := make([]attribute.KeyValue, 0, 10)
	attrs = append(attrs, attrDBSystemPostgres, s.namespace, s.sessionID)
	if q.Operation != "" {
		attrs = append(attrs, keyDBOperationName.String(q.Operation))
	}
	if q.Summary != "" || q.Operation != "" {
		attrs = append(attrs, keyDBQuerySummary.String(name))
	}
	if q.Table != "" {
		attrs = append(attrs, keyDBCollectionName.String(q.Table))
	}
	if t.settings.RecordStatements && q.Normalized != "" {
		attrs = append(attrs, keyDBQueryText.String(q.Normalized))
	}
	if s.hasServer {
		attrs = append(attrs, s.serverAddr, s.serverPort)
	}
	opts := []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attrs...),
	}
	if remote {
		ctx = trace.ContextWithRemoteSpanContext(ctx, parent)
	} else {
		ctx = context.WithValue(ctx, traceIDKey{}, tid)
		opts = append(opts, trace.WithNewRoot())
	}
	if s.span != nil {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: s.span.SpanContext()}))
	}
	ctx, span := t.tracer.Start(ctx, name, opts...)
	return ctx, QuerySpan{span: span, s: s}
}

// IsRecording reports whether the query is sampled; a caller can skip work
// that only feeds the span.
func (q QuerySpan) IsRecording() bool { return q.span != nil }

// SpanContext returns the query span's context; it is invalid when the span
// is not recording.
func (q QuerySpan) SpanContext() trace.SpanContext {
	if q.span == nil {
		return trace.SpanContext{}
	}
	return q.span.SpanContext()
}

// SetCache records how the cache served the query. reason explains a bypass
// or a miss in a few words from a fixed vocabulary ("volatile_function",
// "in_transaction", "too_large", "expired"); empty is omitted.
func (q QuerySpan) SetCache(status CacheStatus, reason string) {
	if q.span == nil {
		return
	}
	if reason == "" {
		q.span.SetAttributes(AttrCacheStatus.String(status.String()))
		return
	}
	q.span.SetAttributes(AttrCacheStatus.String(status.String()), AttrCacheReason.String(reason))
}

// SetPinned records whether the session is pinned to its backend.
func (q QuerySpan) SetPinned(pinned bool) {
	if q.span == nil {
		return
	}
	q.span.SetAttributes(AttrPinned.Bool(pinned))
}

// MinPoolAcquireSpan is the shortest pool wait that gets a child span of its
// own: an immediate lease is only the pgwarp.pool.wait attribute, which
// saves a span per query on a healthy pool.
const MinPoolAcquireSpan = 100 * time.Microsecond

// RecordPoolAcquire records the wait for a backend lease: pgwarp.pool.wait
// (seconds) on the query span and, when the wait lasted at least
// [MinPoolAcquireSpan] or failed, a child span named pgwarp.pool.acquire
// from start to start+wait. sqlstate is the error the wait ended with
// (53300 when the wait queue timed out), empty on success. The proxy
// measures the wait itself, once, and feeds the same value to
// [PoolMetrics.ObservePoolWait].
func (q QuerySpan) RecordPoolAcquire(start time.Time, wait time.Duration, sqlstate string) {
	if q.span == nil {
		return
	}
	q.span.SetAttributes(AttrPoolWait.Float64(wait.Seconds()))
	if wait >= MinPoolAcquireSpan || sqlstate != "" {
		q.child(SpanPoolAcquire, trace.SpanKindInternal, start, wait, sqlstate)
	}
}

// MinUpstreamSpan is the shortest upstream round trip that gets a child
// span of its own: below it the query span (whose cache status says the
// upstream answered, and whose pgwarp.pool.wait says how long the lease
// took) tells the whole story, and a second span per query would double
// what tracing costs at sample ratio 1.0 (measured in docs/benchmarks.md).
const MinUpstreamSpan = 5 * time.Millisecond

// RecordUpstream records the round trip to the upstream server, from
// sending the query to its ReadyForQuery, as a client-kind child span named
// pgwarp.upstream when it lasted at least [MinUpstreamSpan] or failed.
// sqlstate is the upstream's error code, empty on success.
func (q QuerySpan) RecordUpstream(start time.Time, d time.Duration, sqlstate string) {
	if q.span == nil || (d < MinUpstreamSpan && sqlstate == "") {
		return
	}
	q.child(SpanUpstream, trace.SpanKindClient, start, d, sqlstate)
}

func (q QuerySpan) child(name string, kind trace.SpanKind, start time.Time, d time.Duration, sqlstate string) {
	s := q.s
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs, attrDBSystemPostgres, s.namespace)
	if s.hasServer {
		attrs = append(attrs, s.serverAddr, s.serverPort)
	}
	ctx := trace.ContextWithSpan(context.Background(), q.span)
	_, span := s.t.tracer.Start(ctx, name,
		trace.WithSpanKind(kind),
		trace.WithTimestamp(start),
		trace.WithAttributes(attrs...))
	if sqlstate != "" {
		setSQLState(span, sqlstate)
	}
	span.End(trace.WithTimestamp(start.Add(d)))
}

// SetResult records the rows and bytes sent to the client.
func (q QuerySpan) SetResult(rows, bytes int64) {
	if q.span == nil {
		return
	}
	q.span.SetAttributes(AttrRows.Int64(rows), AttrBytes.Int64(bytes))
}

// AddPolicyVerdict records a policy limit the query crossed as a span event
// named pgwarp.policy.
func (q QuerySpan) AddPolicyVerdict(v PolicyVerdict) {
	if q.span == nil {
		return
	}
	attrs := make([]attribute.KeyValue, 0, 5)
	attrs = append(attrs, AttrPolicyLimit.String(v.Limit), AttrPolicyMode.String(v.Mode))
	if v.Action != "" {
		attrs = append(attrs, AttrPolicyAction.String(v.Action))
	}
	if v.Observed != 0 {
		attrs = append(attrs, AttrPolicyObserved.Int64(v.Observed))
	}
	if v.Max != 0 {
		attrs = append(attrs, AttrPolicyMax.Int64(v.Max))
	}
	q.span.AddEvent(EventPolicy, trace.WithAttributes(attrs...))
}

// SetError marks the query as failed with the SQLSTATE sent to the client
// (the upstream's, or pgwarp's own such as 54000 or 57014). The error
// message is deliberately not recorded: PostgreSQL messages can quote
// values from the statement.
func (q QuerySpan) SetError(sqlstate string) {
	if q.span == nil || sqlstate == "" {
		return
	}
	setSQLState(q.span, sqlstate)
}

func setSQLState(span trace.Span, sqlstate string) {
	span.SetStatus(codes.Error, sqlstate)
	span.SetAttributes(keyDBResponseStatus.String(sqlstate), keyErrorType.String(sqlstate))
}

// End ends the query span.
func (q QuerySpan) End() {
	if q.span == nil {
		return
	}
	q.span.End()
}
