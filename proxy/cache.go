package proxy

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgwarp/pgwarp/cache"
	"github.com/pgwarp/pgwarp/pool"
	"github.com/pgwarp/pgwarp/query"
	"github.com/pgwarp/pgwarp/telemetry"
)

// The read cache. Only statements the query package proves cacheable (a
// single read-only, deterministic statement outside a transaction block,
// reading ordinary tables, views or materialized views) are looked up; the
// key covers database, role, the client's settings, the comment-free text,
// parameters and formats. A hit is replayed byte for byte without a
// backend; a miss streams to the client while the relay copies the result
// into the entry. Writes invalidate what they touch at their
// CommandComplete and again when their transaction ends (after commit, so
// that a read racing the commit cannot be stored), and other pgwarp
// instances hear of them over NOTIFY (invalidate.go).

// cacheStats counts lookups by Hyperdrive's vocabulary of outcomes.
type cacheStats struct {
	byReason sync.Map // string → *atomic.Int64
}

func (cs *cacheStats) add(reason string) {
	v, ok := cs.byReason.Load(reason)
	if !ok {
		v, _ = cs.byReason.LoadOrStore(reason, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}

// CacheOutcomes returns how many statements ended in each cache outcome
// (hit, miss, stale, follow, uncacheable, volatile, transaction,
// multiplestatements, parseerror, disabled, oversizedresult).
func (srv *Server) CacheOutcomes() map[string]int64 {
	out := map[string]int64{}
	srv.cacheStats.byReason.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// catalogState is the catalog of one upstream database, loaded on first
// need and again after DDL. Generations order loads and refreshes: every
// refresh asks for a new generation, and a catalog is current only when
// its load started after the last refresh. While it is not, statements are
// not cached (a changed view could otherwise be stored under its old
// dependencies), and invalidation uses the previous catalog.
type catalogState struct {
	cat     atomic.Pointer[query.Catalog]
	mu      sync.Mutex
	loading bool
	want    uint64 // generation asked for; bumped by every refresh
	have    uint64 // generation of cat
}

// catalogFor returns the catalog of the session's upstream database (nil
// while none is loaded) and whether it is current, starting a load when it
// is not.
func (srv *Server) catalogFor(s *Session) (*query.Catalog, bool) {
	db := s.upstreamDatabase()
	srv.mu.Lock()
	st := srv.catalogs[db]
	first := st == nil
	if first {
		st = &catalogState{}
		srv.catalogs[db] = st
	}
	srv.mu.Unlock()
	if first {
		// Listen for the other instances' writes from the first time the
		// cache serves this database, not only once this instance writes.
		srv.notifierFor(s, db)
	}
	cat := st.cat.Load()
	st.mu.Lock()
	current := cat != nil && st.have == st.want
	start := !current && !st.loading
	gen := st.want
	if start {
		st.loading = true
	}
	st.mu.Unlock()
	if start {
		go srv.loadCatalog(st, s.pool, gen)
	}
	return cat, current
}

// refreshCatalog asks for the catalog of upstream database db to be loaded
// again (after DDL, here or on another instance).
func (srv *Server) refreshCatalog(db string) {
	srv.mu.Lock()
	st := srv.catalogs[db]
	srv.mu.Unlock()
	if st != nil {
		st.mu.Lock()
		st.want++
		st.mu.Unlock()
	}
}

func (srv *Server) loadCatalog(st *catalogState, p *pool.Pool, gen uint64) {
	defer func() {
		st.mu.Lock()
		st.loading = false
		st.mu.Unlock()
	}()
	if p == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lease, err := p.Acquire(ctx)
	if err != nil {
		return
	}
	b := lease.Backend()
	cat, err := query.LoadCatalog(ctx, func(ctx context.Context, sql string) ([][]string, error) {
		res, err := b.Query(ctx, sql)
		if err != nil {
			return nil, err
		}
		rows := make([][]string, len(res.Rows))
		for i, r := range res.Rows {
			rows[i] = make([]string, len(r))
			for j, v := range r {
				if v != nil {
					rows[i][j] = *v
				}
			}
		}
		return rows, nil
	})
	if b.Broken() || b.TxStatus != txIdle {
		lease.Destroy()
	} else {
		lease.Release()
	}
	if err != nil {
		srv.logger().Warn("loading the catalog for the cache failed; statements are not cached until it loads", "error", err)
		return
	}
	st.mu.Lock()
	st.cat.Store(cat)
	st.have = gen
	st.mu.Unlock()
}

// searchPath returns the session's search_path for resolving names,
// parsed again only when the setting changed. mu is held or the caller is
// the session goroutine with no relay running.
func (s *Session) searchPath() query.SearchPath {
	v, ok := s.settings["search_path"]
	if s.spValid && s.spSet == ok && s.spText == v {
		return s.sp
	}
	if !ok {
		s.sp = query.DefaultSearchPath(s.upstreamUser())
	} else {
		s.sp = query.ParseSearchPath(v, s.upstreamUser())
	}
	s.spValid, s.spSet, s.spText = true, ok, v
	return s.sp
}

// tableID spells a relation as cache rules and invalidations do. The
// spelling is interned: every lookup names the tables it reads.
func (s *Server) tableID(r query.Relation) cache.TableID {
	var buf [128]byte
	b := append(append(append(buf[:0], r.Schema...), '.'), r.Name...)
	return cache.TableID(s.tableIDs.Bytes(b))
}

// cacheable decides whether a statement may be served from the cache and,
// if so, returns its read dependencies: the Tables, RowKeys and Ranges of
// its cache.Request, in the session's scratch buffers (valid until the next
// call; the cache copies what it keeps). Session goroutine only; mu must
// not be held.
func (s *Session) cacheable(info *query.Info, textParams [][]byte, vals query.Values) (cache.Request, string) {
	if s.admin || info == nil {
		return cache.Request{}, "disabled"
	}
	s.mu.Lock()
	inTx := s.lease != nil && (s.txStatus != txIdle || s.batchOpen || !s.q.empty())
	pinned := s.pins.reason() != "" || s.txTimeout != nil
	sp := s.searchPath()
	vals.NoConversion = s.noConversionLocked()
	s.mu.Unlock()
	if pinned {
		return cache.Request{}, "uncacheable"
	}
	cat, current := s.srv.catalogFor(s)
	if !current {
		return cache.Request{}, "uncacheable"
	}
	v := query.Eligibility(info, cat, query.Env{InTransaction: inTx, SearchPath: sp, TextParams: textParams})
	if !v.Cacheable() {
		return cache.Request{}, v.Reason.String()
	}
	whole, keys, ranges, ok := cat.ReadKeysAndRangesInto(&info.Statements[0], sp, vals, &s.scratch.keys)
	if !ok {
		return cache.Request{}, "uncacheable"
	}
	// The slices are the session's scratch: the cache copies what it
	// keeps of a request.
	sc := &s.scratch
	deps := cache.Request{Tables: sc.tables[:0], RowKeys: sc.rowKeys[:0], Ranges: sc.ranges[:0]}
	for _, d := range whole {
		deps.Tables = append(deps.Tables, s.srv.tableID(d))
	}
	for _, k := range keys {
		t := s.srv.tableID(k.Relation)
		deps.Tables = append(deps.Tables, t)
		if len(k.Values) == 1 {
			deps.RowKeys = append(deps.RowKeys, cache.RowKey{Table: t, Column: k.Column, Value: k.Values[0]})
		}
	}
	for _, r := range ranges {
		deps.Ranges = append(deps.Ranges, cache.RowRange{Table: s.srv.tableID(r.Relation), Column: r.Column, Date: r.Date, Lo: r.Lo, Hi: r.Hi})
	}
	sc.tables, sc.rowKeys, sc.ranges = deps.Tables, deps.RowKeys, deps.Ranges
	return deps, ""
}

// keyBase starts a cache key with what every statement of this session
// shares: database, role and the settings that can change results.
func (s *Session) keyBase(p cache.Protocol) {
	s.kb.Reset(p, s.upstreamDatabase(), s.upstreamUser())
	s.mu.Lock()
	for name, v := range s.settings {
		if name != "application_name" {
			s.kb.Setting(name, v)
		}
	}
	s.mu.Unlock()
}

// cacheHint converts a statement's SQL-comment hint.
func cacheHint(h query.Hint) cache.Hint {
	out := cache.Hint{NoCache: h.Mode == query.HintNoCache}
	if h.Mode == query.HintCache {
		out.TTL = h.TTL
		if h.HasSWR {
			swr := h.SWR
			out.StaleWhileRevalidate = &swr
		}
	}
	return out
}

// lookupQuery tries the cache for a simple query. It returns true when the
// client was answered from the cache, and otherwise the fill the relay must
// complete (nil when the result is not to be stored).
func (s *Session) lookupQuery(res query.Result, sql string) (bool, *cache.Fill) {
	c := s.srv.cache
	if c == nil || c.Disabled() {
		return false, nil
	}
	req, reason := s.cacheable(res.Info, nil, query.Values{Literals: res.Literals})
	if reason != "" {
		s.srv.cacheStats.add(reason)
		return false, nil
	}
	s.keyBase(cache.ProtocolSimple)
	s.kb.Statement(res.Text)
	key, err := s.kb.Key()
	if err != nil {
		s.srv.cacheStats.add("uncacheable")
		return false, nil
	}
	req.Key, req.Database = key, s.upstreamDatabase()
	req.Fingerprint, req.Hint = res.Info.FingerprintHex, cacheHint(res.Hint)
	r := c.Lookup(req)
	switch r.Status {
	case cache.StatusHit, cache.StatusStale:
		s.srv.cacheStats.add(r.Status.String())
		status := telemetry.CacheHit
		if r.Status == cache.StatusStale {
			status = telemetry.CacheStale
		}
		o := s.startObs(res.Info, sql, status, false)
		s.replay(nil, r.Entry.Result())
		s.endObs(&o, "")
		if r.Fill != nil {
			go s.srv.refresh(s.refreshJob(sql), r.Fill)
		}
		return true, nil
	case cache.StatusFollow:
		o := s.startObs(res.Info, sql, telemetry.CacheCoalesced, false)
		ctx, cancel := context.WithTimeout(context.Background(), s.followTimeout())
		e, err := r.Flight.Wait(ctx)
		cancel()
		if err == nil && e != nil {
			s.srv.cacheStats.add("hit")
			s.replay(nil, e.Result())
			s.endObs(&o, "")
			return true, nil
		}
		// The leader failed: the statement runs upstream, observed there.
		s.dropObs(&o)
		s.srv.cacheStats.add("miss")
		return false, nil
	case cache.StatusMiss:
		s.srv.cacheStats.add("miss")
		return false, r.Fill
	}
	s.srv.cacheStats.add("disabled")
	return false, nil
}

// followTimeout bounds how long a request waits for an identical one in
// flight: the statement timeout when one applies, else 30s.
func (s *Session) followTimeout() time.Duration {
	if d := s.txLimit.StatementTimeout; d > 0 {
		return d
	}
	return 30 * time.Second
}

// replay answers the client from the cache: prefix (BindComplete and the
// like), the entry's bytes, ReadyForQuery 'I'. The entry's bytes are shared
// and never modified.
func (s *Session) replay(prefix, result []byte) {
	s.replayBuf = append(append(s.replayBuf[:0], prefix...), result...)
	s.replayBuf = appendReadyForQuery(s.replayBuf, txIdle)
	_ = s.writeClient(s.replayBuf)
	if cap(s.replayBuf) > 1<<20 {
		s.replayBuf = nil
	}
}

// refreshJob is what a background refresh needs from the session.
type refreshJob struct {
	pool *pool.Pool
	// messages run the statement: a simple Query, or the extended
	// protocol's Parse … Sync.
	messages []byte
	describe bool // messages describe the portal
	settings map[string]string
}

// refreshJob is the refresh of the simple query sql.
func (s *Session) refreshJob(sql string) refreshJob {
	return s.newRefreshJob(appendMsg(nil, msgQuery, append([]byte(sql), 0)), false)
}

func (s *Session) newRefreshJob(messages []byte, describe bool) refreshJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	return refreshJob{pool: s.pool, messages: messages, describe: describe, settings: copySettings(s.settings)}
}

// refreshJobExtended is the refresh of an extended-protocol execution of
// d bound with the Bind body bind (after the names; copied), its portal
// described or not: the unnamed statement is parsed again with the
// client's text and parameter types, so the server answers with the same
// messages the entry holds.
func (s *Session) refreshJobExtended(d *stmtShape, bind []byte, describe bool) refreshJob {
	out := appendParse(nil, "", d.query, d.types)
	out = appendBind(out, "", "", bind)
	if describe {
		out = appendTarget(out, msgDescribe, 'P', "")
	}
	out = appendMsg(out, msgExecute, []byte{0, 0, 0, 0, 0}) // the unnamed portal, every row
	return s.newRefreshJob(appendMsg(out, msgSync, nil), describe)
}

// refresh runs a stale entry's statement again on a pooled backend, with
// the settings of the client that found it stale, and completes the fill.
// The entry's bytes come from the same messages as a miss's: in the simple
// protocol the RowDescription, DataRows and CommandComplete; in the
// extended protocol the portal's RowDescription (when described, and only
// then does one come) for Describe, and the DataRows and CommandComplete of
// the Execute.
func (srv *Server) refresh(job refreshJob, fill *cache.Fill) {
	defer fill.Abort()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ok := onPooledBackend(ctx, job.pool, job.settings, func(b *pool.Backend) bool {
		return b.RawExchange(ctx, job.messages, func(typ byte, msg []byte) {
			switch {
			case typ == msgRowDescription && job.describe:
				fill.AppendDescribe(msg)
			case typ == msgRowDescription, typ == msgDataRow, typ == msgCommandComplete:
				fill.Append(msg)
			}
		}) == nil
	})
	if ok {
		_ = fill.Complete()
	}
}

// onPooledBackend runs fn on a backend acquired from p (within ctx) with
// settings applied, then returns the backend to the pool, or destroys it
// when it is broken or fn left it inside a transaction. It reports whether
// a backend was acquired, the settings applied and fn succeeded. It is for
// pgwarp's own work beside a client's (a cache refresh, a Describe on
// another backend), never for the client's transaction.
func onPooledBackend(ctx context.Context, p *pool.Pool, settings map[string]string, fn func(*pool.Backend) bool) bool {
	if p == nil {
		return false
	}
	lease, err := p.Acquire(ctx)
	if err != nil {
		return false
	}
	b := lease.Backend()
	ok := func() bool {
		if sql := settingsSQL(settings, b.Settings); sql != "" {
			if _, err := b.Query(ctx, sql); err != nil {
				return false
			}
			b.Settings = copySettings(settings)
		}
		return fn(b)
	}()
	if b.Broken() || b.TxStatus != txIdle {
		lease.Destroy()
	} else {
		lease.Release()
	}
	return ok
}

// setPendingFills sets the fills a cache miss opened for the Describe
// (desc) and Execute (exec) the session forwards next; forwardInfo hands
// them to those expectations. Fills still pending are abandoned first.
// desc and exec are the same fill when the group describes its portal.
func (s *Session) setPendingFills(desc, exec *cache.Fill) {
	s.abandonPendingFills()
	s.nextDescFill, s.nextExecFill = desc, exec
}

// abandonPendingFills aborts the fills set for a Describe and Execute that
// will not be forwarded: pgwarp failed their batch itself, or the batch
// ended (Sync) or the session did without them. A pending fill must never
// reach a later statement's expectation, which would store that
// statement's rows under the first one's key.
func (s *Session) abandonPendingFills() {
	for _, f := range [...]*cache.Fill{s.nextDescFill, s.nextExecFill} {
		if f != nil {
			f.Abort() // idempotent: the two may be one fill
		}
	}
	s.nextDescFill, s.nextExecFill = nil, nil
}

// fillResult copies a result message into the entry being filled, and
// gives up on it when it grows too large. mu is held (relay).
func (s *Session) fillResult(e *expectation, msg []byte) {
	if e.fill != nil && !e.fill.Append(msg) {
		if e.fill.Oversized() {
			s.srv.cacheStats.add("oversizedresult")
		}
		e.fill.Abort()
		e.fill = nil
	}
}

// finishFill stores or drops the entry of an expectation that completed.
func finishFill(e *expectation, ok bool, srv *Server) {
	if e.fill == nil {
		return
	}
	if ok {
		if err := e.fill.Complete(); errors.Is(err, cache.ErrOversized) {
			srv.cacheStats.add("oversizedresult")
		}
	} else {
		e.fill.Abort()
	}
	e.fill = nil
}

// invalidateLocked applies the write set of a statement that may have
// changed data (a write, DDL, or a read calling a function that may write)
// and remembers it for the end of the transaction. mu is held.
func (s *Session) invalidateLocked(info *query.Info, vals query.Values) {
	c := s.srv.cache
	if c == nil || info == nil {
		return
	}
	readOnly := info.ReadOnly()
	if readOnly && (c.Disabled() || !callsFunctions(info)) && !s.lexerUnsafe {
		// A disabled cache holds nothing a read could have made stale.
		return
	}
	db := s.upstreamDatabase()
	ddl := false
	for i := range info.Statements {
		if info.Statements[i].Kind == query.KindDDL {
			ddl = true
		}
	}
	if ddl {
		// Now for this session's later statements, and again when the
		// transaction ends, since a load now cannot see uncommitted DDL.
		s.srv.refreshCatalog(db)
		s.txDDL = true
	}
	// Without a catalog yet a write invalidates the whole database; a
	// read is judged by what is known of its functions without one
	// (operators and most built-ins do not write).
	cat, _ := s.srv.catalogFor(s)
	all := ddl || (cat == nil && !readOnly) || s.lexerUnsafe
	var tables []cache.TableID
	var writes []cache.Write
	if !all {
		vals.NoConversion = s.noConversionLocked()
		ws := cat.InvalidationsWith(info, s.searchPath(), vals)
		all = ws.All || (ws.MayWrite && s.srv.config().VolatileInvalidatesAll)
		for _, t := range ws.Tables {
			tables = append(tables, s.srv.tableID(t))
		}
		writes = s.srv.keyedWrites(ws.Keys)
	}
	switch {
	case all:
		c.InvalidateDatabase(db)
		s.txInvalidAll = true
	default:
		if len(tables) > 0 {
			c.Invalidate(db, tables...)
			s.txInvalid = append(s.txInvalid, tables...)
		}
		if len(writes) > 0 {
			c.InvalidateWrites(db, writes...)
			s.txWrites = append(s.txWrites, writes...)
		}
	}
}

// keyedWrites groups the query package's keyed writes by table.
func (s *Server) keyedWrites(keys []query.TableKey) []cache.Write {
	var out []cache.Write
	for _, k := range keys {
		t := s.tableID(k.Relation)
		i := len(out) - 1
		for ; i >= 0 && out[i].Table != t; i-- {
		}
		if i < 0 {
			out = append(out, cache.Write{Table: t, Columns: []cache.ColumnValues{}})
			i = len(out) - 1
		}
		out[i].Columns = append(out[i].Columns, cache.ColumnValues{Column: k.Column, Values: k.Values})
	}
	return out
}

// callsFunctions reports whether any statement of info calls a function
// or operator (which may be user-defined and write).
func callsFunctions(info *query.Info) bool {
	for i := range info.Statements {
		if len(info.Statements[i].Functions) > 0 {
			return true
		}
	}
	return false
}

// endInvalidationsLocked runs at the end of a transaction: what it wrote
// is invalidated again now that the commit is visible, and published to
// the other pgwarp instances. mu is held.
func (s *Session) endInvalidationsLocked() {
	if !s.txInvalidAll && len(s.txInvalid) == 0 && len(s.txWrites) == 0 {
		return
	}
	c, db := s.srv.cache, s.upstreamDatabase()
	if s.txDDL {
		s.srv.refreshCatalog(db)
		s.txDDL = false
	}
	if s.txInvalidAll {
		c.InvalidateDatabase(db)
		s.srv.publish(s, db, nil, nil)
	} else {
		c.Invalidate(db, s.txInvalid...)
		c.InvalidateWrites(db, s.txWrites...)
		s.srv.publish(s, db, s.txInvalid, s.txWrites)
	}
	s.txInvalid, s.txInvalidAll = s.txInvalid[:0], false
	clear(s.txWrites) // the values are retained by nothing else
	s.txWrites = s.txWrites[:0]
}

// stmtShape is a prepared statement as the client parsed it, classified.
type stmtShape struct {
	query string      // the text as sent
	types []uint32    // the parameter types as sent
	info  *query.Info // its classification
	text  string      // its comment-free text, for cache keys
	hint  query.Hint  // its pgwarp hints
	// literals are the literal tokens of its text, when its
	// classification has key predicates.
	literals []query.Literal
}

// notePortalLocked records what portal runs: sh, bound with the Bind body
// rest (after the portal and statement names), with the values of the
// execution when sh has key predicates and the cache is on (only the cache
// narrows by them). mu is held.
func (s *Session) notePortalLocked(portal string, sh *stmtShape, rest []byte) {
	s.portals[portal], s.portalSQL[portal], s.portalSeq[portal] = sh.info, sh.query, s.pushed
	if c := s.srv.cache; c == nil || c.Disabled() || sh.info == nil || !sh.info.Keyed() {
		delete(s.portalVals, portal)
		return
	}
	v := query.Values{Literals: sh.literals}
	var a bindArgs
	if readBind(rest, &a) {
		v.Params = sh.appendParams(nil, &a, true)
	}
	s.portalVals[portal] = v
}

// appendParams appends the parameters of an execution of sh bound with a
// to dst. With copyValues the values are copied; otherwise they are slices
// of the Bind body, valid only while it is.
func (sh *stmtShape) appendParams(dst []query.Param, a *bindArgs, copyValues bool) []query.Param {
	for i, val := range a.values {
		p := query.Param{Binary: a.format(i) == 1, Value: val}
		if val != nil && copyValues {
			p.Value = append([]byte{}, val...)
		}
		if i < len(sh.types) {
			p.Type = sh.types[i]
		}
		dst = append(dst, p)
	}
	return dst
}

// maxScratchLiterals bounds the literals buffer a session keeps.
const maxScratchLiterals = 256

// lookupScratch holds the buffers a cache lookup reuses from one statement
// to the next, so that a hit allocates little of its own. What they hold
// is valid only during the lookup.
type lookupScratch struct {
	keys        query.KeyBuffers
	literals    []query.Literal // a simple query's; copied when kept
	tables      []cache.TableID
	rowKeys     []cache.RowKey
	ranges      []cache.RowRange
	bind        bindArgs
	params      []query.Param
	textParams  [][]byte
	resultCodes []int16
	prefix      []byte
}

// bindArgs is a Bind body after the portal and statement names, read in
// place: its slices point into the body and are valid only while it is.
type bindArgs struct {
	formats []byte   // parameter format codes, two bytes each
	values  [][]byte // parameter values; nil is SQL NULL
	results []byte   // result format codes, two bytes each
}

// format returns the format code of parameter i.
func (a *bindArgs) format(i int) int16 {
	switch n := len(a.formats) / 2; {
	case n == 1:
		return int16(binary.BigEndian.Uint16(a.formats))
	case i < n:
		return int16(binary.BigEndian.Uint16(a.formats[2*i:]))
	}
	return 0
}

// readBind reads the Bind body rest (after the names) into a, reusing the
// array of a.values. It reports false for a malformed body.
func readBind(rest []byte, a *bindArgs) bool {
	b := rest
	codes := func() ([]byte, bool) {
		if len(b) < 2 {
			return nil, false
		}
		n := int(int16(binary.BigEndian.Uint16(b)))
		if n < 0 || len(b) < 2+2*n {
			return nil, false
		}
		c := b[2 : 2+2*n : 2+2*n]
		b = b[2+2*n:]
		return c, true
	}
	var ok bool
	a.values = a.values[:0]
	if a.formats, ok = codes(); !ok {
		return false
	}
	if len(b) < 2 {
		return false
	}
	np := int(int16(binary.BigEndian.Uint16(b)))
	b = b[2:]
	if np < 0 {
		return false
	}
	for range np {
		if len(b) < 4 {
			return false
		}
		l := int(int32(binary.BigEndian.Uint32(b)))
		b = b[4:]
		switch {
		case l == -1:
			a.values = append(a.values, nil)
		case l < 0 || l > len(b):
			return false
		default:
			a.values = append(a.values, b[:l:l])
			b = b[l:]
		}
	}
	if a.results, ok = codes(); !ok {
		return false
	}
	return len(b) == 0
}

// lookupExtended tries the cache for the extended-protocol group Bind,
// [Describe portal], Execute, Sync of a prepared statement d when the whole
// group is already buffered; rest is the Bind's body after the names. It
// reports whether it answered the group (consuming it from the reader).
// On a miss it sets the fills the relay completes with the group's
// Describe and Execute (setPendingFills).
func (s *Session) lookupExtended(d *stmtShape, portal string, rest []byte) (answered bool) {
	c := s.srv.cache
	if c == nil || portal != "" || c.Disabled() {
		return false
	}
	g, ok := s.rd.peekGroup()
	if !ok {
		return false
	}
	return s.lookupGroup(d, g, rest)
}

// lookupParsedGroup tries the cache for the group Parse of the unnamed
// statement, Bind of it to the unnamed portal, [Describe portal], Execute,
// Sync, which node-postgres, libpq's PQexecParams, pgbench -M extended and
// pgx's Exec and CacheDescribe modes send for every query. The Parse has
// been read; sh is its statement. The rest of the group must be buffered
// already. Like lookupExtended, it reports whether it answered the group,
// and sets the fills of a miss.
func (s *Session) lookupParsedGroup(sh *stmtShape) (answered bool) {
	c := s.srv.cache
	if c == nil || c.Disabled() {
		return false
	}
	g, ok := s.rd.peekBindGroup()
	if !ok {
		return false
	}
	return s.lookupGroup(sh, g, g.bind)
}

// lookupGroup looks up the execution of d bound with the Bind body rest
// (after the names) and answers the buffered group g on a hit. A group
// that holds its Bind (g.bind) follows a Parse, whose ParseComplete the
// answer then starts with. It allocates nothing of its own on a hit: the
// Bind is read in place into the session's scratch buffers.
func (s *Session) lookupGroup(d *stmtShape, g extGroup, rest []byte) (answered bool) {
	c := s.srv.cache
	describe := g.describe
	a := &s.scratch.bind
	if !readBind(rest, a) {
		return false
	}
	vals := query.Values{Literals: d.literals}
	if d.info != nil && d.info.Keyed() {
		s.scratch.params = d.appendParams(s.scratch.params[:0], a, false)
		vals.Params = s.scratch.params
	}
	textParams := s.scratch.textParams[:0]
	for i, v := range a.values {
		if a.format(i) == 0 {
			textParams = append(textParams, v)
		}
	}
	s.scratch.textParams = textParams
	req, reason := s.cacheable(d.info, textParams, vals)
	if reason != "" {
		s.srv.cacheStats.add(reason)
		return false
	}
	s.keyBase(cache.ProtocolExtended)
	s.kb.Statement(d.text)
	for i, v := range a.values {
		var oid uint32
		if i < len(d.types) {
			oid = d.types[i]
		}
		s.kb.Param(a.format(i), oid, v)
	}
	codes := s.scratch.resultCodes[:0]
	for i := 0; i+1 < len(a.results); i += 2 {
		codes = append(codes, int16(binary.BigEndian.Uint16(a.results[i:])))
	}
	if describe {
		codes = append(codes, -1) // marks a described portal
	}
	s.scratch.resultCodes = codes
	s.kb.ResultFormats(codes)
	key, err := s.kb.Key()
	if err != nil {
		return false
	}
	req.Key, req.Database = key, s.upstreamDatabase()
	req.Fingerprint, req.Hint = d.info.FingerprintHex, cacheHint(d.hint)
	r := c.Lookup(req)
	var e *cache.Entry
	status := telemetry.CacheHit
	switch r.Status {
	case cache.StatusHit, cache.StatusStale:
		s.srv.cacheStats.add(r.Status.String())
		e = r.Entry
		if r.Status == cache.StatusStale {
			status = telemetry.CacheStale
		}
		if r.Fill != nil {
			go s.srv.refresh(s.refreshJobExtended(d, rest, describe), r.Fill)
		}
	case cache.StatusFollow:
		ctx, cancel := context.WithTimeout(context.Background(), s.followTimeout())
		e, err = r.Flight.Wait(ctx)
		cancel()
		if err != nil || e == nil {
			s.srv.cacheStats.add("miss")
			return false
		}
		s.srv.cacheStats.add("hit")
	case cache.StatusMiss:
		s.srv.cacheStats.add("miss")
		if describe {
			s.setPendingFills(r.Fill, r.Fill)
		} else {
			s.setPendingFills(nil, r.Fill)
		}
		return false
	default:
		s.srv.cacheStats.add("disabled")
		return false
	}
	// Answer the whole group: ParseComplete if it parsed, BindComplete,
	// the portal's description if asked, the rows and CommandComplete,
	// ReadyForQuery.
	prefix := s.scratch.prefix[:0]
	if g.bind != nil {
		prefix = append(prefix, parseComplete...)
	}
	prefix = append(prefix, msgBindComplete, 0, 0, 0, 4)
	if describe {
		prefix = append(prefix, e.Describe()...)
	}
	s.scratch.prefix = prefix[:0]
	if cap(prefix) > 64<<10 {
		s.scratch.prefix = nil // a wide row description: not kept
	}
	s.rd.skipGroup(g)
	s.queries.Add(1) // its Execute, which never reaches the queue
	s.srv.stats.queries.Add(1)
	o := s.startObs(d.info, d.query, status, false)
	s.replay(prefix, e.Result())
	s.endObs(&o, "")
	return true
}
