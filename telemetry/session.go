package telemetry

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// SessionInfo describes one client connection, for its span and its log
// lines. No field may hold a secret: there is deliberately no password or
// connection string here.
type SessionInfo struct {
	// ID is pgwarp's session number, shown in logs and as
	// pgwarp.session.id.
	ID uint64
	// ClientAddr is the client's address as net.Conn.RemoteAddr().String()
	// gives it ("ip:port"); a Unix socket path is kept as is.
	ClientAddr string
	// User, Database and ApplicationName come from the StartupMessage.
	User            string
	Database        string
	ApplicationName string
	// TLS reports whether the client connection is encrypted, and
	// TLSVersion its protocol version ("1.3"). Zero: plaintext, omitted.
	TLS        bool
	TLSVersion string
	// ServerAddress and ServerPort name the upstream PostgreSQL server of
	// Database (server.address, server.port). Zero: omitted.
	ServerAddress string
	ServerPort    int
}

// SessionSpan is the span of one client session, and the factory of its
// query spans. The zero value is a valid no-op (tracing off). It is owned by
// the session's goroutine.
type SessionSpan struct {
	t    *Tracing
	span trace.Span // nil when the session span is not recording

	// Attributes every query span of the session repeats.
	namespace  attribute.KeyValue
	sessionID  attribute.KeyValue
	serverAddr attribute.KeyValue
	serverPort attribute.KeyValue
	hasServer  bool
}

// StartSession starts the span of a client session. It is always the root of
// its own trace. The returned context carries the span when it is sampled.
// Call [SessionSpan.End] when the connection closes.
func (t *Tracing) StartSession(ctx context.Context, info SessionInfo) (context.Context, SessionSpan) {
	if !t.Enabled() {
		return ctx, SessionSpan{}
	}
	s := SessionSpan{
		t:          t,
		namespace:  keyDBNamespace.String(info.Database),
		sessionID:  AttrSessionID.Int64(int64(info.ID)),
		serverAddr: keyServerAddress.String(info.ServerAddress),
		serverPort: keyServerPort.Int(info.ServerPort),
		hasServer:  info.ServerAddress != "",
	}
	tid := newTraceID()
	if !t.sampler.decide(trace.SpanContext{}, tid) {
		return ctx, s
	}
	attrs := make([]attribute.KeyValue, 0, 12)
	attrs = append(attrs, attrDBSystemPostgres, s.namespace, s.sessionID,
		AttrUser.String(info.User))
	if info.ApplicationName != "" {
		attrs = append(attrs, AttrApplicationName.String(info.ApplicationName))
	}
	if host, port, err := net.SplitHostPort(info.ClientAddr); err == nil {
		attrs = append(attrs, keyClientAddress.String(host))
		if p, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, keyClientPort.Int(p))
		}
	} else if info.ClientAddr != "" {
		attrs = append(attrs, keyClientAddress.String(info.ClientAddr))
	}
	attrs = append(attrs, keyTLSEstablished.Bool(info.TLS))
	if info.TLSVersion != "" {
		attrs = append(attrs, keyTLSVersion.String(info.TLSVersion))
	}
	if s.hasServer {
		attrs = append(attrs, s.serverAddr, s.serverPort)
	}
	ctx = context.WithValue(ctx, traceIDKey{}, tid)
	ctx, s.span = t.tracer.Start(ctx, SpanSession,
		trace.WithNewRoot(),
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attrs...))
	return ctx, s
}

// IsRecording reports whether the session span itself is sampled.
func (s *SessionSpan) IsRecording() bool { return s.span != nil }

// SpanContext returns the session span's context; it is invalid when the
// span is not recording.
func (s *SessionSpan) SpanContext() trace.SpanContext {
	if s.span == nil {
		return trace.SpanContext{}
	}
	return s.span.SpanContext()
}

// End ends the session span. err is why the session ended: nil or io.EOF for
// a client that said Terminate or hung up, anything else marks the span as
// an error (its text redacted by [RedactString]).
func (s *SessionSpan) End(err error) {
	if s.span == nil {
		return
	}
	if err != nil && !errors.Is(err, io.EOF) {
		s.span.SetStatus(codes.Error, RedactString(err.Error()))
	}
	s.span.End()
	s.span = nil
}
