package telemetry_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/pgwarp/pgwarp/telemetry"
)

func ratio(f float64) *float64 { return &f }

func TestConfigWithDefaultsFillsEveryZeroField(t *testing.T) {
	c := telemetry.Config{}.WithDefaults()
	if c.OTLPEndpoint != "127.0.0.1:4317" || c.OTLPProtocol != "grpc" || c.ServiceName != "pgwarp" ||
		*c.SampleRatio != 1 || c.SlowQueryThreshold != time.Second || c.Log.Format != "text" || c.Log.Level != "info" {
		t.Errorf("defaults = %+v", c)
	}
	if c := (telemetry.Config{OTLPProtocol: "http/protobuf"}).WithDefaults(); c.OTLPEndpoint != "127.0.0.1:4318" {
		t.Errorf("http/protobuf default endpoint = %q", c.OTLPEndpoint)
	}
	if c := (telemetry.Config{SampleRatio: ratio(0)}).WithDefaults(); *c.SampleRatio != 0 {
		t.Errorf("explicit ratio 0 became %v", *c.SampleRatio)
	}
	a := telemetry.AdminConfig{}.WithDefaults()
	if a.HTTP != "127.0.0.1:9187" || a.ShutdownTimeout != 5*time.Second {
		t.Errorf("admin defaults = %+v", a)
	}
}

func TestConfigValidateRejectsBadValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  telemetry.Config
	}{
		{"protocol", telemetry.Config{OTLPProtocol: "http/json"}},
		{"ratio above 1", telemetry.Config{SampleRatio: ratio(1.5)}},
		{"ratio negative", telemetry.Config{SampleRatio: ratio(-0.1)}},
		{"endpoint scheme", telemetry.Config{OTLPEndpoint: "ftp://127.0.0.1:4317"}},
		{"log format", telemetry.Config{Log: telemetry.LogConfig{Format: "xml"}}},
		{"log level", telemetry.Config{Log: telemetry.LogConfig{Level: "loud"}}},
		{"batch", telemetry.Config{Batch: telemetry.BatchConfig{MaxQueueSize: -1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); err == nil {
				t.Error("Validate accepted it")
			}
		})
	}
	if err := (telemetry.Config{}).Validate(); err != nil {
		t.Errorf("zero Config invalid: %v", err)
	}
	if err := (telemetry.AdminConfig{HTTP: "no-port"}).Validate(); err == nil {
		t.Error("admin address without port accepted")
	}
}

func TestEnvironmentTakesPrecedenceOverYAML(t *testing.T) {
	yaml := telemetry.Config{
		Enabled:      true,
		OTLPEndpoint: "127.0.0.1:14317",
		OTLPProtocol: "grpc",
		ServiceName:  "from-yaml",
		SampleRatio:  ratio(0.25),
		Batch:        telemetry.BatchConfig{Timeout: time.Second, MaxQueueSize: 100},
	}
	for _, tc := range []struct {
		name  string
		cfg   telemetry.Config
		env   map[string]string
		check func(t *testing.T, s telemetry.Settings)
	}{
		{"yaml alone", yaml, nil, func(t *testing.T, s telemetry.Settings) {
			want := telemetry.Settings{Enabled: true, Protocol: "grpc", Endpoint: "http://127.0.0.1:14317",
				ServiceName: "from-yaml", Sampler: "parentbased_traceidratio", SampleRatio: 0.25,
				Batch: telemetry.BatchConfig{Timeout: time.Second, MaxQueueSize: 100}}
			if s != want {
				t.Errorf("settings = %+v\nwant       %+v", s, want)
			}
		}},
		{"generic endpoint", yaml, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://127.0.0.2:4317"}, func(t *testing.T, s telemetry.Settings) {
			if s.Endpoint != "https://127.0.0.2:4317" {
				t.Errorf("endpoint = %q", s.Endpoint)
			}
		}},
		{"generic endpoint over http gets the signal path", yaml, map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.2:4318/base/", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
		}, func(t *testing.T, s telemetry.Settings) {
			if s.Protocol != "http/protobuf" || s.Endpoint != "http://127.0.0.2:4318/base/v1/traces" {
				t.Errorf("protocol %q endpoint %q", s.Protocol, s.Endpoint)
			}
		}},
		{"traces endpoint is used as is and beats the generic one", yaml, map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT":        "http://127.0.0.2:4318",
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.3:9999/custom",
			"OTEL_EXPORTER_OTLP_PROTOCOL":        "http/protobuf",
		}, func(t *testing.T, s telemetry.Settings) {
			if s.Endpoint != "http://127.0.0.3:9999/custom" {
				t.Errorf("endpoint = %q", s.Endpoint)
			}
		}},
		{"traces protocol beats the generic one", yaml, map[string]string{
			"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",
		}, func(t *testing.T, s telemetry.Settings) {
			if s.Protocol != "grpc" {
				t.Errorf("protocol = %q", s.Protocol)
			}
		}},
		{"yaml http default endpoint", telemetry.Config{Enabled: true, OTLPProtocol: "http/protobuf"}, nil, func(t *testing.T, s telemetry.Settings) {
			if s.Endpoint != "http://127.0.0.1:4318/v1/traces" {
				t.Errorf("endpoint = %q", s.Endpoint)
			}
		}},
		{"sdk disabled", yaml, map[string]string{"OTEL_SDK_DISABLED": "TRUE"}, func(t *testing.T, s telemetry.Settings) {
			if s.Enabled {
				t.Error("OTEL_SDK_DISABLED=true left tracing on")
			}
		}},
		{"sdk explicitly not disabled", telemetry.Config{}, map[string]string{"OTEL_SDK_DISABLED": "false"}, func(t *testing.T, s telemetry.Settings) {
			if !s.Enabled {
				t.Error("OTEL_SDK_DISABLED=false left tracing off")
			}
		}},
		{"exporter none", yaml, map[string]string{"OTEL_TRACES_EXPORTER": "none"}, func(t *testing.T, s telemetry.Settings) {
			if s.Enabled {
				t.Error("OTEL_TRACES_EXPORTER=none left tracing on")
			}
		}},
		{"sampler", yaml, map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.5"}, func(t *testing.T, s telemetry.Settings) {
			if s.Sampler != "traceidratio" || s.SampleRatio != 0.5 {
				t.Errorf("sampler %q ratio %v", s.Sampler, s.SampleRatio)
			}
		}},
		{"sampler without arg samples everything", yaml, map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_traceidratio"}, func(t *testing.T, s telemetry.Settings) {
			if s.SampleRatio != 1 {
				t.Errorf("ratio %v", s.SampleRatio)
			}
		}},
		{"sampler arg alone is ignored", yaml, map[string]string{"OTEL_TRACES_SAMPLER_ARG": "0.9"}, func(t *testing.T, s telemetry.Settings) {
			if s.SampleRatio != 0.25 {
				t.Errorf("ratio %v, want the YAML's", s.SampleRatio)
			}
		}},
		{"always off", yaml, map[string]string{"OTEL_TRACES_SAMPLER": "always_off"}, func(t *testing.T, s telemetry.Settings) {
			if s.SampleRatio != 0 {
				t.Errorf("ratio %v", s.SampleRatio)
			}
		}},
		{"batch env unsets yaml", yaml, map[string]string{"OTEL_BSP_SCHEDULE_DELAY": "200"}, func(t *testing.T, s telemetry.Settings) {
			if s.Batch.Timeout != 0 || s.Batch.MaxQueueSize != 100 {
				t.Errorf("batch = %+v, want the timeout left to OTEL_BSP_SCHEDULE_DELAY", s.Batch)
			}
		}},
		{"service name", yaml, map[string]string{"OTEL_SERVICE_NAME": "from-env"}, func(t *testing.T, s telemetry.Settings) {
			if s.ServiceName != "from-env" {
				t.Errorf("service name = %q", s.ServiceName)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearOTelEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			tr, err := telemetry.NewTracing(context.Background(), tc.cfg, telemetry.TracingOptions{Exporter: tracetest.NewInMemoryExporter()})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Shutdown(context.Background())
			tc.check(t, tr.Settings())
			if tr.Enabled() != tr.Settings().Enabled {
				t.Error("Enabled disagrees with Settings")
			}
		})
	}
}

func TestResourceAttributesFromEnvironmentOverrideYAML(t *testing.T) {
	clearOTelEnv(t)
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs,service.instance.id=pgwarp-1,deployment.environment.name=test")
	exp := tracetest.NewInMemoryExporter()
	tr, err := telemetry.NewTracing(context.Background(), telemetry.Config{Enabled: true, ServiceName: "from-yaml"}, telemetry.TracingOptions{Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	_, s := tr.StartSession(context.Background(), testSession)
	s.End(nil)
	spans := flushed(t, tr, exp)
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	res := spans[0].Resource.Set()
	for k, want := range map[string]string{"service.name": "from-attrs", "service.instance.id": "pgwarp-1", "deployment.environment.name": "test"} {
		if v, _ := res.Value(attribute.Key(k)); v.AsString() != want {
			t.Errorf("resource %s = %q, want %q", k, v.AsString(), want)
		}
	}
	if tr.Settings().ServiceName != "from-attrs" {
		t.Errorf("Settings().ServiceName = %q", tr.Settings().ServiceName)
	}
}

func TestInvalidEnvironmentIsAnError(t *testing.T) {
	for _, env := range []map[string]string{
		{"OTEL_SDK_DISABLED": "maybe"},
		{"OTEL_TRACES_EXPORTER": "zipkin"},
		{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
		{"OTEL_TRACES_SAMPLER": "jaeger_remote"},
		{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "unix:///tmp/otlp.sock"},
		{"OTEL_BSP_MAX_QUEUE_SIZE": "lots"},
	} {
		var names []string
		for k, v := range env {
			names = append(names, k+"="+v)
		}
		t.Run(strings.Join(names, ","), func(t *testing.T) {
			clearOTelEnv(t)
			for k, v := range env {
				t.Setenv(k, v)
			}
			if _, err := telemetry.NewTracing(context.Background(), telemetry.Config{Enabled: true}, telemetry.TracingOptions{Exporter: tracetest.NewInMemoryExporter()}); err == nil {
				t.Error("NewTracing accepted it")
			}
		})
	}
}
