package proxy

import (
	"context"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/pgwarp/pgwarp/telemetry"
)

// PoolStats reports every pool for the metrics endpoint: its backends and
// the clients using it. It is safe for concurrent use.
func (srv *Server) PoolStats() []telemetry.PoolStats {
	type agg struct{ active, idle, pinned int }
	counts := map[poolKey]*agg{}
	for _, sess := range srv.snapshotSessions() {
		if sess.getState() < sessionStateIdle || sess.dbc() == nil {
			continue
		}
		k := sess.credKey()
		if sess.mode == PoolSession {
			k.params = sess.sessionParamsKey()
		}
		a := counts[k]
		if a == nil {
			a = &agg{}
			counts[k] = a
		}
		sess.mu.Lock()
		switch {
		case sess.lease != nil:
			a.active++
		default:
			a.idle++
		}
		if sess.pinned {
			a.pinned++
		}
		sess.mu.Unlock()
	}
	srv.mu.Lock()
	out := make([]telemetry.PoolStats, 0, len(srv.pools))
	for k, p := range srv.pools {
		st := p.Stat()
		a := counts[k]
		if a == nil {
			a = &agg{}
		}
		out = append(out, telemetry.PoolStats{
			Database: k.database, User: k.user,
			ClientsActive: a.active, ClientsWaiting: st.Waiting, ClientsIdle: a.idle,
			BackendsActive: st.Acquired, BackendsIdle: st.Idle, BackendsMax: st.MaxSize,
			Pinned: a.pinned, ConnectErrors: st.DialErrors, AcquireTimeouts: st.AcquireTimeouts,
		})
	}
	srv.mu.Unlock()
	return out
}

// Readiness reports whether each configured upstream accepts TCP (or unix
// socket) connections, for /readyz. Credentials are not needed and never
// shown.
func (srv *Server) Readiness(ctx context.Context) telemetry.Readiness {
	cfg := srv.config()
	r := telemetry.Readiness{ConfigLoaded: true, Draining: srv.shuttingDown.Load()}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, name := range sortedNames(cfg.Databases) {
		up := cfg.Databases[name].Upstream
		network, addr := "tcp", net.JoinHostPort(up.Host, strconv.Itoa(int(up.Port)))
		if len(up.Host) > 0 && up.Host[0] == '/' {
			network, addr = "unix", up.Host+"/.s.PGSQL."+strconv.Itoa(int(up.Port))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			var d net.Dialer
			c, err := d.DialContext(dctx, network, addr)
			if err == nil {
				c.Close()
			}
			mu.Lock()
			r.Upstreams = append(r.Upstreams, telemetry.UpstreamReadiness{Name: name, Addr: addr, Err: err})
			mu.Unlock()
		}()
	}
	wg.Wait()
	return r
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	for i := 1; i < len(names); i++ {
		for j := i; j > 0 && names[j] < names[j-1]; j-- {
			names[j], names[j-1] = names[j-1], names[j]
		}
	}
	return names
}
