// Command pgwarp-bench measures pgwarp against itself in one run, for the
// comparisons ../shared/bench/peers.sh cannot make: two configurations of
// pgwarp side by side (policies on and off, tracing on and off), and
// thousands of idle client connections held open.
//
// It starts a throwaway PostgreSQL cluster (pgbench -i), runs pgwarp
// (bin/pgwarp) as child processes on loopback ports, and drives them with
// pgbench. Results are ratios measured in the same run, printed as a
// Markdown table; absolute numbers on a shared machine mean little.
//
//	pgwarp-bench ab   --a-config off.yaml --b-config on.yaml [--mode simple|prepared] [--connect] [--b-during CMD]
//	pgwarp-bench idle --idle 10000 --active 16
//	pgwarp-bench mixed --writes 10   (dashboard reads and writes, direct vs pgwarp's cache)
//	pgwarp-bench relay --model goroutines|rawread|epoll   (a bare TCP relay for peers.sh: an I/O model's ceiling)
//	pgwarp-bench canned --listen ADDR   (one fixed answer to every query: the floor of a cache hit's latency)
//	pgwarp-bench nullotlp [--save DIR]   (an OTLP/HTTP receiver that discards, optionally keeping what it got)
//	pgwarp-bench replay --dir DIR        (sends what nullotlp kept to a collector at the recorded pace)
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgwarp/pgwarp/internal/pgcluster"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: pgwarp-bench ab|canned|idle|mixed|nullotlp|relay|replay [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "ab":
		err = runAB(os.Args[2:])
	case "canned":
		err = runCanned(os.Args[2:])
	case "idle":
		err = runIdle(os.Args[2:])
	case "mixed":
		err = runMixed(os.Args[2:])
	case "nullotlp":
		err = runNullOTLP(os.Args[2:])
	case "relay":
		err = runRelay(os.Args[2:])
	case "replay":
		err = runReplay(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgwarp-bench:", err)
		os.Exit(1)
	}
}

// env is the benchmark's world: a cluster and the pgwarp binary.
type env struct {
	cluster *pgcluster.Cluster
	pgwarp  string
	pgbench string
	dir     string
}

func setup(scale int) (*env, error) {
	dir, err := os.MkdirTemp("", "pgwarp-bench-")
	if err != nil {
		return nil, err
	}
	c, err := pgcluster.New(pgcluster.Options{Dir: dir, Fast: true, Settings: map[string]string{
		"max_connections": "300", "shared_buffers": "512MB", "autovacuum": "off", "jit": "off"}})
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	if err := c.Init(ctx); err != nil {
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	pgbench, err := pgcluster.ClientBin(c.BinDir(), "pgbench")
	if err != nil {
		return nil, err
	}
	bin, _ := filepath.Abs("bin/pgwarp")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("build pgwarp first (make build): %w", err)
	}
	e := &env{cluster: c, pgwarp: bin, pgbench: pgbench, dir: dir}
	out, err := exec.Command(pgbench, "-i", "-q", "-s", strconv.Itoa(scale), c.URL(c.Superuser(), "postgres")).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("pgbench -i: %v\n%s", err, out)
	}
	return e, nil
}

func (e *env) close() {
	_ = e.cluster.Remove()
}

// pgwarp is one running pgwarp process.
type pgwarp struct {
	cmd  *exec.Cmd
	port int
}

// start runs pgwarp serve with the config file (which must not set
// listen or databases) plus a listen port and the cluster as upstream.
func (e *env) start(configFile string, extra ...string) (*pgwarp, error) {
	port, err := pgcluster.FreePort()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--upstream", e.cluster.URL(e.cluster.Superuser(), "postgres"), "--admin-http", "off", "--log-level", "warn"}
	if configFile != "" {
		args = append(args, "--config", configFile)
	}
	args = append(args, extra...)
	cmd := exec.Command(e.pgwarp, args...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &pgwarp{cmd: cmd, port: port}
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return p, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop()
	return nil, errors.New("pgwarp did not start")
}

func (p *pgwarp) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
	}
}

func (p *pgwarp) rssKiB() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

var (
	tpsRe = regexp.MustCompile(`tps = ([0-9.]+) \((?:without|including)`)
	latRe = regexp.MustCompile(`latency average = ([0-9.]+) ms`)
)

// pgbench runs pgbench -S against port and returns TPS and mean latency.
func (e *env) pgbenchRun(port, clients int, duration time.Duration, mode string, connect bool, password string) (float64, float64, error) {
	args := []string{"-n", "-S", "-M", mode, "-c", strconv.Itoa(clients), "-j", "2", "-T", strconv.Itoa(int(duration.Seconds())),
		"-h", "127.0.0.1", "-p", strconv.Itoa(port), "-U", e.cluster.Superuser(), "postgres"}
	if connect {
		args = append(args, "-C")
	}
	cmd := exec.Command(e.pgbench, args...)
	if password != "" {
		cmd.Env = append(os.Environ(), "PGPASSWORD="+password)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("pgbench: %v\n%s", err, out)
	}
	m := tpsRe.FindSubmatch(out)
	l := latRe.FindSubmatch(out)
	if m == nil || l == nil {
		return 0, 0, fmt.Errorf("pgbench output without tps:\n%s", out)
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	lat, _ := strconv.ParseFloat(string(l[1]), 64)
	return tps, lat, nil
}

// startBeside starts a shell command in a process group of its own and
// returns a function that stops the group and waits for it. An empty
// command starts nothing.
func startBeside(command string) (func(), error) {
	if command == "" {
		return func() {}, nil
	}
	cmd := exec.Command("sh", "-c", command)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		_ = cmd.Wait()
	}, nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func runAB(args []string) error {
	fs := flag.NewFlagSet("ab", flag.ExitOnError)
	aConfig := fs.String("a-config", "", "pgwarp config file for A (may be empty)")
	bConfig := fs.String("b-config", "", "pgwarp config file for B")
	aName := fs.String("a-name", "A", "name of A")
	bName := fs.String("b-name", "B", "name of B")
	mode := fs.String("mode", "simple", "pgbench -M")
	connect := fs.Bool("connect", false, "pgbench -C (a connection per transaction)")
	password := fs.String("password", "", "PGPASSWORD for pgbench (SCRAM runs)")
	clients := fs.Int("clients", 16, "pgbench clients")
	scale := fs.Int("scale", 10, "pgbench scale")
	duration := fs.Duration("duration", 10*time.Second, "per run")
	rounds := fs.Int("rounds", 3, "runs of each, interleaved")
	bDuring := fs.String("b-during", "", "shell command run beside each B run, stopped after it (e.g. a replay of spans into a collector)")
	_ = fs.Parse(args)
	e, err := setup(*scale)
	if err != nil {
		return err
	}
	defer e.close()
	a, err := e.start(*aConfig)
	if err != nil {
		return err
	}
	defer a.stop()
	b, err := e.start(*bConfig)
	if err != nil {
		return err
	}
	defer b.stop()
	var at, bt, al, bl []float64
	for i := 0; i < *rounds; i++ {
		for _, side := range []struct {
			p      *pgwarp
			tps    *[]float64
			lat    *[]float64
			during string
		}{{a, &at, &al, ""}, {b, &bt, &bl, *bDuring}} {
			stop, err := startBeside(side.during)
			if err != nil {
				return err
			}
			tps, lat, err := e.pgbenchRun(side.p.port, *clients, *duration, *mode, *connect, *password)
			stop()
			if err != nil {
				return err
			}
			*side.tps, *side.lat = append(*side.tps, tps), append(*side.lat, lat)
		}
	}
	fmt.Printf("| workload | %s tps | %s tps | %s/%s tps | %s lat ms | %s lat ms |\n|---|---|---|---|---|---|\n", *aName, *bName, *bName, *aName, *aName, *bName)
	w := "pgbench -S -M " + *mode
	if *connect {
		w += " -C"
	}
	fmt.Printf("| %s, %d clients, %d×%s | %.0f | %.0f | x%.3f | %.3f | %.3f |\n", w, *clients, *rounds, *duration,
		median(at), median(bt), median(bt)/median(at), median(al), median(bl))
	return nil
}

func runIdle(args []string) error {
	fs := flag.NewFlagSet("idle", flag.ExitOnError)
	idle := fs.Int("idle", 10000, "idle client connections to hold")
	active := fs.Int("active", 16, "pgbench clients measured meanwhile")
	duration := fs.Duration("duration", 10*time.Second, "per pgbench run")
	config := fs.String("config", "", "pgwarp config file")
	_ = fs.Parse(args)
	e, err := setup(10)
	if err != nil {
		return err
	}
	defer e.close()
	p, err := e.start(*config, "--pool-size", "20")
	if err != nil {
		return err
	}
	defer p.stop()
	tps0, lat0, err := e.pgbenchRun(p.port, *active, *duration, "simple", false, "")
	if err != nil {
		return err
	}
	rss0 := p.rssKiB()
	conns := make([]*pgconn.PgConn, 0, *idle)
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	url := fmt.Sprintf("postgres://%s@127.0.0.1:%d/postgres?sslmode=disable", e.cluster.Superuser(), p.port)
	start := time.Now()
	var failed int
	for i := 0; i < *idle; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := pgconn.Connect(ctx, url)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				return
			}
			conns = append(conns, c)
		}()
	}
	wg.Wait()
	opened := time.Since(start)
	time.Sleep(2 * time.Second)
	rss1 := p.rssKiB()
	tps1, lat1, err := e.pgbenchRun(p.port, *active, *duration, "simple", false, "")
	if err != nil {
		return err
	}
	rss2 := p.rssKiB()
	for _, c := range conns {
		c.Close(context.Background())
	}
	per := float64(rss1-rss0) * 1024 / float64(max(len(conns), 1))
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	fmt.Fprintf(w, "| measure | value |\n|---|---|\n")
	fmt.Fprintf(w, "| idle connections held | %d (failed %d), opened in %s |\n", len(conns), failed, opened.Round(time.Millisecond))
	fmt.Fprintf(w, "| pgwarp RSS before | %.1f MiB |\n", float64(rss0)/1024)
	fmt.Fprintf(w, "| pgwarp RSS with them held | %.1f MiB (%.1f MiB after the active run) |\n", float64(rss1)/1024, float64(rss2)/1024)
	fmt.Fprintf(w, "| cost per idle connection | %.1f KiB |\n", per/1024)
	fmt.Fprintf(w, "| active pgbench -S, %d clients, before | %.0f tps, %.3f ms |\n", *active, tps0, lat0)
	fmt.Fprintf(w, "| active pgbench -S, %d clients, while held | %.0f tps, %.3f ms (latency x%.2f) |\n", *active, tps1, lat1, lat1/lat0)
	return nil
}

// runMixed compares direct PostgreSQL with pgwarp (cache on) on a dashboard
// workload where a share of the transactions write to the tables the
// dashboard reads: the cache must stay exact (every write invalidates what
// it touches) and still pay.
func runMixed(args []string) error {
	fs := flag.NewFlagSet("mixed", flag.ExitOnError)
	writes := fs.Int("writes", 10, "percent of transactions that write")
	writeKind := fs.String("write", "update", "the write: update (UPDATE of one row by artifact and a computed day) or upsert (INSERT … ON CONFLICT DO UPDATE of one row)")
	clients := fs.Int("clients", 16, "pgbench clients")
	duration := fs.Duration("duration", 10*time.Second, "per run")
	rounds := fs.Int("rounds", 3, "runs of each, interleaved")
	warmup := fs.Duration("warmup", 10*time.Second, "an untimed run of the workload against each target before the rounds, so that they measure a steady state: PostgreSQL's buffers and pgwarp's cache warm (0: none)")
	config := fs.String("config", "", "pgwarp config file (cache on)")
	rate := fs.Int("rate", 10000, "transactions per second of the fixed-rate latency runs")
	dataset := fs.String("dataset", "peers", "the dashboard tables: peers (the shape and size of peers.sh's default dashboard dataset: 20,000 artifacts, 5,500 of them with 365 days of sales, stored day by day) or compact (5,000 artifacts, 1,500 × 120 days, stored artifact by artifact)")
	_ = fs.Parse(args)
	e, err := setup(1)
	if err != nil {
		return err
	}
	defer e.close()
	psql, err := pgcluster.ClientBin(e.cluster.BinDir(), "psql")
	if err != nil {
		return err
	}
	ds, ok := mixedDatasets[*dataset]
	if !ok {
		return fmt.Errorf("--dataset %q: want peers or compact", *dataset)
	}
	if *writeKind != "update" && *writeKind != "upsert" {
		return fmt.Errorf("--write %q: want update or upsert", *writeKind)
	}
	loadStart := time.Now()
	if out, err := exec.Command(psql, "-q", "-v", "ON_ERROR_STOP=1", "-c", ds.load(), "-c", "VACUUM ANALYZE", e.cluster.URL(e.cluster.Superuser(), "postgres")).CombinedOutput(); err != nil {
		return fmt.Errorf("loading the dashboard tables: %v\n%s", err, out)
	}
	fmt.Printf("dataset %s: %s, loaded in %s\n\n", *dataset, ds.describe(), time.Since(loadStart).Round(time.Second))
	read := filepath.Join(e.dir, "read.sql")
	write := filepath.Join(e.dir, "write.sql")
	if err := os.WriteFile(read, []byte(fmt.Sprintf("\\set aid random(1, %d)\n%s;\n", ds.salesArtifacts, ds.read("A:aid"))), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(write, []byte(fmt.Sprintf("\\set aid random(1, %d)\n\\set d random(0, %d)\n%s;\n", ds.salesArtifacts, ds.days-1, ds.write(*writeKind))), 0o644); err != nil {
		return err
	}
	p, err := e.start(*config, "--cache", "on", "--pool-size", strconv.Itoa(*clients))
	if err != nil {
		return err
	}
	defer p.stop()
	var dt, pt, dl, pl []float64
	var totalChecks, totalStale int64
	run := func(port int, d time.Duration) (float64, float64, error) {
		cmd := exec.Command(e.pgbench, "-n", "-M", "simple", "-c", strconv.Itoa(*clients), "-j", "2", "-T", strconv.Itoa(int(d.Seconds())),
			"-f", fmt.Sprintf("%s@%d", read, 100-*writes), "-f", fmt.Sprintf("%s@%d", write, *writes),
			"-h", "127.0.0.1", "-p", strconv.Itoa(port), "-U", e.cluster.Superuser(), "postgres")
		var chk *staleChecker
		if port == p.port {
			// Alongside pgbench, a checker writes an artifact nobody else
			// touches through pgwarp and reads it back with the same
			// dashboard statement: every read must include every write
			// acknowledged before it.
			if chk, err = startStaleChecker(ds, fmt.Sprintf("postgres://%s@127.0.0.1:%d/postgres?sslmode=disable", e.cluster.Superuser(), port)); err != nil {
				return 0, 0, err
			}
		}
		out, err := cmd.CombinedOutput()
		if chk != nil {
			checks, stale, cerr := chk.stop()
			if cerr != nil {
				return 0, 0, cerr
			}
			totalChecks += checks
			totalStale += stale
		}
		if err != nil {
			return 0, 0, fmt.Errorf("pgbench: %v\n%s", err, out)
		}
		m, l := tpsRe.FindSubmatch(out), latRe.FindSubmatch(out)
		if m == nil || l == nil {
			return 0, 0, fmt.Errorf("pgbench output without tps:\n%s", out)
		}
		tps, _ := strconv.ParseFloat(string(m[1]), 64)
		lat, _ := strconv.ParseFloat(string(l[1]), 64)
		return tps, lat, nil
	}
	if *warmup >= time.Second {
		for _, port := range []int{e.cluster.Port(), p.port} {
			if _, _, err := run(port, *warmup); err != nil {
				return err
			}
		}
	}
	for i := 0; i < *rounds; i++ {
		tps, lat, err := run(e.cluster.Port(), *duration)
		if err != nil {
			return err
		}
		dt, dl = append(dt, tps), append(dl, lat)
		if tps, lat, err = run(p.port, *duration); err != nil {
			return err
		}
		pt, pl = append(pt, tps), append(pl, lat)
		fmt.Fprintf(os.Stderr, "round %d: direct %.0f tps, pgwarp %.0f tps (x%.2f)\n", i+1, dt[i], pt[i], pt[i]/dt[i])
	}
	fmt.Printf("| workload | direct tps | pgwarp (cache) tps | pgwarp/direct tps | direct lat ms | pgwarp lat ms |\n|---|---|---|---|---|---|\n")
	fmt.Printf("| dashboard point query, %d%% writes (%s) to the same tables, %d clients, %d×%s after a %s warm-up | %.0f | %.0f | x%.2f | %.3f | %.3f |\n",
		*writes, *writeKind+", "+*dataset, *clients, *rounds, *duration, *warmup, median(dt), median(pt), median(pt)/median(dt), median(dl), median(pl))
	fmt.Printf("\nstale reads: %d in %d write-then-read checks through pgwarp during its runs\n", totalStale, totalChecks)

	// Cache-hit latency: the read alone through pgwarp (the entries are
	// warm from the runs above), every transaction logged by pgbench; at
	// full speed, and at a fixed rate beside PostgreSQL's cheapest query
	// (SELECT 1, direct) at the same rate, which is the floor this machine
	// allows.
	one := filepath.Join(e.dir, "one.sql")
	if err := os.WriteFile(one, []byte("SELECT 1;\n"), 0o644); err != nil {
		return err
	}
	fmt.Printf("\n| latency run (%d clients, %s) | tps | p50 ms | p99 ms | p99.9 ms |\n|---|---|---|---|---|\n", *clients, *duration)
	for i, lr := range []struct {
		name   string
		port   int
		script string
		rate   int
	}{
		{"pgwarp, cached dashboard read, full speed", p.port, read, 0},
		{fmt.Sprintf("pgwarp, cached dashboard read, %d/s", *rate), p.port, read, *rate},
		{fmt.Sprintf("direct PostgreSQL, SELECT 1, %d/s", *rate), e.cluster.Port(), one, *rate},
	} {
		logDir := filepath.Join(e.dir, fmt.Sprintf("latency%d", i))
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			return err
		}
		args := []string{"-n", "-M", "simple", "-c", strconv.Itoa(*clients), "-j", "2", "-T", strconv.Itoa(int(duration.Seconds())),
			"-f", lr.script, "-l", "--log-prefix", filepath.Join(logDir, "lat"),
			"-h", "127.0.0.1", "-p", strconv.Itoa(lr.port), "-U", e.cluster.Superuser(), "postgres"}
		if lr.rate > 0 {
			args = append(args, "-R", strconv.Itoa(lr.rate))
		}
		out, err := exec.Command(e.pgbench, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("pgbench (latency run): %v\n%s", err, out)
		}
		m := tpsRe.FindSubmatch(out)
		if m == nil {
			return fmt.Errorf("pgbench output without tps:\n%s", out)
		}
		lats, err := readLatencies(logDir)
		if err != nil {
			return err
		}
		fmt.Printf("| %s | %s | %.3f | %.3f | %.3f |\n", lr.name, m[1], percentile(lats, 50), percentile(lats, 99), percentile(lats, 99.9))
	}
	return nil
}

// readLatencies reads the per-transaction latencies (ms) of pgbench -l
// logs in dir: "client_id transaction_no time script_no time_epoch
// time_us", time in microseconds.
func readLatencies(dir string) ([]float64, error) {
	files, err := filepath.Glob(filepath.Join(dir, "lat*"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no pgbench logs in %s: %v", dir, err)
	}
	var out []float64
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(b), "\n") {
			fields := strings.Fields(line)
			if len(fields) < 3 {
				continue
			}
			us, err := strconv.ParseFloat(fields[2], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %q: %v", f, line, err)
			}
			out = append(out, us/1000)
		}
	}
	sort.Float64s(out)
	return out, nil
}

// percentile returns the p-th percentile of sorted xs.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	i := int(float64(len(xs)-1) * p / 100)
	return xs[i]
}

// staleChecker writes artifact A0, which pgbench never touches, through
// pgwarp and reads it back through pgwarp with the dashboard's statement,
// counting reads that miss a write acknowledged before them.
type staleChecker struct {
	stopc         chan struct{}
	done          chan struct{}
	checks, stale int64
	err           error
}

func startStaleChecker(ds mixedDataset, url string) (*staleChecker, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	// exec1 returns column col of the first row of the last result.
	exec1 := func(sql string, col int) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := conn.Exec(ctx, sql).ReadAll()
		if err != nil {
			return "", err
		}
		if len(res) == 0 || len(res[len(res)-1].Rows) == 0 || len(res[len(res)-1].Rows[0]) <= col {
			return "", nil
		}
		return string(res[len(res)-1].Rows[0][col]), nil
	}
	if _, err := exec1(`INSERT INTO material_artifact (artifact_identifier, title) VALUES ('A0', 'checker') ON CONFLICT DO NOTHING;
		INSERT INTO sales_measurement_dataset VALUES ('A0', date '`+anchor+`' - 5, 0, 0) ON CONFLICT DO NOTHING`, 0); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	c := &staleChecker{stopc: make(chan struct{}), done: make(chan struct{})}
	// The dashboard read of A0; its third column is the units total.
	read := ds.read("A0")
	go func() {
		defer close(c.done)
		defer conn.Close(context.Background())
		for {
			select {
			case <-c.stopc:
				return
			default:
			}
			// Read twice so that the second read can be a cache hit.
			for range 2 {
				if _, err := exec1(read, 2); err != nil {
					c.err = err
					return
				}
			}
			acked, err := exec1(`UPDATE sales_measurement_dataset SET units = units + 1 WHERE artifact_identifier = 'A0' AND day = date '`+anchor+`' - 5 RETURNING units`, 0)
			if err != nil {
				c.err = err
				return
			}
			got, err := exec1(read, 2)
			if err != nil {
				c.err = err
				return
			}
			c.checks++
			a, _ := strconv.ParseInt(acked, 10, 64)
			g, _ := strconv.ParseInt(got, 10, 64)
			if g < a {
				c.stale++
			}
		}
	}()
	return c, nil
}

func (c *staleChecker) stop() (checks, stale int64, err error) {
	close(c.stopc)
	<-c.done
	return c.checks, c.stale, c.err
}
