package proxy

import (
	"context"
	"time"

	"github.com/pgwarp/pgwarp/policy"
	"github.com/pgwarp/pgwarp/query"
	"github.com/pgwarp/pgwarp/telemetry"
)

// Observation of statements: a span per query (telemetry package; a no-op
// when tracing is off or the query is not sampled), metrics per pool, and
// the slow-query log. The observation of a statement lives in its
// expectation: the session goroutine starts it, the relay counts rows and
// bytes and ends it with the statement.

// queryObs is one statement's observation. The zero value observes nothing.
type queryObs struct {
	active bool
	span   telemetry.QuerySpan
	start  time.Time
	status telemetry.CacheStatus
	rows   int64
	bytes  int64
	info   *query.Info
}

// startSessionSpan opens the session's span once the startup succeeded.
func (s *Session) startSessionSpan() {
	cfg := s.srv.config()
	if cfg.Metrics != nil && s.dbc() != nil {
		s.pm = cfg.Metrics.Pool(s.upstreamDatabase(), s.upstreamUser())
	}
	if !cfg.Tracing.Enabled() {
		return
	}
	info := telemetry.SessionInfo{ID: s.id, ClientAddr: s.remote, User: s.user, Database: s.database,
		ApplicationName: s.appName.Load().(string), TLS: s.tls}
	if s.dbc() != nil && s.dbc().Upstream != nil {
		info.ServerAddress, info.ServerPort = s.dbc().Upstream.Host, int(s.dbc().Upstream.Port)
	}
	s.sessCtx, s.sessSpan = cfg.Tracing.StartSession(context.Background(), info)
}

// endSessionSpan closes the session's span.
func (s *Session) endSessionSpan(err error) {
	s.sessSpan.End(err)
}

// startObs starts observing a statement about to be sent upstream (or
// answered from the cache). rawSQL is searched for a sqlcommenter
// traceparent only. It runs on the session goroutine and takes no lock
// (forwardInfo calls it with mu held).
func (s *Session) startObs(info *query.Info, rawSQL string, status telemetry.CacheStatus, pinned bool) queryObs {
	o := queryObs{active: true, start: time.Now(), status: status, info: info}
	if s.sessSpan.IsRecording() || s.srv.config().Tracing.Enabled() {
		qi := telemetry.QueryInfo{RawSQL: rawSQL}
		if info != nil {
			qi.Summary = info.Summary
			if s.srv.config().Tracing.Settings().RecordStatements {
				qi.Normalized = info.Normalized
			}
		}
		_, o.span = s.sessSpan.StartQuery(s.ctx(), qi)
		o.span.SetCache(status, "")
		if !s.waitStart.IsZero() {
			o.span.RecordPoolAcquire(s.waitStart, s.wait, "")
		}
		o.span.SetPinned(pinned)
	}
	s.waitStart = time.Time{}
	return o
}

func (s *Session) ctx() context.Context {
	if s.sessCtx != nil {
		return s.sessCtx
	}
	return context.Background()
}

// endObs ends a statement's observation with its outcome: sqlstate is the
// error's code, or "" on success.
// dropObs abandons an observation that will be made again (a coalesced
// wait that fell through to the upstream): its span ends, nothing is
// counted.
func (s *Session) dropObs(o *queryObs) {
	if o.active && o.span.IsRecording() {
		o.span.End()
	}
	o.active = false
}

func (s *Session) endObs(o *queryObs, sqlstate string) {
	if !o.active {
		return
	}
	o.active = false
	d := time.Since(o.start)
	if o.span.IsRecording() {
		o.span.SetResult(o.rows, o.bytes)
		if o.status == telemetry.CacheMiss || o.status == telemetry.CacheBypass {
			o.span.RecordUpstream(o.start, d, sqlstate)
		}
		if sqlstate != "" {
			o.span.SetError(sqlstate)
		}
		o.span.End()
	}
	if s.pm != nil {
		s.pm.ObserveQuery(o.status, d)
		if sqlstate != "" {
			s.pm.QueryError(sqlstate)
		}
	}
	if sqlstate != "" {
		s.logQueryError(o.info, sqlstate, d)
	}
	if t := s.srv.config().SlowQueryThreshold; t > 0 && d >= t {
		summary := ""
		if o.info != nil {
			summary = o.info.Summary
		}
		telemetry.LogSlowQuery(s.ctx(), s.logger(), t, telemetry.SlowQuery{Duration: d, Summary: summary,
			Rows: o.rows, Bytes: o.bytes, SQLState: sqlstate})
	}
}

// logQueryError logs an error the client receives for a statement. The
// error's message may quote a value (22P02 echoes its input), so only its
// code and the statement's summary are logged; d is the statement's
// duration, 0 for a failed Parse, Bind or Describe.
func (s *Session) logQueryError(info *query.Info, sqlstate string, d time.Duration) {
	summary := ""
	if info != nil {
		summary = info.Summary
	}
	if d > 0 {
		s.logInfo("query failed", "sqlstate", sqlstate, "summary", summary, "duration", d.Round(time.Microsecond))
	} else {
		s.logInfo("query failed", "sqlstate", sqlstate, "summary", summary)
	}
}

// noteViolation adds a policy verdict to the statement's span.
func (o *queryObs) noteViolation(v *policy.Violation) {
	if o.span.IsRecording() {
		action := "rejected"
		if !v.Enforced() {
			action = "warned"
		}
		o.span.AddPolicyVerdict(telemetry.PolicyVerdict{Limit: v.Limit.String(), Mode: v.Mode.String(), Action: action})
	}
}

// cacheStatusOf maps a fill's presence to the cache status of a statement
// sent upstream.
func cacheStatusOf(filling bool) telemetry.CacheStatus {
	if filling {
		return telemetry.CacheMiss
	}
	return telemetry.CacheBypass
}
