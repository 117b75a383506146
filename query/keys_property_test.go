package query_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgwarp/pgwarp/internal/pgdate"
	"github.com/pgwarp/pgwarp/query"
)

// propertySchema holds the two tables the keyed-invalidation property test
// reads and writes, with small value domains so that writes often touch
// the rows reads depend on.
const propertySchema = `
CREATE SCHEMA kp;
CREATE TABLE kp.p (id int4 PRIMARY KEY, g int8, code varchar(4), u uuid, v int4);
CREATE TABLE kp.q (id int4, pid int4, w int4);
INSERT INTO kp.p SELECT i, i % 4 - 1, (ARRAY['a', 'b', 'a ', 'é'])[i % 4 + 1],
       (ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '00000000-0000-0000-0000-000000000001']::uuid[])[i % 2 + 1], i % 5
  FROM generate_series(1, 10) i;
INSERT INTO kp.q SELECT i, i % 10 + 1, i FROM generate_series(1, 15) i;
CREATE TABLE kp.d (a int4, day date, v int4, UNIQUE (a, day));
INSERT INTO kp.d SELECT a, date '2026-01-01' + d, 0 FROM generate_series(0, 3) a, generate_series(0, 3) d;
`

// stmtGen builds one statement with its values as literals or as
// parameters.
type stmtGen struct {
	r      *rand.Rand
	params bool // values become $n parameters
	sql    strings.Builder
	vals   [][]byte
	oids   []uint32
	fmts   []int16
}

type colSpec struct {
	name string
	typ  uint32
}

var propColumns = []colSpec{{"id", 23}, {"g", 20}, {"code", 1043}, {"u", 2950}, {"v", 23}}

func (g *stmtGen) pick(n int) int { return g.r.IntN(n) }

func (g *stmtGen) w(s string) { g.sql.WriteString(s) }

// value writes a value of column c, from its small domain, in one of the
// forms a client may use.
func (g *stmtGen) value(c colSpec) {
	var text string
	var bin []byte
	switch c.typ {
	case 23, 20:
		n := int64(g.pick(12)) - 1
		if c.name == "v" {
			n = int64(g.pick(6))
		}
		text = strconv.FormatInt(n, 10)
		if c.typ == 23 {
			bin = binary.BigEndian.AppendUint32(nil, uint32(int32(n)))
		} else {
			bin = binary.BigEndian.AppendUint64(nil, uint64(n))
		}
		if !g.params {
			switch g.pick(4) {
			case 0:
				g.w("'" + text + "'")
			case 1:
				g.w("' " + text + " '")
			case 2:
				if n < 0 {
					g.w("- (" + strconv.FormatInt(-n, 10) + ")")
				} else {
					g.w("- (-" + text + ")")
				}
			default:
				g.w(text)
			}
			return
		}
	case 1043:
		text = []string{"a", "b", "a ", "é", "c", "ab   "}[g.pick(6)]
		if !g.params {
			if g.pick(3) == 0 {
				g.w("E'" + text + "'")
			} else {
				g.w("'" + text + "'")
			}
			return
		}
	case 2950:
		forms := [][]string{
			{"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "{a0eebc999c0b4ef8bb6d6bb9bd380a11}"},
			{"00000000-0000-0000-0000-000000000001", "{00000000000000000000000000000001}"},
			{"11111111-1111-1111-1111-111111111111"},
		}
		k := g.pick(len(forms))
		text = forms[k][g.pick(len(forms[k]))]
		hex := strings.NewReplacer("-", "", "{", "", "}", "").Replace(strings.ToLower(text))
		for i := 0; i < 32; i += 2 {
			b, _ := strconv.ParseUint(hex[i:i+2], 16, 8)
			bin = append(bin, byte(b))
		}
		if !g.params {
			g.w("'" + text + "'")
			return
		}
	}
	g.vals = append(g.vals, nil)
	g.oids = append(g.oids, 0)
	g.fmts = append(g.fmts, 0)
	i := len(g.vals) - 1
	switch g.pick(3) {
	case 0: // text, type left to the server
		g.vals[i] = []byte(text)
	case 1: // text, declared type
		g.vals[i], g.oids[i] = []byte(text), c.typ
	default: // binary where the type has a fixed binary form
		if bin != nil {
			g.vals[i], g.oids[i], g.fmts[i] = bin, c.typ, 1
		} else {
			g.vals[i], g.oids[i] = []byte(text), 25
		}
	}
	g.w("$" + strconv.Itoa(len(g.vals)))
}

func (g *stmtGen) col() colSpec { return propColumns[g.pick(len(propColumns))] }

// day writes a day of kp.d's domain (2025-12-31 to 2026-01-05, one past
// each end of the loaded days) in one of the forms a client may use.
func (g *stmtGen) day() {
	n := g.pick(6) - 1 // days after 2026-01-01
	iso, _ := pgdate.Format(int64(20454 + n))
	if g.params {
		g.vals = append(g.vals, nil)
		g.oids = append(g.oids, 0)
		g.fmts = append(g.fmts, 0)
		i := len(g.vals) - 1
		switch g.pick(3) {
		case 0:
			g.vals[i] = []byte(iso)
		case 1:
			g.vals[i], g.oids[i] = []byte(iso), 1082
		default: // date_send: days since 2000-01-01
			g.vals[i], g.oids[i], g.fmts[i] = binary.BigEndian.AppendUint32(nil, uint32(int32(20454+n-10957))), 1082, 1
		}
		g.w("$" + strconv.Itoa(len(g.vals)))
		if g.pick(3) == 0 {
			if g.oids[i] == 0 && g.fmts[i] == 0 && g.pick(2) == 0 {
				g.oids[i] = 25 // text, cast by date's input function
			}
			g.w("::date")
		}
		return
	}
	switch g.pick(5) {
	case 0:
		g.w("'" + iso + "'")
	case 1:
		g.w("date '" + iso + "'")
	case 2:
		g.w("'" + iso + "'::date")
	case 3:
		g.w("date '2026-01-01' + " + strconv.Itoa(n))
	default:
		g.w("date '2026-01-03' - " + strconv.Itoa(2-n))
	}
}

// dayRead writes a SELECT of kp.d bounded by day, by a, or both.
func (g *stmtGen) dayRead() {
	switch g.pick(4) {
	case 0:
		g.w("SELECT a, day, v FROM kp.d WHERE a = ")
		g.value(colSpec{"a", 23})
		g.w(" AND day > ")
		g.day()
		g.w(" AND day <= ")
		g.day()
		g.w(" ORDER BY 1, 2")
	case 1:
		g.w("SELECT count(*), sum(v) FROM kp.d WHERE day BETWEEN ")
		g.day()
		g.w(" AND ")
		g.day()
	case 2:
		g.w("SELECT a, day, v FROM kp.d d WHERE ")
		g.day()
		g.w([]string{" < d.day", " >= d.day", " = d.day"}[g.pick(3)])
		g.w(" ORDER BY 1, 2")
	default:
		g.w("SELECT count(*), sum(v) FROM kp.d WHERE a >= ")
		g.value(colSpec{"a", 23})
		g.w(" AND a < ")
		g.value(colSpec{"a", 23})
	}
}

// dayWrite writes an INSERT, UPDATE or DELETE of kp.d.
func (g *stmtGen) dayWrite() {
	switch g.pick(5) {
	case 0:
		g.w("INSERT INTO kp.d (a, day, v) VALUES (")
		g.value(colSpec{"a", 23})
		g.w(", ")
		g.day()
		g.w(", 1) ON CONFLICT (a, day) DO UPDATE SET v = kp.d.v + 1")
	case 1:
		// Moves a row to another day (a unique violation changes
		// nothing).
		g.w("UPDATE kp.d SET day = ")
		g.day()
		g.w(", v = v + 1 WHERE a = ")
		g.value(colSpec{"a", 23})
		g.w(" AND day = ")
		g.day()
	case 2:
		g.w("DELETE FROM kp.d WHERE day = ")
		g.day()
		if g.pick(2) == 0 {
			g.w(" AND a = ")
			g.value(colSpec{"a", 23})
		}
	case 3:
		g.w("UPDATE kp.d SET v = v + 1 WHERE a = ")
		g.value(colSpec{"a", 23})
	default:
		g.w("UPDATE kp.d SET v = v + 1 WHERE day = ")
		g.day()
	}
}

// read writes a SELECT whose result depends on few rows of kp.p.
func (g *stmtGen) read() {
	c := g.col()
	switch g.pick(14) {
	case 11, 12, 13:
		g.dayRead()
	case 0, 1:
		g.w("SELECT id, g, code, u, v FROM kp.p WHERE " + c.name + " = ")
		g.value(c)
		if g.pick(2) == 0 {
			g.w(" AND v >= ")
			g.value(propColumns[4])
		}
		g.w(" ORDER BY id")
	case 2:
		g.w("SELECT count(*), sum(v) FROM kp.p x WHERE ")
		g.value(c)
		g.w(" = x." + c.name)
	case 3:
		g.w("SELECT p.id, q.w FROM kp.p p JOIN kp.q q ON q.pid = p.id WHERE p." + c.name + " = ")
		g.value(c)
		g.w(" ORDER BY 1, 2")
	case 4:
		g.w("SELECT id, w FROM kp.q WHERE pid IN (SELECT id FROM kp.p WHERE " + c.name + " = ")
		g.value(c)
		g.w(") ORDER BY 1, 2")
	case 5:
		g.w("SELECT id, pid, w FROM kp.q WHERE pid = ")
		g.value(propColumns[0])
		g.w(" ORDER BY 1, 2, 3")
	// Joins whose key on kp.q, if any, is carried over from kp.p.
	case 6:
		g.w("SELECT p.id, q.id, q.w FROM kp.p p JOIN kp.q q ON q.pid = p.id WHERE p.id = ")
		g.value(propColumns[0])
		g.w(" ORDER BY 1, 2")
	case 7:
		g.w("SELECT p.id, q.id, q.w FROM kp.q q, kp.p p WHERE p.g = q.pid AND p.g = ")
		g.value(propColumns[1])
		g.w(" ORDER BY 1, 2")
	case 8:
		g.w("SELECT p.id, q.id, q.w FROM kp.p p LEFT JOIN kp.q q ON q.pid = p.id WHERE p.id = ")
		g.value(propColumns[0])
		g.w(" ORDER BY 1, 2")
	case 9:
		// An outer join's condition keeps every row of its preserved
		// side: neither side's constant may key it.
		if g.pick(2) == 0 {
			g.w("SELECT q.id, q.w, p.id FROM kp.q q LEFT JOIN kp.p p ON q.pid = p.id AND p.id = ")
		} else {
			g.w("SELECT q.id, q.w, p.id FROM kp.q q LEFT JOIN kp.p p ON p.id = q.pid AND q.pid = ")
		}
		g.value(propColumns[0])
		g.w(" ORDER BY 1, 3")
	default:
		g.w("SELECT count(*), sum(q.w) FROM kp.q q JOIN kp.p p USING (id) WHERE p.id = ")
		g.value(propColumns[0])
	}
}

// write writes an INSERT, UPDATE or DELETE of kp.p, kp.q or kp.d.
func (g *stmtGen) write() {
	switch g.pick(11) {
	case 9, 10:
		g.dayWrite()
	case 8:
		// kp.d's unique key is (a, day): a day alone, compared with a
		// constant expression, matches a row per a.
		g.w("UPDATE kp.d SET v = v + 1 WHERE ")
		if g.pick(2) == 0 {
			g.w("a = " + strconv.Itoa(g.pick(4)) + " AND ")
		}
		g.w("day = date '2026-01-01' + " + strconv.Itoa(g.pick(4)))
	case 0, 1:
		g.w("UPDATE kp.p SET ")
		set := g.col()
		g.w(set.name + " = ")
		if g.pick(4) == 0 && set.typ != 2950 && set.typ != 1043 {
			g.w(set.name + " + 1")
		} else {
			g.value(set)
		}
		if g.pick(2) == 0 {
			g.w(", v = v + 1")
		}
		g.w(" WHERE ")
		c := g.col()
		g.w(c.name + " = ")
		g.value(c)
		if g.pick(3) == 0 {
			c2 := g.col()
			g.w(" AND " + c2.name + " = ")
			g.value(c2)
		}
	case 2:
		g.w("DELETE FROM kp.p WHERE ")
		c := g.col()
		g.w(c.name + " = ")
		g.value(c)
	case 3, 4:
		g.w("INSERT INTO kp.p (id, g, code, u, v) VALUES ")
		rows := 1 + g.pick(2)
		for i := 0; i < rows; i++ {
			if i > 0 {
				g.w(", ")
			}
			g.w("(")
			for j, c := range propColumns {
				if j > 0 {
					g.w(", ")
				}
				g.value(c)
			}
			g.w(")")
		}
		switch g.pick(3) {
		case 0:
			g.w(" ON CONFLICT DO NOTHING")
		case 1:
			set := propColumns[1+g.pick(len(propColumns)-1)]
			g.w(" ON CONFLICT (id) DO UPDATE SET " + set.name + " = ")
			g.value(set)
		default:
			g.w(" ON CONFLICT (id) DO UPDATE SET code = excluded.code, g = kp.p.g + 1")
		}
	case 5:
		g.w("UPDATE kp.q SET w = w + 1 WHERE pid = ")
		g.value(propColumns[0])
	case 6:
		g.w("INSERT INTO kp.q VALUES (")
		g.value(propColumns[0])
		g.w(", ")
		g.value(propColumns[0])
		g.w(", 7)")
	default:
		g.w("UPDATE kp.p SET v = v + 1 WHERE v = ")
		g.value(propColumns[4])
	}
}

// propStmt is one generated statement, run and classified.
type propStmt struct {
	sql  string
	vals [][]byte
	oids []uint32
	fmts []int16
}

func (p propStmt) run(ctx context.Context, conn *pgconn.PgConn) (string, error) {
	out, _, err := p.runCount(ctx, conn)
	return out, err
}

// runCount runs p and also returns the rows its command tags report.
func (p propStmt) runCount(ctx context.Context, conn *pgconn.PgConn) (string, int64, error) {
	var rows [][][]byte
	var affected int64
	if p.vals == nil {
		rs, err := conn.Exec(ctx, p.sql).ReadAll()
		if err != nil {
			return "", 0, err
		}
		for _, r := range rs {
			rows = append(rows, r.Rows...)
			affected += r.CommandTag.RowsAffected()
		}
	} else {
		r := conn.ExecParams(ctx, p.sql, p.vals, p.oids, p.fmts, nil).Read()
		if r.Err != nil {
			return "", 0, r.Err
		}
		rows = r.Rows
		affected = r.CommandTag.RowsAffected()
	}
	var b strings.Builder
	for _, row := range rows {
		for _, f := range row {
			b.Write(f)
			b.WriteByte('|')
		}
		b.WriteByte('\n')
	}
	return b.String(), affected, nil
}

func (p propStmt) values(res query.Result) query.Values {
	v := query.Values{Literals: res.Literals, NoConversion: true}
	for i, val := range p.vals {
		v.Params = append(v.Params, query.Param{Value: val, Binary: p.fmts[i] == 1, Type: p.oids[i]})
	}
	return v
}

func generate(r *rand.Rand, read bool) propStmt {
	g := &stmtGen{r: r, params: r.IntN(2) == 0}
	if read {
		g.read()
	} else {
		g.write()
		if !g.params && r.IntN(6) == 0 {
			g.w("; ")
			g.write()
		}
	}
	if !g.params {
		g.vals = nil
	} else if g.vals == nil {
		g.vals = [][]byte{}
	}
	return propStmt{sql: g.sql.String(), vals: g.vals, oids: g.oids, fmts: g.fmts}
}

// cachedRead is a read's result and what pgwarp's cache would record as
// its dependencies.
type cachedRead struct {
	stmt   propStmt
	result string
	whole  []query.Relation
	keys   []query.TableKey
	ranges []query.TableRange
}

// survives applies the cache's rule: an entry survives a write set unless
// the write set names a relation it depends on in whole, or a relation
// it depends on by key (T, C, x) without ruling x out for C.
//
// An entry the keys do not keep survives a write still when one of its
// ranges on the written relation excludes every value the write gives the
// range's column (as the cache's RowRange rule says): survivesWithRanges.
func survivesWithRanges(rd *cachedRead, ws query.WriteSet) bool {
	if ws.All {
		return false
	}
	deps := append([]query.Relation(nil), rd.whole...)
	for _, k := range rd.keys {
		deps = append(deps, k.Relation)
	}
	for _, d := range deps {
		for _, t := range ws.Tables {
			if t == d {
				return false
			}
		}
		var wkeys []query.TableKey
		for _, k := range ws.Keys {
			if k.Relation == d {
				wkeys = append(wkeys, k)
			}
		}
		if len(wkeys) == 0 {
			continue
		}
		ruledOut := false
		for _, rk := range rd.keys {
			if rk.Relation != d {
				continue
			}
			for _, wk := range wkeys {
				if wk.Column == rk.Column && !slices.Contains(wk.Values, rk.Values[0]) {
					ruledOut = true
				}
			}
		}
		if ruledOut || rangeExcludes(rd.ranges, d, wkeys) {
			continue
		}
		return false
	}
	return true
}

// rangeExcludes reports whether a range of r's reads has every value the
// write keys give its column outside it.
func rangeExcludes(ranges []query.TableRange, r query.Relation, keys []query.TableKey) bool {
	for _, rg := range ranges {
		if rg.Relation != r {
			continue
		}
		for _, k := range keys {
			if k.Relation != r || k.Column != rg.Column || len(k.Values) == 0 {
				continue
			}
			outside := true
			for _, v := range k.Values {
				var x int64
				var ok bool
				if rg.Date {
					x, ok = pgdate.Parse(v)
				} else {
					n, err := strconv.ParseInt(v, 10, 64)
					x, ok = n, err == nil
				}
				if !ok || (x >= rg.Lo && x <= rg.Hi) {
					outside = false
				}
			}
			if outside {
				return true
			}
		}
	}
	return false
}

func survives(rd *cachedRead, ws query.WriteSet) bool {
	if ws.All {
		return false
	}
	touched := func(r query.Relation) bool {
		for _, t := range ws.Tables {
			if t == r {
				return true
			}
		}
		for _, k := range ws.Keys {
			if k.Relation == r {
				return true
			}
		}
		return false
	}
	for _, d := range rd.whole {
		if touched(d) {
			return false
		}
	}
	for _, rk := range rd.keys {
		for _, t := range ws.Tables {
			if t == rk.Relation {
				return false
			}
		}
		written, ruledOut := false, false
		for _, wk := range ws.Keys {
			if wk.Relation != rk.Relation {
				continue
			}
			written = true
			if wk.Column == rk.Column {
				ruledOut = true
				for _, x := range wk.Values {
					if x == rk.Values[0] {
						return false
					}
				}
			}
		}
		if written && !ruledOut {
			return false
		}
	}
	return true
}

// TestKeyedInvalidationIsSoundAgainstPostgres runs random reads and
// writes against a real database: every cached read that the keyed
// invalidation of a write leaves in place must still give the same result
// from PostgreSQL after the write. It also checks that keys do narrow:
// some reads of written tables survive.
func TestKeyedInvalidationIsSoundAgainstPostgres(t *testing.T) {
	fx := newSchemaFixture(t, propertySchema)
	cat := fx.cat
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, fx.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	pc := conn.PgConn()
	sp := query.DefaultSearchPath("postgres")
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("PGWARP_KEYS_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (PGWARP_KEYS_SEED reproduces)", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	// One classifier for everything, so that statements of the same
	// structure share their memoised classification.
	cls, _ := query.NewClassifier(query.Config{})

	iterations := 250
	if testing.Short() {
		iterations = 60
	}
	var keyedReads, keyedWrites, survivors, checked, bounded, rangedReads, keptByRange int
	for it := 0; it < iterations; it++ {
		var reads []*cachedRead
		for len(reads) < 20 {
			st := generate(r, true)
			out, err := st.run(ctx, pc)
			if err != nil {
				t.Fatalf("read %q %q: %v", st.sql, st.vals, err)
			}
			res := cls.Classify(st.sql)
			whole, keys, ok := cat.ReadKeys(&res.Info.Statements[0], sp, st.values(res))
			if !ok {
				t.Fatalf("ReadKeys(%q) not ok", st.sql)
			}
			if len(keys) > 0 {
				keyedReads++
			}
			ranges := cat.ReadRanges(&res.Info.Statements[0], sp, st.values(res))
			if len(ranges) > 0 {
				rangedReads++
			}
			reads = append(reads, &cachedRead{stmt: st, result: out, whole: whole, keys: keys, ranges: ranges})
		}
		wr := generate(r, false)
		res := cls.Classify(wr.sql)
		bound := cat.MaxRowsWritten(res.Info, sp, wr.values(res))
		_, affected, err := wr.runCount(ctx, pc)
		if err != nil {
			// A failed write (a duplicate key, a value too long) changed
			// nothing; pgwarp invalidates on success only.
			continue
		}
		if bound > 0 {
			bounded++
			if affected > bound {
				t.Fatalf("seed %d: %q %q wrote %d rows, MaxRowsWritten said at most %d", seed, wr.sql, wr.vals, affected, bound)
			}
		}
		ws := cat.InvalidationsWith(res.Info, sp, wr.values(res))
		if len(ws.Keys) > 0 {
			keyedWrites++
		}
		for _, rd := range reads {
			if !survivesWithRanges(rd, ws) {
				continue
			}
			if !survives(rd, ws) {
				keptByRange++
			}
			checked++
			out, err := rd.stmt.run(ctx, pc)
			if err != nil {
				t.Fatal(err)
			}
			if out != rd.result {
				t.Fatalf("seed %d: after write %q %q (tables %q keys %q), cached read %q %q (whole %q keys %q ranges %q) would be stale:\nwas\n%s\nnow\n%s",
					seed, wr.sql, wr.vals, names(ws.Tables), keyString(ws.Keys), rd.stmt.sql, rd.stmt.vals, names(rd.whole), keyString(rd.keys), rangeString(rd.ranges), rd.result, out)
			}
			if len(ws.Keys) > 0 && len(rd.keys) > 0 {
				survivors++
			}
		}
	}
	t.Logf("%d keyed reads, %d ranged reads, %d keyed writes, %d surviving reads checked, %d kept by keys, %d kept by ranges alone, %d writes bounded",
		keyedReads, rangedReads, keyedWrites, checked, survivors, keptByRange, bounded)
	if keyedReads == 0 || keyedWrites == 0 || survivors == 0 || bounded == 0 || rangedReads == 0 || keptByRange == 0 {
		t.Fatalf("the test exercised no keys: %d keyed reads, %d ranged reads, %d keyed writes, %d kept by keys, %d by ranges", keyedReads, rangedReads, keyedWrites, survivors, keptByRange)
	}
}

// FuzzKeys checks key predicates on arbitrary statements against the key
// fixture's catalog: no panic; ReadKeys partitions ReadDependencies;
// InvalidationsWith covers every relation Invalidations names; and a
// memoised classification shared with a string of the same structure
// gives the keys a direct parse of that string gives.
func FuzzKeys(f *testing.F) {
	for _, s := range keySeeds {
		f.Add(s, "7")
	}
	fx := newKeyFixture(f)
	sp := query.ParseSearchPath("k, public", "postgres")
	f.Fuzz(func(t *testing.T, sql, param string) {
		shared, _ := query.NewClassifier(query.Config{})
		res := shared.Classify(sql)
		if res.Info.Err != nil {
			return
		}
		params := []query.Param{{Value: []byte(param)}, {Value: []byte(param), Type: 20}}
		v := query.Values{Literals: res.Literals, Params: params, NoConversion: true}
		for i := range res.Info.Statements {
			st := &res.Info.Statements[i]
			deps, ok := fx.cat.ReadDependencies(st, sp)
			whole, keys, ok2 := fx.cat.ReadKeys(st, sp, v)
			if ok != ok2 {
				t.Fatalf("ReadKeys(%q) ok=%v, ReadDependencies ok=%v", sql, ok2, ok)
			}
			got := append([]query.Relation(nil), whole...)
			for _, k := range keys {
				if len(k.Values) != 1 {
					t.Fatalf("read key %v of %q has %d values", k, sql, len(k.Values))
				}
				got = append(got, k.Relation)
			}
			if names(got) != names(deps) {
				t.Fatalf("ReadKeys(%q) covers %q, ReadDependencies %q", sql, names(got), names(deps))
			}
			for _, r := range fx.cat.ReadRanges(st, sp, v) {
				if r.Lo > r.Hi || !strings.Contains(" "+names(deps)+" ", " "+r.Relation.String()+" ") {
					t.Fatalf("ReadRanges(%q) gave %q, dependencies %q", sql, rangeString([]query.TableRange{r}), names(deps))
				}
			}
		}
		plain := fx.cat.Invalidations(res.Info, sp)
		ws := fx.cat.InvalidationsWith(res.Info, sp, v)
		covered := " " + names(ws.Tables) + " "
		for _, k := range ws.Keys {
			covered += k.Relation.String() + " "
		}
		for _, r := range plain.Tables {
			if !strings.Contains(covered, " "+r.String()+" ") {
				t.Fatalf("InvalidationsWith(%q) lost %s: %q", sql, r, covered)
			}
		}
		if ws.All != plain.All {
			t.Fatalf("InvalidationsWith(%q) all=%v, Invalidations all=%v", sql, ws.All, plain.All)
		}
		// The variant shares the memoised Info; its keys must be those
		// of a direct parse.
		variant := query.LiteralVariant(sql)
		sres := shared.Classify(variant)
		direct, _ := query.NewClassifier(query.Config{})
		dres := direct.Classify(variant)
		if sres.Info.Err != nil || dres.Info.Err != nil || len(sres.Info.Statements) != len(dres.Info.Statements) {
			return
		}
		sv := query.Values{Literals: sres.Literals, Params: params, NoConversion: true}
		dv := query.Values{Literals: dres.Literals, Params: params, NoConversion: true}
		for i := range sres.Info.Statements {
			_, sk, _ := fx.cat.ReadKeys(&sres.Info.Statements[i], sp, sv)
			_, dk, _ := fx.cat.ReadKeys(&dres.Info.Statements[i], sp, dv)
			if keyString(sk) != keyString(dk) {
				t.Fatalf("read keys of %q: memoised %q, direct %q", variant, keyString(sk), keyString(dk))
			}
		}
		for i := range sres.Info.Statements {
			sr := fx.cat.ReadRanges(&sres.Info.Statements[i], sp, sv)
			dr := fx.cat.ReadRanges(&dres.Info.Statements[i], sp, dv)
			if rangeString(sr) != rangeString(dr) {
				t.Fatalf("read ranges of %q: memoised %q, direct %q", variant, rangeString(sr), rangeString(dr))
			}
		}
		if a, b := fx.cat.InvalidationsWith(sres.Info, sp, sv), fx.cat.InvalidationsWith(dres.Info, sp, dv); keyString(a.Keys) != keyString(b.Keys) || names(a.Tables) != names(b.Tables) {
			t.Fatalf("write keys of %q: memoised %q %q, direct %q %q", variant, names(a.Tables), keyString(a.Keys), names(b.Tables), keyString(b.Keys))
		}
	})
}

// keySeeds are FuzzKeys' seed statements.
var keySeeds = []string{
	"SELECT sum(v) FROM daily WHERE a = 1 AND day > date '2026-06-30' - 30 AND day <= date '2026-06-30'",
	"SELECT v FROM daily d WHERE d.day BETWEEN '2024-02-28' AND date '2024-02-28' + 2 OR a = $1",
	"UPDATE daily SET day = '2026-06-25', v = v + 1 WHERE a = 1 AND day = date '2026-01-01' - -3",
	"INSERT INTO daily (a, day, v) VALUES (1, CAST('2026-06-30' AS date) - 5, 1) ON CONFLICT (a, day) DO UPDATE SET v = daily.v + 1",
	"SELECT 1 FROM daily WHERE $1 >= day AND a < 7 AND day = pg_catalog.date '2026-01-01'",
	"SELECT title FROM items WHERE id = 5",
	"SELECT title FROM items WHERE id = - (-5) AND code = 'x'",
	"SELECT title FROM k.items i WHERE i.u = '{A0EEBC99-9C0B4EF8-BB6D-6BB9BD380A11}'",
	"SELECT * FROM items i JOIN other o ON o.item_id = i.id WHERE i.id = $1",
	"SELECT * FROM other WHERE item_id IN (SELECT id FROM items WHERE code = E'a\\tb')",
	"UPDATE items SET id = 6, title = 'x' WHERE id = 5 AND sku = $1",
	"DELETE FROM items WHERE id = $2 AND code = 'z'",
	"INSERT INTO items (id, code) VALUES (1, 'a'), (-2, $1) ON CONFLICT (id) DO UPDATE SET id = 9",
	"INSERT INTO items VALUES (1, 'sku', 'c', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 3)",
	"UPDATE items SET title = 'a' WHERE id = 1; DELETE FROM items WHERE id = 2",
	"DELETE FROM casc_parent WHERE id = 1",
	"WITH d AS (DELETE FROM other WHERE id = 1 RETURNING *) UPDATE items SET n = 1 WHERE id = 1",
	fmt.Sprintf("SELECT * FROM items WHERE id = %d", int64(-1)<<63),
}
