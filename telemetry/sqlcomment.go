package telemetry

import (
	"context"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// sqlcommenter keys, see https://google.github.io/sqlcommenter/spec/ and
// https://www.w3.org/TR/trace-context/.
const (
	keyTraceparent = "traceparent"
	keyTracestate  = "tracestate"
)

// ParseSQLComment returns the remote span context carried by a sqlcommenter
// comment in a statement's text, e.g.
//
//	SELECT * FROM orders /*controller='index',traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'*/
//
// The first /* … */ comment with a valid traceparent wins; its tracestate,
// if any and valid, is kept. Values may be URL-encoded, as sqlcommenter
// writes them. traceparent is validated per W3C Trace Context as the
// OpenTelemetry Go propagator does: lowercase hex, non-zero IDs, version ff
// rejected, version 00 exactly 55 characters, a later version's first four
// fields used. Anything malformed is ignored: the statement is untrusted
// input, and a bad comment must never fail a query. A statement without
// "/*" costs one [strings.Index].
func ParseSQLComment(sql string) (trace.SpanContext, bool) {
	i := strings.Index(sql, "/*")
	if i < 0 {
		return trace.SpanContext{}, false
	}
	rest := sql[i+2:]
	for {
		end := strings.Index(rest, "*/")
		if end < 0 {
			return trace.SpanContext{}, false
		}
		if sc, ok := parseCommentBody(rest[:end]); ok {
			return sc, true
		}
		rest = rest[end+2:]
		i = strings.Index(rest, "/*")
		if i < 0 {
			return trace.SpanContext{}, false
		}
		rest = rest[i+2:]
	}
}

// ContextWithSQLComment returns ctx carrying the remote span context found
// by [ParseSQLComment] in sql, or ctx itself when there is none, so that a
// span started from it becomes the application span's child.
func ContextWithSQLComment(ctx context.Context, sql string) context.Context {
	sc, ok := ParseSQLComment(sql)
	if !ok {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

// parseCommentBody looks for traceparent (and tracestate) in the text
// between /* and */.
func parseCommentBody(body string) (trace.SpanContext, bool) {
	v, ok := commentValue(body, keyTraceparent)
	if !ok {
		return trace.SpanContext{}, false
	}
	if strings.IndexByte(v, '%') >= 0 {
		var err error
		if v, err = url.PathUnescape(v); err != nil {
			return trace.SpanContext{}, false
		}
	}
	cfg, ok := parseTraceparent(v)
	if !ok {
		return trace.SpanContext{}, false
	}
	if ts, ok := commentValue(body, keyTracestate); ok && ts != "" {
		if strings.IndexByte(ts, '%') >= 0 {
			ts, _ = url.PathUnescape(ts)
		}
		// An invalid tracestate must not invalidate traceparent (W3C
		// Trace Context §3.3.1.1); it is dropped instead.
		cfg.TraceState, _ = trace.ParseTraceState(ts)
	}
	return trace.NewSpanContext(cfg), true
}

// commentValue returns the quoted value of key in a sqlcommenter body
// (key='value', pairs separated by commas). The key must start the body or
// follow a comma or whitespace, so that "xtraceparent" does not match.
func commentValue(body, key string) (string, bool) {
	for off := 0; off < len(body); {
		j := strings.Index(body[off:], key)
		if j < 0 {
			return "", false
		}
		start := off + j
		off = start + len(key)
		if start > 0 {
			if c := body[start-1]; c != ',' && !isSpace(c) {
				continue
			}
		}
		k := skipSpaces(body, off)
		if k >= len(body) || body[k] != '=' {
			continue
		}
		k = skipSpaces(body, k+1)
		if k >= len(body) || body[k] != '\'' {
			continue
		}
		k++
		q := strings.IndexByte(body[k:], '\'')
		if q < 0 {
			return "", false
		}
		return body[k : k+q], true
	}
	return "", false
}

func skipSpaces(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// traceparent field layout: version "-" trace-id "-" parent-id "-" flags.
const (
	traceparentLen = 55
	maxVersion     = 0xfe
)

// parseTraceparent validates a traceparent value per W3C Trace Context and
// returns it as a remote span context configuration.
func parseTraceparent(v string) (trace.SpanContextConfig, bool) {
	var cfg trace.SpanContextConfig
	if len(v) < traceparentLen || v[2] != '-' || v[35] != '-' || v[52] != '-' {
		return cfg, false
	}
	version, ok := hexByte(v[0], v[1])
	if !ok || version > maxVersion {
		return cfg, false
	}
	if len(v) > traceparentLen && (version == 0 || v[traceparentLen] != '-') {
		return cfg, false
	}
	if !decodeHex(cfg.TraceID[:], v[3:35]) || !decodeHex(cfg.SpanID[:], v[36:52]) {
		return cfg, false
	}
	flags, ok := hexByte(v[53], v[54])
	if !ok || (version == 0 && flags > 3) {
		// Version 00 defines only the sampled and random bits.
		return cfg, false
	}
	if !cfg.TraceID.IsValid() || !cfg.SpanID.IsValid() {
		return cfg, false
	}
	cfg.TraceFlags = trace.TraceFlags(flags) & (trace.FlagsSampled | trace.FlagsRandom)
	cfg.Remote = true
	return cfg, true
}

func decodeHex(dst []byte, s string) bool {
	for i := range dst {
		b, ok := hexByte(s[2*i], s[2*i+1])
		if !ok {
			return false
		}
		dst[i] = b
	}
	return true
}

func hexByte(hi, lo byte) (byte, bool) {
	h, ok1 := hexNibble(hi)
	l, ok2 := hexNibble(lo)
	return h<<4 | l, ok1 && ok2
}

// hexNibble decodes a lowercase hex digit; W3C Trace Context forbids
// uppercase.
func hexNibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
