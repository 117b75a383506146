package telemetry

import (
	"log/slog"
	"strings"
)

// Redacted replaces a secret in logs, span statuses and /readyz bodies.
const Redacted = "[REDACTED]"

// secretKeyWords mark an attribute key whose value is a secret, compared
// case-insensitively as substrings of the key.
var secretKeyWords = []string{"password", "passwd", "pwd", "secret", "token", "authorization", "credential", "api_key", "apikey", "private_key"}

// isSecretKey reports whether a log attribute named key holds a secret.
func isSecretKey(key string) bool {
	for _, w := range secretKeyWords {
		if indexFold(key, w) >= 0 {
			return true
		}
	}
	return false
}

// RedactString removes passwords from text that may embed a connection
// string: the password of a URL's userinfo (postgres://app:secret@db →
// postgres://app:[REDACTED]@db) and the value of password=… in a keyword/value
// connection string, quoted or not. Text without "@" or "password" is
// returned as is, without allocating.
func RedactString(s string) string {
	if strings.IndexByte(s, '@') < 0 && indexFold(s, "password") < 0 {
		return s
	}
	return redactKeywordPasswords(redactURLPasswords(s))
}

// redactURLPasswords rewrites scheme://user:password@ userinfo.
func redactURLPasswords(s string) string {
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, "://")
		if i < 0 {
			break
		}
		authStart := i + 3
		// The authority ends at the first '/', '?', '#' or whitespace.
		end := len(rest)
		for j := authStart; j < len(rest); j++ {
			if c := rest[j]; c == '/' || c == '?' || c == '#' || isSpace(c) {
				end = j
				break
			}
		}
		auth := rest[authStart:end]
		at := strings.LastIndexByte(auth, '@')
		colon := -1
		if at >= 0 {
			colon = strings.IndexByte(auth[:at], ':')
		}
		if colon < 0 {
			b.WriteString(rest[:end])
			rest = rest[end:]
			continue
		}
		b.WriteString(rest[:authStart+colon+1])
		b.WriteString(Redacted)
		b.WriteString(rest[authStart+at : end])
		rest = rest[end:]
	}
	if b.Len() == 0 {
		return s
	}
	b.WriteString(rest)
	return b.String()
}

// redactKeywordPasswords rewrites password=value and password='quoted value'
// (libpq keyword/value syntax, where \' escapes a quote).
func redactKeywordPasswords(s string) string {
	var b strings.Builder
	rest := s
	changed := false
	for {
		i := indexFold(rest, "password")
		if i < 0 {
			break
		}
		k := skipSpaces(rest, i+len("password"))
		if k >= len(rest) || rest[k] != '=' {
			b.WriteString(rest[:i+len("password")])
			rest = rest[i+len("password"):]
			continue
		}
		k = skipSpaces(rest, k+1)
		end := k
		if end < len(rest) && rest[end] == '\'' {
			end++
			for end < len(rest) && rest[end] != '\'' {
				if rest[end] == '\\' {
					end++
				}
				end++
			}
			end = min(end+1, len(rest))
		} else {
			for end < len(rest) && !isSpace(rest[end]) && rest[end] != '&' && rest[end] != ';' {
				end++
			}
		}
		b.WriteString(rest[:k])
		b.WriteString(Redacted)
		rest = rest[end:]
		changed = true
	}
	if !changed {
		return s
	}
	b.WriteString(rest)
	return b.String()
}

// redactAttr is the loggers' ReplaceAttr: it blanks attributes with a
// secret-looking key and scrubs connection-string passwords from string and
// error values.
func redactAttr(_ []string, a slog.Attr) slog.Attr {
	if isSecretKey(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	switch a.Value.Kind() {
	case slog.KindString:
		s := a.Value.String()
		if r := RedactString(s); r != s {
			return slog.String(a.Key, r)
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			return slog.String(a.Key, RedactString(err.Error()))
		}
	}
	return a
}

// indexFold is strings.Index for an ASCII lowercase needle, ignoring the
// case of s, without allocating.
func indexFold(s, lowerNeedle string) int {
	n := len(lowerNeedle)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != lowerNeedle[j] {
				break
			}
		}
		if j == n {
			return i
		}
	}
	return -1
}
