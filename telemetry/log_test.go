package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/telemetry"
)

func jsonLogger(t *testing.T, level string) (*slog.Logger, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	l, err := telemetry.NewLogger(&buf, telemetry.LogConfig{Format: "json", Level: level})
	if err != nil {
		t.Fatal(err)
	}
	return l, &buf
}

func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

type sqlError struct{ code, msg string }

func (e sqlError) Error() string    { return e.msg }
func (e sqlError) SQLState() string { return e.code }

func TestLoggerRedactsPasswordsAndConnectionStrings(t *testing.T) {
	l, buf := jsonLogger(t, "debug")
	sl := telemetry.SessionLogger(l, testSession)
	sl.Info("connecting",
		slog.String("password", "hunter2"),
		slog.String("PGPASSWORD", "hunter2"),
		slog.String("auth_token", "hunter2"),
		slog.String("upstream", "postgres://app:hunter2@db.internal:5432/app?sslmode=verify-full"),
		slog.String("dsn", "host=db user=app password='hun ter2' dbname=app"),
		slog.String("dsn2", "host=db password=hunter2 dbname=app"),
		slog.Any("err", errors.New("connect postgres://app:hunter2@db/app: refused")),
		slog.Group("upstream_cfg", slog.String("password", "hunter2")),
	)
	telemetry.LogError(context.Background(), sl, "upstream failed", fmt.Errorf("wrap: %w", sqlError{"28P01", "password authentication failed; dsn password=hunter2"}))

	out := buf.String()
	if strings.Contains(out, "hunter2") || strings.Contains(out, "hun ter2") {
		t.Fatalf("secret leaked:\n%s", out)
	}
	recs := records(t, buf)
	r := recs[0]
	for k, want := range map[string]string{
		"password":   telemetry.Redacted,
		"PGPASSWORD": telemetry.Redacted,
		"auth_token": telemetry.Redacted,
		"upstream":   "postgres://app:[REDACTED]@db.internal:5432/app?sslmode=verify-full",
		"dsn":        "host=db user=app password=[REDACTED] dbname=app",
		"dsn2":       "host=db password=[REDACTED] dbname=app",
		"err":        "connect postgres://app:[REDACTED]@db/app: refused",
	} {
		if r[k] != want {
			t.Errorf("%s = %q, want %q", k, r[k], want)
		}
	}
	if g, _ := r["upstream_cfg"].(map[string]any); g["password"] != telemetry.Redacted {
		t.Errorf("grouped password = %v", r["upstream_cfg"])
	}
	// Session attributes survive redaction.
	if r["user"] != "app" || r["database"] != "appdb" || r["client_addr"] != "127.0.0.1:51234" || r["session_id"] != float64(42) {
		t.Errorf("session attributes = %v", r)
	}
	if e := recs[1]; e["level"] != "ERROR" || e["sqlstate"] != "28P01" || e["error"] != "wrap: password authentication failed; dsn password=[REDACTED]" {
		t.Errorf("error record = %v", e)
	}
}

func TestRedactStringLeavesOrdinaryTextAlone(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT 1":                          "SELECT 1",
		"mail me at a@b.c":                  "mail me at a@b.c",
		"https://example.com/x@y":           "https://example.com/x@y",
		"postgres://app@db/app":             "postgres://app@db/app",
		"postgresql://u:p%40ss@h/db":        "postgresql://u:[REDACTED]@h/db",
		"a postgres://u:p@h and x://v:w@z/": "a postgres://u:[REDACTED]@h and x://v:[REDACTED]@z/",
		"Password=abc;Host=db":              "Password=[REDACTED];Host=db",
		"password is wrong":                 "password is wrong",
	} {
		if got := telemetry.RedactString(in); got != want {
			t.Errorf("RedactString(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSessionOpenCloseAndSlowQueryRecords(t *testing.T) {
	l, buf := jsonLogger(t, "")
	sl := telemetry.SessionLogger(l, testSession)
	ctx := context.Background()
	telemetry.LogSessionOpen(ctx, sl)
	telemetry.LogSessionClose(ctx, sl, 1500*time.Millisecond, io.EOF)
	telemetry.LogSessionClose(ctx, sl, time.Second, errors.New("read: connection reset"))

	if telemetry.LogSlowQuery(ctx, sl, time.Second, telemetry.SlowQuery{Summary: "SELECT orders", Duration: 999 * time.Millisecond}) {
		t.Error("query below the threshold logged")
	}
	if telemetry.LogSlowQuery(ctx, sl, -1, telemetry.SlowQuery{Summary: "SELECT orders", Duration: time.Hour}) {
		t.Error("slow-query log not off with a negative threshold")
	}
	if !telemetry.LogSlowQuery(ctx, sl, time.Second, telemetry.SlowQuery{
		Summary: "SELECT orders", Duration: 2500 * time.Millisecond, PoolWait: 3 * time.Millisecond,
		Rows: 10, Bytes: 2048, Cache: telemetry.CacheMiss, SQLState: "57014",
	}) {
		t.Error("slow query not logged")
	}

	recs := records(t, buf)
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4:\n%s", len(recs), buf)
	}
	if recs[0]["msg"] != "session opened" || recs[0]["application_name"] != "checkout" || recs[0]["tls"] != true {
		t.Errorf("open = %v", recs[0])
	}
	if recs[1]["msg"] != "session closed" || recs[1]["duration_ms"] != 1500.0 || recs[1]["error"] != nil {
		t.Errorf("clean close = %v", recs[1])
	}
	if recs[2]["error"] != "read: connection reset" {
		t.Errorf("abnormal close = %v", recs[2])
	}
	s := recs[3]
	for k, want := range map[string]any{
		"level": "WARN", "msg": "slow query", "summary": "SELECT orders", "duration_ms": 2500.0,
		"pool_wait_ms": 3.0, "rows": 10.0, "bytes": 2048.0, "cache_status": "miss", "sqlstate": "57014",
		"threshold_ms": 1000.0, "session_id": 42.0, "database": "appdb",
	} {
		if s[k] != want {
			t.Errorf("slow query %s = %v, want %v", k, s[k], want)
		}
	}
}

func TestLoggerAddsTraceIDOfSampledSpan(t *testing.T) {
	tr, _ := newTestTracing(t, telemetry.Config{})
	l, buf := jsonLogger(t, "")
	ctx, sess := tr.StartSession(context.Background(), testSession)
	qctx, q := sess.StartQuery(ctx, salesQuery)
	l.InfoContext(qctx, "inside the query")
	l.InfoContext(context.Background(), "outside")
	q.End()

	recs := records(t, buf)
	if recs[0]["trace_id"] != q.SpanContext().TraceID().String() || recs[0]["span_id"] != q.SpanContext().SpanID().String() {
		t.Errorf("trace correlation = %v, want %s", recs[0], q.SpanContext().TraceID())
	}
	if _, ok := recs[1]["trace_id"]; ok {
		t.Errorf("trace_id without a span: %v", recs[1])
	}
}

func TestNewLoggerFormatAndLevel(t *testing.T) {
	var buf bytes.Buffer
	l, err := telemetry.NewLogger(&buf, telemetry.LogConfig{Level: "warn"})
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hidden")
	l.Warn("shown", "k", "v")
	if out := buf.String(); strings.Contains(out, "hidden") || !strings.Contains(out, "level=WARN msg=shown k=v") {
		t.Errorf("text logger at warn wrote %q", out)
	}
	if _, err := telemetry.NewLogger(&buf, telemetry.LogConfig{Format: "yaml"}); err == nil {
		t.Error("unknown format accepted")
	}
}
