package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/pgwarp/pgwarp/cache"
	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/policy"
	"github.com/pgwarp/pgwarp/proxy"
	"github.com/pgwarp/pgwarp/proxy/proxytest"
	"github.com/pgwarp/pgwarp/telemetry"
)

func attr(s tracetest.SpanStub, key attribute.Key) string {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value.Emit()
		}
	}
	return ""
}

func TestQuerySpansCarryCacheStatusPolicyEventsErrorsAndTheApplicationsTrace(t *testing.T) {
	db := dashboardDB(t)
	c := pgtest.Shared(t)
	exp := tracetest.NewInMemoryExporter()
	one := 1.0
	tr, err := telemetry.NewTracing(context.Background(), telemetry.Config{Enabled: true, SampleRatio: &one, RecordStatements: true},
		telemetry.TracingOptions{Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown(context.Background())
	cc, err := cache.New(cache.Config{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := policy.New(smallLimits(policy.ModeEnforce))
	if err != nil {
		t.Fatal(err)
	}
	p := proxytest.Start(t, c, proxytest.Options{Mode: proxy.PoolTransaction, Configure: func(pc *proxy.Config) {
		pc.Tracing, pc.Cache, pc.Policy = tr, cc, eng
		pc.Metrics = telemetry.NewMetrics(telemetry.MetricsOptions{})
	}})
	conn := connect(t, p, db)
	ctx := context.Background()
	const read = "SELECT count(*) FROM material_artifact"
	warm(t, p, conn, read, pgx.QueryExecModeSimpleProtocol)
	_, _ = conn.Exec(ctx, "SELECT generate_series(1, 2000)")                         // over max_rows_per_query
	_, _ = conn.Exec(ctx, "SELECT * FROM no_such_table")                             // upstream error
	const traceID, parentID = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331" // W3C example
	mustExec(t, conn, fmt.Sprintf("SELECT 1 /*traceparent='00-%s-%s-01'*/", traceID, parentID))
	conn.Close(ctx) // ends the session span
	p.Stop(t)
	if err := tr.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	var sawMiss, sawHit, sawPolicy, sawError, sawParent, sawSession bool
	for _, s := range spans {
		switch {
		case s.Name == "SELECT material_artifact" && attr(s, telemetry.AttrCacheStatus) == "hit":
			sawHit = true
		case s.Name == "SELECT material_artifact" && attr(s, telemetry.AttrCacheStatus) == "miss":
			sawMiss = true
			if attr(s, "db.query.text") == "" || attr(s, "db.system.name") != "postgresql" {
				t.Errorf("miss span lacks db attributes: %v", s.Attributes)
			}
		}
		for _, e := range s.Events {
			if e.Name == telemetry.EventPolicy {
				sawPolicy = true
			}
		}
		if attr(s, "db.response.status_code") == "42P01" {
			sawError = true
		}
		if s.SpanContext.TraceID().String() == traceID && s.Parent.SpanID().String() == parentID && s.Parent.IsRemote() {
			sawParent = true
		}
		if attr(s, telemetry.AttrSessionID) != "" && attr(s, telemetry.AttrCacheStatus) == "" {
			sawSession = true
		}
	}
	if !sawMiss || !sawHit || !sawPolicy || !sawError || !sawParent || !sawSession {
		names := []string{}
		for _, s := range spans {
			names = append(names, s.Name+"/"+attr(s, telemetry.AttrCacheStatus))
		}
		t.Fatalf("miss %v hit %v policy %v error %v parent %v session %v; spans %v", sawMiss, sawHit, sawPolicy, sawError, sawParent, sawSession, names)
	}
}

// lockedBuffer is a bytes.Buffer safe for the proxy's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestLogsALinePerConnectionAndPerErrorWithoutValues(t *testing.T) {
	db := dashboardDB(t)
	c := pgtest.Shared(t)
	var logs lockedBuffer
	p := proxytest.Start(t, c, proxytest.Options{Mode: proxy.PoolTransaction, Configure: func(pc *proxy.Config) {
		pc.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	}})
	conn := connect(t, p, db)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "SELECT 'secret-value-42'::int"); err == nil {
		t.Fatal("the bad cast succeeded")
	}
	if _, err := conn.Exec(ctx, "SELECT $1::int", "other-secret-7"); err == nil {
		t.Fatal("the bad parameter succeeded")
	}
	conn.Close(ctx)
	p.Stop(t)
	out := logs.String()
	lines := map[string]map[string]any{}
	failed := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		msg, _ := rec["msg"].(string)
		lines[msg] = rec
		if msg == "query failed" {
			failed++
			if rec["sqlstate"] != "22P02" || rec["summary"] != "SELECT" {
				t.Errorf("query failed line: %v", rec)
			}
		}
	}
	for _, msg := range []string{"connection opened", "query failed", "connection closed"} {
		rec, ok := lines[msg]
		if !ok {
			t.Errorf("no %q line in\n%s", msg, out)
			continue
		}
		for _, key := range []string{"session", "client", "user", "database"} {
			if rec[key] == nil || rec[key] == "" {
				t.Errorf("%q line lacks %s: %v", msg, key, rec)
			}
		}
	}
	if failed != 2 {
		t.Errorf("%d query failed lines, want 2:\n%s", failed, out)
	}
	if strings.Contains(out, "secret-value-42") || strings.Contains(out, "other-secret-7") {
		t.Errorf("a value reached the log:\n%s", out)
	}
}
