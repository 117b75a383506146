package main

import (
	"log/slog"
	"strconv"
	"strings"

	"github.com/pgwarp/pgwarp/cache"
	"github.com/pgwarp/pgwarp/configs"
	"github.com/pgwarp/pgwarp/policy"
	"github.com/pgwarp/pgwarp/proxy"
	"github.com/pgwarp/pgwarp/telemetry"
)

// services holds the components serve shares with the proxy and updates in
// place on reload (the proxy keeps pointers to them): the policy engine,
// the metrics registry.
type services struct {
	metrics *telemetry.Metrics
	policy  *policy.Engine
	cache   *cache.Cache
	tracing *telemetry.Tracing
	logger  *slog.Logger
}

func newServices(c *configs.Config, logger *slog.Logger) (*services, error) {
	rt := &services{logger: logger}
	eng, err := policy.New(c.Policy)
	if err != nil {
		return nil, err
	}
	eng.OnViolation = rt.violation
	rt.policy = eng
	if rt.cache, err = cache.New(c.Cache.Config); err != nil {
		return nil, err
	}
	return rt, nil
}

// cacheStats reports the cache for /metrics; outcomes are the proxy's
// per-statement cache outcomes (nil before it exists).
func (rt *services) cacheStats(outcomes func() map[string]int64) func() telemetry.CacheStats {
	return func() telemetry.CacheStats {
		st := rt.cache.Stats()
		cs := telemetry.CacheStats{
			Entries: st.Entries, Bytes: st.Bytes, MaxBytes: st.MaxBytes,
			Hits: st.Hits, StaleHits: st.StaleHits, Misses: st.Misses, Coalesced: st.CoalescedWaits, Bypassed: st.Bypassed,
			Evictions: st.Evictions, Invalidations: st.Invalidations,
		}
		if outcomes != nil {
			cs.Outcomes = outcomes()
		}
		return cs
	}
}

// violation logs a policy violation and counts it (the engine counts it
// for SHOW STATS too).
func (rt *services) violation(v *policy.Violation) {
	rt.logger.Warn("policy violation", "limit", v.Limit.String(), "mode", v.Mode.String(),
		"database", v.Database, "user", v.User, "observed", v.Observed, "max", v.Max)
	if rt.metrics != nil {
		action := "rejected"
		if !v.Enforced() {
			action = "warned"
		}
		rt.metrics.PolicyViolation(telemetry.PolicyVerdict{Limit: v.Limit.String(), Mode: v.Mode.String(), Action: action})
	}
}

// attach gives the proxy configuration the shared components and their
// admin console commands.
func (rt *services) attach(pc *proxy.Config, c *configs.Config) {
	pc.Policy = rt.policy
	pc.Cache = rt.cache
	if show := pc.ShowConfig; show != nil {
		// SHOW CONFIG shows the policy in force too.
		pc.ShowConfig = func() [][3]string {
			rows := show()
			for _, r := range rt.policy.Rows() {
				rows = append(rows, [3]string{"policy." + r.Name, r.Value, r.Source})
			}
			return rows
		}
	}
	pc.InvalidationChannel = c.Cache.InvalidationChannel
	pc.VolatileInvalidatesAll = c.Cache.VolatileCallInvalidates != "none"
	if pc.AdminCommands == nil {
		pc.AdminCommands = map[string]proxy.AdminCommand{}
	}
	pc.AdminCommands["SHOW POLICY"] = func([]string) (*proxy.ResultSet, error) {
		rs := &proxy.ResultSet{Columns: []string{"setting", "value", "source"}}
		for _, r := range rt.policy.Rows() {
			rs.Rows = append(rs.Rows, []string{r.Name, r.Value, r.Source})
		}
		return rs, nil
	}
	pc.AdminCommands["SHOW CACHE"] = func([]string) (*proxy.ResultSet, error) {
		st := rt.cache.Stats()
		rs := &proxy.ResultSet{Columns: []string{"scope", "name", "entries", "bytes", "hits", "stale_hits", "misses",
			"coalesced", "bypassed", "hit_ratio", "evictions", "invalidations"}}
		row := func(scope, name string, c cache.Counters) {
			ratio := "0.00"
			if n := c.Hits + c.StaleHits + c.Misses + c.CoalescedWaits; n > 0 {
				ratio = strconv.FormatFloat(float64(c.Hits+c.StaleHits+c.CoalescedWaits)/float64(n), 'f', 2, 64)
			}
			rs.Rows = append(rs.Rows, []string{scope, name, itoa64(c.Entries), itoa64(c.Bytes), itoa64(c.Hits), itoa64(c.StaleHits),
				itoa64(c.Misses), itoa64(c.CoalescedWaits), itoa64(c.Bypassed), ratio, itoa64(c.Evictions), itoa64(c.Invalidations)})
		}
		row("total", "max_bytes="+itoa64(st.MaxBytes), st.Counters)
		for _, t := range st.Tables {
			row("table", t.Database+"/"+string(t.Table), t.Counters)
		}
		for _, r := range st.Rules {
			row("rule", r.Rule, r.Counters)
		}
		return rs, nil
	}
	pc.AdminCommands["CACHE PURGE"] = func(args []string) (*proxy.ResultSet, error) {
		if len(args) == 0 {
			rt.cache.Purge()
			return &proxy.ResultSet{Tag: "CACHE PURGE"}, nil
		}
		// CACHE PURGE [database.]schema.table or table (public).
		for _, arg := range args {
			db, table := "", arg
			if parts := strings.Split(arg, "/"); len(parts) == 2 {
				db, table = parts[0], parts[1]
			}
			id := configs.TableID(table)
			if db != "" {
				rt.cache.PurgeTable(db, id)
				continue
			}
			for _, t := range rt.cache.Stats().Tables {
				if t.Table == id {
					rt.cache.PurgeTable(t.Database, id)
				}
			}
		}
		return &proxy.ResultSet{Tag: "CACHE PURGE"}, nil
	}
	pc.AdminCommands["SHOW VIOLATIONS"] = func([]string) (*proxy.ResultSet, error) {
		rs := &proxy.ResultSet{Columns: []string{"database", "user", "limit", "mode", "count"}}
		for _, s := range rt.policy.Stats().Series {
			rs.Rows = append(rs.Rows, []string{s.Database, s.User, s.Limit.String(), s.Mode.String(), itoa64(int64(s.Count))})
		}
		return rs, nil
	}
}

// reload applies a new configuration's policy (already validated).
func (rt *services) reload(c *configs.Config, logger *slog.Logger) error {
	rt.logger = logger
	if err := rt.cache.Reload(c.Cache.Config); err != nil {
		return err
	}
	return rt.policy.Reload(c.Policy)
}
