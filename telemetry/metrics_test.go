package telemetry_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/telemetry"
)

func scrape(t *testing.T, h http.Handler, token string) string {
	t.Helper()
	body, err := scrapeErr(h, token)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// scrapeErr fetches /metrics from h; it is safe to call off the test's
// goroutine.
func scrapeErr(h http.Handler, token string) (string, error) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("/metrics: %s: %s", resp.Status, body)
	}
	return string(body), nil
}

func wantSeries(t *testing.T, body string, lines ...string) {
	t.Helper()
	have := make(map[string]bool)
	for _, l := range strings.Split(body, "\n") {
		have[l] = true
	}
	for _, l := range lines {
		if !have[l] {
			t.Errorf("missing series line %q", l)
		}
	}
}

func TestMetricsEndpointExposesRecordedValuesAndCallbacks(t *testing.T) {
	m := telemetry.NewMetrics(telemetry.MetricsOptions{
		Version: "1.2.3",
		Pools: func() []telemetry.PoolStats {
			return []telemetry.PoolStats{{
				Database: "appdb", User: "app",
				ClientsActive: 3, ClientsWaiting: 2, ClientsIdle: 5,
				BackendsActive: 3, BackendsIdle: 1, BackendsMax: 20,
				Pinned: 1, ConnectErrors: 4, AcquireTimeouts: 6,
			}}
		},
		Cache: func() telemetry.CacheStats {
			return telemetry.CacheStats{Entries: 10, Bytes: 4096, MaxBytes: 1 << 20,
				Hits: 5, StaleHits: 1, Misses: 1, Coalesced: 1, Bypassed: 9, Evictions: 2, Invalidations: 5,
				Outcomes: map[string]int64{"hit": 5, "miss": 1, "volatile": 3}}
		},
	})
	p := m.Pool("appdb", "app")
	if m.Pool("appdb", "app") != p {
		t.Error("Pool returned a different value for the same pool")
	}
	p.ObserveQuery(telemetry.CacheHit, 200*time.Microsecond)
	p.ObserveQuery(telemetry.CacheHit, 300*time.Microsecond)
	p.ObserveQuery(telemetry.CacheMiss, 20*time.Millisecond)
	p.ObservePoolWait(2 * time.Millisecond)
	p.QueryError("57014")
	p.QueryError("bogus")
	m.PolicyViolation(telemetry.PolicyVerdict{Limit: "max_rows_per_query", Mode: "enforce"})
	m.PolicyViolation(telemetry.PolicyVerdict{Limit: "max_rows_per_query", Mode: "enforce"})
	m.SetOrphans("sales_measurement", 7)

	body := scrape(t, telemetry.NewAdminHandler(telemetry.AdminConfig{}, telemetry.AdminOptions{Metrics: m}), "")
	wantSeries(t, body,
		`pgwarp_queries_total{cache_status="hit",database="appdb",user="app"} 2`,
		`pgwarp_queries_total{cache_status="miss",database="appdb",user="app"} 1`,
		`pgwarp_queries_total{cache_status="bypass",database="appdb",user="app"} 0`,
		`pgwarp_query_duration_seconds_count{cache_status="hit",database="appdb",user="app"} 2`,
		`pgwarp_query_duration_seconds_bucket{cache_status="hit",database="appdb",user="app",le="0.00025"} 1`,
		`pgwarp_query_duration_seconds_bucket{cache_status="miss",database="appdb",user="app",le="0.01"} 0`,
		`pgwarp_query_duration_seconds_bucket{cache_status="miss",database="appdb",user="app",le="0.025"} 1`,
		`pgwarp_pool_wait_duration_seconds_count{database="appdb",user="app"} 1`,
		`pgwarp_query_errors_total{database="appdb",sqlstate_class="57",user="app"} 1`,
		`pgwarp_query_errors_total{database="appdb",sqlstate_class="other",user="app"} 1`,
		`pgwarp_policy_violations_total{limit="max_rows_per_query",mode="enforce"} 2`,
		`pgwarp_orphans{relation="sales_measurement"} 7`,
		`pgwarp_pool_clients{database="appdb",state="active",user="app"} 3`,
		`pgwarp_pool_clients{database="appdb",state="waiting",user="app"} 2`,
		`pgwarp_pool_clients{database="appdb",state="idle",user="app"} 5`,
		`pgwarp_pool_backends{database="appdb",state="active",user="app"} 3`,
		`pgwarp_pool_backends{database="appdb",state="idle",user="app"} 1`,
		`pgwarp_pool_backends_max{database="appdb",user="app"} 20`,
		`pgwarp_pool_pinned_sessions{database="appdb",user="app"} 1`,
		`pgwarp_upstream_connect_errors_total{database="appdb",user="app"} 4`,
		`pgwarp_cache_entries 10`,
		`pgwarp_cache_bytes 4096`,
		`pgwarp_cache_max_bytes 1.048576e+06`,
		`pgwarp_cache_hit_ratio 0.75`,
		`pgwarp_cache_lookups_total{result="hit"} 5`,
		`pgwarp_cache_lookups_total{result="stale"} 1`,
		`pgwarp_cache_lookups_total{result="miss"} 1`,
		`pgwarp_cache_lookups_total{result="coalesced"} 1`,
		`pgwarp_cache_lookups_total{result="bypass"} 9`,
		`pgwarp_pool_acquire_timeouts_total{database="appdb",user="app"} 6`,
		`pgwarp_cache_evictions_total 2`,
		`pgwarp_cache_invalidations_total 5`,
		`pgwarp_cache_outcomes_total{outcome="hit"} 5`,
		`pgwarp_cache_outcomes_total{outcome="miss"} 1`,
		`pgwarp_cache_outcomes_total{outcome="volatile"} 3`,
		`pgwarp_build_info{version="1.2.3"} 1`,
	)
	if !strings.Contains(body, "go_goroutines ") || !strings.Contains(body, "# TYPE pgwarp_queries_total counter") {
		t.Error("runtime collectors or type lines missing")
	}
}

func TestMetricsLabelCardinalityIsBounded(t *testing.T) {
	m := telemetry.NewMetrics(telemetry.MetricsOptions{})
	for i := range 100 {
		m.PolicyViolation(telemetry.PolicyVerdict{Limit: "limit-" + strings.Repeat("x", i), Mode: "enforce"})
	}
	body := scrape(t, telemetry.NewAdminHandler(telemetry.AdminConfig{}, telemetry.AdminOptions{Metrics: m}), "")
	if n := strings.Count(body, "pgwarp_policy_violations_total{"); n > 65 {
		t.Errorf("%d policy violation series, want at most 64 plus %q", n, telemetry.OverflowLabel)
	}
	if !strings.Contains(body, `pgwarp_policy_violations_total{limit="other",mode="enforce"}`) {
		t.Error("overflow series missing")
	}
}

func TestMetricsAreSafeForConcurrentUse(t *testing.T) {
	m := telemetry.NewMetrics(telemetry.MetricsOptions{Pools: func() []telemetry.PoolStats {
		return []telemetry.PoolStats{{Database: "a", User: "u"}, {Database: "a", User: "u"}}
	}})
	h := telemetry.NewAdminHandler(telemetry.AdminConfig{}, telemetry.AdminOptions{Metrics: m})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			p := m.Pool("a", "u")
			for range 200 {
				p.ObserveQuery(telemetry.CacheStatus(i), time.Millisecond)
				p.QueryError("40001")
				m.SetOrphans("t", int64(i))
			}
		})
	}
	wg.Go(func() {
		if _, err := scrapeErr(h, ""); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	// A duplicate pool from the callback is dropped rather than failing
	// the scrape.
	body := scrape(t, h, "")
	wantSeries(t, body,
		`pgwarp_queries_total{cache_status="bypass",database="a",user="u"} 200`,
		`pgwarp_query_errors_total{database="a",sqlstate_class="40",user="u"} 800`,
	)
	if strings.Count(body, `pgwarp_pool_pinned_sessions{database="a",user="u"}`) != 1 {
		t.Error("duplicate pool stats not collapsed")
	}
}
