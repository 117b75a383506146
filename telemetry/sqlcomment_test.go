package telemetry_test

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/pgwarp/pgwarp/telemetry"
)

const validTP = "00-" + appTraceID + "-" + appSpanID + "-01"

func TestParseSQLComment(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sql     string
		ok      bool
		sampled bool
		state   string // tracestate's "congo" member
	}{
		{"no comment", "SELECT 1", false, false, ""},
		{"sqlcommenter suffix", "SELECT * FROM t /*controller='index',traceparent='" + validTP + "'*/", true, true, ""},
		{"only key", "SELECT 1 /*traceparent='" + validTP + "'*/", true, true, ""},
		{"leading comment", "/*traceparent='" + validTP + "'*/ SELECT 1", true, true, ""},
		{"spaces around", "SELECT 1 /* action='x', traceparent = '" + validTP + "' */", true, true, ""},
		{"not sampled", "SELECT 1 /*traceparent='00-" + appTraceID + "-" + appSpanID + "-00'*/", true, false, ""},
		{"with tracestate", "SELECT 1 /*traceparent='" + validTP + "',tracestate='congo%3Dt61rcWkgMzE%2Crojo%3D00f067aa0ba902b7'*/", true, true, "t61rcWkgMzE"},
		{"invalid tracestate dropped", "SELECT 1 /*traceparent='" + validTP + "',tracestate='=%%'*/", true, true, ""},
		{"url-encoded traceparent", "SELECT 1 /*traceparent='00%2D" + appTraceID + "%2D" + appSpanID + "%2D01'*/", true, true, ""},
		{"second comment carries it", "SELECT /* plain */ 1 /*traceparent='" + validTP + "'*/", true, true, ""},
		{"first valid wins", "SELECT 1 /*traceparent='00-" + appTraceID + "-" + appSpanID + "-01'*/ /*traceparent='00-11111111111111111111111111111111-2222222222222222-01'*/", true, true, ""},
		{"future version with extra field", "SELECT 1 /*traceparent='cc-" + appTraceID + "-" + appSpanID + "-01-what-the-future-holds'*/", true, true, ""},
		{"version ff", "SELECT 1 /*traceparent='ff-" + appTraceID + "-" + appSpanID + "-01'*/", false, false, ""},
		{"version 00 with extra field", "SELECT 1 /*traceparent='" + validTP + "-00'*/", false, false, ""},
		{"uppercase hex", "SELECT 1 /*traceparent='00-" + strings.ToUpper(appTraceID) + "-" + appSpanID + "-01'*/", false, false, ""},
		{"zero trace id", "SELECT 1 /*traceparent='00-00000000000000000000000000000000-" + appSpanID + "-01'*/", false, false, ""},
		{"zero span id", "SELECT 1 /*traceparent='00-" + appTraceID + "-0000000000000000-01'*/", false, false, ""},
		{"short", "SELECT 1 /*traceparent='00-" + appTraceID + "-" + appSpanID[:15] + "-01'*/", false, false, ""},
		{"unknown flag bits in version 00", "SELECT 1 /*traceparent='00-" + appTraceID + "-" + appSpanID + "-09'*/", false, false, ""},
		{"other key ending in traceparent", "SELECT 1 /*xtraceparent='" + validTP + "'*/", false, false, ""},
		{"unquoted", "SELECT 1 /*traceparent=" + validTP + "*/", false, false, ""},
		{"unterminated quote", "SELECT 1 /*traceparent='" + validTP + "*/", false, false, ""},
		{"unterminated comment", "SELECT 1 /*traceparent='" + validTP + "'", false, false, ""},
		{"outside a comment", "SELECT 'traceparent=''" + validTP + "'''", false, false, ""},
		{"bad percent escape", "SELECT 1 /*traceparent='00-%zz'*/", false, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, ok := telemetry.ParseSQLComment(tc.sql)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				if sc.IsValid() {
					t.Error("invalid result carries a valid span context")
				}
				return
			}
			if !sc.IsValid() || !sc.IsRemote() || sc.TraceID().String() != appTraceID || sc.SpanID().String() != appSpanID {
				t.Errorf("span context = %s/%s remote %v", sc.TraceID(), sc.SpanID(), sc.IsRemote())
			}
			if sc.IsSampled() != tc.sampled {
				t.Errorf("sampled = %v, want %v", sc.IsSampled(), tc.sampled)
			}
			if got := sc.TraceState().Get("congo"); got != tc.state {
				t.Errorf("tracestate congo = %q, want %q", got, tc.state)
			}
		})
	}
}

func TestContextWithSQLCommentCarriesRemoteParent(t *testing.T) {
	ctx := context.Background()
	if got := telemetry.ContextWithSQLComment(ctx, "SELECT 1"); got != ctx {
		t.Error("context replaced for a statement without comment")
	}
	sc := trace.SpanContextFromContext(telemetry.ContextWithSQLComment(ctx, "SELECT 1 /*traceparent='"+validTP+"'*/"))
	if sc.TraceID().String() != appTraceID || !sc.IsRemote() {
		t.Errorf("context span = %v", sc)
	}
}

// FuzzParseSQLComment feeds arbitrary statements to the parser: it must
// never panic, and whatever it accepts must be a valid remote span context
// whose IDs appear in the statement.
func FuzzParseSQLComment(f *testing.F) {
	for _, s := range []string{
		"SELECT 1",
		"SELECT * FROM t /*controller='index',traceparent='" + validTP + "'*/",
		"SELECT 1 /*traceparent='" + validTP + "',tracestate='congo%3Dt61rcWkgMzE'*/",
		"/* a */ /* b */ SELECT /*traceparent='cc-" + appTraceID + "-" + appSpanID + "-01-x'*/",
		"SELECT 1 /*traceparent='00%2D" + appTraceID + "%2D" + appSpanID + "%2D01'*/",
		"/*/*traceparent=''*/",
		"/*traceparent='",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		sc, ok := telemetry.ParseSQLComment(sql)
		if !ok {
			if sc.IsValid() {
				t.Fatal("rejected input returned a valid span context")
			}
			return
		}
		if !sc.IsValid() || !sc.IsRemote() {
			t.Fatalf("accepted %q as %v", sql, sc)
		}
		// The IDs come from the text, possibly percent-encoded digit by
		// digit; check the plain case.
		if !strings.Contains(sql, "%") && (!strings.Contains(sql, sc.TraceID().String()) || !strings.Contains(sql, sc.SpanID().String())) {
			t.Fatalf("accepted %q with IDs %s/%s not in it", sql, sc.TraceID(), sc.SpanID())
		}
	})
}

// FuzzTraceparent checks the traceparent validator against the
// OpenTelemetry Go W3C propagator on the same value.
func FuzzTraceparent(f *testing.F) {
	for _, s := range []string{
		validTP,
		"00-" + appTraceID + "-" + appSpanID + "-00",
		"00-" + appTraceID + "-" + appSpanID + "-03",
		"00-" + appTraceID + "-" + appSpanID + "-04",
		"01-" + appTraceID + "-" + appSpanID + "-ff-extra",
		"ff-" + appTraceID + "-" + appSpanID + "-01",
		"00-00000000000000000000000000000000-" + appSpanID + "-01",
		"00-" + strings.ToUpper(appTraceID) + "-" + appSpanID + "-01",
		"",
	} {
		f.Add(s)
	}
	prop := propagation.TraceContext{}
	f.Fuzz(func(t *testing.T, v string) {
		mine, ok := telemetry.ParseTraceparent(v)
		theirs := trace.SpanContextFromContext(prop.Extract(context.Background(), propagation.MapCarrier{"traceparent": v}))
		// The propagator splits on "-" and so accepts version 00 with an
		// empty fifth field ("…-01-"); W3C says version 00 is exactly 55
		// characters, and pgwarp follows W3C there.
		if len(v) == 56 && strings.HasPrefix(v, "00-") && strings.HasSuffix(v, "-") && theirs.IsValid() {
			if ok {
				t.Fatalf("accepted %q", v)
			}
			return
		}
		if ok != theirs.IsValid() {
			t.Fatalf("%q: pgwarp ok=%v, propagator valid=%v", v, ok, theirs.IsValid())
		}
		if !ok {
			return
		}
		if mine.TraceID != theirs.TraceID() || mine.SpanID != theirs.SpanID() || mine.TraceFlags != theirs.TraceFlags() || !mine.Remote {
			t.Fatalf("%q: pgwarp %v/%v/%v, propagator %v/%v/%v", v, mine.TraceID, mine.SpanID, mine.TraceFlags,
				theirs.TraceID(), theirs.SpanID(), theirs.TraceFlags())
		}
	})
}
