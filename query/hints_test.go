package query_test

import (
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/query"
)

func TestHints(t *testing.T) {
	tests := []struct {
		name      string
		sql       string
		mode      query.HintMode
		ttl, swr  time.Duration
		hasSWR    bool
		malformed string
	}{
		{"none", "SELECT 1", query.HintNone, 0, 0, false, ""},
		{"ordinary comment", "SELECT 1 /* dashboard */", query.HintNone, 0, 0, false, ""},
		{"ttl", "SELECT 1 /* pgwarp:cache ttl=30s */", query.HintCache, 30 * time.Second, 0, false, ""},
		{"ttl and swr", "/* pgwarp:cache ttl=5m swr=1m */ SELECT 1", query.HintCache, 5 * time.Minute, time.Minute, true, ""},
		{"zero swr", "SELECT 1 /* pgwarp:cache swr=0s */", query.HintCache, 0, 0, true, ""},
		{"bare cache", "SELECT 1 /*pgwarp:cache*/", query.HintCache, 0, 0, false, ""},
		{"nocache", "SELECT 1 /* pgwarp:nocache */", query.HintNoCache, 0, 0, false, ""},
		{"line comment", "SELECT 1 -- pgwarp:nocache", query.HintNoCache, 0, 0, false, ""},
		{"case-insensitive", "SELECT 1 /* PGWARP:Cache TTL=10s */", query.HintCache, 10 * time.Second, 0, false, ""},
		{"nocache wins", "/* pgwarp:nocache */ SELECT 1 /* pgwarp:cache ttl=1m */", query.HintNoCache, 0, 0, false, ""},
		{"last cache wins", "/* pgwarp:cache ttl=1m */ SELECT 1 /* pgwarp:cache ttl=2m */", query.HintCache, 2 * time.Minute, 0, false, ""},
		{"bad duration", "SELECT 1 /* pgwarp:cache ttl=forever */", query.HintNone, 0, 0, false, "/* pgwarp:cache ttl=forever */"},
		{"negative ttl", "SELECT 1 /* pgwarp:cache ttl=-1s */", query.HintNone, 0, 0, false, "/* pgwarp:cache ttl=-1s */"},
		{"zero ttl", "SELECT 1 /* pgwarp:cache ttl=0s */", query.HintNone, 0, 0, false, "/* pgwarp:cache ttl=0s */"},
		{"unknown key", "SELECT 1 /* pgwarp:cache maxage=1s */", query.HintNone, 0, 0, false, "/* pgwarp:cache maxage=1s */"},
		{"unknown verb", "SELECT 1 /* pgwarp:cachex */", query.HintNone, 0, 0, false, "/* pgwarp:cachex */"},
		{"nocache with arguments", "SELECT 1 /* pgwarp:nocache ttl=1s */", query.HintNone, 0, 0, false, "/* pgwarp:nocache ttl=1s */"},
		{"malformed then valid", "/* pgwarp:bogus */ SELECT 1 /* pgwarp:cache ttl=3s */", query.HintCache, 3 * time.Second, 0, false, "/* pgwarp:bogus */"},
		{"hint inside a string is not a hint", "SELECT '/* pgwarp:nocache */'", query.HintNone, 0, 0, false, ""},
		{"nested comment", "SELECT 1 /* pgwarp:cache ttl=7s /* inner */ */", query.HintNone, 0, 0, false, "/* pgwarp:cache ttl=7s /* inner */ */"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, h := query.Lex(tt.sql)
			if h.Mode != tt.mode || h.TTL != tt.ttl || h.SWR != tt.swr || h.HasSWR != tt.hasSWR || h.Malformed != tt.malformed {
				t.Errorf("hint of %q = %+v, want mode %v ttl %v swr %v/%v malformed %q", tt.sql, h, tt.mode, tt.ttl, tt.swr, tt.hasSWR, tt.malformed)
			}
		})
	}
}
