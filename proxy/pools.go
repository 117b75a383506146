package proxy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgwarp/pgwarp/pool"
	"github.com/pgwarp/pgwarp/query"
)

// credKey identifies the upstream login of this session: database entry,
// upstream database and upstream user.
func (s *Session) credKey() poolKey {
	return poolKey{db: s.dbc().Name, database: s.upstreamDatabase(), user: s.upstreamUser()}
}

// upstreamUser is the role pgwarp logs in as upstream: the client's own
// with passthrough (or when the upstream URL names none), else the URL's.
func (s *Session) upstreamUser() string {
	if s.srv.config().Auth.Method == AuthPassthrough || s.dbc().Upstream.User == "" {
		return s.user
	}
	return s.dbc().Upstream.User
}

// sessionParamsKey encodes the client's startup parameters canonically.
// Session-mode backends are pooled per set of startup parameters, because
// those become the backend's session defaults (RESET restores them).
func (s *Session) sessionParamsKey() string {
	if len(s.params) == 0 {
		return ""
	}
	m := map[string]string{}
	for _, kv := range s.params {
		m[kv.name] = kv.value
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, k := range names {
		h.Write([]byte(k + "\x00" + m[k] + "\x00"))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// upstreamConfig returns the pgconn configuration to log in upstream for
// this session, without a password when the client's is to be asked for.
func (srv *Server) upstreamConfig(s *Session) *pgconn.Config {
	c := s.dbc().Upstream.Copy()
	c.Database = s.upstreamDatabase()
	c.User = s.upstreamUser()
	if srv.config().Auth.Method == AuthPassthrough {
		c.Password = ""
	} else if c.Password == "" {
		if u := srv.config().Auth.Users[s.user]; u != nil {
			c.Password = u.password
		}
	}
	if s.mode == PoolSession {
		if c.RuntimeParams == nil {
			c.RuntimeParams = map[string]string{}
		}
		for _, kv := range s.params {
			c.RuntimeParams[kv.name] = kv.value
		}
	}
	return c
}

// poolFor returns (creating it on first use) the pool serving this session
// and hands it the backend authentication dialled, if any.
func (srv *Server) poolFor(s *Session, dialled *pool.Backend) (*pool.Pool, error) {
	k := s.credKey()
	if s.mode == PoolSession {
		k.params = s.sessionParamsKey()
	}
	srv.mu.Lock()
	p := srv.pools[k]
	if p == nil {
		var err error
		p, err = srv.newPool(s, k)
		if err != nil {
			srv.mu.Unlock()
			if dialled != nil {
				_ = dialled.Close()
			}
			return nil, err
		}
		if srv.pausedLocked(k) {
			p.Pause()
		}
		srv.pools[k] = p
	}
	srv.mu.Unlock()
	if dialled != nil {
		p.Offer(dialled)
	}
	return p, nil
}

// pausedLocked reports whether a new pool for k starts paused: what PAUSE or
// RESUME said last of its database entry or upstream database name, else
// of all databases. srv.mu is held.
func (srv *Server) pausedLocked(k poolKey) bool {
	for _, name := range []string{k.db, k.database} {
		if v, ok := srv.paused[name]; ok {
			return v
		}
	}
	return srv.paused[""]
}

// newPool creates the pool for key k; srv.mu is held.
func (srv *Server) newPool(s *Session, k poolKey) (*pool.Pool, error) {
	db := s.dbc()
	base := srv.upstreamConfig(s)
	passthrough := srv.config().Auth.Method == AuthPassthrough
	credKey := poolKey{db: k.db, database: k.database, user: k.user}
	name := k.database + "/" + k.user
	if db.Name != k.database {
		name = db.Name + ":" + name
	}
	return pool.New(pool.Config{
		Name: name,
		Dial: func(ctx context.Context) (*pool.Backend, error) {
			c := base
			if passthrough {
				c = base.Copy()
				cred := srv.credentialFor(credKey)
				cred.mu.Lock()
				c.Password = cred.password
				cred.mu.Unlock()
			}
			return pool.Dial(ctx, pool.DialConfig{Conn: c})
		},
		MaxSize:           db.MaxSize,
		MinIdle:           db.MinIdle,
		AcquireTimeout:    db.AcquireTimeout,
		IdleTimeout:       db.IdleTimeout,
		MaxLifetime:       db.MaxLifetime,
		HealthCheckPeriod: db.HealthCheckPeriod,
	})
}

// noteParameterStatusLocked records a ParameterStatus the client saw.
// A ParameterStatus answering the client's own statement is the client's
// setting from now on (SET application_name, set_config(…), a rolled back
// SET reverting); one answering pgwarp's own settings sync is not news.
func (s *Session) noteParameterStatusLocked(name, value string, own bool) {
	switch name {
	case "application_name":
		s.appName.Store(value)
	case "client_encoding":
		s.clientEncoding = value
	case "server_encoding":
		s.serverEncoding = value
	}
	if own && s.settings != nil {
		s.settings[strings.ToLower(name)] = value
	}
	if (name == "standard_conforming_strings" || name == "client_encoding") && !s.lexerUnsafe && own && s.settings != nil &&
		!query.LexerCompatible(s.settings["standard_conforming_strings"], s.settings["client_encoding"]) {
		s.markLexerUnsafeLocked()
	}
}

// noConversionLocked reports whether the server receives this session's
// text as sent (see query.Values.NoConversion). mu is held.
func (s *Session) noConversionLocked() bool {
	return s.serverEncoding != "" && (s.serverEncoding == "SQL_ASCII" || s.serverEncoding == s.clientEncoding)
}

// markLexerUnsafeLocked notes that pgwarp can no longer read this
// session's statements as the server does (standard_conforming_strings
// off, or a client-only encoding): it keeps its backend, nothing it runs
// is cached, and every statement it runs invalidates its whole database.
// mu is held, or the session is still starting.
func (s *Session) markLexerUnsafeLocked() {
	s.lexerUnsafe = true
	s.pins.forever = "standard_conforming_strings off or a client-only encoding (statements cannot be classified)"
	s.updatePinLocked()
}
