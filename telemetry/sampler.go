package telemetry

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"strconv"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// sampler is the one sampling rule of a [Tracing]. It is installed in the
// SDK's tracer provider and also consulted by the span helpers before they
// call the SDK, so that an unsampled span is never allocated. The rule is
// the SDK's own: parent-based (follow a valid parent's sampled flag) or not,
// and for the rest TraceIDRatioBased's comparison of the trace ID's low 63
// bits against ratio·2⁶³. Both callers see the same trace ID (see
// [idGenerator]), so they always agree.
type sampler struct {
	name        string
	parentBased bool
	ratio       float64
	always      bool
	never       bool
	bound       uint64
	description string
}

func newSampler(name string, parentBased bool, ratio float64) sampler {
	s := sampler{name: name, parentBased: parentBased, ratio: ratio}
	switch {
	case ratio >= 1:
		s.always = true
	case ratio <= 0:
		s.never = true
	default:
		s.bound = uint64(ratio * (1 << 63))
	}
	s.description = "pgwarp{" + name + "," + strconv.FormatFloat(ratio, 'g', -1, 64) + "}"
	return s
}

// decide reports whether a span with the given parent (possibly invalid)
// and trace ID is sampled.
func (s *sampler) decide(parent trace.SpanContext, tid trace.TraceID) bool {
	if s.parentBased && parent.IsValid() {
		return parent.IsSampled()
	}
	switch {
	case s.always:
		return true
	case s.never:
		return false
	}
	return binary.BigEndian.Uint64(tid[8:16])>>1 < s.bound
}

// sdkSampler adapts sampler to [sdktrace.Sampler].
type sdkSampler struct{ s *sampler }

func (a sdkSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	parent := trace.SpanContextFromContext(p.ParentContext)
	d := sdktrace.Drop
	if a.s.decide(parent, p.TraceID) {
		d = sdktrace.RecordAndSample
	}
	return sdktrace.SamplingResult{Decision: d, Tracestate: parent.TraceState()}
}

func (a sdkSampler) Description() string { return a.s.description }

// traceIDKey is the context key under which a span helper hands the trace ID
// it drew for its sampling decision to [idGenerator].
type traceIDKey struct{}

// idGenerator is the SDK's [sdktrace.IDGenerator]. It uses the trace ID a
// span helper drew beforehand when there is one, so that the SDK's sampler
// sees the same trace ID as the helper's early decision.
type idGenerator struct{}

func (idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if tid, ok := ctx.Value(traceIDKey{}).(trace.TraceID); ok && tid.IsValid() {
		return tid, newSpanID()
	}
	return newTraceID(), newSpanID()
}

func (idGenerator) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	return newSpanID()
}

// newTraceID draws a random non-zero trace ID without allocating. IDs need
// to be unique, not secret, which is what the SDK's own generator provides.
func newTraceID() trace.TraceID {
	var tid trace.TraceID
	for !tid.IsValid() {
		binary.BigEndian.PutUint64(tid[:8], rand.Uint64())
		binary.BigEndian.PutUint64(tid[8:], rand.Uint64())
	}
	return tid
}

func newSpanID() trace.SpanID {
	var sid trace.SpanID
	for !sid.IsValid() {
		binary.BigEndian.PutUint64(sid[:], rand.Uint64())
	}
	return sid
}
