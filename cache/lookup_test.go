package cache_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/cache"
)

func TestLookupStatusFollowsTheEntryAgeThroughTTLAndStaleWindow(t *testing.T) {
	const ttl, swr = 60 * time.Second, 15 * time.Second
	tests := []struct {
		name string
		age  time.Duration
		want cache.Status
	}{
		{"just stored", 0, cache.StatusHit},
		{"one nanosecond before the TTL", ttl - 1, cache.StatusHit},
		{"at the TTL", ttl, cache.StatusStale},
		{"one nanosecond before the window closes", ttl + swr - 1, cache.StatusStale},
		{"when the window closes", ttl + swr, cache.StatusMiss},
		{"long after", 24 * time.Hour, cache.StatusMiss},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, clock := newCache(t, cache.Config{})
			req := request(t, "SELECT * FROM artifact", "public.artifact")
			store(t, c, req, "rows")
			clock.Advance(tt.age)
			r := c.Lookup(req)
			mustStatus(t, r, tt.want)
			if tt.want == cache.StatusMiss {
				if got := c.Stats(); got.Expired != 1 || got.Entries != 0 {
					t.Fatalf("after expiry: expired %d, entries %d; want 1 and 0", got.Expired, got.Entries)
				}
			}
			if r.Fill != nil {
				r.Fill.Abort()
			}
		})
	}
}

func TestStaleLookupHandsTheRefreshToExactlyOneCaller(t *testing.T) {
	c, clock := newCache(t, cache.Config{})
	req := request(t, "SELECT * FROM artifact", "public.artifact")
	store(t, c, req, "old")
	clock.Advance(61 * time.Second)

	first := c.Lookup(req)
	mustStatus(t, first, cache.StatusStale)
	if first.Fill == nil || !first.Fill.Refresh() {
		t.Fatal("first stale lookup got no refresh duty")
	}
	for range 5 {
		r := c.Lookup(req)
		mustStatus(t, r, cache.StatusStale)
		if r.Fill != nil {
			t.Fatal("a second stale lookup also got the refresh duty")
		}
		if string(r.Entry.Result()) != "old" {
			t.Fatalf("stale lookup replayed %q, want old", r.Entry.Result())
		}
	}
	first.Fill.Append([]byte("new"))
	if err := first.Fill.Complete(); err != nil {
		t.Fatalf("refresh Complete: %v", err)
	}
	mustHit(t, c, req, "new")
	if s := c.Stats(); s.Refreshes != 1 || s.StaleHits != 6 || s.Entries != 1 {
		t.Fatalf("stats: refreshes %d, stale hits %d, entries %d; want 1, 6, 1", s.Refreshes, s.StaleHits, s.Entries)
	}
}

func TestFailedRefreshLetsALaterStaleCallerRefresh(t *testing.T) {
	c, clock := newCache(t, cache.Config{})
	req := request(t, "SELECT * FROM artifact", "public.artifact")
	store(t, c, req, "old")
	clock.Advance(61 * time.Second)

	first := c.Lookup(req)
	if first.Fill == nil {
		t.Fatal("no refresh duty")
	}
	first.Fill.Abort()
	second := c.Lookup(req)
	mustStatus(t, second, cache.StatusStale)
	if second.Fill == nil {
		t.Fatal("after a failed refresh the next stale caller got no refresh duty")
	}
	second.Fill.Abort()
}

func TestLookupAfterTheWindowJoinsTheRefreshStillRunning(t *testing.T) {
	c, clock := newCache(t, cache.Config{})
	req := request(t, "SELECT * FROM artifact", "public.artifact")
	store(t, c, req, "old")
	clock.Advance(70 * time.Second)
	refresh := c.Lookup(req).Fill
	clock.Advance(10 * time.Second) // the window closed while refreshing

	r := c.Lookup(req)
	mustStatus(t, r, cache.StatusFollow)
	refresh.Append([]byte("new"))
	if err := refresh.Complete(); err != nil {
		t.Fatal(err)
	}
	e, err := r.Flight.Wait(t.Context())
	if err != nil || string(e.Result()) != "new" {
		t.Fatalf("Wait = %v, %v; want the refreshed entry", e, err)
	}
}

func TestEntryAgeCountsFromTheLookupThatMissed(t *testing.T) {
	c, clock := newCache(t, cache.Config{})
	req := request(t, "SELECT slow()", "public.artifact")
	missedAt := clock.Now()
	r := c.Lookup(req)
	clock.Advance(50 * time.Second) // a slow query
	r.Fill.Append([]byte("rows"))
	if err := r.Fill.Complete(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(10 * time.Second)
	hit := c.Lookup(req)
	mustStatus(t, hit, cache.StatusStale)
	if !hit.Entry.FetchedAt().Equal(missedAt) {
		t.Fatalf("FetchedAt = %s, want the miss time %s", hit.Entry.FetchedAt(), missedAt)
	}
	hit.Fill.Abort()
}

func TestEntryReplaysTheCopiedBytesExactlyPerSegment(t *testing.T) {
	tests := []struct {
		name         string
		appends      []func(*cache.Fill) bool
		wantResult   string
		wantDescribe string
	}{
		{
			name:       "result only, in several messages",
			appends:    []func(*cache.Fill) bool{appendResult("T..."), appendResult("D1"), appendResult("D2"), appendResult("C")},
			wantResult: "T...D1D2C",
		},
		{
			name:         "describe then result",
			appends:      []func(*cache.Fill) bool{appendDescribe("t"), appendDescribe("T"), appendResult("D1"), appendResult("C")},
			wantResult:   "D1C",
			wantDescribe: "tT",
		},
		{
			name:         "segments interleaved",
			appends:      []func(*cache.Fill) bool{appendResult("D1"), appendDescribe("t"), appendResult("D2"), appendDescribe("T"), appendResult("C")},
			wantResult:   "D1D2C",
			wantDescribe: "tT",
		},
		{
			name:       "empty messages are ignored",
			appends:    []func(*cache.Fill) bool{appendResult(""), appendResult("C"), appendDescribe("")},
			wantResult: "C",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newCache(t, cache.Config{})
			req := request(t, "SELECT 1")
			r := c.Lookup(req)
			for _, a := range tt.appends {
				if !a(r.Fill) {
					t.Fatal("append refused")
				}
			}
			if err := r.Fill.Complete(); err != nil {
				t.Fatal(err)
			}
			e := c.Lookup(req).Entry
			if string(e.Result()) != tt.wantResult || string(e.Describe()) != tt.wantDescribe {
				t.Fatalf("entry = %q / %q, want %q / %q", e.Result(), e.Describe(), tt.wantResult, tt.wantDescribe)
			}
			if tt.wantDescribe == "" && e.Describe() != nil {
				t.Fatalf("Describe() = %q, want nil", e.Describe())
			}
			if cap(e.Result()) != len(e.Result()) {
				t.Fatal("Result() has spare capacity: an append by a caller would write into the entry")
			}
		})
	}
}

func TestEntryDoesNotShareBytesWithTheCallersBuffer(t *testing.T) {
	c, _ := newCache(t, cache.Config{})
	req := request(t, "SELECT 1")
	r := c.Lookup(req)
	msg := []byte("DataRow")
	r.Fill.Append(msg)
	copy(msg, "reused!") // the proxy reuses its read buffer
	if err := r.Fill.Complete(); err != nil {
		t.Fatal(err)
	}
	mustHit(t, c, req, "DataRow")
}

func TestEntryDescribesWhatItWasFilledFor(t *testing.T) {
	c, clock := newCache(t, cache.Config{Rules: []cache.Rule{{Name: "dash", Tables: []cache.TableID{"public.b"}, Lifetime: cache.Lifetime{TTL: time.Minute}}}})
	req := request(t, "SELECT * FROM a JOIN b USING (id)", "public.b", "public.a", "public.b")
	store(t, c, req, "rows")
	e := c.Lookup(req).Entry
	if e.Key() != req.Key || e.Database() != "app" || e.Rule() != "dash" || !e.FetchedAt().Equal(clock.Now()) {
		t.Fatalf("entry = key %s db %q rule %q at %s", e.Key(), e.Database(), e.Rule(), e.FetchedAt())
	}
	if got := e.Tables(); len(got) != 2 || got[0] != "public.a" || got[1] != "public.b" {
		t.Fatalf("Tables() = %v, want [public.a public.b]", got)
	}
	if want := int64(cache.EntryOverhead + len("rows") + len("app") + 2*cache.TableOverhead + 2*len("public.a")); e.Size() < want {
		t.Fatalf("Size() = %d, want at least %d", e.Size(), want)
	}
}

func TestDisabledLookupGivesNoFillAndCountsAsBypassed(t *testing.T) {
	c, _ := newCache(t, cache.Config{})
	req := request(t, "SELECT 1")
	req.Hint.NoCache = true
	r := c.Lookup(req)
	mustStatus(t, r, cache.StatusDisabled)
	if r.Fill != nil || r.Rule != "hint" {
		t.Fatalf("nocache lookup = %+v", r)
	}
	if s := c.Stats(); s.Bypassed != 1 || s.Misses != 0 {
		t.Fatalf("bypassed %d, misses %d; want 1, 0", s.Bypassed, s.Misses)
	}
}

func TestStatusStrings(t *testing.T) {
	for s, want := range map[cache.Status]string{
		cache.StatusDisabled: "disabled", cache.StatusHit: "hit", cache.StatusStale: "stale",
		cache.StatusMiss: "miss", cache.StatusFollow: "follow", cache.Status(0): "unknown",
	} {
		if got := s.String(); got != want {
			t.Errorf("Status(%d).String() = %q, want %q", s, got, want)
		}
	}
	for p, want := range map[cache.Protocol]string{cache.ProtocolSimple: "simple", cache.ProtocolExtended: "extended", cache.Protocol(0): "unknown"} {
		if got := p.String(); got != want {
			t.Errorf("Protocol(%d).String() = %q, want %q", p, got, want)
		}
	}
	k := cache.Key{0xab}
	if got := k.String(); len(got) != 64 || !bytes.HasPrefix([]byte(got), []byte("ab00")) {
		t.Errorf("Key.String() = %q", got)
	}
}

func appendResult(s string) func(*cache.Fill) bool {
	return func(f *cache.Fill) bool { return f.Append([]byte(s)) }
}

func appendDescribe(s string) func(*cache.Fill) bool {
	return func(f *cache.Fill) bool { return f.AppendDescribe([]byte(s)) }
}
