package telemetry

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Log attribute keys shared by every pgwarp log line about a session or a
// query, so that one grep or one log query finds them all.
const (
	LogKeySessionID  = "session_id"
	LogKeyDatabase   = "database"
	LogKeyUser       = "user"
	LogKeyClientAddr = "client_addr"
	LogKeyAppName    = "application_name"
	LogKeyTLS        = "tls"
	LogKeyError      = "error"
	LogKeySQLState   = "sqlstate"
	LogKeyDuration   = "duration_ms"
	LogKeyTraceID    = "trace_id"
	LogKeySpanID     = "span_id"
)

// NewLogger returns the process logger described by cfg, writing to w. Its
// handler redacts secrets from every record (see [RedactString]; attributes
// whose key contains "password", "secret", "token"… are replaced by
// [Redacted]) and adds trace_id and span_id when the record's context
// carries a sampled span, so that a log line leads to its trace. The logger
// is safe for concurrent use.
func NewLogger(w io.Writer, cfg LogConfig) (*slog.Logger, error) {
	format, err := parseLogFormat(cfg.Format)
	if err != nil {
		return nil, err
	}
	level, err := parseLogLevel(cfg.Level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: redactAttr}
	var h slog.Handler
	if format == LogFormatJSON {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(traceHandler{h}), nil
}

// traceHandler adds the trace and span IDs of the record's context.
type traceHandler struct{ slog.Handler }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && sc.IsSampled() {
		r.AddAttrs(slog.String(LogKeyTraceID, sc.TraceID().String()), slog.String(LogKeySpanID, sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(attrs)}
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.Handler.WithGroup(name)}
}

// SessionLogger returns l with the session's standard attributes (session
// id, database, user, client address, application name, TLS), for every
// line the session logs.
func SessionLogger(l *slog.Logger, s SessionInfo) *slog.Logger {
	attrs := []any{
		slog.Uint64(LogKeySessionID, s.ID),
		slog.String(LogKeyDatabase, s.Database),
		slog.String(LogKeyUser, s.User),
		slog.String(LogKeyClientAddr, s.ClientAddr),
	}
	if s.ApplicationName != "" {
		attrs = append(attrs, slog.String(LogKeyAppName, s.ApplicationName))
	}
	attrs = append(attrs, slog.Bool(LogKeyTLS, s.TLS))
	return l.With(attrs...)
}

// LogSessionOpen logs that a session passed authentication, at info level,
// on a [SessionLogger].
func LogSessionOpen(ctx context.Context, l *slog.Logger) {
	l.LogAttrs(ctx, slog.LevelInfo, "session opened")
}

// LogSessionClose logs the end of a session and how long it lasted, at info
// level, on a [SessionLogger]. err is why it ended; nil and io.EOF (the
// client hung up) are a normal close.
func LogSessionClose(ctx context.Context, l *slog.Logger, lasted time.Duration, err error) {
	if err == nil || errors.Is(err, io.EOF) {
		l.LogAttrs(ctx, slog.LevelInfo, "session closed", durationAttr(lasted))
		return
	}
	l.LogAttrs(ctx, slog.LevelInfo, "session closed", durationAttr(lasted), errorAttr(err))
}

// LogError logs an error at error level with its SQLSTATE when err has one
// (an SQLState() string method, as pgconn.PgError and pgwarp's own errors
// have). The message is redacted like every attribute.
func LogError(ctx context.Context, l *slog.Logger, msg string, err error) {
	attrs := []slog.Attr{errorAttr(err)}
	var coded interface{ SQLState() string }
	if errors.As(err, &coded) {
		attrs = append(attrs, slog.String(LogKeySQLState, coded.SQLState()))
	}
	l.LogAttrs(ctx, slog.LevelError, msg, attrs...)
}

// SlowQuery is what the slow-query log line says about a query. It has no
// field for statement text or parameters: Summary is the normalised
// db.query.summary ("SELECT orders").
type SlowQuery struct {
	Summary  string
	Duration time.Duration
	PoolWait time.Duration
	Rows     int64
	Bytes    int64
	Cache    CacheStatus
	// SQLState is the error code the query ended with; empty on success.
	SQLState string
}

// LogSlowQuery logs q at warn level when its duration reaches threshold
// ([Config.WithDefaults] gives the configured one), and reports whether it
// did. A negative threshold turns the log off. Pass the query span's context
// so that the line carries the trace ID.
func LogSlowQuery(ctx context.Context, l *slog.Logger, threshold time.Duration, q SlowQuery) bool {
	if threshold < 0 || q.Duration < threshold {
		return false
	}
	attrs := []slog.Attr{
		slog.String("summary", q.Summary),
		durationAttr(q.Duration),
		slog.Float64("pool_wait_ms", ms(q.PoolWait)),
		slog.Int64("rows", q.Rows),
		slog.Int64("bytes", q.Bytes),
		slog.String("cache_status", q.Cache.String()),
		slog.Float64("threshold_ms", ms(threshold)),
	}
	if q.SQLState != "" {
		attrs = append(attrs, slog.String(LogKeySQLState, q.SQLState))
	}
	l.LogAttrs(ctx, slog.LevelWarn, "slow query", attrs...)
	return true
}

func durationAttr(d time.Duration) slog.Attr { return slog.Float64(LogKeyDuration, ms(d)) }

func errorAttr(err error) slog.Attr {
	if err == nil {
		return slog.String(LogKeyError, "")
	}
	return slog.String(LogKeyError, RedactString(err.Error()))
}

// ms converts d to fractional milliseconds, the unit log readers expect.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
