package proxy_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/proxy"
	"github.com/pgwarp/pgwarp/proxy/proxytest"
)

// Row-keyed invalidation, end to end: a cached read that selects one row
// by key (WHERE id = 5, or WHERE id = $1 bound with 5) is dropped by writes
// that may touch that key and survives writes that provably touch only
// other keys.
//
// Survival is proved without timing: the row the read returns is changed
// directly on the upstream, behind pgwarp's back (so pgwarp invalidates
// nothing), before the write runs through pgwarp. Afterwards the read
// returning the old value proves its entry was still cached; returning the
// value written behind pgwarp proves the write dropped the entry.

// keyedSchema is every keyed test's data: an int, a varchar and a uuid key,
// each row titled "title <n>".
const keyedSchema = `
CREATE TABLE items (id int PRIMARY KEY, title text NOT NULL, other int NOT NULL DEFAULT 0);
INSERT INTO items SELECT g, 'title ' || g, g % 3 FROM generate_series(1, 200) g;
CREATE TABLE tk (k varchar(40) PRIMARY KEY, title text NOT NULL);
INSERT INTO tk SELECT 'k' || g, 'title ' || g FROM generate_series(1, 200) g;
CREATE TABLE uk (u uuid PRIMARY KEY, title text NOT NULL);
INSERT INTO uk SELECT ('a0eebc99-9c0b-4ef8-bb6d-' || lpad(g::text, 12, '0'))::uuid, 'title ' || g FROM generate_series(1, 200) g;
`

const noRow = "<no row>"

// keyedFixture is a caching pgwarp in front of a fresh database holding
// keyedSchema, and a direct connection to that database that bypasses
// pgwarp.
type keyedFixture struct {
	t      *testing.T
	p      *proxytest.Proxy
	db     string
	direct *pgx.Conn
	tag    int
}

func newKeyed(t *testing.T, mode proxy.PoolMode, size int, extra string) *keyedFixture {
	t.Helper()
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	pgtest.Exec(t, c, db, keyedSchema+extra)
	p, _ := startCached(t, db, cacheSetup{mode: mode, size: size})
	direct, err := pgx.Connect(context.Background(), c.SocketURL(c.Superuser(), db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { direct.Close(context.Background()) })
	return &keyedFixture{t: t, p: p, db: db, direct: direct}
}

// behind runs sql on the upstream directly: pgwarp invalidates nothing.
func (f *keyedFixture) behind(sql string, args ...any) {
	f.t.Helper()
	if _, err := f.direct.Exec(context.Background(), sql, args...); err != nil {
		f.t.Fatalf("upstream %s: %v", sql, err)
	}
}

// alias returns a fresh column alias, which makes a statement's text, and
// so its cache entry, new.
func (f *keyedFixture) alias() string {
	f.tag++
	return fmt.Sprintf("c%d", f.tag)
}

// hits returns the number of reads pgwarp answered from its cache.
func (f *keyedFixture) hits() int64 { return f.p.Server.CacheOutcomes()["hit"] }

// cached runs read until pgwarp answers it from the cache and returns the
// value it read then.
func (f *keyedFixture) cached(what string, read func() string) string {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		before := f.hits()
		v := read()
		if f.hits() > before {
			return v
		}
		if i > 0 { // the first miss stores the result; later ones wait for the catalog
			time.Sleep(10 * time.Millisecond)
		}
	}
	f.t.Fatalf("%s never became a cache hit: %v", what, f.p.Server.CacheOutcomes())
	return ""
}

// probe caches read (holding "c<n>": set stores a title behind pgwarp),
// then sets "b<n>" behind pgwarp and runs write through pgwarp. It returns
// the value cached and behind, and what read returns after the write:
// cached if its entry survived, behind if the write dropped it (or what
// the write itself stored).
func (f *keyedFixture) probe(read func(alias string) string, set func(v string), write func()) (cached, behind, got string) {
	f.t.Helper()
	a := f.alias()
	cached, behind = "c"+a[1:], "b"+a[1:]
	set(cached)
	if v := f.cached(a, func() string { return read(a) }); v != cached {
		f.t.Fatalf("%s: read %q, want %q", a, v, cached)
	}
	set(behind)
	write()
	return cached, behind, read(a)
}

// readOne returns the single column of the row sql reads through conn,
// or noRow.
func readOne(t *testing.T, conn *pgx.Conn, sql string, args ...any) string {
	t.Helper()
	var s string
	err := conn.QueryRow(context.Background(), sql, args...).Scan(&s)
	if errors.Is(err, pgx.ErrNoRows) {
		return noRow
	}
	if err != nil {
		t.Fatalf("%s %v: %v", sql, args, err)
	}
	return s
}

// simpleReader reads format (with %s for the column alias) through conn
// with the simple protocol.
func simpleReader(t *testing.T, conn *pgx.Conn, format string) func(alias string) string {
	return func(alias string) string {
		return readOne(t, conn, fmt.Sprintf(format, alias), pgx.QueryExecModeSimpleProtocol)
	}
}

// behindSetter stores titles behind pgwarp with format (%s for the title).
func (f *keyedFixture) behindSetter(format string) func(v string) {
	return func(v string) { f.behind(fmt.Sprintf(format, v)) }
}

func mustExecSimple(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	mustExec(t, conn, sql, pgx.QueryExecModeSimpleProtocol)
}

// 1. A write by key through the simple protocol drops that key's entries
// and leaves the other keys' entries of the table cached.
func TestKeyedSimpleProtocolWriteDropsOnlyItsKey(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			f := newKeyed(t, m.mode, 0, "")
			r, w := connect(t, f.p, f.db), connect(t, f.p, f.db)
			q := func(id int) string {
				return readOne(t, r, fmt.Sprintf("SELECT title FROM items WHERE id = %d", id), pgx.QueryExecModeSimpleProtocol)
			}
			for _, id := range []int{1, 2, 7} {
				if v := f.cached(fmt.Sprint("id ", id), func() string { return q(id) }); v != fmt.Sprint("title ", id) {
					t.Fatalf("id %d: %q", id, v)
				}
			}
			f.behind("UPDATE items SET title = 'behind' WHERE id IN (1, 2)")
			mustExecSimple(t, w, "UPDATE items SET title = 'x' WHERE id = 2")
			if got := q(1); got != "title 1" {
				t.Fatalf("after UPDATE … WHERE id = 2, id 1 read %q: its entry was dropped (want the cached %q)", got, "title 1")
			}
			if got := q(2); got != "x" {
				t.Fatalf("after UPDATE … WHERE id = 2, id 2 read %q, want %q", got, "x")
			}
			mustExecSimple(t, w, "DELETE FROM items WHERE id = 2")
			if got := q(2); got != noRow {
				t.Fatalf("after DELETE … WHERE id = 2, id 2 read %q", got)
			}
			mustExecSimple(t, w, "UPDATE items SET other = other + 1 WHERE id = 7")
			if got := q(1); got != "title 1" {
				t.Fatalf("after UPDATE … WHERE id = 7, id 1 read %q (want the cached %q)", got, "title 1")
			}
			// The entry of id 1 is a real cache entry: a write of id 1 that
			// does not even change its title drops it.
			mustExecSimple(t, w, "UPDATE items SET other = other + 1 WHERE id = 1")
			if got := q(1); got != "behind" {
				t.Fatalf("after UPDATE … WHERE id = 1, id 1 read %q, want %q from the upstream", got, "behind")
			}
		})
	}
}

// Every spelling of "the row with id 1" keys the same row, and every
// spelling of a write of id 1 drops them all.
func TestKeyedLiteralSpellingsShareTheirKey(t *testing.T) {
	f := newKeyed(t, proxy.PoolTransaction, 0, "")
	r, w := connect(t, f.p, f.db), connect(t, f.p, f.db)
	reads := []string{
		"SELECT title AS %s FROM items WHERE id = 1",
		"SELECT title AS %s FROM items WHERE id = '1'",
		"SELECT title AS %s FROM items WHERE 1 = id",
		"SELECT title AS %s FROM items WHERE items.id = 1 AND other >= 0",
		"SELECT title AS %s FROM items i WHERE i.id = 1",
		"SELECT title AS %s FROM public.items WHERE id = ' +01 '",
		"SELECT title AS %s FROM items WHERE id = -(-1)",
		"SELECT title AS %s FROM items WHERE id = E'1'",
		"SELECT i.title AS %s FROM items i JOIN tk ON tk.k = 'k' || i.id WHERE i.id = 1",
	}
	writes := []string{
		"UPDATE items SET other = other WHERE id = 1",
		"UPDATE items SET other = other WHERE id = '  +1'",
		"UPDATE items i SET other = other WHERE i.id = 1",
		"UPDATE items SET other = other WHERE 1 = id AND other >= 0",
		"DELETE FROM items WHERE id = -(-1) AND other < 0",
		"DELETE FROM public.items WHERE id = 01 AND title = 'nothing'",
	}
	for i, wr := range writes {
		set := fmt.Sprintf("v%d", i)
		f.behind("UPDATE items SET title = $1 WHERE id = 1", set)
		var aliases []string
		for _, rd := range reads {
			a := f.alias()
			aliases = append(aliases, a)
			if v := f.cached(fmt.Sprintf(rd, a), func() string { return readOne(t, r, fmt.Sprintf(rd, a), pgx.QueryExecModeSimpleProtocol) }); v != set {
				t.Fatalf("%s: %q, want %q", fmt.Sprintf(rd, a), v, set)
			}
		}
		f.behind("UPDATE items SET title = 'behind' WHERE id = 1")
		mustExecSimple(t, w, "UPDATE items SET other = other WHERE id = 2")
		for k, rd := range reads {
			if got := readOne(t, r, fmt.Sprintf(rd, aliases[k]), pgx.QueryExecModeSimpleProtocol); got != set {
				t.Errorf("a write of id 2 dropped %q: it read %q, want the cached %q", fmt.Sprintf(rd, aliases[k]), got, set)
			}
		}
		mustExecSimple(t, w, wr)
		for k, rd := range reads {
			if got := readOne(t, r, fmt.Sprintf(rd, aliases[k]), pgx.QueryExecModeSimpleProtocol); got != "behind" {
				t.Errorf("%q left %q cached: it read %q, want %q", wr, fmt.Sprintf(rd, aliases[k]), got, "behind")
			}
		}
	}
}

// keyKind is a key column type, with its values for row n in each form a
// client may send them.
type keyKind struct {
	name, table, col string
	// arg is what a pgx application passes (pgx sends int and uuid in
	// binary, strings in text); execArg the same for QueryExecModeExec,
	// where the Go type picks the parameter type.
	arg, execArg func(n int) any
	// text is the value in text format, spelled unusually but read by the
	// type's input function as the same value; binary is its binary form.
	text, binary func(n int) []byte
}

func uuidBytes(n int) [16]byte {
	var b [16]byte
	copy(b[:], []byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d})
	s := fmt.Sprintf("%012d", n)
	for i := 0; i < 6; i++ {
		b[10+i] = (s[2*i]-'0')<<4 | (s[2*i+1] - '0')
	}
	return b
}

var keyKinds = []keyKind{
	{
		name: "int4", table: "items", col: "id",
		arg:     func(n int) any { return n },
		execArg: func(n int) any { return int32(n) },
		text:    func(n int) []byte { return []byte(fmt.Sprintf(" +%03d ", n)) },
		binary:  func(n int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(n)) },
	},
	{
		name: "varchar", table: "tk", col: "k",
		arg:     func(n int) any { return fmt.Sprint("k", n) },
		execArg: func(n int) any { return fmt.Sprint("k", n) },
		text:    func(n int) []byte { return []byte(fmt.Sprint("k", n)) },
		binary:  func(n int) []byte { return []byte(fmt.Sprint("k", n)) },
	},
	{
		name: "uuid", table: "uk", col: "u",
		arg:     func(n int) any { return pgtype.UUID{Bytes: uuidBytes(n), Valid: true} },
		execArg: func(n int) any { return pgtype.UUID{Bytes: uuidBytes(n), Valid: true} },
		text: func(n int) []byte {
			b := uuidBytes(n)
			return []byte(fmt.Sprintf("{%X-%X-%X-%X-%X}", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
		},
		binary: func(n int) []byte { b := uuidBytes(n); return b[:] },
	},
}

// 2. Extended protocol: reads keyed by a bound parameter in text or binary
// format, writes by pgx in each exec mode and by raw binds, for int4,
// varchar and uuid keys. Every reader's entry for one key survives a write
// of another key by every writer, and is dropped by its own key's write.
func TestKeyedExtendedProtocolParameters(t *testing.T) {
	ctx := context.Background()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			f := newKeyed(t, m.mode, 0, "")
			r, w := connect(t, f.p, f.db), connect(t, f.p, f.db)
			prepared := map[string]bool{}
			raw := func(kk keyKind, param []byte, format int16) string {
				t.Helper()
				name := "keyed_" + kk.table
				if !prepared[name] {
					if _, err := r.PgConn().Prepare(ctx, name, fmt.Sprintf("SELECT title FROM %s WHERE %s = $1", kk.table, kk.col), nil); err != nil {
						t.Fatal(err)
					}
					prepared[name] = true
				}
				res := r.PgConn().ExecPrepared(ctx, name, [][]byte{param}, []int16{format}, nil).Read()
				if res.Err != nil {
					t.Fatalf("%s %q: %v", name, param, res.Err)
				}
				if len(res.Rows) == 0 {
					return noRow
				}
				return string(res.Rows[0][0])
			}
			readers := []struct {
				name string
				read func(kk keyKind, n int) string
			}{
				{"pgx", func(kk keyKind, n int) string {
					return readOne(t, r, fmt.Sprintf("SELECT title FROM %s WHERE %s = $1", kk.table, kk.col), kk.arg(n))
				}},
				{"text", func(kk keyKind, n int) string { return raw(kk, kk.text(n), 0) }},
				{"binary", func(kk keyKind, n int) string { return raw(kk, kk.binary(n), 1) }},
			}
			writers := []struct {
				name  string
				write func(kk keyKind, n int, title string)
			}{
				{"CacheStatement", func(kk keyKind, n int, title string) {
					mustExec(t, w, fmt.Sprintf("UPDATE %s SET title = $1 WHERE %s = $2", kk.table, kk.col), title, kk.arg(n))
				}},
				{"DescribeExec", func(kk keyKind, n int, title string) {
					mustExec(t, w, fmt.Sprintf("UPDATE %s SET title = $1 WHERE %s = $2", kk.table, kk.col), pgx.QueryExecModeDescribeExec, title, kk.arg(n))
				}},
				{"Exec", func(kk keyKind, n int, title string) {
					mustExec(t, w, fmt.Sprintf("UPDATE %s SET title = $1 WHERE %s = $2", kk.table, kk.col), pgx.QueryExecModeExec, title, kk.execArg(n))
				}},
				{"SimpleProtocol", func(kk keyKind, n int, title string) {
					mustExec(t, w, fmt.Sprintf("UPDATE %s SET title = $1 WHERE %s = $2", kk.table, kk.col), pgx.QueryExecModeSimpleProtocol, title, kk.execArg(n))
				}},
				{"RawText", func(kk keyKind, n int, title string) {
					if err := w.PgConn().ExecParams(ctx, fmt.Sprintf("DELETE FROM %s WHERE %s = $1", kk.table, kk.col), [][]byte{kk.text(n)}, nil, []int16{0}, nil).Read().Err; err != nil {
						t.Fatal(err)
					}
				}},
				{"RawBinary", func(kk keyKind, n int, title string) {
					if err := w.PgConn().ExecParams(ctx, fmt.Sprintf("UPDATE %s SET title = $2 WHERE %s = $1", kk.table, kk.col), [][]byte{kk.binary(n), []byte(title)}, nil, []int16{1, 0}, nil).Read().Err; err != nil {
						t.Fatal(err)
					}
				}},
			}
			for _, kk := range keyKinds {
				n := 0
				for _, rd := range readers {
					for _, wr := range writers {
						what := fmt.Sprintf("%s key, %s reader, %s writer", kk.name, rd.name, wr.name)
						keep, drop := n+1, n+2
						n += 2
						for _, k := range []int{keep, drop} {
							if v := f.cached(what, func() string { return rd.read(kk, k) }); v != fmt.Sprint("title ", k) {
								t.Fatalf("%s: row %d read %q", what, k, v)
							}
						}
						f.behind(fmt.Sprintf("UPDATE %s SET title = 'behind' WHERE %s = $1 OR %s = $2", kk.table, kk.col, kk.col), kk.arg(keep), kk.arg(drop))
						written := "w " + wr.name
						wr.write(kk, drop, written)
						if wr.name == "RawText" {
							written = noRow // it deletes
						}
						if got := rd.read(kk, keep); got != fmt.Sprint("title ", keep) {
							t.Errorf("%s: a write of row %d dropped row %d's entry (read %q)", what, drop, keep, got)
						}
						if got := rd.read(kk, drop); got != written {
							t.Errorf("%s: after a write of row %d it read %q, want %q", what, drop, got, written)
						}
					}
				}
			}
		})
	}
}

// 3. A write that changes a key drops the entries of its old and its new
// value; one that sets it to an expression drops the whole table's.
func TestKeyedKeyChangeDropsOldAndNewKeys(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			f := newKeyed(t, m.mode, 0, `CREATE TABLE uq (id int PRIMARY KEY, title text UNIQUE NOT NULL, n int NOT NULL);
				INSERT INTO uq VALUES (1, 'one', 0), (2, 'two', 0);`)
			r, w := connect(t, f.p, f.db), connect(t, f.p, f.db)
			ctx := context.Background()
			type probeRead struct {
				what string
				read func() string
			}
			// check caches reads, runs behindSQL (if any) on the upstream,
			// then write through pgwarp, and compares what reads return.
			check := func(behindSQL string, reads []probeRead, write func(), want []string) {
				t.Helper()
				for _, pr := range reads {
					f.cached(pr.what, pr.read)
				}
				if behindSQL != "" {
					f.behind(behindSQL)
				}
				write()
				for i, pr := range reads {
					if got := pr.read(); got != want[i] {
						t.Errorf("%s: read %q after the write, want %q", pr.what, got, want[i])
					}
				}
			}
			simple := func(sql string) probeRead {
				return probeRead{sql, func() string { return readOne(t, r, sql, pgx.QueryExecModeSimpleProtocol) }}
			}
			ext := func(sql string, arg any) probeRead {
				return probeRead{fmt.Sprintf("%s [%v]", sql, arg), func() string { return readOne(t, r, sql, arg) }}
			}
			// int key, simple protocol: id 3 becomes 250 (no such row yet).
			check("UPDATE items SET title = 'behind' WHERE id = 4", []probeRead{
				simple("SELECT title FROM items WHERE id = 250"),
				simple("SELECT title FROM items WHERE id = 3"),
				simple("SELECT title FROM items WHERE id = 4"),
			}, func() { mustExecSimple(t, w, "UPDATE items SET id = 250 WHERE id = 3") },
				[]string{"title 3", noRow, "title 4"})
			// And back to a key whose entry is cached with a row.
			check("", []probeRead{
				simple("SELECT title FROM items WHERE id = 250"),
				simple("SELECT title FROM items WHERE id = 3"),
			}, func() { mustExecSimple(t, w, "UPDATE items SET id = 3 WHERE id = 250") },
				[]string{noRow, "title 3"})
			// int key, extended protocol with the new key bound.
			check("UPDATE items SET title = 'behind' WHERE id = 6", []probeRead{
				ext("SELECT title FROM items WHERE id = $1", 5),
				ext("SELECT title FROM items WHERE id = $1", 251),
				ext("SELECT title FROM items WHERE id = $1", 6),
			}, func() { mustExec(t, w, "UPDATE items SET id = $1 WHERE id = $2", 251, 5) },
				[]string{noRow, "title 5", "title 6"})
			// varchar key.
			check("UPDATE tk SET title = 'behind' WHERE k = 'k9'", []probeRead{
				ext("SELECT title FROM tk WHERE k = $1", "k8"),
				ext("SELECT title FROM tk WHERE k = $1", "renamed"),
				simple("SELECT title FROM tk WHERE k = 'renamed'"),
				ext("SELECT title FROM tk WHERE k = $1", "k9"),
			}, func() { mustExec(t, w, "UPDATE tk SET k = $1 WHERE k = $2", "renamed", "k8") },
				[]string{noRow, "title 8", "title 8", "title 9"})
			// uuid key, the new value spelled differently from the read's.
			check("UPDATE uk SET title = 'behind' WHERE u = 'a0eebc99-9c0b-4ef8-bb6d-000000000011'", []probeRead{
				simple("SELECT title FROM uk WHERE u = 'a0eebc99-9c0b-4ef8-bb6d-000000000010'"),
				ext("SELECT title FROM uk WHERE u = $1", pgtype.UUID{Bytes: uuidBytes(999), Valid: true}),
				simple("SELECT title FROM uk WHERE u = 'a0eebc99-9c0b-4ef8-bb6d-000000000011'"),
			}, func() {
				mustExecSimple(t, w, "UPDATE uk SET u = '{A0EEBC999C0B4EF8BB6D000000000999}' WHERE u = 'A0EEBC99-9C0B-4EF8-BB6D-000000000010'")
			}, []string{noRow, "title 10", "title 11"})
			// A key set to an expression could become anything: the
			// entry of the value it became must go.
			check("", []probeRead{
				simple("SELECT title FROM items WHERE id = 20"),
				simple("SELECT title FROM items WHERE id = 502"),
				ext("SELECT title FROM items WHERE id = $1", 502),
			}, func() { mustExecSimple(t, w, "UPDATE items SET id = other + 500 WHERE id = 20") },
				[]string{noRow, "title 20", "title 20"})
			check("", []probeRead{
				ext("SELECT title FROM items WHERE id = $1", 21),
				ext("SELECT title FROM items WHERE id = $1", 621),
			}, func() {
				if _, err := w.Exec(ctx, "UPDATE items SET id = $1::int + id WHERE id = $2", 600, 21); err != nil {
					t.Fatal(err)
				}
			}, []string{noRow, "title 21"})
			// Upserts: the conflicting row is the one written, whatever
			// the VALUES say.
			check("", []probeRead{
				simple("SELECT title FROM items WHERE id = 8"),
				simple("SELECT title FROM items WHERE id = 252"),
			}, func() {
				mustExecSimple(t, w, "INSERT INTO items VALUES (8, 'upsert', 0) ON CONFLICT (id) DO UPDATE SET id = 252")
			}, []string{noRow, "title 8"})
			check("", []probeRead{
				simple("SELECT n::text FROM uq WHERE id = 1"),
				ext("SELECT n::text FROM uq WHERE id = $1", 1),
				simple("SELECT n::text FROM uq WHERE id = 99"),
			}, func() {
				mustExecSimple(t, w, "INSERT INTO uq VALUES (99, 'one', 5) ON CONFLICT (title) DO UPDATE SET n = excluded.n")
			}, []string{"5", "5", noRow})
			check("", []probeRead{
				simple("SELECT n::text FROM uq WHERE id = 2"),
				simple("SELECT n::text FROM uq WHERE id = 98"),
			}, func() {
				mustExec(t, w, "INSERT INTO uq VALUES ($1, $2, 6) ON CONFLICT ON CONSTRAINT uq_title_key DO UPDATE SET n = excluded.n", 98, "two")
			}, []string{"6", noRow})
		})
	}
}

// 4. Writes that do not pin the read's key column to constants drop every
// entry of the table; INSERT … VALUES of other keys does not.
func TestKeyedUnconstrainedWritesDropTheWholeTable(t *testing.T) {
	type step struct {
		write      string
		simpleOnly bool   // several statements
		keep       bool   // id 1's entry must survive
		want       string // what id 1 reads after the write, when it wrote id 1
	}
	steps := []step{
		{write: "UPDATE items SET title = 'y' WHERE title = 'no such title'"},
		{write: "UPDATE items SET title = 'y' WHERE title LIKE 'b%'", want: "y"},
		{write: "UPDATE items SET other = 5 WHERE other = 99"},
		{write: "UPDATE items SET title = 'z' WHERE id = 2", keep: true},
		{write: "UPDATE items SET title = 'z' FROM tk WHERE items.id = 2 AND tk.k = 'k2'", keep: true},
		{write: "INSERT INTO items VALUES (201, 'new', 0)", keep: true},
		{write: "INSERT INTO items VALUES (202, 'new', 0), (203, 'new', 0)", keep: true},
		{write: "INSERT INTO items (title, id) VALUES ('new', 204) ON CONFLICT DO NOTHING", keep: true},
		{write: "INSERT INTO items VALUES (205, 'new', 0), ((SELECT 206), 'new', 0)"},
		{write: "INSERT INTO items SELECT 207, 'new', 0"},
		{write: "INSERT INTO items SELECT g, 'new', 0 FROM generate_series(208, 209) g"},
		{write: "INSERT INTO items VALUES (2, 'upsert', 0) ON CONFLICT (id) DO UPDATE SET title = excluded.title", keep: true},
		{write: "INSERT INTO items VALUES (1, 'upsert', 0) ON CONFLICT (id) DO UPDATE SET title = excluded.title", want: "upsert"},
		{write: "WITH u AS (UPDATE items SET title = 'cte' WHERE other = 99 RETURNING id) SELECT count(*) FROM u"},
		{write: "MERGE INTO items USING (VALUES (1)) v(id) ON items.id = v.id WHEN MATCHED THEN UPDATE SET title = 'merged'", want: "merged"},
		{write: "MERGE INTO items USING (VALUES ('no such title')) v(t) ON items.title = v.t WHEN MATCHED THEN UPDATE SET other = 7"},
		{write: "UPDATE items SET title = 'm' WHERE id = 2; UPDATE items SET title = 'm' WHERE id = 4", simpleOnly: true, keep: true},
		{write: "UPDATE items SET title = 'm' WHERE id = 2; UPDATE items SET title = 'm' WHERE other = 77", simpleOnly: true},
		{write: "DELETE FROM items WHERE id = 2", keep: true},
		{write: "DELETE FROM items WHERE title = 'nothing'"},
		{write: "DELETE FROM items WHERE id > 0", want: noRow},
	}
	for _, protocol := range []string{"simple", "extended"} {
		t.Run(protocol, func(t *testing.T) {
			f := newKeyed(t, proxy.PoolTransaction, 0, "")
			r, w := connect(t, f.p, f.db), connect(t, f.p, f.db)
			read := simpleReader(t, r, "SELECT title AS %s FROM items WHERE id = 1")
			if protocol == "extended" {
				read = func(alias string) string {
					return readOne(t, r, fmt.Sprintf("SELECT title AS %s FROM items WHERE id = $1", alias), 1)
				}
			}
			set := f.behindSetter("UPDATE items SET title = '%s' WHERE id = 1")
			for _, s := range steps {
				if s.simpleOnly && protocol != "simple" {
					continue
				}
				cached, behind, got := f.probe(read, set, func() {
					if protocol == "simple" {
						mustExecSimple(t, w, s.write)
					} else {
						mustExec(t, w, s.write) // prepared, its constants as literals
					}
				})
				switch want := s.want; {
				case want != "":
					if got != want {
						t.Errorf("%s: id 1 read %q, want %q", s.write, got, want)
					}
				case s.keep && got != cached:
					t.Errorf("%s dropped id 1's entry: read %q, want the cached %q", s.write, got, cached)
				case !s.keep && got != behind:
					t.Errorf("%s left id 1's entry cached: read %q, want %q", s.write, got, behind)
				}
			}
			// COPY writes rows pgwarp cannot see: a key cached as absent
			// must show the copied row.
			absent := func(a string) string {
				return readOne(t, r, fmt.Sprintf("SELECT title AS %s FROM items WHERE id = 300", a), pgx.QueryExecModeSimpleProtocol)
			}
			a := f.alias()
			f.cached("id 300", func() string { return absent(a) })
			if _, err := w.CopyFrom(context.Background(), pgx.Identifier{"items"}, []string{"id", "title", "other"},
				pgx.CopyFromRows([][]any{{int32(300), "copied", int32(0)}})); err != nil {
				t.Fatal(err)
			}
			if got := absent(a); got != "copied" {
				t.Errorf("after COPY of id 300 it read %q", got)
			}
		})
	}
}

// 5. Transactions: a write's keyed invalidation applies again at COMMIT
// (after other clients may have cached the old row again), other keys stay
// cached, and nothing a rolled back transaction read or wrote is served.
func TestKeyedWritesInTransactions(t *testing.T) {
	ctx := context.Background()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			f := newKeyed(t, m.mode, 0, "")
			r, w := connect(t, f.p, f.db), connect(t, f.p, f.db)
			q := func(conn *pgx.Conn, id int) string {
				return readOne(t, conn, fmt.Sprintf("SELECT title FROM items WHERE id = %d", id), pgx.QueryExecModeSimpleProtocol)
			}
			qe := func(conn *pgx.Conn, id int) string {
				return readOne(t, conn, "SELECT title FROM items WHERE id = $1", id)
			}
			cachedQ := func(id int, want string) {
				t.Helper()
				if v := f.cached(fmt.Sprint("id ", id), func() string { return q(r, id) }); v != want {
					t.Fatalf("id %d: cached %q, want %q", id, v, want)
				}
			}
			cachedQ(1, "title 1")
			cachedQ(2, "title 2")
			f.behind("UPDATE items SET title = 'behind' WHERE id = 1")

			// Simple protocol: BEGIN; UPDATE … WHERE id = 2; COMMIT.
			mustExecSimple(t, w, "BEGIN")
			mustExecSimple(t, w, "UPDATE items SET title = 'tx' WHERE id = 2")
			if got := q(w, 2); got != "tx" {
				t.Fatalf("the writer reads %q in its own transaction", got)
			}
			// Others still read the committed row, and cache it again.
			cachedQ(2, "title 2")
			mustExecSimple(t, w, "COMMIT")
			if got := q(r, 2); got != "tx" {
				t.Fatalf("after COMMIT id 2 read %q, want %q", got, "tx")
			}
			if got := q(r, 1); got != "title 1" {
				t.Fatalf("a transaction writing id 2 dropped id 1's entry: read %q", got)
			}

			// Extended protocol through pgx's transaction API.
			f.behind("UPDATE items SET title = 'ext cached' WHERE id = 1")
			if v := f.cached("ext id 1", func() string { return qe(r, 1) }); v != "ext cached" {
				t.Fatalf("ext id 1: %q", v)
			}
			if v := f.cached("ext id 3", func() string { return qe(r, 3) }); v != "title 3" {
				t.Fatalf("ext id 3: %q", v)
			}
			f.behind("UPDATE items SET title = 'behind' WHERE id = 1")
			tx, err := w.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, "UPDATE items SET title = $1 WHERE id = $2", "etx", 3); err != nil {
				t.Fatal(err)
			}
			f.cached("ext id 3 during the transaction", func() string { return qe(r, 3) })
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if got := qe(r, 3); got != "etx" {
				t.Fatalf("after COMMIT id 3 read %q, want %q", got, "etx")
			}
			if got := qe(r, 1); got != "ext cached" {
				t.Fatalf("a transaction writing id 3 dropped id 1's extended entry: read %q", got)
			}

			// Several keys in one transaction, with a savepoint rolled back.
			cachedQ(6, "title 6")
			cachedQ(7, "title 7")
			mustExecSimple(t, w, "BEGIN")
			mustExecSimple(t, w, "UPDATE items SET title = 'sp1' WHERE id = 6")
			mustExecSimple(t, w, "SAVEPOINT a")
			mustExecSimple(t, w, "UPDATE items SET title = 'sp2' WHERE id = 7")
			mustExecSimple(t, w, "ROLLBACK TO a")
			cachedQ(6, "title 6")
			mustExecSimple(t, w, "COMMIT")
			if got := q(r, 6); got != "sp1" {
				t.Fatalf("after COMMIT id 6 read %q, want %q", got, "sp1")
			}
			if got := q(r, 7); got != "title 7" {
				t.Fatalf("id 7 read %q after its update was rolled back", got)
			}
			if got := q(r, 1); got != "title 1" {
				t.Fatalf("a transaction writing ids 6 and 7 dropped id 1's entry: read %q", got)
			}

			// ROLLBACK: what the transaction saw of its own write is never
			// served, before or after.
			cachedQ(4, "title 4")
			mustExecSimple(t, w, "BEGIN")
			mustExecSimple(t, w, "UPDATE items SET title = 'rolled' WHERE id = 4")
			for range 3 {
				if got := q(w, 4); got != "rolled" {
					t.Fatalf("the writer reads %q in its own transaction", got)
				}
				if got := qe(w, 4); got != "rolled" {
					t.Fatalf("the writer reads %q in its own transaction (extended)", got)
				}
			}
			cachedQ(4, "title 4")
			mustExecSimple(t, w, "ROLLBACK")
			for _, c := range []*pgx.Conn{r, w} {
				if got := q(c, 4); got != "title 4" {
					t.Fatalf("after ROLLBACK id 4 read %q", got)
				}
				if got := qe(c, 4); got != "title 4" {
					t.Fatalf("after ROLLBACK id 4 read %q (extended)", got)
				}
			}
			// A failed transaction.
			mustExecSimple(t, w, "BEGIN")
			mustExecSimple(t, w, "UPDATE items SET title = 'failed' WHERE id = 4")
			if _, err := w.Exec(ctx, "SELECT 1/0", pgx.QueryExecModeSimpleProtocol); err == nil {
				t.Fatal("1/0 did not fail")
			}
			mustExecSimple(t, w, "ROLLBACK")
			if got := q(r, 4); got != "title 4" {
				t.Fatalf("after a failed transaction id 4 read %q", got)
			}
		})
	}
}

// 6. Tables whose writes may touch other rows than the statement names:
// triggers, rules and cascading foreign keys.
func TestKeyedTriggersRulesAndCascadesDropWhole(t *testing.T) {
	f := newKeyed(t, proxy.PoolTransaction, 0, `
CREATE TABLE trg (id int PRIMARY KEY, title text NOT NULL);
INSERT INTO trg SELECT g, 'title ' || g FROM generate_series(1, 50) g;
CREATE FUNCTION trg_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF pg_trigger_depth() = 1 AND NEW.id <> 1 THEN
		UPDATE trg SET title = 'touched by ' || NEW.id WHERE id = 1;
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER touch AFTER INSERT OR UPDATE ON trg FOR EACH ROW EXECUTE FUNCTION trg_touch();
CREATE TABLE quiet (id int PRIMARY KEY, title text NOT NULL);
INSERT INTO quiet SELECT g, 'title ' || g FROM generate_series(1, 50) g;
CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER noop BEFORE UPDATE ON quiet FOR EACH ROW EXECUTE FUNCTION noop();
CREATE TABLE rl (id int PRIMARY KEY, title text NOT NULL);
INSERT INTO rl SELECT g, 'title ' || g FROM generate_series(1, 50) g;
CREATE RULE rl_del AS ON DELETE TO rl DO ALSO UPDATE rl SET title = 'ruled' WHERE id = 1;
CREATE TABLE parent (id int PRIMARY KEY);
INSERT INTO parent SELECT generate_series(1, 10);
CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent ON DELETE CASCADE ON UPDATE CASCADE, title text NOT NULL);
INSERT INTO child SELECT g, g % 10 + 1, 'title ' || g FROM generate_series(1, 50) g;
`)
	r, w := connect(t, f.p, f.db), connect(t, f.p, f.db)
	for _, c := range []struct {
		read, set, write, want string
	}{
		// The trigger rewrites id 1 when another row is written.
		{"SELECT title AS %s FROM trg WHERE id = 1", "UPDATE trg SET title = '%s' WHERE id = 1",
			"UPDATE trg SET title = 'x' WHERE id = 2", "touched by 2"},
		{"SELECT title AS %s FROM trg WHERE id = 1", "UPDATE trg SET title = '%s' WHERE id = 1",
			"INSERT INTO trg VALUES (90, 'new')", "touched by 90"},
		// Any trigger, even one that changes nothing, makes every write
		// of its table whole.
		{"SELECT title AS %s FROM trg WHERE id = 1", "UPDATE trg SET title = '%s' WHERE id = 1",
			"DELETE FROM trg WHERE id = 3", "behind"},
		{"SELECT title AS %s FROM quiet WHERE id = 1", "UPDATE quiet SET title = '%s' WHERE id = 1",
			"UPDATE quiet SET title = 'x' WHERE id = 2", "behind"},
		{"SELECT title AS %s FROM rl WHERE id = 1", "UPDATE rl SET title = '%s' WHERE id = 1",
			"DELETE FROM rl WHERE id = 2", "ruled"},
		{"SELECT title AS %s FROM rl WHERE id = 1", "UPDATE rl SET title = '%s' WHERE id = 1",
			"UPDATE rl SET title = 'x' WHERE id = 3", "behind"},
		// Cascades: a write of parent changes child rows.
		{"SELECT title AS %s FROM child WHERE id = 1", "UPDATE child SET title = '%s' WHERE id = 1",
			"DELETE FROM parent WHERE id = 2", noRow},
		{"SELECT title AS %s FROM child WHERE parent_id = 3 AND id = 2", "UPDATE child SET title = '%s' WHERE id = 2",
			"UPDATE parent SET id = 30 WHERE id = 3", noRow},
		{"SELECT title AS %s FROM child WHERE parent_id = 30 AND id = 2", "UPDATE child SET title = '%s' WHERE id = 2",
			"UPDATE parent SET id = 31 WHERE id = 4", "behind"},
	} {
		_, behind, got := f.probe(simpleReader(t, r, c.read), f.behindSetter(c.set), func() { mustExecSimple(t, w, c.write) })
		want := c.want
		if want == "behind" {
			want = behind
		}
		if got != want {
			t.Errorf("%s: %s read %q, want %q", c.write, fmt.Sprintf(c.read, "…"), got, want)
		}
	}
	// A cascade reaching a keyed read by its own key column.
	a := f.alias()
	cnt := func() string {
		return readOne(t, r, fmt.Sprintf("SELECT count(*)::text AS %s FROM child WHERE parent_id = 40", a), pgx.QueryExecModeSimpleProtocol)
	}
	if v := f.cached("count of parent 40", cnt); v != "0" {
		t.Fatalf("count %q", v)
	}
	mustExecSimple(t, w, "UPDATE parent SET id = 40 WHERE id = 5")
	if got := cnt(); got != "5" {
		t.Errorf("after parent 5 became 40 its children counted %q, want 5", got)
	}
}

// Values as the column stores them: generated columns, defaults,
// varchar(n) truncating spaces, and nondeterministic collations.
func TestKeyedValuesAsStored(t *testing.T) {
	c := pgtest.Shared(t)
	extra := `
CREATE TABLE gen (id int PRIMARY KEY, g int GENERATED ALWAYS AS (id * 10) STORED, title text NOT NULL);
INSERT INTO gen (id, title) SELECT g, 'title ' || g FROM generate_series(1, 4) g;
CREATE TABLE ser (id serial PRIMARY KEY, title text NOT NULL);
INSERT INTO ser (title) SELECT 'title ' || g FROM generate_series(1, 3) g;
CREATE TABLE v4 (k varchar(4) PRIMARY KEY, title text NOT NULL);
INSERT INTO v4 VALUES ('ab', 'title ab');
`
	// ICU, which nondeterministic collations need, is optional in
	// PostgreSQL builds.
	var ci bool
	conn, err := pgx.Connect(context.Background(), c.SocketURL(c.Superuser(), "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(context.Background(), "SELECT EXISTS (SELECT FROM pg_collation WHERE collprovider = 'i')").Scan(&ci); err != nil {
		t.Fatal(err)
	}
	conn.Close(context.Background())
	if !ci {
		t.Log("no ICU: the nondeterministic collation case is skipped")
	}
	if ci {
		extra += `
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE cit (k text COLLATE ci PRIMARY KEY, title text NOT NULL);
INSERT INTO cit VALUES ('abc', 'title abc');
`
	}
	f := newKeyed(t, proxy.PoolTransaction, 0, extra)
	r, w := connect(t, f.p, f.db), connect(t, f.p, f.db)
	cases := []struct {
		read   string // %s for the alias
		writes []string
		want   []string // what read returns after each write
	}{
		{"SELECT title AS %s FROM gen WHERE g = 50", []string{
			"UPDATE gen SET id = 5 WHERE g = 20",          // row 2 becomes 5, g 50
			"UPDATE gen SET title = 'by id' WHERE id = 5", // keyed on id only
		}, []string{"title 2", "by id"}},
		{"SELECT title AS %s FROM gen WHERE g = 60", []string{
			"INSERT INTO gen (id, title) VALUES (6, 'six')",
		}, []string{"six"}},
		{"SELECT title AS %s FROM ser WHERE id = 4", []string{
			"INSERT INTO ser (title) VALUES ('from the sequence')",
		}, []string{"from the sequence"}},
		{"SELECT title AS %s FROM v4 WHERE k = 'abc '", []string{
			"INSERT INTO v4 VALUES ('abc      ', 'truncated')",
		}, []string{"truncated"}},
		{"SELECT title AS %s FROM v4 WHERE k = 'xy  '", []string{
			"UPDATE v4 SET k = 'xy       ' WHERE k = 'ab'",
		}, []string{"title ab"}},
	}
	if ci {
		cases = append(cases, struct {
			read   string
			writes []string
			want   []string
		}{"SELECT title AS %s FROM cit WHERE k = 'ABC'", []string{
			"UPDATE cit SET title = 'case-insensitive' WHERE k = 'abc'",
			"UPDATE cit SET title = 'again' WHERE k = 'aBc'",
		}, []string{"case-insensitive", "again"}})
	}
	for _, cs := range cases {
		a := f.alias()
		sql := fmt.Sprintf(cs.read, a)
		for i, wr := range cs.writes {
			f.cached(sql, func() string { return readOne(t, r, sql, pgx.QueryExecModeSimpleProtocol) })
			mustExecSimple(t, w, wr)
			if got := readOne(t, r, sql, pgx.QueryExecModeSimpleProtocol); got != cs.want[i] {
				t.Errorf("%s: after %s it read %q, want %q", sql, wr, got, cs.want[i])
			}
		}
	}
}

// 7. Concurrent writers and readers by key: once a write's commit has
// returned, no read through pgwarp of that key returns an older value.
func TestKeyedNoStaleReadAfterAnAcknowledgedWrite(t *testing.T) {
	const keys, hot = 8, 4 // keys 1..hot are written, the rest only read
	f := newKeyed(t, proxy.PoolTransaction, 8, fmt.Sprintf(
		"CREATE TABLE ctr (id int PRIMARY KEY, n bigint NOT NULL); INSERT INTO ctr SELECT g, 0 FROM generate_series(1, %d) g", keys))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var acked [keys + 1]atomic.Int64
	raise := func(k int, n int64) {
		for {
			cur := acked[k].Load()
			if n <= cur || acked[k].CompareAndSwap(cur, n) {
				return
			}
		}
	}
	read := func(conn *pgx.Conn, k int, extended bool) (int64, error) {
		var n int64
		var err error
		if extended {
			err = conn.QueryRow(ctx, "SELECT n FROM ctr WHERE id = $1", k).Scan(&n)
		} else {
			err = conn.QueryRow(ctx, fmt.Sprintf("SELECT n FROM ctr WHERE id = %d", k), pgx.QueryExecModeSimpleProtocol).Scan(&n)
		}
		return n, err
	}
	// Make sure the catalog is loaded and keyed reads are cached before
	// the race starts.
	warmConn := connect(t, f.p, f.db)
	warm(t, f.p, warmConn, "SELECT n FROM ctr WHERE id = 1", pgx.QueryExecModeSimpleProtocol)
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	var writes atomic.Int64
	for wi := range 4 {
		conn := connect(t, f.p, f.db)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				k := 1 + (wi+i)%hot
				var n int64
				var err error
				switch i % 3 {
				case 0:
					err = conn.QueryRow(ctx, fmt.Sprintf("UPDATE ctr SET n = n + 1 WHERE id = %d RETURNING n", k), pgx.QueryExecModeSimpleProtocol).Scan(&n)
				case 1:
					err = conn.QueryRow(ctx, "UPDATE ctr SET n = n + 1 WHERE id = $1 RETURNING n", k).Scan(&n)
				case 2:
					err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
						return tx.QueryRow(ctx, "UPDATE ctr SET n = n + 1 WHERE id = $1 RETURNING n", k).Scan(&n)
					})
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d: %w", wi, err)
					return
				}
				writes.Add(1)
				raise(k, n)
				// Read your own write, both ways.
				for _, ext := range []bool{false, true} {
					got, err := read(conn, k, ext)
					if err != nil {
						errs <- fmt.Errorf("writer %d: %w", wi, err)
						return
					}
					if got < n {
						errs <- fmt.Errorf("writer %d wrote %d to key %d, then read %d (extended %v)", wi, n, k, got, ext)
						return
					}
				}
			}
		}()
	}
	for ri := range 6 {
		conn := connect(t, f.p, f.db)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				k := 1 + (ri+i)%keys
				floor := acked[k].Load()
				got, err := read(conn, k, i%2 == 1)
				if err != nil {
					errs <- fmt.Errorf("reader %d: %w", ri, err)
					return
				}
				if got < floor {
					errs <- fmt.Errorf("reader %d read %d from key %d after write %d was acknowledged", ri, got, k, floor)
					return
				}
			}
		}()
	}
	time.Sleep(time.Second)
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if writes.Load() == 0 || f.hits() == 0 {
		t.Fatalf("the race never exercised the cache: %d writes, outcomes %v", writes.Load(), f.p.Server.CacheOutcomes())
	}
	// The keys nobody wrote are still cached: writes by key did not drop
	// them.
	for k := hot + 1; k <= keys; k++ {
		f.behind("UPDATE ctr SET n = -1 WHERE id = $1", k)
		for _, ext := range []bool{false, true} {
			if got, err := read(warmConn, k, ext); err != nil || got != 0 {
				t.Errorf("key %d (extended %v) read %d %v, want the cached 0", k, ext, got, err)
			}
		}
	}
}

// A pipelining client may send the next Bind before the ReadyForQuery of
// the previous Sync, and its Execute after: the portal bound for the next
// transaction must keep its statement (and values) when the previous one
// ends, or its write invalidates nothing. With whole-table invalidation an
// earlier write of the same table hid this; with row keys it does not.
func TestKeyedPipelinedWriteBoundBeforeTheLastSyncWasAnswered(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			f := newKeyed(t, m.mode, 0, "")
			r := connect(t, f.p, f.db)
			q := func(id int) string { return readOne(t, r, "SELECT title FROM items WHERE id = $1", id) }
			for _, id := range []int{2, 3} {
				f.cached(fmt.Sprint("id ", id), func() string { return q(id) })
			}
			raw := dialRaw(t, f.p)
			raw.startup(f.db, 3, 0)
			rawResponse(t, raw, &pgproto3.Parse{Name: "w", Query: "UPDATE items SET title = $1 WHERE id = $2"}, &pgproto3.Sync{})
			bind := func(title string, id int) *pgproto3.Bind {
				return &pgproto3.Bind{PreparedStatement: "w", ParameterFormatCodes: []int16{0, 1},
					Parameters: [][]byte{[]byte(title), binary.BigEndian.AppendUint32(nil, uint32(id))}}
			}
			for _, msg := range []pgproto3.FrontendMessage{bind("p1", 2), &pgproto3.Execute{}, &pgproto3.Sync{}, bind("p2", 3)} {
				raw.fe.Send(msg)
			}
			if err := raw.fe.Flush(); err != nil {
				t.Fatal(err)
			}
			for {
				if _, ok := raw.receive().(*pgproto3.ReadyForQuery); ok {
					break
				}
			}
			rawResponse(t, raw, &pgproto3.Execute{}, &pgproto3.Sync{})
			if got := q(2); got != "p1" {
				t.Errorf("id 2 read %q after the first pipelined write, want %q", got, "p1")
			}
			if got := q(3); got != "p2" {
				t.Errorf("id 3 read %q after the second pipelined write, want %q", got, "p2")
			}
		})
	}
}

// Keyed invalidations travel between instances as keyed writes: another
// instance drops the written key's entries and keeps the others.
func TestKeyedInvalidationsReachOtherInstances(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	pgtest.Exec(t, c, db, keyedSchema+`CREATE TABLE daily (item_id int NOT NULL, day date NOT NULL, units int NOT NULL, PRIMARY KEY (item_id, day));
		INSERT INTO daily SELECT i, date '2026-06-30' - d, d FROM generate_series(1, 3) i, generate_series(0, 180) d;`)
	channel := "pgwarp_test_" + fmt.Sprint(time.Now().UnixNano()%1e6)
	pa, _ := startCached(t, db, cacheSetup{mode: proxy.PoolTransaction, channel: channel})
	pb, _ := startCached(t, db, cacheSetup{mode: proxy.PoolTransaction, channel: channel})
	direct, err := pgx.Connect(context.Background(), c.SocketURL(c.Superuser(), db))
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close(context.Background())
	fb := &keyedFixture{t: t, p: pb, db: db, direct: direct}
	wa, rb := connect(t, pa, db), connect(t, pb, db)
	q := func(id int) string { return readOne(t, rb, "SELECT title FROM items WHERE id = $1", id) }
	// Each instance's listener starts with its first cached read (which
	// also loads its catalog: a write before that invalidates the whole
	// database), and drops what it cached before its LISTEN: wait for
	// both, then cache again.
	fa := &keyedFixture{t: t, p: pa, db: db, direct: direct}
	fa.cached("a: id 1", func() string { return readOne(t, wa, "SELECT title FROM items WHERE id = $1", 1) })
	fb.cached("b: id 1", func() string { return q(1) })
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := direct.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = $1 AND application_name = 'pgwarp invalidation' AND query LIKE 'LISTEN%'`, db).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d instances listen, want 2", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, id := range []int{1, 2} {
		fb.cached(fmt.Sprint("b: id ", id), func() string { return q(id) })
	}
	fb.behind("UPDATE items SET title = 'behind' WHERE id = 1")
	mustExec(t, wa, "UPDATE items SET title = $1 WHERE id = $2", "through a", 2)
	deadline = time.Now().Add(5 * time.Second)
	for q(2) != "through a" {
		if time.Now().After(deadline) {
			t.Fatal("instance b still serves the old id 2 five seconds after a's write")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := q(1); got != "title 1" {
		t.Fatalf("a's write of id 2 dropped b's entry for id 1: read %q", got)
	}

	// Ranges too: a's write of item 1's sales outside b's 30-day window
	// keeps b's entry, a write inside it drops it. Notifications arrive in
	// order, so once b has heard a later write, it has heard this one.
	window := "SELECT max(i.title) FROM items i JOIN daily s ON s.item_id = i.id WHERE i.id = 1 AND s.day > date '2026-06-30' - 30 AND s.day <= date '2026-06-30'"
	dash := func() string { return readOne(t, rb, window, pgx.QueryExecModeSimpleProtocol) }
	// id 1's title is "behind" since the write above (made behind
	// pgwarp; b's entry for id 1 kept the old one).
	if got := fb.cached("b: window", dash); got != "behind" {
		t.Fatalf("b: window read %q", got)
	}
	fb.behind("UPDATE items SET title = 'behind window' WHERE id = 1")
	// heard writes id 3 through a and waits until b serves the new title
	// instead of the one it cached: then b has applied everything a
	// published before.
	heard := func(v string) {
		t.Helper()
		fb.cached("b: id 3", func() string { return readOne(t, rb, "SELECT title FROM items WHERE id = $1", 3) })
		mustExec(t, wa, "UPDATE items SET title = $1 WHERE id = $2", v, 3)
		deadline := time.Now().Add(5 * time.Second)
		for readOne(t, rb, "SELECT title FROM items WHERE id = $1", 3) != v {
			if time.Now().After(deadline) {
				t.Fatalf("instance b did not hear a's write of id 3 (%q) within five seconds", v)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	mustExec(t, wa, "UPDATE daily SET units = units + 1 WHERE item_id = 1 AND day = date '2026-06-30' - 100")
	heard("sentinel 1")
	if got := dash(); got != "behind" {
		t.Fatalf("a's write of item 1 outside the window dropped b's window entry: read %q", got)
	}
	mustExec(t, wa, "UPDATE daily SET units = units + 1 WHERE item_id = 1 AND day = date '2026-06-30' - 3")
	heard("sentinel 2")
	if got := dash(); got != "behind window" {
		t.Fatalf("a's write of item 1 inside the window kept b's window entry: read %q", got)
	}
}

// A dashboard-style read that picks one row of a dimension table by key
// and joins the fact table on that key depends only on that key's facts:
// a write of another key's facts leaves it cached, a write of its own
// drops it, in both protocols. Behind an outer join the facts table is
// not keyed, so any write of it drops the entry.
func TestKeyedJoinCarriesTheKey(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			f := newKeyed(t, m.mode, 0, `CREATE TABLE sales (item_id int NOT NULL, day int NOT NULL, units int NOT NULL, PRIMARY KEY (item_id, day));
				INSERT INTO sales SELECT i, d, i + d FROM generate_series(1, 20) i, generate_series(1, 5) d;`)
			r, w := connect(t, f.p, f.db), connect(t, f.p, f.db)
			set := f.behindSetter("UPDATE items SET title = '%s' WHERE id = 1")
			inner := "SELECT max(i.title) AS %s FROM items i JOIN sales s ON s.item_id = i.id WHERE i.id = 1"
			extInner := func(alias string) string {
				return readOne(t, r, fmt.Sprintf("SELECT max(i.title) AS %s FROM items i JOIN sales s ON s.item_id = i.id WHERE i.id = $1", alias), 1)
			}
			for _, read := range []struct {
				name string
				read func(alias string) string
			}{{"simple", simpleReader(t, r, inner)}, {"extended", extInner}} {
				cached, _, got := f.probe(read.read, set, func() { mustExecSimple(t, w, "UPDATE sales SET units = units + 1 WHERE item_id = 2 AND day = 3") })
				if got != cached {
					t.Errorf("%s: a write of item 2's sales dropped item 1's joined read: got %q, want the cached %q", read.name, got, cached)
				}
				_, behind, got := f.probe(read.read, set, func() { mustExecSimple(t, w, "UPDATE sales SET units = units + 1 WHERE item_id = 1 AND day = 3") })
				if got != behind {
					t.Errorf("%s: a write of item 1's sales kept item 1's joined read: got %q, want %q", read.name, got, behind)
				}
				_, behind, got = f.probe(read.read, set, func() {
					mustExecSimple(t, w, "INSERT INTO sales VALUES (1, 99, 1)")
					mustExecSimple(t, w, "DELETE FROM sales WHERE item_id = 1 AND day = 99")
				})
				if got != behind {
					t.Errorf("%s: an insert of item 1's sales kept item 1's joined read: got %q, want %q", read.name, got, behind)
				}
			}
			// An outer join keeps every row of its preserved side: the
			// count below reads all sales, whatever the key in its ON.
			outer := "SELECT count(*)::text FROM sales s LEFT JOIN items i ON s.item_id = i.id AND i.id = 1"
			before := f.cached("outer join", func() string { return readOne(t, r, outer, pgx.QueryExecModeSimpleProtocol) })
			mustExecSimple(t, w, "INSERT INTO sales VALUES (2, 98, 1)")
			if got := readOne(t, r, outer, pgx.QueryExecModeSimpleProtocol); got == before {
				t.Errorf("outer join: an insert of item 2's sales kept the count %s cached", got)
			}
			mustExecSimple(t, w, "DELETE FROM sales WHERE item_id = 2 AND day = 98")
		})
	}
}

// A dashboard over the last 30 days survives writes of its own key outside
// those days, and not writes inside them or moving a row into them, with
// the window in literals (simple protocol) and in date parameters
// (extended protocol, binary).
func TestRangedReadSurvivesWritesOutsideItsWindow(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			f := newKeyed(t, m.mode, 0, `CREATE TABLE daily (item_id int NOT NULL, day date NOT NULL, units int NOT NULL, PRIMARY KEY (item_id, day));
				INSERT INTO daily SELECT i, date '2026-06-30' - d, d FROM generate_series(1, 3) i, generate_series(0, 180) d;`)
			r, w := connect(t, f.p, f.db), connect(t, f.p, f.db)
			set := f.behindSetter("UPDATE items SET title = '%s' WHERE id = 1")
			simple := simpleReader(t, r, "SELECT max(i.title) AS %s FROM items i JOIN daily s ON s.item_id = i.id WHERE i.id = 1 AND s.day > date '2026-06-30' - 30 AND s.day <= date '2026-06-30'")
			from, to := time.Date(2026, 5, 31, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
			extended := func(alias string) string {
				return readOne(t, r, fmt.Sprintf("SELECT max(i.title) AS %s FROM items i JOIN daily s ON s.item_id = i.id WHERE i.id = $1 AND s.day > $2 AND s.day <= $3", alias), 1, from, to)
			}
			for _, read := range []struct {
				name string
				read func(alias string) string
			}{{"simple", simple}, {"extended", extended}} {
				for _, tc := range []struct {
					name  string
					write []string
					kept  bool
				}{
					{"update before the window", []string{"UPDATE daily SET units = units + 1 WHERE item_id = 1 AND day = date '2026-06-30' - 100"}, true},
					{"upsert before the window", []string{"INSERT INTO daily VALUES (1, date '2026-06-30' - 150, 1) ON CONFLICT (item_id, day) DO UPDATE SET units = daily.units + 1"}, true},
					{"update of another item in the window", []string{"UPDATE daily SET units = units + 1 WHERE item_id = 2 AND day = '2026-06-20'"}, true},
					{"update in the window", []string{"UPDATE daily SET units = units + 1 WHERE item_id = 1 AND day = date '2026-06-30' - 5"}, false},
					{"update on the window's first day", []string{"UPDATE daily SET units = units + 1 WHERE item_id = 1 AND day = '2026-06-01'"}, false},
					{"update of an unbounded day", []string{"UPDATE daily SET units = units + 1 WHERE item_id = 1 AND units = 170"}, false},
					{"delete in the window", []string{"DELETE FROM daily WHERE item_id = 1 AND day = '2026-06-29'"}, false},
					{"a row moved into the window", []string{"UPDATE daily SET day = '2026-06-29' WHERE item_id = 1 AND day = '2026-01-01'"}, false},
					{"and back out of it", []string{"UPDATE daily SET day = '2026-01-01' WHERE item_id = 1 AND day = '2026-06-29'"}, false},
				} {
					cached, behind, got := f.probe(read.read, set, func() {
						for _, sql := range tc.write {
							mustExecSimple(t, w, sql)
						}
					})
					if tc.kept && got != cached {
						t.Errorf("%s, %s: the cached read was dropped: got %q, want %q", read.name, tc.name, got, cached)
					}
					if !tc.kept && got != behind {
						t.Errorf("%s, %s: the cached read was kept: got %q, want %q", read.name, tc.name, got, behind)
					}
				}
			}
		})
	}
}
