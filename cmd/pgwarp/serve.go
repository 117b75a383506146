package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/pgwarp/pgwarp/configs"
	"github.com/pgwarp/pgwarp/proxy"
	"github.com/pgwarp/pgwarp/telemetry"
)

func init() {
	register(&command{name: "serve", summary: "run the proxy", run: runServe, handlesSignals: true})
}

// serveFlags are the flags of `pgwarp serve`; set flags override the file.
type serveFlags struct {
	config    string
	listen    string
	upstream  string
	poolMode  string
	poolSize  int
	adminHTTP string
	logLevel  string
	pprof     bool
	maxProcs  int
	cache     string
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "configuration file (pgwarp.yaml)")
	fs.StringVar(&f.listen, "listen", "", "host:port for clients (default 127.0.0.1:6432)")
	fs.StringVar(&f.upstream, "upstream", "", "upstream postgres:// URL serving any database name (overrides databases.* of the file)")
	fs.StringVar(&f.poolMode, "pool-mode", "", "pool mode of every database (--upstream's included): transaction (default) or session")
	fs.IntVar(&f.poolSize, "pool-size", 0, "pool max_size of every database (--upstream's included; default 20)")
	fs.StringVar(&f.adminHTTP, "admin-http", "", "host:port of the metrics/health listener; 'off' disables it")
	fs.StringVar(&f.logLevel, "log-level", "", "debug, info, warn or error")
	fs.BoolVar(&f.pprof, "pprof", false, "serve /debug/pprof on the admin listener")
	fs.IntVar(&f.maxProcs, "max-procs", -1, "CPUs for the Go scheduler (0: half the CPUs; default from the file)")
	fs.StringVar(&f.cache, "cache", "", "on or off: the read cache (default from the file, on)")
}

// load reads the file (if any) and applies the flags.
func (f *serveFlags) load() (*configs.Config, error) {
	var c *configs.Config
	if f.config != "" {
		var err error
		if c, err = configs.Load(f.config); err != nil {
			return nil, err
		}
	} else {
		c = configs.Default()
	}
	override := func(key, flag string) {
		if c.Overridden == nil {
			c.Overridden = map[string]string{}
		}
		c.Overridden[key] = flag
	}
	if f.listen != "" {
		c.Listen = f.listen
		override("listen", "--listen")
	}
	if f.adminHTTP != "" {
		c.Admin.HTTP = f.adminHTTP
		if f.adminHTTP == "off" {
			c.Admin.HTTP = ""
		}
		override("admin.http", "--admin-http")
	}
	if f.pprof {
		c.Admin.Pprof = true
	}
	if f.maxProcs >= 0 {
		c.MaxProcs = f.maxProcs
	}
	switch f.cache {
	case "":
	case "on":
		c.Cache.Disabled = false
	case "off":
		c.Cache.Disabled = true
	default:
		return nil, fmt.Errorf("--cache must be on or off, got %q", f.cache)
	}
	if f.logLevel != "" {
		c.Telemetry.Log.Level = f.logLevel
	}
	if f.upstream != "" {
		up, err := configs.ParseUpstream(f.upstream)
		if err != nil {
			return nil, fmt.Errorf("--upstream: %w", err)
		}
		db := c.Databases[configs.Wildcard]
		if db == nil {
			db = &configs.Database{Name: configs.Wildcard, Pool: configs.DefaultPool()}
			c.Databases[configs.Wildcard] = db
		}
		db.Upstream, db.UpstreamConfig = f.upstream, up
		override("databases."+configs.Wildcard+".upstream", "--upstream")
	}
	for name, db := range c.Databases {
		if f.poolMode != "" {
			if f.poolMode != "transaction" && f.poolMode != "session" {
				return nil, fmt.Errorf("--pool-mode must be transaction or session, got %q", f.poolMode)
			}
			db.Pool.Mode = f.poolMode
			override("databases."+name+".pool.mode", "--pool-mode")
		}
		if f.poolSize > 0 {
			db.Pool.MaxSize = f.poolSize
			override("databases."+name+".pool.max_size", "--pool-size")
		}
	}
	if len(c.Databases) == 0 {
		return nil, errors.New("no upstream configured: pass --upstream postgres://user@host:5432/db or --config pgwarp.yaml (or run `pgwarp dev` for a local database)")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func runServe(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var f serveFlags
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c, err := f.load()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgwarp:", err)
		return 1
	}
	if err := serve(ctx, c, &f, nil); err != nil {
		fmt.Fprintln(os.Stderr, "pgwarp:", err)
		return 1
	}
	return 0
}

// serve runs the proxy until SIGINT/SIGTERM (or ctx ends), reloading the
// file on SIGHUP. ready, if set, is called with the server once it listens.
func serve(ctx context.Context, c *configs.Config, f *serveFlags, ready func(*proxy.Server)) error {
	logger, err := newLogger(c)
	if err != nil {
		return err
	}
	setMaxProcs(c.MaxProcs, logger)
	rt, err := newServices(c, logger)
	if err != nil {
		return err
	}
	pc, err := proxyConfig(c, logger)
	if err != nil {
		return err
	}
	rt.attach(&pc, c)
	srv, err := proxy.New(pc)
	if err != nil {
		return err
	}
	metrics := telemetry.NewMetrics(telemetry.MetricsOptions{Version: version, Pools: srv.PoolStats, Cache: rt.cacheStats(srv.CacheOutcomes)})
	rt.metrics = metrics
	tracing, err := telemetry.NewTracing(ctx, c.Telemetry, telemetry.TracingOptions{Version: version, Logger: logger})
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	defer func() {
		fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tracing.Shutdown(fctx)
	}()
	if tracing.Enabled() {
		st := tracing.Settings()
		logger.Info("tracing", "endpoint", st.Endpoint, "protocol", st.Protocol, "sampler", st.Sampler)
	}
	rt.tracing = tracing
	pc.Tracing, pc.Metrics = tracing, metrics
	pc.SlowQueryThreshold = c.Telemetry.WithDefaults().SlowQueryThreshold
	adminHTTP := c.Admin.HTTP
	if adminHTTP == "" {
		adminHTTP = telemetry.AdminOff
	}
	admin, err := telemetry.ListenAdmin(telemetry.AdminConfig{HTTP: adminHTTP, Token: c.Admin.Token, Pprof: c.Admin.Pprof},
		telemetry.AdminOptions{Metrics: metrics, Ready: srv.Readiness, Logger: logger})
	if err != nil {
		return fmt.Errorf("admin listener %s: %w", adminHTTP, err)
	}
	defer admin.Shutdown(context.Background())
	reload := func() error {
		if f == nil || f.config == "" {
			return errors.New("not started with --config")
		}
		nc, err := f.load()
		if err != nil {
			return err
		}
		nlogger, err := newLogger(nc)
		if err != nil {
			return err
		}
		npc, err := proxyConfig(nc, nlogger)
		if err != nil {
			return err
		}
		rt.attach(&npc, nc)
		npc.ReloadFunc = pc.ReloadFunc
		npc.Tracing, npc.Metrics = pc.Tracing, pc.Metrics
		npc.SlowQueryThreshold = nc.Telemetry.WithDefaults().SlowQueryThreshold
		if err := rt.reload(nc, nlogger); err != nil {
			return err
		}
		if err := srv.Reload(npc); err != nil {
			return err
		}
		logger.Info("configuration reloaded", "file", f.config)
		return nil
	}
	pc.ReloadFunc = reload
	if err := srv.Reload(pc); err != nil {
		return err
	}
	ln, err := proxy.Listen(c.Listen)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	bctx, stopBackground := context.WithCancel(context.Background())
	defer stopBackground()
	go orphanScanner(bctx, c, metrics, logger)
	logger.Info("pgwarp listening", "listen", ln.Addr().String(), "version", version)
	if ready != nil {
		// Serve records the listener as it starts; wait for it so that
		// ready can ask the server for its address.
		for i := 0; i < 1000 && srv.Addr() == nil; i++ {
			time.Sleep(time.Millisecond)
		}
		ready(srv)
	}
	for {
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
			return shutdown(srv, logger, sigs)
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				if err := reload(); err != nil {
					logger.Error("reload failed; the previous configuration stays in force", "error", err)
				}
				continue
			}
			logger.Info("shutting down: finishing open transactions (send the signal again to close them now)", "signal", sig.String())
			return shutdown(srv, logger, sigs)
		}
	}
}

// setMaxProcs applies max_procs unless GOMAXPROCS is set in the
// environment.
func setMaxProcs(n int, logger *slog.Logger) {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	if n <= 0 {
		n = max(1, runtime.NumCPU()/2)
	}
	runtime.GOMAXPROCS(n)
	logger.Debug("scheduler CPUs", "max_procs", n, "cpus", runtime.NumCPU())
}

// shutdown drains the proxy (see proxy.Server.Shutdown); a second SIGINT
// or SIGTERM during the drain ends it at once, closing the sessions still
// in a transaction.
func shutdown(srv *proxy.Server, logger *slog.Logger, sigs <-chan os.Signal) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			select {
			case sig := <-sigs:
				if sig == syscall.SIGHUP {
					continue
				}
				logger.Info("second signal: closing the remaining sessions now", "signal", sig.String())
				cancel()
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	err := srv.Shutdown(ctx)
	logger.Info("stopped")
	return err
}
