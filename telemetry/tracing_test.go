package telemetry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/pgwarp/pgwarp/telemetry"
)

const (
	appTraceID = "0af7651916cd43dd8448eb211c80319c"
	appSpanID  = "b7ad6b7169203331"
)

// newTestTracing builds a Tracing from cfg (Enabled forced on) that exports
// to an in-memory exporter.
func newTestTracing(t *testing.T, cfg telemetry.Config) (*telemetry.Tracing, *tracetest.InMemoryExporter) {
	t.Helper()
	clearOTelEnv(t)
	cfg.Enabled = true
	exp := tracetest.NewInMemoryExporter()
	tr, err := telemetry.NewTracing(context.Background(), cfg, telemetry.TracingOptions{Version: "test", Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr, exp
}

// flushed returns the spans exported so far.
func flushed(t *testing.T, tr *telemetry.Tracing, exp *tracetest.InMemoryExporter) tracetest.SpanStubs {
	t.Helper()
	if err := tr.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return exp.GetSpans()
}

func spanNamed(t *testing.T, spans tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	for _, s := range spans {
		if s.Name == name {
			return s
		}
	}
	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
	}
	t.Fatalf("no span named %q among %q", name, names)
	return tracetest.SpanStub{}
}

func attr(s tracetest.SpanStub, key attribute.Key) (attribute.Value, bool) {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

func wantAttrs(t *testing.T, s tracetest.SpanStub, want map[attribute.Key]any) {
	t.Helper()
	for k, w := range want {
		v, ok := attr(s, k)
		if !ok {
			t.Errorf("span %q: attribute %s missing", s.Name, k)
			continue
		}
		if got := v.AsInterface(); got != w {
			t.Errorf("span %q: %s = %#v, want %#v", s.Name, k, got, w)
		}
	}
}

func noAttr(t *testing.T, s tracetest.SpanStub, keys ...attribute.Key) {
	t.Helper()
	for _, k := range keys {
		if v, ok := attr(s, k); ok {
			t.Errorf("span %q: attribute %s = %v, want absent", s.Name, k, v.AsInterface())
		}
	}
}

var testSession = telemetry.SessionInfo{
	ID: 42, ClientAddr: "127.0.0.1:51234", User: "app", Database: "appdb",
	ApplicationName: "checkout", TLS: true, TLSVersion: "1.3",
	ServerAddress: "127.0.0.1", ServerPort: 5432,
}

var salesQuery = telemetry.QueryInfo{
	RawSQL:     "SELECT * FROM sales_measurement_dataset WHERE id = 7",
	Operation:  "SELECT",
	Table:      "sales_measurement_dataset",
	Normalized: "SELECT * FROM sales_measurement_dataset WHERE id = $1",
}

func TestQuerySpanForCacheHitIsNamedByOperationAndTableWithDatabaseAttributes(t *testing.T) {
	tr, exp := newTestTracing(t, telemetry.Config{})
	ctx, sess := tr.StartSession(context.Background(), testSession)
	_, q := sess.StartQuery(ctx, salesQuery)
	q.SetCache(telemetry.CacheHit, "")
	q.SetResult(3, 512)
	q.End()

	s := spanNamed(t, flushed(t, tr, exp), "SELECT sales_measurement_dataset")
	if s.SpanKind != trace.SpanKindServer {
		t.Errorf("kind = %v, want server", s.SpanKind)
	}
	wantAttrs(t, s, map[attribute.Key]any{
		"db.system.name":      "postgresql",
		"db.namespace":        "appdb",
		"db.operation.name":   "SELECT",
		"db.collection.name":  "sales_measurement_dataset",
		"db.query.summary":    "SELECT sales_measurement_dataset",
		"server.address":      "127.0.0.1",
		"server.port":         int64(5432),
		"pgwarp.session.id":   int64(42),
		"pgwarp.cache.status": "hit",
		"pgwarp.rows":         int64(3),
		"pgwarp.bytes":        int64(512),
	})
	noAttr(t, s, "db.query.text", "pgwarp.cache.reason", "pgwarp.pool.wait", "db.response.status_code")
	if s.Status.Code == codes.Error {
		t.Errorf("status = %v, want unset", s.Status)
	}
	if s.InstrumentationScope.Name != "github.com/pgwarp/pgwarp/telemetry" {
		t.Errorf("scope = %q", s.InstrumentationScope.Name)
	}
}

func TestQuerySpanForCacheMissRecordsPoolWaitAndChildSpans(t *testing.T) {
	tr, exp := newTestTracing(t, telemetry.Config{})
	ctx, sess := tr.StartSession(context.Background(), testSession)
	_, q := sess.StartQuery(ctx, salesQuery)
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	q.SetCache(telemetry.CacheMiss, "expired")
	q.SetPinned(true)
	q.RecordPoolAcquire(start, 1500*time.Microsecond, "")
	q.RecordUpstream(start.Add(1500*time.Microsecond), 6*time.Millisecond, "")
	q.End()

	spans := flushed(t, tr, exp)
	s := spanNamed(t, spans, "SELECT sales_measurement_dataset")
	wantAttrs(t, s, map[attribute.Key]any{
		"pgwarp.cache.status": "miss",
		"pgwarp.cache.reason": "expired",
		"pgwarp.pinned":       true,
		"pgwarp.pool.wait":    0.0015,
	})
	acq := spanNamed(t, spans, telemetry.SpanPoolAcquire)
	up := spanNamed(t, spans, telemetry.SpanUpstream)
	for _, c := range []tracetest.SpanStub{acq, up} {
		if c.Parent.SpanID() != s.SpanContext.SpanID() || c.SpanContext.TraceID() != s.SpanContext.TraceID() {
			t.Errorf("%s: parent %v, want the query span %v", c.Name, c.Parent.SpanID(), s.SpanContext.SpanID())
		}
	}
	if !acq.StartTime.Equal(start) || acq.EndTime.Sub(acq.StartTime) != 1500*time.Microsecond {
		t.Errorf("pool acquire span %v..%v, want %v for 1.5ms", acq.StartTime, acq.EndTime, start)
	}
	if up.SpanKind != trace.SpanKindClient || up.EndTime.Sub(up.StartTime) != 6*time.Millisecond {
		t.Errorf("upstream span kind %v lasting %v, want client for 6ms", up.SpanKind, up.EndTime.Sub(up.StartTime))
	}
	wantAttrs(t, up, map[attribute.Key]any{"db.system.name": "postgresql", "server.address": "127.0.0.1", "server.port": int64(5432)})
}

func TestQuerySpanRecordsPolicyVerdictAsEvent(t *testing.T) {
	tr, exp := newTestTracing(t, telemetry.Config{})
	ctx, sess := tr.StartSession(context.Background(), testSession)
	_, q := sess.StartQuery(ctx, salesQuery)
	q.AddPolicyVerdict(telemetry.PolicyVerdict{Limit: "max_rows_per_query", Mode: "enforce", Action: "rejected", Observed: 100001, Max: 100000})
	q.SetError("54000")
	q.End()

	s := spanNamed(t, flushed(t, tr, exp), "SELECT sales_measurement_dataset")
	if len(s.Events) != 1 || s.Events[0].Name != telemetry.EventPolicy {
		t.Fatalf("events = %+v, want one %s", s.Events, telemetry.EventPolicy)
	}
	got := map[attribute.Key]any{}
	for _, kv := range s.Events[0].Attributes {
		got[kv.Key] = kv.Value.AsInterface()
	}
	want := map[attribute.Key]any{
		"pgwarp.policy.limit":    "max_rows_per_query",
		"pgwarp.policy.mode":     "enforce",
		"pgwarp.policy.action":   "rejected",
		"pgwarp.policy.observed": int64(100001),
		"pgwarp.policy.max":      int64(100000),
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("event attribute %s = %#v, want %#v", k, got[k], w)
		}
	}
}

func TestQuerySpanForUpstreamErrorCarriesSQLStateButNotMessage(t *testing.T) {
	tr, exp := newTestTracing(t, telemetry.Config{})
	ctx, sess := tr.StartSession(context.Background(), testSession)
	_, q := sess.StartQuery(ctx, salesQuery)
	start := time.Now()
	q.RecordUpstream(start, time.Millisecond, "22P02")
	q.SetError("22P02")
	q.End()

	spans := flushed(t, tr, exp)
	for _, name := range []string{"SELECT sales_measurement_dataset", telemetry.SpanUpstream} {
		s := spanNamed(t, spans, name)
		if s.Status.Code != codes.Error || s.Status.Description != "22P02" {
			t.Errorf("%s: status = %+v, want Error 22P02", name, s.Status)
		}
		wantAttrs(t, s, map[attribute.Key]any{"db.response.status_code": "22P02", "error.type": "22P02"})
	}
}

func TestQuerySpanJoinsTraceFromSQLCommenterTraceparent(t *testing.T) {
	tr, exp := newTestTracing(t, telemetry.Config{})
	ctx, sess := tr.StartSession(context.Background(), testSession)
	q := salesQuery
	q.RawSQL += " /*controller='index',traceparent='00-" + appTraceID + "-" + appSpanID + "-01',tracestate='congo%3Dt61rcWkgMzE'*/"
	qctx, qs := sess.StartQuery(ctx, q)
	qs.End()
	sess.End(nil)

	s := spanNamed(t, flushed(t, tr, exp), "SELECT sales_measurement_dataset")
	if got := s.SpanContext.TraceID().String(); got != appTraceID {
		t.Errorf("trace id = %s, want the application's %s", got, appTraceID)
	}
	if got := s.Parent.SpanID().String(); got != appSpanID || !s.Parent.IsRemote() {
		t.Errorf("parent = %s (remote %v), want remote %s", got, s.Parent.IsRemote(), appSpanID)
	}
	if got := s.SpanContext.TraceState().Get("congo"); got != "t61rcWkgMzE" {
		t.Errorf("tracestate congo = %q, want the comment's", got)
	}
	if !trace.SpanContextFromContext(qctx).Equal(s.SpanContext) {
		t.Error("returned context does not carry the query span")
	}
}

func TestQuerySpanWithoutTraceparentStartsTraceLinkedToSession(t *testing.T) {
	tr, exp := newTestTracing(t, telemetry.Config{})
	ctx, sess := tr.StartSession(context.Background(), testSession)
	_, q := sess.StartQuery(ctx, salesQuery)
	q.End()
	sess.End(nil)

	spans := flushed(t, tr, exp)
	s := spanNamed(t, spans, "SELECT sales_measurement_dataset")
	session := spanNamed(t, spans, telemetry.SpanSession)
	if s.Parent.IsValid() {
		t.Errorf("query span has parent %v, want a root", s.Parent)
	}
	if s.SpanContext.TraceID() == session.SpanContext.TraceID() {
		t.Error("query span shares the session's trace, want a trace of its own")
	}
	if len(s.Links) != 1 || s.Links[0].SpanContext.SpanID() != session.SpanContext.SpanID() {
		t.Errorf("links = %+v, want one to the session span", s.Links)
	}
}

func TestSessionSpanCarriesConnectionAttributes(t *testing.T) {
	tr, exp := newTestTracing(t, telemetry.Config{})
	_, sess := tr.StartSession(context.Background(), testSession)
	sess.End(errors.New("read tcp: connection reset; was postgres://app:hunter2@db/app"))

	s := spanNamed(t, flushed(t, tr, exp), telemetry.SpanSession)
	wantAttrs(t, s, map[attribute.Key]any{
		"client.address":          "127.0.0.1",
		"client.port":             int64(51234),
		"pgwarp.user":             "app",
		"db.namespace":            "appdb",
		"pgwarp.application_name": "checkout",
		"tls.established":         true,
		"tls.protocol.version":    "1.3",
		"pgwarp.session.id":       int64(42),
		"db.system.name":          "postgresql",
		"server.address":          "127.0.0.1",
		"server.port":             int64(5432),
	})
	if s.Status.Code != codes.Error || s.Status.Description != "read tcp: connection reset; was postgres://app:[REDACTED]@db/app" {
		t.Errorf("status = %+v, want the redacted error", s.Status)
	}
	if v, ok := s.Resource.Set().Value("service.name"); !ok || v.AsString() != "pgwarp" {
		t.Errorf("service.name = %v", v.AsInterface())
	}
	for _, k := range []attribute.Key{"service.version", "service.instance.id"} {
		if v, ok := s.Resource.Set().Value(k); !ok || v.AsString() == "" {
			t.Errorf("resource %s missing", k)
		}
	}
}

func TestQuerySpanNameFallsBack(t *testing.T) {
	for _, tc := range []struct {
		name string
		q    telemetry.QueryInfo
		want string
	}{
		{"operation and table", telemetry.QueryInfo{Operation: "UPDATE", Table: "orders"}, "UPDATE orders"},
		{"operation alone", telemetry.QueryInfo{Operation: "BEGIN"}, "BEGIN"},
		{"summary wins", telemetry.QueryInfo{Operation: "SELECT", Table: "a", Summary: "SELECT a b"}, "SELECT a b"},
		{"summary alone", telemetry.QueryInfo{Summary: "CALL refresh"}, "CALL refresh"},
		{"nothing known", telemetry.QueryInfo{}, "postgresql"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, exp := newTestTracing(t, telemetry.Config{})
			ctx, sess := tr.StartSession(context.Background(), testSession)
			_, q := sess.StartQuery(ctx, tc.q)
			q.End()
			s := spanNamed(t, flushed(t, tr, exp), tc.want)
			if tc.want == "postgresql" {
				noAttr(t, s, "db.query.summary", "db.operation.name")
			} else {
				wantAttrs(t, s, map[attribute.Key]any{"db.query.summary": tc.want})
			}
		})
	}
}

func TestStatementTextIsRecordedOnlyWhenRecordStatementsIsOn(t *testing.T) {
	for _, on := range []bool{false, true} {
		tr, exp := newTestTracing(t, telemetry.Config{RecordStatements: on})
		ctx, sess := tr.StartSession(context.Background(), testSession)
		_, q := sess.StartQuery(ctx, salesQuery)
		q.End()
		s := spanNamed(t, flushed(t, tr, exp), "SELECT sales_measurement_dataset")
		v, ok := attr(s, "db.query.text")
		if ok != on || (on && v.AsString() != salesQuery.Normalized) {
			t.Errorf("record_statements=%v: db.query.text = %q (present %v)", on, v.AsString(), ok)
		}
		for _, kv := range s.Attributes {
			if kv.Value.Type() == attribute.STRING && kv.Value.AsString() == salesQuery.RawSQL {
				t.Errorf("raw statement with its literal recorded in %s", kv.Key)
			}
		}
	}
}

func TestSampleRatioZeroRecordsNothing(t *testing.T) {
	zero := 0.0
	tr, exp := newTestTracing(t, telemetry.Config{SampleRatio: &zero})
	ctx, sess := tr.StartSession(context.Background(), testSession)
	for range 100 {
		_, q := sess.StartQuery(ctx, salesQuery)
		if q.IsRecording() {
			t.Fatal("query span recording at sample ratio 0")
		}
		q.SetCache(telemetry.CacheHit, "")
		q.RecordPoolAcquire(time.Now(), time.Millisecond, "")
		q.End()
	}
	sess.End(nil)
	if spans := flushed(t, tr, exp); len(spans) != 0 {
		t.Errorf("%d spans exported at sample ratio 0", len(spans))
	}
}

func TestSampleRatioZeroStillFollowsSampledApplicationTrace(t *testing.T) {
	zero := 0.0
	tr, exp := newTestTracing(t, telemetry.Config{SampleRatio: &zero})
	ctx, sess := tr.StartSession(context.Background(), testSession)
	for _, flags := range []string{"01", "00"} {
		q := salesQuery
		q.RawSQL += "/*traceparent='00-" + appTraceID + "-" + appSpanID + "-" + flags + "'*/"
		_, qs := sess.StartQuery(ctx, q)
		if qs.IsRecording() != (flags == "01") {
			t.Errorf("flags %s: recording = %v", flags, qs.IsRecording())
		}
		qs.End()
	}
	if spans := flushed(t, tr, exp); len(spans) != 1 {
		t.Errorf("%d spans exported, want only the sampled application's", len(spans))
	}
}

func TestEarlySamplingDecisionAgreesWithSDK(t *testing.T) {
	half := 0.5
	tr, exp := newTestTracing(t, telemetry.Config{SampleRatio: &half})
	ctx, sess := tr.StartSession(context.Background(), testSession)
	recorded := 0
	const n = 400
	for range n {
		_, q := sess.StartQuery(ctx, telemetry.QueryInfo{Operation: "SELECT"})
		if q.IsRecording() {
			recorded++
			if !q.SpanContext().IsSampled() {
				t.Fatal("a recording query span is not sampled by the SDK")
			}
		}
		q.End()
	}
	sess.End(nil)
	exported := 0
	for _, s := range flushed(t, tr, exp) {
		if s.Name == "SELECT" {
			exported++
		}
	}
	if recorded != exported {
		t.Errorf("%d query spans recording, %d exported", recorded, exported)
	}
	// With ratio ½ over 400 draws, all or nothing has probability 2⁻³⁹⁹.
	if recorded == 0 || recorded == n {
		t.Errorf("%d of %d sampled at ratio 0.5", recorded, n)
	}
}

func TestDisabledTracingHandsOutNoopSpans(t *testing.T) {
	clearOTelEnv(t)
	exp := tracetest.NewInMemoryExporter()
	tr, err := telemetry.NewTracing(context.Background(), telemetry.Config{}, telemetry.TracingOptions{Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Enabled() {
		t.Fatal("tracing enabled by a zero Config")
	}
	ctx := context.Background()
	sctx, sess := tr.StartSession(ctx, testSession)
	qctx, q := sess.StartQuery(sctx, salesQuery)
	if sctx != ctx || qctx != ctx || q.IsRecording() || sess.IsRecording() {
		t.Error("disabled tracing changed the context or recorded a span")
	}
	q.End()
	sess.End(nil)
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if spans := exp.GetSpans(); len(spans) != 0 {
		t.Errorf("%d spans exported with tracing disabled", len(spans))
	}
	// A nil Tracing is just as inert.
	var none *telemetry.Tracing
	_, s := none.StartSession(ctx, testSession)
	_, q = s.StartQuery(ctx, salesQuery)
	q.End()
	if none.Enabled() || none.Shutdown(ctx) != nil {
		t.Error("nil Tracing is not inert")
	}
}

func TestUnsampledQuerySpanDoesNotAllocate(t *testing.T) {
	zero := 0.0
	unsampled, _ := newTestTracing(t, telemetry.Config{SampleRatio: &zero})
	disabled, err := telemetry.NewTracing(context.Background(), telemetry.Config{}, telemetry.TracingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, tr := range map[string]*telemetry.Tracing{"disabled": disabled, "not sampled": unsampled} {
		ctx, sess := tr.StartSession(context.Background(), testSession)
		allocs := testing.AllocsPerRun(100, func() {
			_, q := sess.StartQuery(ctx, salesQuery)
			q.SetCache(telemetry.CacheMiss, "expired")
			q.SetResult(10, 1000)
			q.RecordPoolAcquire(time.Time{}, time.Millisecond, "")
			q.End()
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per query, want 0", name, allocs)
		}
	}
}

func TestImmediatePoolLeaseIsAnAttributeWithoutChildSpan(t *testing.T) {
	tr, exp := newTestTracing(t, telemetry.Config{})
	ctx, sess := tr.StartSession(context.Background(), testSession)
	for _, tc := range []struct {
		wait     time.Duration
		sqlstate string
		child    bool
	}{
		{10 * time.Microsecond, "", false},
		{telemetry.MinPoolAcquireSpan, "", true},
		{10 * time.Microsecond, "53300", true},
	} {
		exp.Reset()
		_, q := sess.StartQuery(ctx, salesQuery)
		q.RecordPoolAcquire(time.Now(), tc.wait, tc.sqlstate)
		q.End()
		spans := flushed(t, tr, exp)
		s := spanNamed(t, spans, "SELECT sales_measurement_dataset")
		if v, ok := attr(s, "pgwarp.pool.wait"); !ok || v.AsFloat64() != tc.wait.Seconds() {
			t.Errorf("wait %v: pgwarp.pool.wait = %v", tc.wait, v.AsInterface())
		}
		if got := len(spans) == 2; got != tc.child {
			t.Errorf("wait %v sqlstate %q: child span %v, want %v", tc.wait, tc.sqlstate, got, tc.child)
		}
	}
}

// A fast successful round trip is only the query span; a slow or failed
// one gets a pgwarp.upstream child.
func TestUpstreamChildSpanOnlyWhereItTakesTime(t *testing.T) {
	tr, exp := newTestTracing(t, telemetry.Config{})
	ctx, sess := tr.StartSession(context.Background(), testSession)
	for _, d := range []time.Duration{2 * time.Millisecond, 6 * time.Millisecond} {
		_, q := sess.StartQuery(ctx, salesQuery)
		q.RecordUpstream(time.Now(), d, "")
		q.End()
	}
	n := 0
	for _, s := range flushed(t, tr, exp) {
		if s.Name == telemetry.SpanUpstream {
			n++
			if got := s.EndTime.Sub(s.StartTime); got != 6*time.Millisecond {
				t.Errorf("upstream span of %v, want only the 6ms round trip's", got)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d upstream spans, want 1", n)
	}
}
