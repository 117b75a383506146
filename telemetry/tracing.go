package telemetry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// instrumentationName is the instrumentation scope of pgwarp's spans.
const instrumentationName = "github.com/pgwarp/pgwarp/telemetry"

// TracingOptions are the parts of tracing that do not come from YAML.
type TracingOptions struct {
	// Version is the service.version resource attribute (the binary's
	// build version). Zero: "dev".
	Version string
	// Logger receives OpenTelemetry's own errors (failed exports) at warn
	// level. Nil: they go to OpenTelemetry's default, the standard log
	// package. Setting it installs a process-wide otel error handler.
	Logger *slog.Logger
	// Exporter replaces the OTLP exporter, e.g. with the SDK's in-memory
	// exporter in tests. Nil: OTLP as configured.
	Exporter sdktrace.SpanExporter
}

// Tracing creates pgwarp's spans. A nil or disabled Tracing hands out no-op
// spans. It is safe for concurrent use.
type Tracing struct {
	settings Settings
	provider *sdktrace.TracerProvider // nil when disabled
	tracer   trace.Tracer             // nil when disabled
	sampler  sampler
}

// NewTracing builds the tracer provider described by cfg and the standard
// OpenTelemetry environment variables, which take precedence over cfg:
// OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER (otlp or none),
// OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL,
// OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER[_ARG] and
// OTEL_BSP_*. Invalid values are errors. Exporting starts lazily: an
// unreachable collector is not an error here, and spans that cannot be
// delivered are dropped (and reported through opts.Logger).
//
// The resource carries service.name, service.version, service.instance.id (a
// random UUID unless OTEL_RESOURCE_ATTRIBUTES sets one), host.name and the
// SDK's own attributes. The caller must call [Tracing.Shutdown].
func NewTracing(ctx context.Context, cfg Config, opts TracingOptions) (*Tracing, error) {
	s, smp, err := resolveSettings(cfg, os.Getenv)
	if err != nil {
		return nil, err
	}
	t := &Tracing{settings: s, sampler: smp}
	s.ServiceName = cfg.WithDefaults().ServiceName
	if !s.Enabled {
		t.settings = s
		return t, nil
	}

	res, err := newResource(ctx, s.ServiceName, opts.Version)
	if err != nil {
		return nil, err
	}
	if v, ok := res.Set().Value(semconv.ServiceNameKey); ok {
		s.ServiceName = v.AsString()
	}

	exp := opts.Exporter
	if exp == nil {
		if exp, err = newOTLPExporter(ctx, s); err != nil {
			return nil, err
		}
	}
	if opts.Logger != nil {
		l := opts.Logger
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			l.Warn("opentelemetry error", slog.String("error", RedactString(err.Error())))
		}))
	}

	var bopts []sdktrace.BatchSpanProcessorOption
	if b := s.Batch; b.Timeout > 0 {
		bopts = append(bopts, sdktrace.WithBatchTimeout(b.Timeout))
	}
	if b := s.Batch; b.ExportTimeout > 0 {
		bopts = append(bopts, sdktrace.WithExportTimeout(b.ExportTimeout))
	}
	if b := s.Batch; b.MaxQueueSize > 0 {
		bopts = append(bopts, sdktrace.WithMaxQueueSize(b.MaxQueueSize))
	}
	if b := s.Batch; b.MaxExportBatchSize > 0 {
		bopts = append(bopts, sdktrace.WithMaxExportBatchSize(b.MaxExportBatchSize))
	}
	t.provider = sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdkSampler{s: &t.sampler}),
		sdktrace.WithIDGenerator(idGenerator{}),
		sdktrace.WithBatcher(exp, bopts...),
	)
	t.tracer = t.provider.Tracer(instrumentationName,
		trace.WithInstrumentationVersion(versionOrDev(opts.Version)),
		trace.WithSchemaURL(semconv.SchemaURL))
	t.settings = s
	return t, nil
}

func newResource(ctx context.Context, serviceName, version string) (*resource.Resource, error) {
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(
			semconv.ServiceName(serviceName),
			semconv.ServiceVersion(versionOrDev(version)),
			semconv.ServiceInstanceID(newInstanceID()),
		),
		resource.WithHost(),
		resource.WithTelemetrySDK(),
		// Last, so that OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME
		// override the YAML service name and the generated instance ID.
		resource.WithFromEnv(),
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	if res == nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	return res, nil
}

func newOTLPExporter(ctx context.Context, s Settings) (sdktrace.SpanExporter, error) {
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch s.Protocol {
	case ProtocolHTTPProtobuf:
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(s.Endpoint))
	default:
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(s.Endpoint))
	}
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTLP %s exporter for %s: %w", s.Protocol, s.Endpoint, err)
	}
	return exp, nil
}

// newInstanceID returns a random version 4 UUID, the form the semantic
// conventions recommend for service.instance.id.
func newInstanceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

func versionOrDev(v string) string {
	if v == "" {
		return "dev"
	}
	return v
}

// Enabled reports whether t records spans at all.
func (t *Tracing) Enabled() bool { return t != nil && t.tracer != nil }

// Settings returns the effective configuration, after defaults and
// environment variables.
func (t *Tracing) Settings() Settings {
	if t == nil {
		return Settings{}
	}
	return t.settings
}

// ForceFlush exports every ended span that is still buffered.
func (t *Tracing) ForceFlush(ctx context.Context) error {
	if t == nil || t.provider == nil {
		return nil
	}
	return t.provider.ForceFlush(ctx)
}

// Shutdown flushes buffered spans and stops the exporter, waiting at most
// until ctx is done. Spans ended afterwards are not exported. Calling it
// more than once is harmless.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil || t.provider == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}
