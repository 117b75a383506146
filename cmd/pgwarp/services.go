package main

import (
	"log/slog"

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
	return rt, nil
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
func (rt *services) attach(pc *proxy.Config) {
	pc.Policy = rt.policy
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
	return rt.policy.Reload(c.Policy)
}
