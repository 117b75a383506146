package cache_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pgwarp/pgwarp/cache"
)

// keyed returns a request for sql reading sales narrowed to artifact = id,
// and artifacts whole.
func keyed(t testing.TB, sql, id string) cache.Request {
	req := request(t, sql, "public.sales", "public.artifacts")
	req.RowKeys = []cache.RowKey{{Table: "public.sales", Column: "artifact", Value: id}}
	return req
}

func present(c *cache.Cache, req cache.Request) bool {
	r := c.Lookup(req)
	if r.Fill != nil {
		r.Fill.Abort()
	}
	return r.Status == cache.StatusHit
}

func TestRowKeyedEntriesSurviveWritesToOtherRows(t *testing.T) {
	c, _ := newCache(t, cache.Config{})
	a1 := keyed(t, "SELECT sum(units) FROM sales WHERE artifact = 'a1'", "a1")
	a2 := keyed(t, "SELECT sum(units) FROM sales WHERE artifact = 'a2'", "a2")
	all := request(t, "SELECT sum(units) FROM sales", "public.sales")
	byDay := request(t, "SELECT sum(units) FROM sales WHERE day = '2026-01-01'", "public.sales")
	byDay.RowKeys = []cache.RowKey{{Table: "public.sales", Column: "day", Value: "2026-01-01"}}
	fill := func() {
		for _, r := range []cache.Request{a1, a2, all, byDay} {
			if !present(c, r) {
				store(t, c, r, "rows")
			}
		}
	}
	fill()

	// A write constrained to artifact a2 keeps a1's entry; it says nothing
	// about day, so the entry keyed by day goes, as does the whole-table one.
	c.InvalidateWrites("app", cache.Write{Table: "public.sales", Columns: []cache.ColumnValues{{Column: "artifact", Values: []string{"a2"}}}})
	if !present(c, a1) || present(c, a2) || present(c, all) || present(c, byDay) {
		t.Fatalf("after a write to a2: a1 %v a2 %v all %v byDay %v, want only a1 kept", present(c, a1), present(c, a2), present(c, all), present(c, byDay))
	}
	fill()
	// Constrained on both columns: only the matching keys go.
	c.InvalidateWrites("app", cache.Write{Table: "public.sales", Columns: []cache.ColumnValues{
		{Column: "artifact", Values: []string{"a3"}}, {Column: "day", Values: []string{"2026-01-02"}}}})
	if !present(c, a1) || !present(c, a2) || present(c, all) || !present(c, byDay) {
		t.Fatal("a write constrained to a3 on another day dropped a keyed entry it cannot affect")
	}
	// A write whose rows moved from a1 to a2 names both values.
	c.InvalidateWrites("app", cache.Write{Table: "public.sales", Columns: []cache.ColumnValues{{Column: "artifact", Values: []string{"a1", "a2"}}}})
	if present(c, a1) || present(c, a2) {
		t.Fatal("a write that moved rows from a1 to a2 kept one of them")
	}
	fill()
	// Whole-table writes, by either API, drop every keyed entry.
	c.Invalidate("app", "public.sales")
	if present(c, a1) || present(c, a2) || present(c, byDay) {
		t.Fatal("Invalidate of the table kept a keyed entry")
	}
	fill()
	c.InvalidateWrites("app", cache.Write{Table: "public.sales"})
	if present(c, a1) || present(c, a2) {
		t.Fatal("a whole-table Write kept a keyed entry")
	}
	fill()
	// A write to the other table read whole drops everything that reads it.
	c.InvalidateWrites("app", cache.Write{Table: "public.artifacts", Columns: []cache.ColumnValues{{Column: "id", Values: []string{"a1"}}}})
	if present(c, a1) || present(c, a2) || !present(c, all) {
		t.Fatal("a write to artifacts did not drop the entries that read it whole, or dropped one that does not read it")
	}
	if st := c.Stats(); len(st.Tables) == 0 || string(st.Tables[0].Table) == "" {
		t.Fatalf("table statistics: %+v", st.Tables)
	}
	for _, ts := range c.Stats().Tables {
		if ts.Table != "public.sales" && ts.Table != "public.artifacts" {
			t.Fatalf("statistics list a row key as a table: %q", ts.Table)
		}
	}
}

// day returns days since 1970-01-01 of a YYYY-MM-DD date.
func day(t testing.TB, s string) int64 {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		t.Fatal(err)
	}
	return d.Unix() / 86400
}

func TestRangedEntriesSurviveWritesOutsideTheirRange(t *testing.T) {
	c, _ := newCache(t, cache.Config{})
	// a1's last 30 days, keyed by artifact and bounded by day; the top
	// over all artifacts bounded by day only; a count bounded by units.
	window := keyed(t, "SELECT sum(units) FROM sales WHERE artifact = 'a1' AND day > '2026-05-31' AND day <= '2026-06-30'", "a1")
	window.Ranges = []cache.RowRange{{Table: "public.sales", Column: "day", Date: true, Lo: day(t, "2026-06-01"), Hi: day(t, "2026-06-30")}}
	top := request(t, "SELECT artifact FROM sales WHERE day >= '2026-06-01' GROUP BY 1 ORDER BY sum(units) DESC LIMIT 20", "public.sales")
	top.Ranges = []cache.RowRange{{Table: "public.sales", Column: "day", Date: true, Lo: day(t, "2026-06-01"), Hi: math.MaxInt64}}
	small := request(t, "SELECT count(*) FROM sales WHERE units BETWEEN 1 AND 9", "public.sales")
	small.Ranges = []cache.RowRange{{Table: "public.sales", Column: "units", Lo: 1, Hi: 9}}
	fill := func() {
		for _, r := range []cache.Request{window, top, small} {
			if !present(c, r) {
				store(t, c, r, "rows")
			}
		}
	}
	write := func(cols ...cache.ColumnValues) {
		c.InvalidateWrites("app", cache.Write{Table: "public.sales", Columns: cols})
	}
	fill()
	cases := []struct {
		name               string
		cols               []cache.ColumnValues
		window, top, small bool // kept
	}{
		{"a1 before the window", []cache.ColumnValues{{Column: "artifact", Values: []string{"a1"}}, {Column: "day", Values: []string{"2026-03-22"}}}, true, true, false},
		{"a1 on the window's first day", []cache.ColumnValues{{Column: "artifact", Values: []string{"a1"}}, {Column: "day", Values: []string{"2026-06-01"}}}, false, false, false},
		{"a1 after the window", []cache.ColumnValues{{Column: "artifact", Values: []string{"a1"}}, {Column: "day", Values: []string{"2026-07-01"}}}, true, false, false},
		{"a row moved into the window", []cache.ColumnValues{{Column: "artifact", Values: []string{"a1"}}, {Column: "day", Values: []string{"2026-01-01", "2026-06-15"}}}, false, false, false},
		{"day unconstrained", []cache.ColumnValues{{Column: "artifact", Values: []string{"a1"}}}, false, false, false},
		{"another artifact in the window", []cache.ColumnValues{{Column: "artifact", Values: []string{"a2"}}, {Column: "day", Values: []string{"2026-06-10"}}}, true, false, false},
		{"units outside", []cache.ColumnValues{{Column: "units", Values: []string{"0", "10", "-5"}}}, false, false, true},
		{"units inside", []cache.ColumnValues{{Column: "units", Values: []string{"10", "9"}}}, false, false, false},
		{"unreadable day", []cache.ColumnValues{{Column: "artifact", Values: []string{"a1"}}, {Column: "day", Values: []string{"2026-02-30"}}}, false, false, false},
	}
	for _, tc := range cases {
		write(tc.cols...)
		if present(c, window) != tc.window || present(c, top) != tc.top || present(c, small) != tc.small {
			t.Errorf("%s: kept window %v top %v small %v, want %v %v %v", tc.name, present(c, window), present(c, top), present(c, small), tc.window, tc.top, tc.small)
		}
		fill()
	}
	// A whole-table write drops ranged entries too.
	c.InvalidateWrites("app", cache.Write{Table: "public.sales"})
	if present(c, window) || present(c, top) || present(c, small) {
		t.Fatal("a whole-table write kept a ranged entry")
	}
	checkInvariants(t, c)
}

// A fill in progress is superseded by a write even when the write misses
// its range: it is run again rather than stored.
func TestRangedFillIsSupersededByAnyKeyedWrite(t *testing.T) {
	c, _ := newCache(t, cache.Config{})
	req := request(t, "SELECT sum(units) FROM sales WHERE day >= '2026-06-01'", "public.sales")
	req.Ranges = []cache.RowRange{{Table: "public.sales", Column: "day", Date: true, Lo: day(t, "2026-06-01"), Hi: math.MaxInt64}}
	r := c.Lookup(req)
	mustStatus(t, r, cache.StatusMiss)
	c.InvalidateWrites("app", cache.Write{Table: "public.sales", Columns: []cache.ColumnValues{{Column: "day", Values: []string{"2026-01-01"}}}})
	if !r.Fill.Append([]byte("rows")) {
		t.Fatal("Append refused")
	}
	_ = r.Fill.Complete()
	if present(c, req) {
		t.Fatal("a fill superseded by a write was stored")
	}
}

func TestRowKeyedFillIsSupersededOnlyByWritesThatMayTouchIt(t *testing.T) {
	c, _ := newCache(t, cache.Config{})
	a1 := keyed(t, "SELECT sum(units) FROM sales WHERE artifact = 'a1'", "a1")
	r := c.Lookup(a1)
	mustStatus(t, r, cache.StatusMiss)
	c.InvalidateWrites("app", cache.Write{Table: "public.sales", Columns: []cache.ColumnValues{{Column: "artifact", Values: []string{"a9"}}}})
	r.Fill.Append([]byte("rows"))
	if err := r.Fill.Complete(); err != nil {
		t.Fatal(err)
	}
	if !present(c, a1) {
		t.Fatal("a write to another artifact superseded the fill of a1")
	}
	c.InvalidateWrites("app", cache.Write{Table: "public.sales"})
	r = c.Lookup(a1)
	mustStatus(t, r, cache.StatusMiss)
	c.InvalidateWrites("app", cache.Write{Table: "public.sales", Columns: []cache.ColumnValues{{Column: "artifact", Values: []string{"a1"}}}})
	r.Fill.Append([]byte("rows"))
	_ = r.Fill.Complete()
	if present(c, a1) {
		t.Fatal("a fill superseded by a write to its row was stored")
	}
}

// Against a model: random keyed and whole entries, random writes; an entry
// survives a write exactly when the write rules it out.
func TestRowKeysAgainstAModel(t *testing.T) {
	c, _ := newCache(t, cache.Config{})
	rng := rand.New(rand.NewPCG(1, 2))
	type ent struct {
		req      cache.Request
		col, val string // "" → whole table
	}
	cols := []string{"a", "b"}
	vals := []string{"1", "2", "3"}
	var ents []ent
	for i := 0; i < 40; i++ {
		req := request(t, fmt.Sprintf("SELECT %d", i), "public.t")
		e := ent{req: req}
		if i%5 != 0 {
			e.col, e.val = cols[rng.IntN(2)], vals[rng.IntN(3)]
			e.req.RowKeys = []cache.RowKey{{Table: "public.t", Column: e.col, Value: e.val}}
		}
		ents = append(ents, e)
	}
	for round := 0; round < 200; round++ {
		for _, e := range ents {
			if !present(c, e.req) {
				store(t, c, e.req, "x")
			}
		}
		w := cache.Write{Table: "public.t"}
		if rng.IntN(4) != 0 {
			w.Columns = []cache.ColumnValues{}
			for _, col := range cols {
				if rng.IntN(2) == 0 {
					w.Columns = append(w.Columns, cache.ColumnValues{Column: col, Values: []string{vals[rng.IntN(3)]}})
				}
			}
		}
		c.InvalidateWrites("app", w)
		for i, e := range ents {
			want := false // survives?
			if w.Columns != nil && e.col != "" {
				for _, cv := range w.Columns {
					if cv.Column == e.col && cv.Values[0] != e.val {
						want = true
					}
				}
			}
			if got := present(c, e.req); got != want {
				t.Fatalf("round %d entry %d (%s=%s) after write %+v: present %v, want %v", round, i, e.col, e.val, w, got, want)
			}
		}
	}
}
