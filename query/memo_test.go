package query_test

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/pgwarp/pgwarp/query"
)

func TestMemoSharesOneParseAcrossLiteralValues(t *testing.T) {
	c, _ := query.NewClassifier(query.Config{})
	var first *query.Info
	for aid := 1; aid <= 1000; aid++ {
		r := c.Classify(fmt.Sprintf("SELECT abalance FROM pgbench_accounts WHERE aid = %d;", aid))
		if first == nil {
			first = r.Info
		}
		if r.Info != first {
			t.Fatalf("aid=%d got a different Info", aid)
		}
		if want := fmt.Sprintf("SELECT abalance FROM pgbench_accounts WHERE aid = %d", aid); r.Text != want {
			t.Fatalf("Text = %q, want %q", r.Text, want)
		}
	}
	if s := c.Stats(); s.Misses != 1 || s.Hits != 999 || s.Entries != 1 {
		t.Errorf("stats = %+v, want 1 miss, 999 hits, 1 entry", s)
	}
}

func TestMemoKeepsTimeRelativeLiteralsApart(t *testing.T) {
	c, _ := query.NewClassifier(query.Config{})
	for _, tt := range []struct {
		sql  string
		want bool
	}{
		{"SELECT * FROM t WHERE d > date '2024-01-01'", false},
		{"SELECT * FROM t WHERE d > date 'today'", true},
		{"SELECT * FROM t WHERE d > date '2025-06-30'", false},
		{"SELECT * FROM t WHERE d > date 'TOMORROW'", true},
		{"SELECT * FROM t WHERE d > $$yesterday$$::date", true},
		{"SELECT * FROM t WHERE d > $$1999-01-01$$::date", false},
	} {
		if got := c.Classify(tt.sql).Info.Statements[0].TimeLiteral; got != tt.want {
			t.Errorf("%q: TimeLiteral = %v, want %v", tt.sql, got, tt.want)
		}
	}
}

func TestMemoReadsHintsOnEveryCall(t *testing.T) {
	c, _ := query.NewClassifier(query.Config{})
	a := c.Classify("SELECT * FROM t /* pgwarp:cache ttl=30s */")
	b := c.Classify("SELECT * FROM t /* pgwarp:nocache */")
	d := c.Classify("SELECT * FROM t")
	if a.Info != b.Info || b.Info != d.Info {
		t.Error("hints changed the memoised Info")
	}
	if a.Hint.Mode != query.HintCache || a.Hint.TTL.String() != "30s" || b.Hint.Mode != query.HintNoCache || d.Hint.Mode != query.HintNone {
		t.Errorf("hints = %+v, %+v, %+v", a.Hint, b.Hint, d.Hint)
	}
	if a.Text != "SELECT * FROM t" || b.Text != a.Text {
		t.Errorf("texts = %q, %q", a.Text, b.Text)
	}
}

func TestMemoIsBoundedByEntries(t *testing.T) {
	c, _ := query.NewClassifier(query.Config{MaxEntries: 10})
	for i := 0; i < 100; i++ {
		c.Classify(fmt.Sprintf("SELECT c%d FROM t", i))
	}
	if s := c.Stats(); s.Entries != 10 || s.Evictions != 90 || s.Misses != 100 {
		t.Errorf("stats = %+v, want 10 entries, 90 evictions, 100 misses", s)
	}
	// Recently used entries survive.
	c.Classify("SELECT c99 FROM t")
	if s := c.Stats(); s.Hits != 1 {
		t.Errorf("the most recent entry was evicted: %+v", s)
	}
}

func TestMemoIsBoundedByBytes(t *testing.T) {
	const limit = 64 << 10
	c, _ := query.NewClassifier(query.Config{MaxBytes: limit})
	for i := 0; i < 2000; i++ {
		c.Classify(fmt.Sprintf("SELECT a, b, c FROM schema_%d.table_%d JOIN other_%d USING (id) WHERE x = 1", i, i, i))
		if s := c.Stats(); s.Bytes > limit {
			t.Fatalf("after %d statements the memo holds %d bytes, over %d", i+1, s.Bytes, limit)
		}
	}
	if s := c.Stats(); s.Evictions == 0 || s.Entries == 0 {
		t.Errorf("stats = %+v, want evictions and some entries", s)
	}
}

func TestMemoDoesNotKeepOversizedEntries(t *testing.T) {
	c, _ := query.NewClassifier(query.Config{MaxBytes: 64 << 10})
	big := "SELECT 1 FROM t WHERE a IN (0"
	for i := 0; i < 2000; i++ {
		big += fmt.Sprintf(", c%d", i)
	}
	big += ")"
	r := c.Classify(big)
	if r.Info.Err != nil || len(r.Info.Statements) != 1 {
		t.Fatalf("oversized statement not classified: %v", r.Info.Err)
	}
	if s := c.Stats(); s.Entries != 0 || s.Bytes != 0 {
		t.Errorf("an entry over MaxBytes/64 was memoised: %+v", s)
	}
}

func TestClassifierIsSafeForConcurrentUse(t *testing.T) {
	c, _ := query.NewClassifier(query.Config{MaxEntries: 50})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				table := fmt.Sprintf("t%d", (g*7+i)%80)
				r := c.Classify(fmt.Sprintf("SELECT x FROM %s WHERE id = %d", table, i))
				st := r.Info.Statements
				if len(st) != 1 || len(st[0].Reads) != 1 || st[0].Reads[0].Name != table {
					t.Errorf("goroutine %d: wrong classification %+v for %s", g, st, table)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	if s := c.Stats(); s.Hits+s.Misses != 8*300 || s.Entries > 50 {
		t.Errorf("stats = %+v", s)
	}
}

func TestNewClassifierRejectsNegativeBounds(t *testing.T) {
	for _, cfg := range []query.Config{{MaxEntries: -1}, {MaxBytes: -1}} {
		if _, err := query.NewClassifier(cfg); err == nil {
			t.Errorf("NewClassifier(%+v) succeeded", cfg)
		}
	}
}

// textMemoCorpus are statements whose lexer output the exact-text memo must
// reproduce: comments, hints (a malformed one too), literals of every
// kind, several statements, non-canonical whitespace, an empty string.
var textMemoCorpus = []string{
	"SELECT abalance FROM pgbench_accounts WHERE aid = 42;",
	"  select *\n\tFROM t   WHERE id = 7 AND name = 'x''y' -- trailing\n",
	"SELECT * FROM t /* pgwarp:cache ttl=30s swr=5s */ WHERE d > date 'today'",
	"/* pgwarp:cache ttl=banana */ SELECT 1",
	"/* pgwarp:nocache */ SELECT * FROM sales_measurement_dataset WHERE artifact_identifier = 'ART-00000042' AND day > date '2026-06-30' - 30",
	"SELECT $1::int, B'1010', X'ff', 1.5e3, $$dollar$$, E'\\n' FROM t; SELECT 2",
	"INSERT INTO t (a) VALUES (1) RETURNING a",
	"",
	"-- only a comment",
	";;",
	"SELECT * FROM \"Quoted Table\" WHERE \"Col\" = 'v'",
}

func TestTextMemoAnswersAsTheLexerDoes(t *testing.T) {
	c, _ := query.NewClassifier(query.Config{})
	for _, sql := range textMemoCorpus {
		fresh, _ := query.NewClassifier(query.Config{})
		want := fresh.Classify(sql)
		for i := 0; i < 3; i++ { // lexed, lexed and remembered, from the memo
			got := c.Classify(sql)
			if got.Text != want.Text || got.Hint != want.Hint || !reflect.DeepEqual(got.Literals, want.Literals) ||
				!reflect.DeepEqual(got.Info.Statements, want.Info.Statements) || (got.Info.Err == nil) != (want.Info.Err == nil) {
				t.Fatalf("call %d of %q:\n got %+v\nwant %+v", i+1, sql, got, want)
			}
		}
	}
	// Once more, interleaved: a memoised entry must not share a buffer
	// with later calls.
	for _, sql := range textMemoCorpus {
		fresh, _ := query.NewClassifier(query.Config{})
		want, got := fresh.Classify(sql), c.Classify(sql)
		if got.Text != want.Text || got.Hint != want.Hint || !reflect.DeepEqual(got.Literals, want.Literals) ||
			!reflect.DeepEqual(got.Info.Statements, want.Info.Statements) || (got.Info.Err == nil) != (want.Info.Err == nil) {
			t.Fatalf("%q from the memo after other statements:\n got %+v\nwant %+v", sql, got, want)
		}
	}
	if s := c.Stats(); s.TextEntries != len(textMemoCorpus) || s.TextBytes <= 0 {
		t.Errorf("stats = %+v, want every statement of the corpus in the text memo", s)
	}
}

func TestTextMemoAdmitsOnlyRepeatedTexts(t *testing.T) {
	c, _ := query.NewClassifier(query.Config{})
	for aid := 1; aid <= 5000; aid++ {
		c.Classify(fmt.Sprintf("SELECT abalance FROM pgbench_accounts WHERE aid = %d;", aid))
	}
	if s := c.Stats(); s.TextEntries != 0 {
		t.Errorf("statements seen once entered the text memo: %+v", s)
	}
	c.Classify("SELECT abalance FROM pgbench_accounts WHERE aid = 5000;")
	if s := c.Stats(); s.TextEntries != 1 {
		t.Errorf("a statement seen twice is not in the text memo: %+v", s)
	}
}

func TestTextMemoIsBounded(t *testing.T) {
	c, _ := query.NewClassifier(query.Config{})
	pad := strings.Repeat("x", 3000)
	for i := 0; i < 3000; i++ {
		sql := fmt.Sprintf("SELECT '%s' FROM t%d", pad, i)
		c.Classify(sql)
		c.Classify(sql)
	}
	s := c.Stats()
	if s.TextBytes > 4<<20 || s.TextEntries > 4096 {
		t.Errorf("text memo over its bounds: %+v", s)
	}
	if s.TextEntries == 0 {
		t.Errorf("nothing in the text memo: %+v", s)
	}
	long := "SELECT '" + strings.Repeat("y", 5000) + "'"
	before := c.Stats().TextEntries
	for i := 0; i < 3; i++ {
		c.Classify(long)
	}
	if after := c.Stats().TextEntries; after > before {
		t.Errorf("a statement over 4 KiB entered the text memo (%d → %d entries)", before, after)
	}
}
