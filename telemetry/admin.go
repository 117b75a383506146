package telemetry

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"time"
)

// readyTimeout bounds one call of the readiness function.
const readyTimeout = 5 * time.Second

// Readiness is what the readiness function reports for /readyz.
type Readiness struct {
	// ConfigLoaded is false until a valid configuration is in effect.
	ConfigLoaded bool
	// Draining is true once shutdown has begun: the proxy finishes its
	// transactions but accepts no new clients, so load balancers must
	// stop sending them.
	Draining bool
	// Upstreams has one entry per configured upstream server.
	Upstreams []UpstreamReadiness
}

// UpstreamReadiness is one upstream's reachability.
type UpstreamReadiness struct {
	// Name is the database name from the configuration.
	Name string
	// Addr is the upstream's host:port, shown next to the name.
	Addr string
	// Err is nil when the upstream answered, else why it did not.
	Err error
}

// Ready reports whether the configuration is loaded and every upstream is
// reachable.
func (r Readiness) Ready() bool {
	if !r.ConfigLoaded || r.Draining {
		return false
	}
	for _, u := range r.Upstreams {
		if u.Err != nil {
			return false
		}
	}
	return true
}

// ReadinessFunc checks readiness for /readyz. It receives a context with a
// 5-second deadline and must be safe for concurrent use.
type ReadinessFunc func(ctx context.Context) Readiness

// AdminOptions are what the admin listener serves.
type AdminOptions struct {
	// Metrics is served on /metrics. Nil: /metrics answers 404.
	Metrics *Metrics
	// Ready decides /readyz. Nil: /readyz answers 503, so that a wiring
	// mistake cannot report a proxy ready.
	Ready ReadinessFunc
	// Logger receives the listener's own warnings and errors. Nil:
	// slog.Default().
	Logger *slog.Logger
}

// NewAdminHandler returns the admin endpoints as one handler:
//
//	/healthz        200 "ok" while the process serves HTTP; never needs a token
//	/readyz         200 when opts.Ready says ready, else 503; the body lists
//	                the config state and each upstream, naming the one down
//	/metrics        Prometheus exposition of opts.Metrics
//	/debug/pprof/   net/http/pprof, only when cfg.Pprof
//
// When cfg.Token is set, every path but /healthz requires
// "Authorization: Bearer <token>", compared in constant time.
func NewAdminHandler(cfg AdminConfig, opts AdminOptions) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", readyHandler(opts.Ready))
	if opts.Metrics != nil {
		mux.Handle("GET /metrics", opts.Metrics.Handler())
	}
	if cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	if cfg.Token == "" {
		return mux
	}
	want := sha256.Sum256([]byte(cfg.Token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			mux.ServeHTTP(w, r)
			return
		}
		// Hashing first makes the comparison constant-time in the token's
		// length too.
		got := sha256.Sum256([]byte(bearerToken(r)))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pgwarp"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// bearerToken returns the credentials of an "Authorization: Bearer …"
// header, or "" (which never matches a configured token's hash).
func bearerToken(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

func readyHandler(ready ReadinessFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if ready == nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready\nno readiness check configured\n"))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		rd := ready(ctx)
		var b strings.Builder
		if rd.Ready() {
			b.WriteString("ready\n")
		} else {
			b.WriteString("not ready\n")
		}
		if rd.ConfigLoaded {
			b.WriteString("config: loaded\n")
		} else {
			b.WriteString("config: not loaded\n")
		}
		if rd.Draining {
			b.WriteString("draining: shutting down\n")
		}
		for _, u := range rd.Upstreams {
			b.WriteString("upstream ")
			b.WriteString(u.Name)
			if u.Addr != "" {
				b.WriteString(" (")
				b.WriteString(RedactString(u.Addr))
				b.WriteString(")")
			}
			if u.Err == nil {
				b.WriteString(": up\n")
				continue
			}
			b.WriteString(": down: ")
			b.WriteString(RedactString(u.Err.Error()))
			b.WriteString("\n")
		}
		if !rd.Ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = w.Write([]byte(b.String()))
	}
}

// Admin is the running admin HTTP listener. It is safe for concurrent use.
type Admin struct {
	cfg    AdminConfig
	srv    *http.Server
	ln     net.Listener
	logger *slog.Logger
	done   chan struct{} // closed when Serve returns
	err    error         // Serve's error other than http.ErrServerClosed, read after done

	shutdownOnce sync.Once
	shutdownErr  error
}

// ListenAdmin binds cfg.HTTP and serves [NewAdminHandler] on it in a
// goroutine owned by the returned [Admin] until [Admin.Shutdown]. With
// cfg.HTTP "off" nothing is bound and the Admin is inert. Binding a
// non-loopback address without a token logs a warning: /metrics and /readyz
// then reveal pool and upstream names to anyone who can connect.
func ListenAdmin(cfg AdminConfig, opts AdminOptions) (*Admin, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	a := &Admin{cfg: cfg, logger: logger, done: make(chan struct{})}
	if cfg.HTTP == AdminOff {
		close(a.done)
		return a, nil
	}
	ln, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		return nil, fmt.Errorf("telemetry: admin listener: %w", err)
	}
	if cfg.Token == "" && !isLoopbackAddr(cfg.HTTP) {
		logger.Warn("admin listener is reachable beyond loopback without a bearer token; set admin.token_env",
			slog.String("addr", ln.Addr().String()))
	}
	a.ln = ln
	a.srv = &http.Server{
		Handler:           NewAdminHandler(cfg, opts),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go a.serve()
	return a, nil
}

func (a *Admin) serve() {
	defer close(a.done)
	if err := a.srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		a.err = err
		a.logger.Error("admin listener stopped", slog.String(LogKeyError, err.Error()))
	}
}

// Addr returns the bound address (useful with port 0), or nil when off.
func (a *Admin) Addr() net.Addr {
	if a.ln == nil {
		return nil
	}
	return a.ln.Addr()
}

// Shutdown stops accepting connections and waits for in-flight requests,
// for at most cfg.ShutdownTimeout or until ctx is done, then closes the
// remaining connections. It returns once the serving goroutine has exited.
// Later calls return the first call's result.
func (a *Admin) Shutdown(ctx context.Context) error {
	a.shutdownOnce.Do(func() {
		if a.srv == nil {
			return
		}
		ctx, cancel := context.WithTimeout(ctx, a.cfg.ShutdownTimeout)
		defer cancel()
		err := a.srv.Shutdown(ctx)
		if err != nil {
			// Deadline reached: drop what is still open (a long pprof
			// profile, a slow scrape).
			_ = a.srv.Close()
		}
		<-a.done
		a.shutdownErr = errors.Join(err, a.err)
	})
	return a.shutdownErr
}

// isLoopbackAddr reports whether a host:port listen address binds only
// loopback: a loopback IP or "localhost". An empty host binds every
// interface.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
