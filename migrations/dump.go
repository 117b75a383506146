package migrations

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
)

// Dump returns the database's schema in the form `dbmate dump` writes to
// db/schema.sql, byte for byte: the output of pg_dump --schema-only
// --no-privileges --no-owner (restricted to the URL's search_path schemas,
// if any), then an INSERT of every applied version into schema_migrations,
// with pg_dump's leading comment lines removed. Like dbmate, it creates
// schema_migrations first if it is missing. extraArgs go to pg_dump before
// the connection string.
func (r *Runner) Dump(ctx context.Context, extraArgs ...string) ([]byte, error) {
	conn, err := r.connect(ctx, "")
	if err != nil {
		return nil, err
	}
	defer closeConn(conn)
	t, err := r.locateTables(ctx, conn)
	if err != nil {
		return nil, err
	}
	if exists, err := tableExists(ctx, conn, t.migrations); err != nil {
		return nil, err
	} else if !exists {
		cctx, cancel := context.WithTimeout(ctx, r.cfg.TransactionTimeout)
		_, err := conn.Exec(cctx, "CREATE TABLE IF NOT EXISTS "+t.migrations+" (version varchar PRIMARY KEY)")
		cancel()
		if err != nil {
			return nil, fmt.Errorf("creating %s: %w", t.migrations, err)
		}
	}
	schema, err := r.pgDump(ctx, extraArgs)
	if err != nil {
		return nil, err
	}
	versions, err := dumpVersions(ctx, conn, t)
	if err != nil {
		return nil, err
	}
	return trimLeadingComments(append(schema, versions...))
}

// dumpVersions renders the applied versions as dbmate appends them to its
// schema file.
func dumpVersions(ctx context.Context, conn *pgx.Conn, t tables) ([]byte, error) {
	var table string
	if err := conn.QueryRow(ctx, "SELECT quote_ident($1) || '.' || quote_ident('schema_migrations')", t.schema).Scan(&table); err != nil {
		return nil, fmt.Errorf("quoting the migrations table: %w", err)
	}
	rows, err := conn.Query(ctx, "SELECT quote_literal(version) FROM "+t.migrations+" ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", t.migrations, err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", t.migrations, err)
	}
	var b bytes.Buffer
	b.WriteString("\n--\n-- Dbmate schema migrations\n--\n\n")
	if len(versions) > 0 {
		b.WriteString("INSERT INTO " + table + " (version) VALUES\n    (" + strings.Join(versions, "),\n    (") + ");\n")
	}
	return b.Bytes(), nil
}

// pgxOnlyParams are connection URL parameters pgx understands and libpq
// (pg_dump) rejects.
var pgxOnlyParams = []string{
	"search_path", "binary_parameters", "statement_cache_capacity", "description_cache_capacity",
	"default_query_exec_mode", "min_read_buffer_size", "pool_max_conns", "pool_min_conns",
	"pool_min_idle_conns", "pool_max_conn_lifetime", "pool_max_conn_idle_time",
	"pool_health_check_period", "pool_max_conn_lifetime_jitter",
}

// pgDump runs pg_dump on the runner's database. The password travels in
// PGPASSWORD rather than on the command line.
func (r *Runner) pgDump(ctx context.Context, extraArgs []string) ([]byte, error) {
	args := []string{"--format=plain", "--encoding=UTF8", "--schema-only", "--no-privileges", "--no-owner"}
	if supportsRestrictKey(ctx, r.cfg.PgDump) {
		// A fixed key keeps the \restrict line stable, as dbmate does.
		args = append(args, "--restrict-key=dbmate")
	}
	connStr, password := r.cfg.URL, ""
	if u, err := url.Parse(r.cfg.URL); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		for _, s := range strings.Split(q.Get("search_path"), ",") {
			if s = strings.TrimSpace(s); s != "" {
				args = append(args, "--schema", s)
			}
		}
		for _, p := range pgxOnlyParams {
			q.Del(p)
		}
		u.RawQuery = q.Encode()
		if pw, ok := u.User.Password(); ok {
			password = pw
			u.User = url.User(u.User.Username())
		}
		connStr = u.String()
	}
	args = append(args, extraArgs...)
	args = append(args, connStr)

	dctx, cancel := context.WithTimeout(ctx, r.cfg.StatementTimeout)
	defer cancel()
	cmd := exec.CommandContext(dctx, r.cfg.PgDump, args...)
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = os.Environ()
	if password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+password)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("pg_dump: %s", msg)
		}
		var ee *exec.Error
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("pg_dump is needed for dump: %w", err)
		}
		return nil, fmt.Errorf("pg_dump: %w", err)
	}
	return stdout.Bytes(), nil
}

var pgDumpVersionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)\.(\d+)`)

// supportsRestrictKey reports whether pg_dump has --restrict-key, added by
// the August 2025 minor releases (CVE-2025-8714).
func supportsRestrictKey(ctx context.Context, pgDump string) bool {
	vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(vctx, pgDump, "--version").Output()
	if err != nil {
		return false
	}
	m := pgDumpVersionRE.FindSubmatch(out)
	if m == nil {
		return false
	}
	major, _ := strconv.Atoi(string(m[1]))
	minor, _ := strconv.Atoi(string(m[2]))
	fixed := map[int]int{17: 6, 16: 10, 15: 14, 14: 19, 13: 22}
	if major > 17 {
		return true
	}
	first, ok := fixed[major]
	return ok && minor >= first
}

// trimLeadingComments drops the blank and "--" lines at the top of a dump
// (they name host and versions) and trailing blanks of every line, as
// dbmate does.
func trimLeadingComments(data []byte) ([]byte, error) {
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	preamble := true
	for sc.Scan() {
		line := sc.Bytes()
		if preamble && (len(line) == 0 || bytes.HasPrefix(line, []byte("--"))) {
			continue
		}
		preamble = false
		out.Write(bytes.TrimRightFunc(line, unicode.IsSpace))
		out.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading pg_dump output: %w", err)
	}
	return out.Bytes(), nil
}
