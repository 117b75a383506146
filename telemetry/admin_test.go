package telemetry_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/telemetry"
)

func get(t *testing.T, url, token string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func TestReadyzFollowsTheReadinessFunc(t *testing.T) {
	var upstreamDown, configMissing atomic.Bool
	ready := func(ctx context.Context) telemetry.Readiness {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("readiness func called without a deadline")
		}
		r := telemetry.Readiness{ConfigLoaded: !configMissing.Load(), Upstreams: []telemetry.UpstreamReadiness{
			{Name: "reports", Addr: "127.0.0.1:5433"},
			{Name: "appdb", Addr: "127.0.0.1:5432"},
		}}
		if upstreamDown.Load() {
			r.Upstreams[1].Err = errors.New("dial tcp 127.0.0.1:5432: connect: connection refused (postgres://app:hunter2@127.0.0.1/appdb)")
		}
		return r
	}
	srv := httptest.NewServer(telemetry.NewAdminHandler(telemetry.AdminConfig{}, telemetry.AdminOptions{Ready: ready}))
	defer srv.Close()

	code, body, _ := get(t, srv.URL+"/readyz", "")
	if code != http.StatusOK || !strings.HasPrefix(body, "ready\n") || !strings.Contains(body, "upstream appdb (127.0.0.1:5432): up") {
		t.Errorf("all up: %d %q", code, body)
	}

	upstreamDown.Store(true)
	code, body, _ = get(t, srv.URL+"/readyz", "")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "upstream appdb (127.0.0.1:5432): down: dial tcp") ||
		!strings.Contains(body, "upstream reports (127.0.0.1:5433): up") {
		t.Errorf("upstream down: %d %q", code, body)
	}
	if strings.Contains(body, "hunter2") {
		t.Errorf("password leaked in /readyz: %q", body)
	}

	upstreamDown.Store(false)
	configMissing.Store(true)
	code, body, _ = get(t, srv.URL+"/readyz", "")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "config: not loaded") {
		t.Errorf("config missing: %d %q", code, body)
	}

	configMissing.Store(false)
	if code, _, _ = get(t, srv.URL+"/readyz", ""); code != http.StatusOK {
		t.Errorf("back up: %d", code)
	}
}

func TestReadyzWithoutReadinessFuncIsNotReady(t *testing.T) {
	srv := httptest.NewServer(telemetry.NewAdminHandler(telemetry.AdminConfig{}, telemetry.AdminOptions{}))
	defer srv.Close()
	if code, _, _ := get(t, srv.URL+"/readyz", ""); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d, want 503", code)
	}
	if code, body, _ := get(t, srv.URL+"/healthz", ""); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
}

func TestBearerTokenGuardsEverythingButHealthz(t *testing.T) {
	cfg := telemetry.AdminConfig{Token: "s3cret-token", Pprof: true}
	ready := func(context.Context) telemetry.Readiness { return telemetry.Readiness{ConfigLoaded: true} }
	srv := httptest.NewServer(telemetry.NewAdminHandler(cfg, telemetry.AdminOptions{Metrics: telemetry.NewMetrics(telemetry.MetricsOptions{}), Ready: ready}))
	defer srv.Close()

	for _, path := range []string{"/metrics", "/readyz", "/debug/pprof/"} {
		for _, bad := range []string{"", "Bearer wrong", "Bearer s3cret-token-longer", "Basic s3cret-token", "Bearer"} {
			code, _, hdr := get(t, srv.URL+path, bad)
			if code != http.StatusUnauthorized || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s with %q: %d, want 401 with a Bearer challenge", path, bad, code)
			}
		}
		if code, _, _ := get(t, srv.URL+path, "Bearer s3cret-token"); code != http.StatusOK {
			t.Errorf("%s with the token: %d", path, code)
		}
		if code, _, _ := get(t, srv.URL+path, "bearer s3cret-token"); code != http.StatusOK {
			t.Errorf("%s with a lowercase scheme: %d", path, code)
		}
	}
	if code, _, _ := get(t, srv.URL+"/healthz", ""); code != http.StatusOK {
		t.Errorf("/healthz without token: %d, want 200", code)
	}
}

func TestPprofIsServedOnlyWhenEnabled(t *testing.T) {
	for _, on := range []bool{false, true} {
		srv := httptest.NewServer(telemetry.NewAdminHandler(telemetry.AdminConfig{Pprof: on}, telemetry.AdminOptions{}))
		for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/goroutine?debug=1"} {
			code, _, _ := get(t, srv.URL+path, "")
			if want := map[bool]int{false: http.StatusNotFound, true: http.StatusOK}[on]; code != want {
				t.Errorf("pprof=%v %s: %d, want %d", on, path, code, want)
			}
		}
		srv.Close()
	}
}

func TestListenAdminServesUntilShutdown(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	a, err := telemetry.ListenAdmin(telemetry.AdminConfig{HTTP: "127.0.0.1:0", ShutdownTimeout: time.Second}, telemetry.AdminOptions{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + a.Addr().String()
	if code, _, _ := get(t, url+"/healthz", ""); code != http.StatusOK {
		t.Errorf("/healthz = %d", code)
	}
	if err := a.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := a.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("still serving after Shutdown")
	}
	if strings.Contains(logs.String(), "beyond loopback") {
		t.Errorf("loopback bind warned: %s", logs.String())
	}
}

func TestListenAdminOffBindsNothing(t *testing.T) {
	a, err := telemetry.ListenAdmin(telemetry.AdminConfig{HTTP: telemetry.AdminOff}, telemetry.AdminOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Addr() != nil {
		t.Errorf("Addr = %v, want nil", a.Addr())
	}
	if err := a.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestListenAdminReportsBindError(t *testing.T) {
	a, err := telemetry.ListenAdmin(telemetry.AdminConfig{HTTP: "127.0.0.1:0"}, telemetry.AdminOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Shutdown(context.Background())
	if _, err := telemetry.ListenAdmin(telemetry.AdminConfig{HTTP: a.Addr().String()}, telemetry.AdminOptions{}); err == nil {
		t.Error("second listener on a busy port succeeded")
	}
}

func TestIsLoopbackAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9187": true,
		"127.1.2.3:9187": true,
		"[::1]:9187":     true,
		"localhost:9187": true,
		":9187":          false,
		"0.0.0.0:9187":   false,
		"[::]:9187":      false,
		"10.0.0.5:9187":  false,
		"db.example:1":   false,
		"garbage":        false,
	} {
		if got := telemetry.IsLoopbackAddr(addr); got != want {
			t.Errorf("IsLoopbackAddr(%q) = %v, want %v", addr, got, want)
		}
	}
}
