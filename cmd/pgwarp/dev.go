package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgwarp/pgwarp/configs"
	"github.com/pgwarp/pgwarp/internal/pgcluster"
	"github.com/pgwarp/pgwarp/migrations"
	"github.com/pgwarp/pgwarp/migrations/demo"
	"github.com/pgwarp/pgwarp/proxy"
)

func init() {
	register(&command{
		name:           "dev",
		summary:        "run pgwarp in front of a local PostgreSQL with the bundled schema and demo data",
		run:            runDev,
		handlesSignals: true,
	})
}

// Settings of `pgwarp dev` that are not flags.
const (
	// devDatabase is the application database pgwarp dev creates, migrates
	// and fills with the demo dataset.
	devDatabase = "app"
	// devConfigFile is the configuration pgwarp dev loads when --config is
	// not given and the file exists in the current directory.
	devConfigFile = "configs/dev.yaml"
	// devInitTimeout bounds initdb on the first run.
	devInitTimeout = 5 * time.Minute
	// devConnectTimeout bounds each direct connection to the local cluster.
	devConnectTimeout = 10 * time.Second
	// devStopTimeout is how long the cluster gets for a fast shutdown before
	// pgcluster escalates to an immediate one.
	devStopTimeout = 30 * time.Second
	// devAddrWait bounds the wait for the proxy's listening address.
	devAddrWait = 2 * time.Second
)

// devFlags are the flags of `pgwarp dev`.
type devFlags struct {
	dir       string
	listen    string
	config    string
	adminHTTP string
	logLevel  string
	port      int
	noDemo    bool
}

func (f *devFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dir, "dir", filepath.Join(".pgwarp", "dev"), "directory of the local PostgreSQL cluster, kept between runs")
	fs.StringVar(&f.listen, "listen", "", "host:port for clients (default: listen of the file, else 127.0.0.1:6432)")
	fs.StringVar(&f.config, "config", "", "configuration file (default "+devConfigFile+" when it exists, else the built-in defaults)")
	fs.StringVar(&f.adminHTTP, "admin-http", "", "host:port of the metrics/health listener; 'off' disables it (default from the file, else 127.0.0.1:9187)")
	fs.StringVar(&f.logLevel, "log-level", "", "debug, info, warn or error (default from the file, else info)")
	fs.IntVar(&f.port, "port", 0, "TCP port of the local PostgreSQL on 127.0.0.1 (default: a free port)")
	fs.BoolVar(&f.noDemo, "no-demo", false, "do not load the demo dataset")
}

// configFile returns the configuration file to load, or "" for the
// built-in defaults.
func (f *devFlags) configFile() (string, error) {
	if f.config != "" {
		return f.config, nil
	}
	switch _, err := os.Stat(devConfigFile); {
	case err == nil:
		return devConfigFile, nil
	case errors.Is(err, os.ErrNotExist):
		return "", nil
	default:
		return "", fmt.Errorf("looking for %s: %w", devConfigFile, err)
	}
}

func runDev(ctx context.Context, args []string) int {
	return runDevWith(ctx, args, os.Stdout, os.Stderr)
}

// runDevWith runs `pgwarp dev` with its output going to stdout (the
// connection string) and stderr (progress and logs). It returns the exit
// code. SIGINT and SIGTERM stop it, as does the end of ctx.
func runDevWith(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: pgwarp dev [flags]\n\n"+
			"Creates (on the first run) a local PostgreSQL cluster under --dir, starts it, creates the\n"+
			"database "+devDatabase+", applies the bundled migrations, loads the demo dataset and runs pgwarp\n"+
			"in front of it until Ctrl-C, which also stops the cluster.\n\nflags:")
		fs.PrintDefaults()
	}
	var f devFlags
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pgwarp dev: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	// The command handles signals itself: serve reacts to them too, and
	// this context makes them stop the setup steps before serve runs.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := dev(ctx, &f, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "pgwarp dev:", err)
		return 1
	}
	return 0
}

// dev runs the whole `pgwarp dev` lifecycle. The cluster it starts is
// stopped before dev returns, whatever happened.
func dev(ctx context.Context, f *devFlags, stdout, stderr io.Writer) (err error) {
	progress := func(format string, args ...any) {
		fmt.Fprintf(stderr, "pgwarp dev: "+format+"\n", args...)
	}
	cfgFile, err := f.configFile()
	if err != nil {
		return err
	}
	if cfgFile == "" {
		progress("no configuration file (%s is not here, and no --config): using the defaults", devConfigFile)
	} else {
		progress("using the configuration in %s", cfgFile)
	}
	// Check the file before touching the disk, so that a typo costs no
	// cluster start.
	if cfgFile != "" {
		c, err := configs.Load(cfgFile)
		if err != nil {
			return err
		}
		if _, ok := c.Databases[devDatabase]; ok {
			return fmt.Errorf("%s configures databases.%s, which pgwarp dev serves from its local PostgreSQL: "+
				"remove that entry, or use `pgwarp serve --config %s` for your own upstream", cfgFile, devDatabase, cfgFile)
		}
	}

	cl, err := pgcluster.New(pgcluster.Options{Dir: f.dir, Port: f.port})
	if err != nil {
		return fmt.Errorf("cannot run a local PostgreSQL: %w", err)
	}
	dir := f.dir
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if cl.Initialized() {
		progress("using the local PostgreSQL cluster in %s", dir)
	} else {
		progress("initialising a local PostgreSQL cluster in %s (first run only; it is kept between runs)…", dir)
		// A signal must not kill initdb halfway: the half-made cluster
		// would look initialised and fail to start next time. initdb is
		// bounded by its own timeout instead.
		ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), devInitTimeout)
		err := cl.Init(ictx)
		cancel()
		if err != nil {
			return fmt.Errorf("initialising the local PostgreSQL cluster: %w", err)
		}
		if ctx.Err() != nil {
			progress("interrupted")
			return nil
		}
	}
	progress("starting PostgreSQL (%s, log in %s)…", cl.BinDir(), cl.LogFile())
	if err := cl.Start(ctx); err != nil {
		if ctx.Err() != nil {
			progress("interrupted")
			return nil
		}
		return fmt.Errorf("starting the local PostgreSQL: %w", err)
	}
	defer func() {
		progress("stopping the local PostgreSQL…")
		if serr := cl.Stop(devStopTimeout); serr != nil {
			err = errors.Join(err, fmt.Errorf("stopping the local PostgreSQL: %w", serr))
			return
		}
		progress("local PostgreSQL stopped")
	}()
	progress("PostgreSQL is running on %s and 127.0.0.1:%d", cl.SocketDir(), cl.Port())

	if err := prepareDevDatabase(ctx, cl, f.noDemo, stderr, progress); err != nil {
		if ctx.Err() != nil {
			progress("interrupted")
			return nil
		}
		return err
	}

	sf := serveFlags{
		config:    cfgFile,
		listen:    f.listen,
		upstream:  cl.SocketURL(cl.Superuser(), devDatabase),
		adminHTTP: f.adminHTTP,
		logLevel:  f.logLevel,
		maxProcs:  -1, // the file's max_procs, as `pgwarp serve` without --max-procs
	}
	c, err := sf.load()
	if err != nil {
		return err
	}
	progress("starting pgwarp on %s…", c.Listen)
	ready := func(srv *proxy.Server) {
		u := devClientURL(srv, c.Listen, cl.Superuser(), devDatabase)
		fmt.Fprintf(stdout, "\npgwarp is ready. Connect to the %s database through pgwarp with:\n\n    %s\n\n"+
			"for example: psql '%s'\n", devDatabase, u, u)
		if slices.Contains(c.Admin.Users, cl.Superuser()) {
			fmt.Fprintf(stdout, "admin console: psql '%s' -c 'SHOW HELP'\n",
				devClientURL(srv, c.Listen, cl.Superuser(), configs.AdminDatabase))
		}
		fmt.Fprintf(stdout, "(PostgreSQL itself listens on %s; press Ctrl-C to stop pgwarp and PostgreSQL.)\n\n",
			cl.URL(cl.Superuser(), devDatabase))
	}
	if err := serve(ctx, c, &sf, ready); err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("running the proxy: %w (is another pgwarp running? choose another address with --listen)", err)
		}
		return fmt.Errorf("running the proxy: %w", err)
	}
	return nil
}

// prepareDevDatabase creates the application database if missing, applies
// the bundled migrations and, unless noDemo, loads the demo dataset into an
// empty database.
func prepareDevDatabase(ctx context.Context, cl *pgcluster.Cluster, noDemo bool, stderr io.Writer, progress func(string, ...any)) error {
	created, err := createDevDatabase(ctx, cl)
	if err != nil {
		return err
	}
	if created {
		progress("created the database %s", devDatabase)
	}
	appURL := cl.SocketURL(cl.Superuser(), devDatabase)
	progress("applying the bundled migrations to %s…", devDatabase)
	res, err := migrations.ApplyBundled(ctx, appURL, stderr)
	if err != nil {
		return fmt.Errorf("applying the bundled migrations: %w", err)
	}
	if len(res.Applied) == 0 {
		progress("the schema is up to date")
	} else {
		progress("applied %d migration(s)", len(res.Applied))
	}
	if noDemo {
		progress("not loading the demo data (--no-demo)")
		return nil
	}
	// demo.Load is idempotent, but it is only run on an empty database:
	// a restart then costs nothing, and rows of your own are never mixed
	// with demo rows.
	empty, err := devDatabaseEmpty(ctx, appURL)
	if err != nil {
		return err
	}
	if !empty {
		progress("material_artifact already has rows: not loading the demo data again")
		return nil
	}
	progress("loading the demo data (a few thousand artifacts and a year of daily sales)…")
	start := time.Now()
	sum, err := demo.Load(ctx, appURL, demo.Options{})
	if err != nil {
		return fmt.Errorf("loading the demo data: %w", err)
	}
	progress("loaded %d demo rows in %s (sales up to %s)", sum.Total(), time.Since(start).Round(100*time.Millisecond), sum.Anchor.Format("2006-01-02"))
	return nil
}

// createDevDatabase creates the application database unless it exists and
// reports whether it did.
func createDevDatabase(ctx context.Context, cl *pgcluster.Cluster) (bool, error) {
	conn, err := devConnect(ctx, cl.SocketURL(cl.Superuser(), "postgres"))
	if err != nil {
		return false, err
	}
	defer devClose(conn)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", devDatabase).Scan(&exists); err != nil {
		return false, fmt.Errorf("looking for the database %s: %w", devDatabase, err)
	}
	if exists {
		return false, nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{devDatabase}.Sanitize()); err != nil {
		return false, fmt.Errorf("creating the database %s: %w", devDatabase, err)
	}
	return true, nil
}

// devDatabaseEmpty reports whether material_artifact has no rows.
func devDatabaseEmpty(ctx context.Context, databaseURL string) (bool, error) {
	conn, err := devConnect(ctx, databaseURL)
	if err != nil {
		return false, err
	}
	defer devClose(conn)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM material_artifact)").Scan(&exists); err != nil {
		return false, fmt.Errorf("looking for demo data: %w", err)
	}
	return !exists, nil
}

func devConnect(ctx context.Context, databaseURL string) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, devConnectTimeout)
	defer cancel()
	conn, err := pgx.Connect(cctx, databaseURL)
	if err != nil {
		return nil, fmt.Errorf("connecting to the local PostgreSQL: %w", err)
	}
	return conn, nil
}

func devClose(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

// devClientURL is the URL clients use to reach database through pgwarp.
// It prefers the address the proxy actually listens on (which differs from
// listen when listen has port 0) and shows a wildcard host as 127.0.0.1.
func devClientURL(srv *proxy.Server, listen, user, database string) string {
	addr := listen
	// serve calls ready just after handing the listener to Serve, which
	// records it a moment later.
	for deadline := time.Now().Add(devAddrWait); ; time.Sleep(5 * time.Millisecond) {
		if a := srv.Addr(); a != nil {
			addr = a.String()
			break
		}
		if time.Now().After(deadline) {
			break
		}
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = "127.0.0.1", "6432"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	u := url.URL{Scheme: "postgres", User: url.User(user), Host: net.JoinHostPort(host, port), Path: "/" + database}
	return u.String()
}
