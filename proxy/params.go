package proxy

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgwarp/pgwarp/pool"
)

// In transaction mode a client's session settings (its startup parameters
// and, later, what it SETs) belong to the client, not to a backend: each
// time the client gets a backend, pgwarp applies the difference between the
// client's settings and what pgwarp last set on that backend. Settings are
// applied with set_config(name, value, false), which is how PostgreSQL
// itself applies startup parameters, so list-valued settings such as
// search_path mean exactly the same.

// startupSettings turns startup parameters into settings: every parameter
// is one, and options="-c name=value …" is expanded as PostgreSQL does.
//
// PostgreSQL applies the options first and the other parameters after
// them, so an explicit parameter wins over the same setting in options.
func startupSettings(params []startupParam) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range params {
		if kv.name != "options" {
			continue
		}
		args := splitOptions(kv.value)
		for i := 0; i < len(args); i++ {
			a := args[i]
			var nv string
			switch {
			case a == "-c" && i+1 < len(args):
				i++
				nv = args[i]
			case strings.HasPrefix(a, "-c"):
				nv = a[2:]
			case strings.HasPrefix(a, "--"):
				nv = a[2:]
			default:
				return nil, newFatal(CodeFeatureNotSupported, "unsupported startup option %q: pgwarp passes only -c name=value and --name=value options to pooled connections", a)
			}
			name, value, ok := strings.Cut(nv, "=")
			if !ok || name == "" {
				return nil, newFatal(CodeSyntaxError, "-c %s requires a value", nv)
			}
			out[strings.ToLower(strings.ReplaceAll(name, "-", "_"))] = value
		}
	}
	for _, kv := range params {
		if kv.name != "options" {
			out[strings.ToLower(kv.name)] = kv.value
		}
	}
	return out, nil
}

// splitOptions splits the options startup parameter on whitespace, with
// backslash escaping the next character (PostgreSQL's pg_split_opts).
func splitOptions(s string) []string {
	var out []string
	var cur strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			// A backslash escapes the next character; a trailing one
			// escapes nothing and is dropped.
			if i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
				in = true
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// settingsSQL returns the statement that brings a backend from the
// settings pgwarp applied there (have) to want, or "" when they agree.
func settingsSQL(want, have map[string]string) string {
	var sets, resets []string
	for name, v := range want {
		if hv, ok := have[name]; !ok || hv != v {
			sets = append(sets, name)
		}
	}
	for name := range have {
		if _, ok := want[name]; !ok {
			resets = append(resets, name)
		}
	}
	if len(sets) == 0 && len(resets) == 0 {
		return ""
	}
	sort.Strings(sets)
	sort.Strings(resets)
	var b strings.Builder
	if len(sets) > 0 {
		b.WriteString("SELECT ")
		for i, name := range sets {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("pg_catalog.set_config(")
			b.WriteString(quoteLiteral(name))
			b.WriteString(", ")
			b.WriteString(quoteLiteral(want[name]))
			b.WriteString(", false)")
		}
	}
	for _, name := range resets {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString("RESET ")
		b.WriteString(quoteIdent(name))
	}
	return b.String()
}

func quoteLiteral(s string) string {
	if strings.ContainsRune(s, '\\') {
		return "E'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// copySettings returns a copy of m.
func copySettings(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// applySettingsNow applies the client's settings on a backend during
// startup, synchronously: an invalid value is the client's FATAL, as it
// would be connecting to PostgreSQL directly.
func (s *Session) applySettingsNow(b *pool.Backend) error {
	sql := settingsSQL(s.settings, b.Settings)
	if sql == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.srv.config().StartupTimeout)
	defer cancel()
	_, err := b.Query(ctx, sql)
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe):
		// The whole statement failed, so nothing changed on the backend;
		// but it may have been inside a failed implicit transaction.
		return fromPgError(pe, SeverityFatal)
	case err != nil:
		return err
	}
	b.Settings = copySettings(s.settings)
	return nil
}

// syncSettingsLocked queues, ahead of the client's first message on a new
// lease, the statement that applies the client's settings on the backend.
// mu is held.
func (s *Session) syncSettingsLocked(b *pool.Backend) {
	sql := settingsSQL(s.settings, b.Settings)
	if sql == "" {
		return
	}
	want := copySettings(s.settings)
	s.out = appendMsg(s.out, msgQuery, append([]byte(sql), 0))
	s.pushLocked(expectation{kind: expectQuery, swallow: true, errorsAsNotice: true, done: func(ok bool) {
		if ok {
			b.Settings = want
		} else {
			// The backend's settings are now unknown: it must not serve
			// anyone else.
			b.MarkBroken()
		}
	}})
}

// settingsKey encodes a set of settings canonically.
func settingsKey(m map[string]string) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(m[k])
		b.WriteByte(0)
	}
	return b.String()
}

// maxKnownParams bounds the remembered settings sets per pool.
const maxKnownParams = 256

// knownParams returns the ParameterStatus values a pool's server reported
// with these startup settings before, or nil.
func (srv *Server) knownParams(p *pool.Pool, key string) map[string]string {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.paramsSeen[p][key]
}

// rememberParams records what a pool's server reported with these startup
// settings (the map is not modified afterwards).
func (srv *Server) rememberParams(p *pool.Pool, key string, params map[string]string) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if p.Closed() {
		return // replaced by a reload; forgotten with it
	}
	m := srv.paramsSeen[p]
	if m == nil {
		m = map[string]map[string]string{}
		srv.paramsSeen[p] = m
	}
	if len(m) >= maxKnownParams {
		clear(m)
	}
	m[key] = params
}
