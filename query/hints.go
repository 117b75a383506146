package query

import (
	"strings"
	"time"
)

// HintMode is what a pgwarp hint comment asks of the cache.
type HintMode uint8

// Hint modes.
const (
	// HintNone: no valid hint; the cache rules decide.
	HintNone HintMode = iota
	// HintCache: /* pgwarp:cache ttl=30s swr=1m */ asks for caching, with
	// the given TTL and stale-while-revalidate window when present.
	HintCache
	// HintNoCache: /* pgwarp:nocache */ asks that the result not be cached.
	HintNoCache
)

// String returns "none", "cache" or "nocache".
func (m HintMode) String() string {
	switch m {
	case HintNone:
		return "none"
	case HintCache:
		return "cache"
	case HintNoCache:
		return "nocache"
	}
	return "HintMode(?)"
}

// Hint is what the pgwarp hint comments of a query string ask for. Hints
// live in comments (/* pgwarp:… */ or -- pgwarp:…), which never enter the
// comment-free text or the memo key, so they are read on every call.
//
// Parsing is lenient: a comment that starts with "pgwarp:" but is not a
// valid hint is ignored and reported in Malformed, never an error. When
// several hints appear, pgwarp:nocache wins over pgwarp:cache, and the last
// valid pgwarp:cache wins over earlier ones.
type Hint struct {
	// Mode is the hint's request.
	Mode HintMode
	// TTL is the ttl= of a pgwarp:cache hint, or zero when not given (the
	// cache rule's TTL then applies). It is always positive when set.
	TTL time.Duration
	// SWR is the swr= (stale-while-revalidate) of a pgwarp:cache hint;
	// HasSWR reports whether it was given, since swr=0s is meaningful.
	SWR    time.Duration
	HasSWR bool
	// Malformed is the first comment that looked like a pgwarp hint but
	// could not be read, verbatim; empty when there was none.
	Malformed string
}

const hintPrefix = "pgwarp:"

// comment reads the comment full, whose text between the delimiters is
// inner, as a hint if it is one.
func (h *Hint) comment(full, inner string) {
	body := strings.TrimSpace(inner)
	if len(body) < len(hintPrefix) || !strings.EqualFold(body[:len(hintPrefix)], hintPrefix) {
		return
	}
	verb, args := nextWord(strings.TrimSpace(body[len(hintPrefix):]))
	switch {
	case strings.EqualFold(verb, "nocache"):
		if strings.TrimSpace(args) != "" {
			h.malformed(full)
			return
		}
		h.Mode = HintNoCache
		h.TTL, h.SWR, h.HasSWR = 0, 0, false
	case strings.EqualFold(verb, "cache"):
		var ttl, swr time.Duration
		hasSWR := false
		for {
			var word string
			word, args = nextWord(args)
			if word == "" {
				break
			}
			eq := strings.IndexByte(word, '=')
			if eq <= 0 {
				h.malformed(full)
				return
			}
			d, err := time.ParseDuration(word[eq+1:])
			if err != nil {
				h.malformed(full)
				return
			}
			switch k := word[:eq]; {
			case strings.EqualFold(k, "ttl") && d > 0:
				ttl = d
			case strings.EqualFold(k, "swr") && d >= 0:
				swr, hasSWR = d, true
			default:
				h.malformed(full)
				return
			}
		}
		if h.Mode == HintNoCache {
			return
		}
		h.Mode, h.TTL, h.SWR, h.HasSWR = HintCache, ttl, swr, hasSWR
	default:
		h.malformed(full)
	}
}

func (h *Hint) malformed(full string) {
	if h.Malformed == "" {
		h.Malformed = full
	}
}

// nextWord splits s at the first run of whitespace after its first word.
func nextWord(s string) (word, rest string) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	j := i
	for j < len(s) && !isSpace(s[j]) {
		j++
	}
	return s[i:j], s[j:]
}
