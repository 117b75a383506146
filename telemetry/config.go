package telemetry

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// Protocols accepted in [Config.OTLPProtocol] and OTEL_EXPORTER_OTLP_PROTOCOL.
const (
	ProtocolGRPC         = "grpc"
	ProtocolHTTPProtobuf = "http/protobuf"
)

// Log formats accepted in [LogConfig.Format].
const (
	LogFormatText = "text"
	LogFormatJSON = "json"
)

// Defaults applied by [Config.WithDefaults] and [AdminConfig.WithDefaults].
const (
	DefaultOTLPGRPCEndpoint   = "127.0.0.1:4317"
	DefaultOTLPHTTPEndpoint   = "127.0.0.1:4318"
	DefaultServiceName        = "pgwarp"
	DefaultSampleRatio        = 1.0
	DefaultSlowQueryThreshold = time.Second
	DefaultAdminAddr          = "127.0.0.1:9187"
	DefaultAdminShutdown      = 5 * time.Second
)

// AdminOff in [AdminConfig.HTTP] turns the admin listener off.
const AdminOff = "off"

// Config is the `telemetry:` section of pgwarp.yaml. The configs package
// decodes YAML into it; every field documents what its zero value means.
// Standard OpenTelemetry environment variables override the tracing fields
// (see [NewTracing] and docs/observability.md).
type Config struct {
	// Enabled turns tracing on. Zero: tracing is off and every span helper
	// is a no-op, unless OTEL_SDK_DISABLED=false says otherwise.
	Enabled bool `yaml:"enabled"`

	// OTLPEndpoint is where spans are exported, as host:port or a URL.
	// A bare host:port or an http:// URL is plaintext; https:// uses TLS.
	// With http/protobuf, "/v1/traces" is appended as for
	// OTEL_EXPORTER_OTLP_ENDPOINT. Zero: 127.0.0.1:4317 for grpc,
	// 127.0.0.1:4318 for http/protobuf.
	OTLPEndpoint string `yaml:"otlp_endpoint"`

	// OTLPProtocol is "grpc" or "http/protobuf". Zero: grpc.
	OTLPProtocol string `yaml:"otlp_protocol"`

	// ServiceName is the service.name resource attribute. Zero: "pgwarp".
	ServiceName string `yaml:"service_name"`

	// SampleRatio is the fraction of traces started by pgwarp that are
	// sampled, in [0, 1]. Sampling is parent-based: a query that joins an
	// application's trace follows that trace's sampled flag. Nil: 1.0.
	SampleRatio *float64 `yaml:"sample_ratio"`

	// RecordStatements puts the normalised statement text the proxy passes
	// into db.query.text. Zero: false, statements are not recorded (the
	// db.query.summary, e.g. "SELECT orders", always is).
	RecordStatements bool `yaml:"record_statements"`

	// Batch tunes the batch span processor.
	Batch BatchConfig `yaml:"batch"`

	// Log configures the process logger built by [NewLogger].
	Log LogConfig `yaml:"log"`

	// SlowQueryThreshold is the duration above which [LogSlowQuery] logs a
	// query. Zero: 1s. Negative: the slow-query log is off.
	SlowQueryThreshold time.Duration `yaml:"slow_query_threshold"`
}

// BatchConfig tunes the OpenTelemetry batch span processor. The OTEL_BSP_*
// environment variables take precedence over each field.
type BatchConfig struct {
	// Timeout is the longest a span waits before its batch is exported
	// (OTEL_BSP_SCHEDULE_DELAY). Zero: 5s.
	Timeout time.Duration `yaml:"timeout"`
	// ExportTimeout bounds one export (OTEL_BSP_EXPORT_TIMEOUT). Zero: 30s.
	ExportTimeout time.Duration `yaml:"export_timeout"`
	// MaxQueueSize is the number of ended spans buffered before new ones
	// are dropped (OTEL_BSP_MAX_QUEUE_SIZE). Zero: 2048.
	MaxQueueSize int `yaml:"max_queue_size"`
	// MaxExportBatchSize is the most spans sent in one export
	// (OTEL_BSP_MAX_EXPORT_BATCH_SIZE). Zero: 512.
	MaxExportBatchSize int `yaml:"max_export_batch_size"`
}

// LogConfig configures the process logger.
type LogConfig struct {
	// Format is "text" or "json". Zero: text.
	Format string `yaml:"format"`
	// Level is debug, info, warn or error (slog's names, with optional
	// offsets like "warn+2"). Zero: info.
	Level string `yaml:"level"`
}

// AdminConfig is the `admin:` section of pgwarp.yaml: the HTTP listener for
// /metrics, /healthz, /readyz and, when enabled, /debug/pprof.
type AdminConfig struct {
	// HTTP is the listen address. Zero: 127.0.0.1:9187. "off": no listener.
	// Binding a non-loopback address without a Token logs a warning.
	HTTP string `yaml:"http"`
	// Token, when set, is required as "Authorization: Bearer <token>" on
	// every endpoint except /healthz. The configs loader resolves it from
	// the environment (token_env); it never appears in logs. Zero: no auth.
	Token string `yaml:"-"`
	// Pprof serves net/http/pprof under /debug/pprof/. Zero: off.
	Pprof bool `yaml:"pprof"`
	// ShutdownTimeout bounds the graceful shutdown of in-flight requests
	// before the listener is closed hard. Zero: 5s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// WithDefaults returns c with every zero field replaced by its documented
// default. It does not read the environment.
func (c Config) WithDefaults() Config {
	if c.OTLPProtocol == "" {
		c.OTLPProtocol = ProtocolGRPC
	}
	if c.OTLPEndpoint == "" {
		c.OTLPEndpoint = DefaultOTLPGRPCEndpoint
		if c.OTLPProtocol == ProtocolHTTPProtobuf {
			c.OTLPEndpoint = DefaultOTLPHTTPEndpoint
		}
	}
	if c.ServiceName == "" {
		c.ServiceName = DefaultServiceName
	}
	if c.SampleRatio == nil {
		r := DefaultSampleRatio
		c.SampleRatio = &r
	}
	if c.SlowQueryThreshold == 0 {
		c.SlowQueryThreshold = DefaultSlowQueryThreshold
	}
	if c.Log.Format == "" {
		c.Log.Format = LogFormatText
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	return c
}

// Validate reports the first field of c that has an invalid value. Zero
// values are valid. It does not read the environment; [NewTracing] validates
// the environment variables it uses.
func (c Config) Validate() error {
	switch c.OTLPProtocol {
	case "", ProtocolGRPC, ProtocolHTTPProtobuf:
	default:
		return fmt.Errorf("telemetry: otlp_protocol %q: want grpc or http/protobuf", c.OTLPProtocol)
	}
	if c.OTLPEndpoint != "" {
		if _, err := endpointURL(c.OTLPEndpoint); err != nil {
			return fmt.Errorf("telemetry: otlp_endpoint: %w", err)
		}
	}
	if r := c.SampleRatio; r != nil && !(*r >= 0 && *r <= 1) {
		return fmt.Errorf("telemetry: sample_ratio %v: want a number in [0, 1]", *r)
	}
	b := c.Batch
	if b.Timeout < 0 || b.ExportTimeout < 0 || b.MaxQueueSize < 0 || b.MaxExportBatchSize < 0 {
		return errors.New("telemetry: batch settings must not be negative")
	}
	if _, err := parseLogFormat(c.Log.Format); err != nil {
		return err
	}
	if _, err := parseLogLevel(c.Log.Level); err != nil {
		return err
	}
	return nil
}

// WithDefaults returns c with every zero field replaced by its documented
// default.
func (c AdminConfig) WithDefaults() AdminConfig {
	if c.HTTP == "" {
		c.HTTP = DefaultAdminAddr
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultAdminShutdown
	}
	return c
}

// Validate reports whether c's listen address is usable.
func (c AdminConfig) Validate() error {
	if c.HTTP == "" || c.HTTP == AdminOff {
		return nil
	}
	if _, _, err := net.SplitHostPort(c.HTTP); err != nil {
		return fmt.Errorf("telemetry: admin.http %q: %w", c.HTTP, err)
	}
	if c.ShutdownTimeout < 0 {
		return errors.New("telemetry: admin.shutdown_timeout must not be negative")
	}
	return nil
}

func parseLogFormat(s string) (string, error) {
	switch s {
	case "", LogFormatText:
		return LogFormatText, nil
	case LogFormatJSON:
		return LogFormatJSON, nil
	}
	return "", fmt.Errorf("telemetry: log format %q: want text or json", s)
}

func parseLogLevel(s string) (slog.Level, error) {
	if s == "" {
		return slog.LevelInfo, nil
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("telemetry: log level %q: want debug, info, warn or error", s)
	}
	return l, nil
}
