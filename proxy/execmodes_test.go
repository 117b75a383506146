package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/proxy"
	"github.com/pgwarp/pgwarp/proxy/proxytest"
)

// pgx in each of its query exec modes, through transaction pooling with
// fewer backends than clients, so that consecutive statements of one
// client (and the two round trips of describe-exec) land on different
// backends.

var execModes = []struct {
	name string
	mode pgx.QueryExecMode
}{
	{"CacheStatement", pgx.QueryExecModeCacheStatement},
	{"CacheDescribe", pgx.QueryExecModeCacheDescribe},
	{"DescribeExec", pgx.QueryExecModeDescribeExec},
	{"Exec", pgx.QueryExecModeExec},
	{"SimpleProtocol", pgx.QueryExecModeSimpleProtocol},
}

// eachExecMode runs f once per exec mode against a transaction-mode
// pgwarp with a pool of two backends and a fresh database.
func eachExecMode(t *testing.T, f func(t *testing.T, p *proxytest.Proxy, db string, mode pgx.QueryExecMode)) {
	c := pgtest.Shared(t)
	for _, m := range execModes {
		t.Run(m.name, func(t *testing.T) {
			db := pgtest.CreateDatabase(t, c)
			p := proxytest.Start(t, c, proxytest.Options{Mode: proxy.PoolTransaction, MaxSize: 2, Configure: func(cfg *proxy.Config) {
				// Waiting for one of two backends must not be what fails.
				cfg.Databases["*"].AcquireTimeout = time.Minute
			}})
			f(t, p, db, m.mode)
		})
	}
}

// connectMode opens a pgx connection through p using exec mode mode.
func connectMode(t *testing.T, p *proxytest.Proxy, db string, mode pgx.QueryExecMode) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(p.URL("postgres", "", db))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = mode
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connect through pgwarp: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// typedRow is one row of every type the test round-trips; nil pointers
// are NULLs.
type typedRow struct {
	I4   *int32
	I8   *int64
	F8   *float64
	Num  pgtype.Numeric
	Txt  *string
	Flag *bool
	TS   *time.Time
	Bin  []byte
	JS   map[string]any
	Arr  []int32
	UUID pgtype.UUID
}

func rowFor(client, seq int) typedRow {
	var r typedRow
	i4, i8, f8 := int32(client*1000+seq), int64(client)<<40|int64(seq), float64(seq)+0.25
	txt := fmt.Sprintf("client %d row %d: 'quoted' \\ back\tslash ✓", client, seq)
	flag := seq%2 == 0
	ts := time.Date(2026, 1, 2, 3, 4, 5, seq*1000, time.UTC)
	r.I4, r.I8, r.F8, r.Txt, r.Flag, r.TS = &i4, &i8, &f8, &txt, &flag, &ts
	r.Num = pgtype.Numeric{Int: big.NewInt(int64(seq)*1000 + 7), Exp: -3, Valid: true}
	r.Bin = []byte{0, byte(client), byte(seq), 0xff}
	r.JS = map[string]any{"client": float64(client), "seq": float64(seq), "tags": []any{"a", "b"}}
	r.Arr = []int32{int32(client), int32(seq), -1}
	r.UUID = pgtype.UUID{Bytes: [16]byte{byte(client), byte(seq), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, Valid: true}
	// Every third row has NULLs in half the columns.
	if seq%3 == 0 {
		r.I8, r.Txt, r.TS = nil, nil, nil
		r.Bin, r.JS, r.Arr = nil, nil, nil
		r.Num = pgtype.Numeric{}
	}
	return r
}

func (r typedRow) String() string {
	s := func(v any) string {
		switch x := v.(type) {
		case *int32:
			if x != nil {
				return fmt.Sprint(*x)
			}
		case *int64:
			if x != nil {
				return fmt.Sprint(*x)
			}
		case *float64:
			if x != nil {
				return fmt.Sprint(*x)
			}
		case *string:
			if x != nil {
				return fmt.Sprintf("%q", *x)
			}
		case *bool:
			if x != nil {
				return fmt.Sprint(*x)
			}
		case *time.Time:
			if x != nil {
				return x.UTC().Format(time.RFC3339Nano)
			}
		default:
			return fmt.Sprint(x)
		}
		return "NULL"
	}
	num := "NULL"
	if r.Num.Valid {
		num = fmt.Sprintf("%de%d", r.Num.Int, r.Num.Exp)
	}
	js := "NULL"
	if r.JS != nil {
		js = fmt.Sprint(r.JS)
	}
	arr := "NULL"
	if r.Arr != nil {
		arr = fmt.Sprint(r.Arr)
	}
	bin := "NULL"
	if r.Bin != nil {
		bin = fmt.Sprintf("%x", r.Bin)
	}
	return strings.Join([]string{s(r.I4), s(r.I8), s(r.F8), num, s(r.Txt), s(r.Flag), s(r.TS), bin, js, arr, fmt.Sprint(r.UUID.Valid, r.UUID.Bytes)}, " | ")
}

func sameNumeric(a, b pgtype.Numeric) bool {
	if !a.Valid || !b.Valid {
		return a.Valid == b.Valid
	}
	// Normalise: 7000e-3 and 7e0 are the same number.
	ra := new(big.Rat).SetInt(a.Int)
	rb := new(big.Rat).SetInt(b.Int)
	scale := func(r *big.Rat, exp int32) {
		p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs32(exp))), nil)
		if exp >= 0 {
			r.Mul(r, new(big.Rat).SetInt(p))
		} else {
			r.Quo(r, new(big.Rat).SetInt(p))
		}
	}
	scale(ra, a.Exp)
	scale(rb, b.Exp)
	return ra.Cmp(rb) == 0
}

func abs32(x int32) int32 {
	if x < 0 {
		return -x
	}
	return x
}

func sameRow(a, b typedRow) bool {
	return a.String() == b.String() && sameNumeric(a.Num, b.Num) && bytes.Equal(a.Bin, b.Bin)
}

const typedColumns = "i4, i8, f8, num, txt, flag, ts, bin, js, arr, id"

func scanTyped(row pgx.Row) (typedRow, error) {
	var r typedRow
	err := row.Scan(&r.I4, &r.I8, &r.F8, &r.Num, &r.Txt, &r.Flag, &r.TS, &r.Bin, &r.JS, &r.Arr, &r.UUID)
	if r.TS != nil {
		u := r.TS.UTC()
		r.TS = &u
	}
	return r, err
}

func TestEveryQueryExecModeWorksAcrossBackendsInTransactionMode(t *testing.T) {
	eachExecMode(t, func(t *testing.T, p *proxytest.Proxy, db string, mode pgx.QueryExecMode) {
		c := pgtest.Shared(t)
		pgtest.Exec(t, c, db, `CREATE TABLE typed (client int, seq int, i4 int4, i8 int8, f8 float8, num numeric, txt text,
			flag bool, ts timestamptz, bin bytea, js jsonb, arr int4[], id uuid, PRIMARY KEY (client, seq))`)
		const clients, rounds = 4, 25
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		conns := make([]*pgx.Conn, clients)
		for i := range conns {
			conns[i] = connectMode(t, p, db, mode)
		}
		var (
			mu   sync.Mutex
			pids = map[uint32]bool{}
			wg   sync.WaitGroup
		)
		errs := make(chan error, clients*rounds)
		for id, conn := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fail := func(format string, args ...any) {
					errs <- fmt.Errorf("client %d: "+format, append([]any{id}, args...)...)
				}
				for seq := range rounds {
					want := rowFor(id, seq)
					// JSON goes as text: in the Exec and simple protocol
					// modes pgx cannot encode a map for a parameter of
					// unknown type.
					var js *string
					if want.JS != nil {
						b, _ := json.Marshal(want.JS)
						s := string(b)
						js = &s
					}
					if _, err := conn.Exec(ctx, "INSERT INTO typed (client, seq, "+typedColumns+") VALUES ($1, $2, $3::int4, $4::int8, $5::float8, $6::numeric, $7::text, $8::bool, $9::timestamptz, $10::bytea, $11::text::jsonb, $12::int4[], $13::uuid)",
						id, seq, want.I4, want.I8, want.F8, want.Num, want.Txt, want.Flag, want.TS, want.Bin, js, want.Arr, want.UUID); err != nil {
						fail("insert %d: %v", seq, err)
						return
					}
					got, err := scanTyped(conn.QueryRow(ctx, "SELECT "+typedColumns+" FROM typed WHERE client = $1 AND seq = $2", id, seq))
					if err != nil {
						fail("select %d: %v", seq, err)
						return
					}
					if !sameRow(got, want) {
						fail("row %d read back as\n%v\nwant\n%v", seq, got, want)
					}
					// Parameters straight back, typed by the statement,
					// NULLs included.
					var (
						a *int64
						b *string
						d *bool
						e []string
					)
					var nilText *string
					if err := conn.QueryRow(ctx, "SELECT $1::int8 * 2, $2::text || $3::text, $4::bool, $5::text[]",
						int64(seq), fmt.Sprint("c", id), nilText, nil, []string{"x", "", "z"}).Scan(&a, &b, &d, &e); err != nil {
						fail("parameters %d: %v", seq, err)
						return
					}
					if a == nil || *a != int64(2*seq) || b != nil || d != nil || fmt.Sprintf("%q", e) != `["x" "" "z"]` {
						fail("parameters %d came back as %v %v %v %q", seq, a, b, d, e)
					}
					// A statement that fails leaves the connection usable.
					var q int
					err = conn.QueryRow(ctx, "SELECT 10 / $1::int", 0).Scan(&q)
					var pe *pgconn.PgError
					if !errors.As(err, &pe) || pe.Code != "22012" {
						fail("division by zero %d: got %v", seq, err)
						return
					}
					var n int
					var pid uint32
					if err := conn.QueryRow(ctx, "SELECT count(*), pg_backend_pid() FROM typed WHERE client = $1", id).Scan(&n, &pid); err != nil {
						fail("count %d: %v", seq, err)
						return
					}
					if n != seq+1 {
						fail("after %d inserts count is %d", seq+1, n)
					}
					mu.Lock()
					pids[pid] = true
					mu.Unlock()
				}
				// A transaction with a failing statement rolls back as a
				// whole; the next transaction works.
				tx, err := conn.Begin(ctx)
				if err != nil {
					fail("begin: %v", err)
					return
				}
				if _, err := tx.Exec(ctx, "INSERT INTO typed (client, seq) VALUES ($1, $2)", id, 1000); err != nil {
					fail("insert in transaction: %v", err)
				}
				if _, err := tx.Exec(ctx, "INSERT INTO typed (client, seq) VALUES ($1, $2)", id, 0); err == nil {
					fail("duplicate key in transaction succeeded")
				}
				if err := tx.Commit(ctx); !errors.Is(err, pgx.ErrTxCommitRollback) {
					fail("commit of a failed transaction: %v", err)
				}
				var n int
				if err := conn.QueryRow(ctx, "SELECT count(*) FROM typed WHERE client = $1", id).Scan(&n); err != nil || n != rounds {
					fail("after the rolled back transaction count = %d, %v", n, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if len(pids) < 2 {
			t.Errorf("all statements ran on backend %v; the test needs them spread over both", pids)
		}
	})
}

func TestCachedPlanMustNotChangeResultTypeIsRetriedInEveryExecMode(t *testing.T) {
	eachExecMode(t, func(t *testing.T, p *proxytest.Proxy, db string, mode pgx.QueryExecMode) {
		c := pgtest.Shared(t)
		pgtest.Exec(t, c, db, "CREATE TABLE evolving (a int); INSERT INTO evolving VALUES (1), (2)")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conns := []*pgx.Conn{connectMode(t, p, db, mode), connectMode(t, p, db, mode), connectMode(t, p, db, mode)}
		const sql = "SELECT * FROM evolving WHERE a = $1"
		query := func(conn *pgx.Conn) ([]map[string]any, error) {
			rows, err := conn.Query(ctx, sql, 1)
			if err != nil {
				return nil, err
			}
			return pgx.CollectRows(rows, pgx.RowToMap)
		}
		// Prepare the statement on both backends: concurrent clients
		// hold both at once.
		var wg sync.WaitGroup
		for _, conn := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					if got, err := query(conn); err != nil || len(got) != 1 || fmt.Sprint(got[0]) != "map[a:1]" {
						t.Errorf("before ALTER TABLE: %v, %v", got, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		pgtest.Exec(t, c, db, "ALTER TABLE evolving ADD COLUMN b int DEFAULT 7")
		for i, conn := range conns {
			for attempt := 1; attempt <= 3; attempt++ {
				got, err := query(conn)
				if err == nil && len(got) == 1 && fmt.Sprint(got[0]) == "map[a:1 b:7]" {
					break
				}
				if attempt == 1 {
					// pgwarp re-prepares and retries once when the server
					// says "cached plan must not change result type".
					t.Errorf("client %d: first query after ALTER TABLE: %v, %v; want [map[a:1 b:7]]", i, got, err)
				} else {
					t.Errorf("client %d: attempt %d after ALTER TABLE (the driver dropped its statement after the error): %v, %v", i, attempt, got, err)
				}
			}
		}
		// A client that never ran the statement before gets the new shape
		// straight away.
		if got, err := query(connectMode(t, p, db, mode)); err != nil || len(got) != 1 || fmt.Sprint(got[0]) != "map[a:1 b:7]" {
			t.Errorf("new client after ALTER TABLE: %v, %v", got, err)
		}
	})
}

func TestTwoClientsPreparingDifferentSQLUnderOneNameGetTheirOwnResults(t *testing.T) {
	eachExecMode(t, func(t *testing.T, p *proxytest.Proxy, db string, mode pgx.QueryExecMode) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		a, b := connectMode(t, p, db, mode), connectMode(t, p, db, mode)
		// The same name, as pgx's statement cache produces on every
		// connection for its own SQL; here with different SQL.
		const name = "stmtcache_shared"
		if _, err := a.Prepare(ctx, name, "SELECT 'a:' || $1::text AS v"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Prepare(ctx, name, "SELECT 'b:' || upper($1::text) AS v, 2 AS n"); err != nil {
			t.Fatal(err)
		}
		// The same SQL under different names on one client.
		if _, err := a.Prepare(ctx, "a_other", "SELECT 'b:' || upper($1::text) AS v, 2 AS n"); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		run := func(conn *pgx.Conn, who string) {
			defer wg.Done()
			for i := range 40 {
				arg := fmt.Sprint("x", i)
				switch who {
				case "a":
					var v string
					if err := conn.QueryRow(ctx, name, arg).Scan(&v); err != nil || v != "a:"+arg {
						t.Errorf("client a, %s(%s) = %q, %v", name, arg, v, err)
						return
					}
					var n int
					if err := conn.QueryRow(ctx, "a_other", arg).Scan(&v, &n); err != nil || v != "b:"+strings.ToUpper(arg) || n != 2 {
						t.Errorf("client a, a_other(%s) = %q %d, %v", arg, v, n, err)
						return
					}
				case "b":
					var v string
					var n int
					if err := conn.QueryRow(ctx, name, arg).Scan(&v, &n); err != nil || v != "b:"+strings.ToUpper(arg) || n != 2 {
						t.Errorf("client b, %s(%s) = %q %d, %v", name, arg, v, n, err)
						return
					}
				}
			}
		}
		wg.Add(2)
		go run(a, "a")
		go run(b, "b")
		wg.Wait()
		// Deallocating one client's statement leaves the other's alone,
		// and the name can be reused for yet another statement.
		if err := a.Deallocate(ctx, name); err != nil {
			t.Fatal(err)
		}
		var v string
		var n int
		if err := b.QueryRow(ctx, name, "y").Scan(&v, &n); err != nil || v != "b:Y" || n != 2 {
			t.Fatalf("client b after a deallocated: %q %d, %v", v, n, err)
		}
		if _, err := a.Prepare(ctx, name, "SELECT 'a again:' || $1::text"); err != nil {
			t.Fatal(err)
		}
		if err := a.QueryRow(ctx, name, "z").Scan(&v); err != nil || v != "a again:z" {
			t.Fatalf("client a re-prepared: %q, %v", v, err)
		}
		if err := b.QueryRow(ctx, name, "z").Scan(&v, &n); err != nil || v != "b:Z" || n != 2 {
			t.Fatalf("client b after a re-prepared: %q %d, %v", v, n, err)
		}
	})
}
