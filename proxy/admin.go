package proxy

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pgwarp/pgwarp/pool"
)

// ResultSet is a result the admin console returns: text columns, so psql
// shows it as a table.
type ResultSet struct {
	Columns []string
	Rows    [][]string
	// Tag is the CommandComplete tag; empty means "SHOW".
	Tag string
}

// AdminCommand runs a console command that another package provides (SHOW
// CACHE, CACHE PURGE, SHOW POLICY…). args are the words after the command's
// name.
type AdminCommand func(args []string) (*ResultSet, error)

// startAdmin authenticates an admin console user and greets them. Only
// users listed in admin.users get in; they are verified like any client
// (SCRAM or md5 against auth.users, or with passthrough by the upstream of
// the first configured database).
func (s *Session) startAdmin(cfg *Config) error {
	s.admin = true
	if !slices.Contains(cfg.AdminUsers, s.user) {
		return newFatal(CodeInvalidAuthSpec, "user %q may not use the admin console", s.user).
			withHint("list the user in admin.users in pgwarp.yaml")
	}
	if e := s.srv.admit(s, nil); e != nil {
		return e
	}
	switch {
	case cfg.Auth.Users[s.user] != nil && cfg.Auth.Method == AuthMD5:
		if err := s.authMD5(cfg); err != nil {
			return err
		}
	case cfg.Auth.Users[s.user] != nil:
		if err := s.authSCRAM(cfg); err != nil {
			return err
		}
	case cfg.Auth.Method == AuthTrust:
		if !cfg.Auth.TrustRemote && !isLoopback(s.raw) {
			return newFatal(CodeInvalidAuthSpec, "trust authentication is only allowed from loopback addresses")
		}
	case cfg.Auth.Method == AuthPassthrough:
		names := make([]string, 0, len(cfg.Databases))
		for n := range cfg.Databases {
			names = append(names, n)
		}
		sort.Strings(names)
		db := cfg.Databases[names[0]]
		s.dbp.Store(db)
		s.mode = PoolTransaction
		if db.Name == "*" && db.Upstream.Database != "" {
			s.database = db.Upstream.Database
		}
		b, err := s.authPassthrough(cfg)
		s.database = AdminDatabaseName
		s.dbp.Store(nil)
		if err != nil {
			return err
		}
		if b != nil {
			_ = b.Close()
		}
	default:
		return s.badPassword()
	}
	s.srv.registerKey(s, 0)
	var msg []byte
	msg = appendAuth(msg, authOK, nil)
	for _, kv := range [][2]string{
		{"server_version", "15.0 (pgwarp " + cfg.Version + ")"},
		{"server_encoding", "UTF8"}, {"client_encoding", "UTF8"},
		{"DateStyle", "ISO, MDY"}, {"integer_datetimes", "on"},
		{"standard_conforming_strings", "on"}, {"application_name", fmt.Sprint(s.appName.Load())},
	} {
		msg = appendParameterStatus(msg, kv[0], kv[1])
	}
	msg = appendBackendKeyData(msg, s.keyPID, s.keySecret)
	msg = appendReadyForQuery(msg, txIdle)
	_ = s.conn.SetDeadline(time.Time{})
	s.setState(sessionStateIdle)
	s.logInfo("admin console opened")
	return s.writeClient(msg)
}

// adminLoop serves the admin console: simple queries only.
func (s *Session) adminLoop() error {
	for {
		typ, body, err := s.rd.next()
		if err != nil {
			return err
		}
		switch typ {
		case msgTerminate:
			return errTerminate
		case msgQuery:
			q, _, _ := readCString(body)
			s.queries.Add(1)
			s.runAdmin(q)
		case msgSync:
			s.skipToSync = false
			_ = s.writeClient(appendReadyForQuery(nil, txIdle))
		case msgFlush:
		default:
			if !s.skipToSync {
				s.skipToSync = true
				_ = s.writeClient(appendErrorResponse(nil, newError(CodeFeatureNotSupported,
					"the admin console supports only the simple query protocol").withHint("use psql, or pgx's QueryExecModeSimpleProtocol")))
			}
		}
	}
}

// runAdmin executes one console command string (several commands separated
// by semicolons are run in turn).
func (s *Session) runAdmin(q string) {
	var out []byte
	ran := false
	for _, stmt := range strings.Split(q, ";") {
		words := strings.Fields(stmt)
		if len(words) == 0 {
			continue
		}
		ran = true
		rs, err := s.srv.adminCommand(words)
		if err != nil {
			e, ok := asError(err)
			if !ok {
				e = newError(CodeInternalError, "%v", err)
			}
			out = appendErrorResponse(out, e)
			break
		}
		out = appendResultSet(out, rs)
	}
	if !ran {
		out = append(out, msgEmptyQuery, 0, 0, 0, 4)
	}
	out = appendReadyForQuery(out, txIdle)
	_ = s.writeClient(out)
}

func appendResultSet(dst []byte, rs *ResultSet) []byte {
	tag := rs.Tag
	if len(rs.Columns) > 0 {
		dst, at := beginMsg(dst, msgRowDescription)
		dst = appendInt16(dst, int16(len(rs.Columns)))
		for _, c := range rs.Columns {
			dst = appendCString(dst, c)
			dst = appendInt32(dst, 0)  // table oid
			dst = appendInt16(dst, 0)  // column number
			dst = appendInt32(dst, 25) // text
			dst = appendInt16(dst, -1)
			dst = appendInt32(dst, -1)
			dst = appendInt16(dst, 0)
		}
		dst = finishMsg(dst, at)
		for _, row := range rs.Rows {
			var at int
			dst, at = beginMsg(dst, msgDataRow)
			dst = appendInt16(dst, int16(len(row)))
			for _, v := range row {
				dst = appendInt32(dst, int32(len(v)))
				dst = append(dst, v...)
			}
			dst = finishMsg(dst, at)
		}
		if tag == "" {
			tag = "SHOW"
		}
		if tag == "SHOW" || tag == "SELECT" {
			tag = fmt.Sprintf("%s %d", tag, len(rs.Rows))
			if strings.HasPrefix(tag, "SHOW") {
				tag = "SHOW"
			}
		}
		return appendCommandComplete(dst, tag)
	}
	return appendCommandComplete(dst, tag)
}

func appendCommandComplete(dst []byte, tag string) []byte {
	dst, at := beginMsg(dst, msgCommandComplete)
	dst = appendCString(dst, tag)
	return finishMsg(dst, at)
}

// adminCommand dispatches one console command.
func (srv *Server) adminCommand(words []string) (*ResultSet, error) {
	cfg := srv.config()
	upper := make([]string, len(words))
	for i, w := range words {
		upper[i] = strings.ToUpper(w)
	}
	if len(upper) == 3 && upper[0] == "SHOW" && upper[1] == "CACHE" && upper[2] == "OUTCOMES" {
		return srv.showCacheOutcomes(), nil
	}
	for n := min(len(upper), 3); n > 0; n-- {
		if cmd, ok := cfg.AdminCommands[strings.Join(upper[:n], " ")]; ok {
			return cmd(words[n:])
		}
	}
	arg := ""
	if len(words) > 1 {
		arg = words[1]
	}
	switch upper[0] {
	case "SHOW":
		if len(upper) < 2 {
			return nil, newError(CodeSyntaxError, "SHOW what? Try SHOW HELP")
		}
		switch upper[1] {
		case "POOLS":
			return srv.showPools(), nil
		case "CLIENTS":
			return srv.showClients(), nil
		case "SERVERS":
			return srv.showServers(), nil
		case "STATS":
			return srv.showStats(), nil
		case "CONFIG":
			return srv.showConfig(), nil
		case "VERSION":
			return &ResultSet{Columns: []string{"version"}, Rows: [][]string{{"pgwarp " + cfg.Version}}}, nil
		case "HELP":
			return srv.showHelp(), nil
		}
		return nil, newError(CodeSyntaxError, "unknown SHOW %s; try SHOW HELP", words[1])
	case "PAUSE", "RESUME":
		if arg != "" && resolveDatabase(cfg, arg) == nil && len(srv.poolsOf(arg)) == 0 {
			return nil, newError(CodeInvalidCatalogName, "no database %q in the configuration", arg)
		}
		pause := upper[0] == "PAUSE"
		// Remembered so that pools created later start paused too; pools
		// are looked up under srv.mu after the mark, so none is missed.
		srv.mu.Lock()
		switch {
		case arg == "":
			clear(srv.paused)
			if pause {
				srv.paused[""] = true
			}
		case pause:
			srv.paused[arg] = true
		case srv.paused[""]:
			srv.paused[arg] = false // resumed under a global PAUSE
		default:
			delete(srv.paused, arg)
		}
		srv.mu.Unlock()
		for _, p := range srv.poolsOf(arg) {
			if pause {
				p.Pause()
			} else {
				p.Resume()
			}
		}
		return &ResultSet{Tag: upper[0]}, nil
	case "RELOAD":
		if cfg.ReloadFunc == nil {
			return nil, newError(CodeFeatureNotSupported, "RELOAD is not available: pgwarp was not started from a configuration file")
		}
		if err := cfg.ReloadFunc(); err != nil {
			return nil, newError(CodeObjectNotInPrereqState, "reload failed, the previous configuration stays in force: %v", err)
		}
		return &ResultSet{Tag: "RELOAD"}, nil
	case "KILL":
		if arg == "" {
			return nil, newError(CodeSyntaxError, "KILL needs a database name")
		}
		srv.kill(arg)
		return &ResultSet{Tag: "KILL"}, nil
	case "HELP":
		return srv.showHelp(), nil
	}
	return nil, newError(CodeSyntaxError, "unknown admin command %q; try SHOW HELP", words[0])
}

func (srv *Server) showHelp() *ResultSet {
	rs := &ResultSet{Columns: []string{"command", "description"}, Rows: [][]string{
		{"SHOW POOLS", "one row per pool: clients and upstream connections"},
		{"SHOW CLIENTS", "one row per client connection"},
		{"SHOW SERVERS", "one row per upstream connection"},
		{"SHOW STATS", "totals per database"},
		{"SHOW CONFIG", "the configuration in force"},
		{"SHOW CACHE OUTCOMES", "statements per cache outcome since start: hit, miss, and why others were not cached"},
		{"SHOW VERSION", "pgwarp's version"},
		{"PAUSE [db]", "stop handing out upstream connections (all pools, or one database's)"},
		{"RESUME [db]", "undo PAUSE"},
		{"RELOAD", "reload the configuration file"},
		{"KILL db", "disconnect a database's clients and close its upstream connections"},
	}}
	cfg := srv.config()
	names := make([]string, 0, len(cfg.AdminCommands))
	for n := range cfg.AdminCommands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rs.Rows = append(rs.Rows, []string{n, "see docs/operations.md"})
	}
	return rs
}

// poolsOf returns the pools of a configured database name, or all pools for
// "".
func (srv *Server) poolsOf(db string) []*pool.Pool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	var out []*pool.Pool
	for k, p := range srv.pools {
		if db == "" || k.db == db || k.database == db {
			out = append(out, p)
		}
	}
	return out
}

// kill disconnects the clients of a database, waits (up to 5s) for their
// sessions to end and hand back their backends, then closes the idle
// backends of its pools, which now include those.
func (srv *Server) kill(db string) {
	victims := map[*Session]bool{}
	for _, sess := range srv.snapshotSessions() {
		if !sess.admin && (sess.database == db || (sess.dbc() != nil && sess.dbc().Name == db)) {
			sess.interrupt()
			victims[sess] = true
		}
	}
	for deadline := time.Now().Add(5 * time.Second); len(victims) > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		live := map[*Session]bool{}
		for _, sess := range srv.snapshotSessions() {
			if victims[sess] {
				live[sess] = true
			}
		}
		victims = live
	}
	for _, p := range srv.poolsOf(db) {
		p.CloseIdle()
	}
}

func (srv *Server) showPools() *ResultSet {
	rs := &ResultSet{Columns: []string{"database", "user", "pool_mode", "cl_active", "cl_waiting", "cl_pinned",
		"sv_active", "sv_idle", "sv_total", "max_size", "acquires", "acquire_wait_ms", "acquire_timeouts", "dial_errors", "paused"}}
	type agg struct{ active, pinned int }
	counts := map[*pool.Pool]*agg{}
	for _, sess := range srv.snapshotSessions() {
		sess.mu.Lock()
		p, leased, pinned := sess.pool, sess.lease != nil, sess.pinned
		sess.mu.Unlock()
		if p == nil {
			continue
		}
		a := counts[p]
		if a == nil {
			a = &agg{}
			counts[p] = a
		}
		if leased {
			a.active++
		}
		if pinned {
			a.pinned++
		}
	}
	srv.mu.Lock()
	keys := make([]poolKey, 0, len(srv.pools))
	for k := range srv.pools {
		keys = append(keys, k)
	}
	pools := srv.pools
	srv.mu.Unlock()
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].database != keys[j].database {
			return keys[i].database < keys[j].database
		}
		return keys[i].user < keys[j].user
	})
	cfg := srv.config()
	for _, k := range keys {
		srv.mu.Lock()
		p := pools[k]
		srv.mu.Unlock()
		if p == nil {
			continue
		}
		st := p.Stat()
		a := counts[p]
		if a == nil {
			a = &agg{}
		}
		mode := "transaction"
		if db := cfg.Databases[k.db]; db != nil {
			mode = db.Mode.String()
		}
		rs.Rows = append(rs.Rows, []string{k.database, k.user, mode, itoa(a.active), itoa(st.Waiting), itoa(a.pinned),
			itoa(st.Acquired), itoa(st.Idle), itoa(st.Total), itoa(st.MaxSize), i64(st.AcquireCount),
			i64(st.AcquireWait.Milliseconds()), i64(st.AcquireTimeouts), i64(st.DialErrors), strconv.FormatBool(st.Paused)})
	}
	return rs
}

func (srv *Server) showClients() *ResultSet {
	rs := &ResultSet{Columns: []string{"id", "user", "database", "state", "addr", "application_name", "tls",
		"connect_time", "queries", "transactions", "pinned", "pin_reason", "backend_pid"}}
	sessions := srv.snapshotSessions()
	sort.Slice(sessions, func(i, j int) bool { return sessions[i].id < sessions[j].id })
	for _, sess := range sessions {
		sess.mu.Lock()
		pinned, reason := sess.pinned, sess.pinReason
		pid := ""
		if sess.lease != nil {
			pid = strconv.FormatUint(uint64(sess.lease.Backend().PID), 10)
		}
		sess.mu.Unlock()
		rs.Rows = append(rs.Rows, []string{strconv.FormatUint(sess.id, 10), sess.user, sess.database, sess.getState().String(),
			sess.remote, fmt.Sprint(sess.appName.Load()), strconv.FormatBool(sess.tls), sess.started.UTC().Format(time.RFC3339),
			i64(sess.queries.Load()), i64(sess.transactions.Load()), strconv.FormatBool(pinned), reason, pid})
	}
	return rs
}

func (srv *Server) showServers() *ResultSet {
	rs := &ResultSet{Columns: []string{"database", "user", "state", "pid", "addr", "client_id", "connect_time", "tx_status"}}
	for _, sess := range srv.snapshotSessions() {
		sess.mu.Lock()
		if sess.lease != nil {
			b := sess.lease.Backend()
			rs.Rows = append(rs.Rows, []string{sess.upstreamDatabaseSafe(), sess.upstreamUser(), "active", strconv.FormatUint(uint64(b.PID), 10),
				b.Addr(), strconv.FormatUint(sess.id, 10), b.Created().UTC().Format(time.RFC3339), string(sess.txStatus)})
		}
		sess.mu.Unlock()
	}
	srv.mu.Lock()
	keys := make([]poolKey, 0, len(srv.pools))
	pools := make([]*pool.Pool, 0, len(srv.pools))
	for k, p := range srv.pools {
		keys = append(keys, k)
		pools = append(pools, p)
	}
	srv.mu.Unlock()
	for i, p := range pools {
		for _, b := range p.IdleBackends() {
			rs.Rows = append(rs.Rows, []string{keys[i].database, keys[i].user, "idle", strconv.FormatUint(uint64(b.PID), 10),
				b.Addr, "", b.Created.UTC().Format(time.RFC3339), "I"})
		}
	}
	return rs
}

func (s *Session) upstreamDatabaseSafe() string {
	if s.dbc() == nil {
		return s.database
	}
	return s.upstreamDatabase()
}

func (srv *Server) showStats() *ResultSet {
	rs := &ResultSet{Columns: []string{"database", "clients", "total_query_count", "total_xact_count", "wrapped_writes"}}
	type agg struct {
		clients                 int
		queries, xacts, wrapped int64
	}
	per := map[string]*agg{}
	// Live sessions and the totals of ended ones are read under one hold
	// of srv.mu, which removeSession takes to move a session from one to
	// the other: none is counted twice or missed.
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for _, sess := range srv.sessions {
		if sess.admin || sess.getState() < sessionStateIdle {
			continue
		}
		a := per[sess.database]
		if a == nil {
			a = &agg{}
			per[sess.database] = a
		}
		a.clients++
		a.queries += sess.queries.Load()
		a.xacts += sess.transactions.Load()
		a.wrapped += sess.wrapped.Load()
	}
	for n, t := range srv.endedStats {
		a := per[n]
		if a == nil {
			a = &agg{}
			per[n] = a
		}
		a.queries += t[0]
		a.xacts += t[1]
		a.wrapped += t[2]
	}
	names := make([]string, 0, len(per))
	for n := range per {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a := per[n]
		rs.Rows = append(rs.Rows, []string{n, itoa(a.clients), i64(a.queries), i64(a.xacts), i64(a.wrapped)})
	}
	// The last row: clients now connected, and the totals since start.
	st := &srv.stats
	rs.Rows = append(rs.Rows, []string{"(total since start)", i64(srv.clients.Load()), i64(st.queries.Load()), i64(st.transactions.Load()), i64(st.wrappedWrites.Load())})
	if srv.policy != nil {
		// Policy violations (enforced and warned) per database.
		per := map[string]int64{}
		for _, s := range srv.policy.Stats().Series {
			per[s.Database] += int64(s.Count)
		}
		rs.Columns = append(rs.Columns, "policy_violations")
		for i, row := range rs.Rows {
			n := per[row[0]]
			if i == len(rs.Rows)-1 {
				n = int64(srv.policy.Stats().Total)
			}
			rs.Rows[i] = append(row, i64(n))
		}
	}
	return rs
}

// showCacheOutcomes lists how many statements ended in each cache outcome
// (Hyperdrive's vocabulary: hit, miss, stale, uncacheable, volatile,
// transaction…), so that ops can see why statements are not cached.
func (srv *Server) showCacheOutcomes() *ResultSet {
	rs := &ResultSet{Columns: []string{"outcome", "statements"}}
	out := srv.CacheOutcomes()
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rs.Rows = append(rs.Rows, []string{n, i64(out[n])})
	}
	return rs
}

func (srv *Server) showConfig() *ResultSet {
	cfg := srv.config()
	rs := &ResultSet{Columns: []string{"key", "value", "source"}}
	if cfg.ShowConfig != nil {
		for _, row := range cfg.ShowConfig() {
			rs.Rows = append(rs.Rows, []string{row[0], row[1], row[2]})
		}
		return rs
	}
	rs.Rows = append(rs.Rows,
		[]string{"listen", cfg.Listen, "flags"},
		[]string{"auth.method", cfg.Auth.Method.String(), "flags"},
		[]string{"max_message_bytes", itoa(cfg.MaxMessageBytes), "default"},
		[]string{"startup_timeout", cfg.StartupTimeout.String(), "default"},
	)
	return rs
}

func itoa(i int) string  { return strconv.Itoa(i) }
func i64(i int64) string { return strconv.FormatInt(i, 10) }
