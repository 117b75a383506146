package telemetry

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Settings is the effective tracing configuration: [Config] after defaults,
// with the OpenTelemetry environment variables applied on top. pgwarp logs
// it at startup so that an operator sees which of the two won.
type Settings struct {
	// Enabled is whether spans are recorded and exported at all.
	Enabled bool
	// Protocol is "grpc" or "http/protobuf".
	Protocol string
	// Endpoint is the exporter's URL, e.g. http://127.0.0.1:4317 or
	// http://127.0.0.1:4318/v1/traces.
	Endpoint string
	// ServiceName is the service.name resource attribute actually exported.
	ServiceName string
	// Sampler is the OTEL_TRACES_SAMPLER name of the sampler in use, e.g.
	// "parentbased_traceidratio".
	Sampler string
	// SampleRatio is the sampler's ratio for traces pgwarp starts (1 for
	// always_on, 0 for always_off).
	SampleRatio float64
	// RecordStatements mirrors [Config.RecordStatements].
	RecordStatements bool
	// Batch is the batch processor's effective settings; a zero field means
	// that the SDK reads it from its OTEL_BSP_* variable or uses its default.
	Batch BatchConfig
}

// The environment variables that [NewTracing] resolves itself. The OTLP
// exporters still read the others they define (OTEL_EXPORTER_OTLP_HEADERS,
// _TIMEOUT, _COMPRESSION, _CERTIFICATE…), and the resource reads
// OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME.
const (
	envSDKDisabled         = "OTEL_SDK_DISABLED"
	envTracesExporter      = "OTEL_TRACES_EXPORTER"
	envEndpoint            = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envTracesEndpoint      = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envProtocol            = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol      = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	envSampler             = "OTEL_TRACES_SAMPLER"
	envSamplerArg          = "OTEL_TRACES_SAMPLER_ARG"
	envBSPScheduleDelay    = "OTEL_BSP_SCHEDULE_DELAY"
	envBSPExportTimeout    = "OTEL_BSP_EXPORT_TIMEOUT"
	envBSPMaxQueueSize     = "OTEL_BSP_MAX_QUEUE_SIZE"
	envBSPMaxExportBatchSz = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"
)

// resolveSettings applies defaults and the environment to cfg. The service
// name is filled in later from the built resource, which is where
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are applied.
func resolveSettings(cfg Config, getenv func(string) string) (Settings, sampler, error) {
	if err := cfg.Validate(); err != nil {
		return Settings{}, sampler{}, err
	}
	c := cfg.WithDefaults()
	s := Settings{
		Enabled:          c.Enabled,
		RecordStatements: c.RecordStatements,
	}

	switch v := strings.TrimSpace(getenv(envSDKDisabled)); strings.ToLower(v) {
	case "":
	case "true":
		s.Enabled = false
	case "false":
		s.Enabled = true
	default:
		return Settings{}, sampler{}, fmt.Errorf("telemetry: %s=%q: want true or false", envSDKDisabled, v)
	}
	switch v := strings.TrimSpace(getenv(envTracesExporter)); v {
	case "", "otlp":
	case "none":
		s.Enabled = false
	default:
		return Settings{}, sampler{}, fmt.Errorf("telemetry: %s=%q: pgwarp supports otlp or none", envTracesExporter, v)
	}

	s.Protocol = c.OTLPProtocol
	if v := firstEnv(getenv, envTracesProtocol, envProtocol); v != "" {
		s.Protocol = v
	}
	if s.Protocol != ProtocolGRPC && s.Protocol != ProtocolHTTPProtobuf {
		return Settings{}, sampler{}, fmt.Errorf("telemetry: OTLP protocol %q: pgwarp supports grpc or http/protobuf", s.Protocol)
	}

	ep, err := resolveEndpoint(cfg.OTLPEndpoint, s.Protocol, getenv)
	if err != nil {
		return Settings{}, sampler{}, err
	}
	s.Endpoint = ep

	smp, err := resolveSampler(*c.SampleRatio, getenv)
	if err != nil {
		return Settings{}, sampler{}, err
	}
	s.Sampler, s.SampleRatio = smp.name, smp.ratio

	s.Batch, err = resolveBatch(c.Batch, getenv)
	if err != nil {
		return Settings{}, sampler{}, err
	}
	return s, smp, nil
}

// resolveEndpoint returns the exporter URL. Precedence, as for every OTel
// SDK: the signal-specific variable (used as is), the generic variable (a
// base URL to which http/protobuf appends /v1/traces), then YAML (treated
// like the generic variable), then the protocol's default.
func resolveEndpoint(yaml, protocol string, getenv func(string) string) (string, error) {
	if v := strings.TrimSpace(getenv(envTracesEndpoint)); v != "" {
		u, err := endpointURL(v)
		if err != nil {
			return "", fmt.Errorf("telemetry: %s: %w", envTracesEndpoint, err)
		}
		return u.String(), nil
	}
	base, source := strings.TrimSpace(getenv(envEndpoint)), envEndpoint
	if base == "" {
		base, source = yaml, "otlp_endpoint"
	}
	if base == "" {
		base, source = DefaultOTLPGRPCEndpoint, "default"
		if protocol == ProtocolHTTPProtobuf {
			base = DefaultOTLPHTTPEndpoint
		}
	}
	u, err := endpointURL(base)
	if err != nil {
		return "", fmt.Errorf("telemetry: %s: %w", source, err)
	}
	if protocol == ProtocolHTTPProtobuf {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	} else {
		u.Path = ""
	}
	return u.String(), nil
}

// endpointURL parses an OTLP endpoint given as a URL or as a bare host:port,
// which pgwarp treats as plaintext http.
func endpointURL(s string) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("endpoint %q: scheme must be http or https", s)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("endpoint %q: no host", s)
	}
	return u, nil
}

// resolveSampler picks the sampler from OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG when set, else parent-based with the YAML ratio.
// Unlike the Go SDK, which logs and falls back to its default, an invalid
// value is an error: pgwarp refuses to start rather than sample differently
// from what the operator asked for.
func resolveSampler(yamlRatio float64, getenv func(string) string) (sampler, error) {
	name := strings.TrimSpace(getenv(envSampler))
	if name == "" {
		return newSampler("parentbased_traceidratio", true, yamlRatio), nil
	}
	// Without OTEL_TRACES_SAMPLER_ARG the ratio samplers sample everything,
	// as the specification says.
	ratio := 1.0
	if v := strings.TrimSpace(getenv(envSamplerArg)); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= 0 && f <= 1) {
			return sampler{}, fmt.Errorf("telemetry: %s=%q: want a number in [0, 1]", envSamplerArg, v)
		}
		ratio = f
	}
	switch name {
	case "always_on":
		return newSampler(name, false, 1), nil
	case "always_off":
		return newSampler(name, false, 0), nil
	case "traceidratio":
		return newSampler(name, false, ratio), nil
	case "parentbased_always_on":
		return newSampler(name, true, 1), nil
	case "parentbased_always_off":
		return newSampler(name, true, 0), nil
	case "parentbased_traceidratio":
		return newSampler(name, true, ratio), nil
	}
	return sampler{}, fmt.Errorf("telemetry: %s=%q: pgwarp supports always_on, always_off, traceidratio and their parentbased_ forms", envSampler, name)
}

// resolveBatch keeps a YAML batch setting only when its OTEL_BSP_* variable
// is unset, so that the SDK, which reads those variables itself when no
// option overrides them, gives the environment precedence.
func resolveBatch(b BatchConfig, getenv func(string) string) (BatchConfig, error) {
	checkMS := func(name string) (bool, error) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return false, nil
		}
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			return true, fmt.Errorf("telemetry: %s=%q: want a non-negative integer", name, v)
		}
		return true, nil
	}
	var err error
	var set bool
	if set, err = checkMS(envBSPScheduleDelay); err != nil {
		return BatchConfig{}, err
	} else if set {
		b.Timeout = 0
	}
	if set, err = checkMS(envBSPExportTimeout); err != nil {
		return BatchConfig{}, err
	} else if set {
		b.ExportTimeout = 0
	}
	if set, err = checkMS(envBSPMaxQueueSize); err != nil {
		return BatchConfig{}, err
	} else if set {
		b.MaxQueueSize = 0
	}
	if set, err = checkMS(envBSPMaxExportBatchSz); err != nil {
		return BatchConfig{}, err
	} else if set {
		b.MaxExportBatchSize = 0
	}
	return b, nil
}

func firstEnv(getenv func(string) string, names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(getenv(n)); v != "" {
			return v
		}
	}
	return ""
}
