package telemetry_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/telemetry"
	"github.com/pgwarp/pgwarp/telemetry/jaegertest"
)

// TestE2EJaegerStoresQueryTraceJoinedToApplicationTrace exports a session
// and a query carrying a sqlcommenter traceparent through a Tracing built
// from Config, over each OTLP protocol, to a real Jaeger, and finds the
// spans, their parentage and attributes through Jaeger's HTTP query API.
func TestE2EJaegerStoresQueryTraceJoinedToApplicationTrace(t *testing.T) {
	j := jaegertest.Start(t)
	for _, tc := range []struct {
		name     string
		protocol string
		endpoint string
	}{
		{"grpc", telemetry.ProtocolGRPC, j.OTLPGRPCEndpoint},
		{"http", telemetry.ProtocolHTTPProtobuf, j.OTLPHTTPEndpoint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearOTelEnv(t)
			ctx := context.Background()
			service := "pgwarp-e2e-" + tc.name
			tr, err := telemetry.NewTracing(ctx, telemetry.Config{
				Enabled:          true,
				OTLPEndpoint:     tc.endpoint,
				OTLPProtocol:     tc.protocol,
				ServiceName:      service,
				RecordStatements: true,
			}, telemetry.TracingOptions{Version: "e2e-version"})
			if err != nil {
				t.Fatal(err)
			}

			appTrace, appSpan := randomHex(t, 16), randomHex(t, 8)
			_, sess := tr.StartSession(ctx, telemetry.SessionInfo{
				ID: 7, ClientAddr: "127.0.0.1:50000", User: "app", Database: "app",
				ApplicationName: "e2e", ServerAddress: "127.0.0.1", ServerPort: 5432,
			})
			_, q := sess.StartQuery(ctx, telemetry.QueryInfo{
				RawSQL:     "SELECT * FROM sales_measurement_dataset WHERE id = 42 /*controller='index',traceparent='00-" + appTrace + "-" + appSpan + "-01'*/",
				Operation:  "SELECT",
				Table:      "sales_measurement_dataset",
				Normalized: "SELECT * FROM sales_measurement_dataset WHERE id = $1",
			})
			if !q.IsRecording() {
				t.Fatal("query span not recording although its parent is sampled")
			}
			start := time.Now()
			q.RecordPoolAcquire(start, 2*time.Millisecond, "")
			q.RecordUpstream(start.Add(2*time.Millisecond), 5*time.Millisecond, "")
			q.SetCache(telemetry.CacheMiss, "expired")
			q.SetResult(1, 128)
			q.AddPolicyVerdict(telemetry.PolicyVerdict{Limit: "max_rows_per_query", Mode: "warn", Action: "warned", Observed: 200, Max: 100})
			q.End()
			sessionSpan := sess.SpanContext().SpanID().String()
			sess.End(nil)
			shutdownCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := tr.Shutdown(shutdownCtx); err != nil {
				t.Fatalf("Shutdown (flush to Jaeger): %v", err)
			}

			got := j.WaitForTrace(t, appTrace, 3)
			query, ok := got.SpanNamed("SELECT sales_measurement_dataset")
			if !ok {
				t.Fatalf("no query span in %+v", spanNames(got))
			}
			if p := query.Parent(); p != appSpan {
				t.Errorf("query span parent = %q, want the application's span %q", p, appSpan)
			}
			if !slices.Contains(query.Links(), sessionSpan) {
				t.Errorf("query span links = %v, want the session span %s", query.Links(), sessionSpan)
			}
			if s := got.ServiceName(query); s != service {
				t.Errorf("service = %q, want %q", s, service)
			}
			if v, _ := got.ProcessTag(query, "service.version"); v != "e2e-version" {
				t.Errorf("service.version = %q", v)
			}
			for k, want := range map[string]string{
				"db.system.name":      "postgresql",
				"db.namespace":        "app",
				"db.operation.name":   "SELECT",
				"db.collection.name":  "sales_measurement_dataset",
				"db.query.summary":    "SELECT sales_measurement_dataset",
				"db.query.text":       "SELECT * FROM sales_measurement_dataset WHERE id = $1",
				"pgwarp.cache.status": "miss",
				"pgwarp.rows":         "1",
				"span.kind":           "server",
			} {
				if v, ok := query.Tag(k); v != want {
					t.Errorf("tag %s = %q (present %v), want %q", k, v, ok, want)
				}
			}
			if ev, ok := query.Event(telemetry.EventPolicy); !ok || ev["pgwarp.policy.limit"] != "max_rows_per_query" {
				t.Errorf("policy event = %v (present %v)", ev, ok)
			}
			for _, name := range []string{telemetry.SpanPoolAcquire, telemetry.SpanUpstream} {
				child, ok := got.SpanNamed(name)
				if !ok {
					t.Errorf("no %s span in %v", name, spanNames(got))
					continue
				}
				if p := child.Parent(); p != jaegertest.NormalizeID(query.SpanID) {
					t.Errorf("%s parent = %q, want the query span %q", name, p, query.SpanID)
				}
			}

			// The session span is a trace of its own, found by service.
			traces := j.WaitForTraces(t, service, 2)
			found := false
			for _, tr := range traces {
				if s, ok := tr.SpanNamed(telemetry.SpanSession); ok {
					found = true
					if v, _ := s.Tag("pgwarp.user"); v != "app" {
						t.Errorf("session span pgwarp.user = %q", v)
					}
				}
			}
			if !found {
				t.Errorf("no %s span among the %d traces of %s", telemetry.SpanSession, len(traces), service)
			}
		})
	}
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	b[0] |= 0x10 // no leading zero nibble, and never all zero
	return hex.EncodeToString(b)
}

func spanNames(tr jaegertest.Trace) []string {
	var names []string
	for _, s := range tr.Spans {
		names = append(names, s.OperationName)
	}
	return names
}

// clearOTelEnv blanks the OpenTelemetry variables NewTracing honours, so
// that the developer's environment cannot redirect a test's spans.
func clearOTelEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{
		"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER",
		"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
		"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
		"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
		"OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_EXPORT_TIMEOUT",
		"OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
	} {
		t.Setenv(k, "")
	}
}
