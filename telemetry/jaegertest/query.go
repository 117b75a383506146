package jaegertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ErrNotFound is returned by [Jaeger.Trace] for a trace Jaeger does not
// (yet) have.
var ErrNotFound = errors.New("jaegertest: trace not found")

// waitTimeout bounds the Wait helpers; spans reach storage within the
// exporter's and Jaeger's batch delays, well under a second here.
const waitTimeout = 30 * time.Second

// Trace is one trace as Jaeger's HTTP API (/api/traces) returns it.
type Trace struct {
	TraceID   string             `json:"traceID"`
	Spans     []Span             `json:"spans"`
	Processes map[string]Process `json:"processes"`
}

// Span is one span of a [Trace]. Times are in microseconds.
type Span struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"`
	OperationName string      `json:"operationName"`
	References    []Reference `json:"references"`
	StartTime     int64       `json:"startTime"`
	Duration      int64       `json:"duration"`
	Tags          []KeyValue  `json:"tags"`
	Logs          []Log       `json:"logs"`
	ProcessID     string      `json:"processID"`
}

// Reference links a span to another: CHILD_OF for its parent, FOLLOWS_FROM
// for an OpenTelemetry link.
type Reference struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

// KeyValue is a tag (an attribute). Numbers decode as [json.Number].
type KeyValue struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// Log is a span event; its "event" field holds the event name.
type Log struct {
	Timestamp int64      `json:"timestamp"`
	Fields    []KeyValue `json:"fields"`
}

// Process is the resource that emitted spans.
type Process struct {
	ServiceName string     `json:"serviceName"`
	Tags        []KeyValue `json:"tags"`
}

type envelope struct {
	Data   []Trace `json:"data"`
	Errors []struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	} `json:"errors"`
}

// NormalizeID returns a Jaeger trace or span ID in the 32 (or 16) lowercase
// hex digit form OpenTelemetry prints: Jaeger drops the leading zeros of a
// trace ID's high half.
func NormalizeID(id string) string {
	id = strings.ToLower(id)
	switch {
	case len(id) < 16:
		return strings.Repeat("0", 16-len(id)) + id
	case len(id) > 16 && len(id) < 32:
		return strings.Repeat("0", 32-len(id)) + id
	}
	return id
}

// Trace fetches one trace by its hex ID.
func (j *Jaeger) Trace(ctx context.Context, traceID string) (Trace, error) {
	var env envelope
	if err := j.getJSON(ctx, "/api/traces/"+url.PathEscape(traceID), &env); err != nil {
		return Trace{}, err
	}
	if len(env.Data) == 0 {
		return Trace{}, ErrNotFound
	}
	return env.Data[0], nil
}

// FindTraces searches the last hour's traces of service, at most limit.
func (j *Jaeger) FindTraces(ctx context.Context, service string, limit int) ([]Trace, error) {
	q := url.Values{
		"service":  {service},
		"limit":    {strconv.Itoa(limit)},
		"lookback": {"1h"},
	}
	var env envelope
	if err := j.getJSON(ctx, "/api/traces?"+q.Encode(), &env); err != nil {
		return nil, err
	}
	return env.Data, nil
}

func (j *Jaeger) getJSON(ctx context.Context, path string, env *envelope) error {
	resp, err := j.get(ctx, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusNotFound {
		return ErrNotFound
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("jaegertest: GET %s: %s: %s", path, resp.Status, body)
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(env); err != nil {
		return fmt.Errorf("jaegertest: GET %s: %w", path, err)
	}
	if len(env.Errors) > 0 && len(env.Data) == 0 {
		if env.Errors[0].Code == http.StatusNotFound {
			return ErrNotFound
		}
		return fmt.Errorf("jaegertest: GET %s: %s", path, env.Errors[0].Msg)
	}
	return nil
}

// WaitForTrace polls until the trace has at least minSpans spans, failing
// the test after 30 seconds.
func (j *Jaeger) WaitForTrace(t testing.TB, traceID string, minSpans int) Trace {
	t.Helper()
	var (
		tr      Trace
		lastErr error
	)
	ok := poll(func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		tr, lastErr = j.Trace(ctx, traceID)
		return lastErr == nil && len(tr.Spans) >= minSpans
	})
	if !ok {
		t.Fatalf("jaegertest: trace %s with ≥ %d spans not found within %v (have %d spans, last error: %v)",
			traceID, minSpans, waitTimeout, len(tr.Spans), lastErr)
	}
	return tr
}

// WaitForTraces polls until Jaeger holds at least n traces of service,
// failing the test after 30 seconds.
func (j *Jaeger) WaitForTraces(t testing.TB, service string, n int) []Trace {
	t.Helper()
	var (
		trs     []Trace
		lastErr error
	)
	ok := poll(func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		trs, lastErr = j.FindTraces(ctx, service, 100)
		return lastErr == nil && len(trs) >= n
	})
	if !ok {
		t.Fatalf("jaegertest: %d traces of service %q not found within %v (have %d, last error: %v)",
			n, service, waitTimeout, len(trs), lastErr)
	}
	return trs
}

func poll(f func() bool) bool {
	deadline := time.Now().Add(waitTimeout)
	for {
		if f() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// SpanNamed returns the first span with the given operation name.
func (tr Trace) SpanNamed(name string) (Span, bool) {
	for _, s := range tr.Spans {
		if s.OperationName == name {
			return s, true
		}
	}
	return Span{}, false
}

// ServiceName returns the service that emitted s.
func (tr Trace) ServiceName(s Span) string { return tr.Processes[s.ProcessID].ServiceName }

// ProcessTag returns a resource attribute of the process that emitted s.
func (tr Trace) ProcessTag(s Span, key string) (string, bool) {
	return findTag(tr.Processes[s.ProcessID].Tags, key)
}

// Parent returns the span ID of s's parent (its CHILD_OF reference),
// normalised, or "".
func (s Span) Parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return NormalizeID(r.SpanID)
		}
	}
	return ""
}

// Links returns the span IDs s follows from (its OpenTelemetry links),
// normalised.
func (s Span) Links() []string {
	var ids []string
	for _, r := range s.References {
		if r.RefType == "FOLLOWS_FROM" {
			ids = append(ids, NormalizeID(r.SpanID))
		}
	}
	return ids
}

// Tag returns a tag's value formatted as a string ("true", "42", "x").
func (s Span) Tag(key string) (string, bool) { return findTag(s.Tags, key) }

// Event returns the fields of the first span event named name.
func (s Span) Event(name string) (map[string]string, bool) {
	for _, l := range s.Logs {
		if v, _ := findTag(l.Fields, "event"); v == name {
			m := make(map[string]string, len(l.Fields))
			for _, f := range l.Fields {
				m[f.Key] = fmt.Sprint(f.Value)
			}
			return m, true
		}
	}
	return nil, false
}

func findTag(kvs []KeyValue, key string) (string, bool) {
	for _, kv := range kvs {
		if kv.Key == key {
			return fmt.Sprint(kv.Value), true
		}
	}
	return "", false
}
