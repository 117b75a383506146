package telemetry_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/pgwarp/pgwarp/telemetry"
)

// benchQuery is what the proxy does per query when tracing: start, a few
// attributes, the pool wait and upstream child spans, end.
func benchQuery(b *testing.B, tr *telemetry.Tracing, q telemetry.QueryInfo) {
	ctx, sess := tr.StartSession(context.Background(), testSession)
	start := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		_, qs := sess.StartQuery(ctx, q)
		qs.SetCache(telemetry.CacheMiss, "expired")
		qs.RecordPoolAcquire(start, time.Millisecond, "")
		qs.RecordUpstream(start, 2*time.Millisecond, "")
		qs.SetResult(10, 1000)
		qs.End()
	}
	sess.End(nil)
}

func benchTracing(b *testing.B, cfg telemetry.Config) *telemetry.Tracing {
	tr, err := telemetry.NewTracing(context.Background(), cfg, telemetry.TracingOptions{Exporter: tracetest.NewNoopExporter()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr
}

func BenchmarkQuerySpanDisabled(b *testing.B) {
	benchQuery(b, benchTracing(b, telemetry.Config{}), salesQuery)
}

func BenchmarkQuerySpanNotSampled(b *testing.B) {
	zero := 0.0
	benchQuery(b, benchTracing(b, telemetry.Config{Enabled: true, SampleRatio: &zero}), salesQuery)
}

func BenchmarkQuerySpanSampled(b *testing.B) {
	benchQuery(b, benchTracing(b, telemetry.Config{Enabled: true}), salesQuery)
}

func BenchmarkQuerySpanSampledFromTraceparent(b *testing.B) {
	q := salesQuery
	q.RawSQL += " /*controller='index',traceparent='" + validTP + "'*/"
	zero := 0.0
	benchQuery(b, benchTracing(b, telemetry.Config{Enabled: true, SampleRatio: &zero}), q)
}

func BenchmarkParseSQLCommentNoComment(b *testing.B) {
	sql := "SELECT id, name, amount FROM sales_measurement_dataset WHERE region = $1 AND day BETWEEN $2 AND $3 ORDER BY day LIMIT 100"
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := telemetry.ParseSQLComment(sql); ok {
			b.Fatal("found a comment")
		}
	}
}

func BenchmarkParseSQLCommentTraceparent(b *testing.B) {
	sql := "SELECT id, name, amount FROM sales_measurement_dataset WHERE region = $1 /*action='list',controller='sales',db_driver='pg',traceparent='" + validTP + "'*/"
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := telemetry.ParseSQLComment(sql); !ok {
			b.Fatal("no traceparent")
		}
	}
}

func BenchmarkParseSQLCommentTraceparentAndTracestate(b *testing.B) {
	sql := "SELECT 1 /*traceparent='" + validTP + "',tracestate='congo%3Dt61rcWkgMzE%2Crojo%3D00f067aa0ba902b7'*/"
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := telemetry.ParseSQLComment(sql); !ok {
			b.Fatal("no traceparent")
		}
	}
}

func BenchmarkPoolMetricsObserveQuery(b *testing.B) {
	p := telemetry.NewMetrics(telemetry.MetricsOptions{}).Pool("appdb", "app")
	b.ReportAllocs()
	for b.Loop() {
		p.ObserveQuery(telemetry.CacheHit, 300*time.Microsecond)
		p.ObservePoolWait(10 * time.Microsecond)
	}
}
