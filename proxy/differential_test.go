package proxy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgwarp/pgwarp/internal/pgcluster"
	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/proxy"
	"github.com/pgwarp/pgwarp/proxy/proxytest"
)

// TestRandomBatchesAnswerAsPostgresDoes is a differential test: random
// sequences of simple queries and extended-protocol batches (named and
// unnamed statements and portals, Describe, row limits, Close, errors at
// Parse and at execution, writes, COPY both ways, transaction blocks,
// multi-statement queries, session settings), alone or pipelined, go to
// PostgreSQL directly and, the same, through
// pgwarp in either pool mode with its cache on, each to its own copy of
// one database. Every answer must match message for message (server-side
// details that differ between two databases aside). Through pgwarp the
// bytes of each batch arrive in random pieces.
//
// Each seed runs twice: with one client, and with two clients taking
// turns on both sides, so that in transaction mode they share backends
// (each client writes only its own rows, so that neither waits for the
// other's locks).
//
// The seeds are fixed so that the test is repeatable; PGWARP_DIFF_SEEDS=n
// runs n more random ones, and PGWARP_DIFF_SEED=s only seed s.
func TestRandomBatchesAnswerAsPostgresDoes(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4}
	if v, err := strconv.ParseUint(os.Getenv("PGWARP_DIFF_SEED"), 10, 64); err == nil {
		seeds = []uint64{v}
	}
	if n, _ := strconv.Atoi(os.Getenv("PGWARP_DIFF_SEEDS")); n > 0 {
		for range n {
			seeds = append(seeds, rand.Uint64())
		}
	}
	for _, m := range modes {
		for _, seed := range seeds {
			for _, clients := range []int{1, 2} {
				t.Run(fmt.Sprint(m.name, "/clients=", clients, "/seed=", seed), func(t *testing.T) { diffRun(t, m.mode, seed, clients) })
			}
		}
	}
}

func diffRun(t *testing.T, mode proxy.PoolMode, seed uint64, clients int) {
	steps := diffSchedule(seed, clients)
	i, want, got, hits := diffReplay(t, mode, clients, steps, seed)
	if i < 0 {
		if hits == 0 {
			t.Error("no read was a cache hit")
		}
		return
	}
	report := func(steps []diffStep, i int, want, got string) string {
		var history []string // the batches before it, for the failure report
		for j := max(0, i-8); j < i; j++ {
			history = append(history, fmt.Sprintf("batch %d of client %d:\n%s", j, steps[j].client, describeBatch(steps[j].batch)))
		}
		return fmt.Sprintf("batch %d of client %d:\n%s\nPostgreSQL answered:\n%s\npgwarp answered:\n%s\n\nthe batches before it:\n%s",
			i, steps[i].client, describeBatch(steps[i].batch), want, got, strings.Join(history, "\n"))
	}
	msg := fmt.Sprintf("seed %d, %s", seed, report(steps, i, want, got))
	if os.Getenv("PGWARP_DIFF_SHRINK") != "" {
		steps = diffShrink(t, mode, clients, steps[:i+1], seed)
		i, want, got, _ = diffReplay(t, mode, clients, steps, seed)
		msg += fmt.Sprintf("\n\nshrunk to %d batches, failing at the last:\n%s", len(steps), report(steps, i, want, got))
	}
	t.Fatal(msg)
}

// diffStep is one exchange of the differential test: the batches one
// client sends at once, answered by syncs ReadyForQuery messages.
type diffStep struct {
	client int
	batch  []pgproto3.FrontendMessage
	syncs  int
}

// diffSchedule returns the random exchanges of a seed.
func diffSchedule(seed uint64, clients int) []diffStep {
	gen := rand.New(rand.NewPCG(seed, 1))
	var steps []diffStep
	for range 150 {
		k := 0
		if clients > 1 {
			k = gen.IntN(clients)
		}
		batch, syncs := randomBatch(gen, 100*k)
		if gen.IntN(4) == 0 {
			// Pipelined: more batches before the first is answered.
			for range 1 + gen.IntN(2) {
				more, n := randomBatch(gen, 100*k)
				batch, syncs = append(batch, more...), syncs+n
			}
		}
		steps = append(steps, diffStep{client: k, batch: batch, syncs: syncs})
	}
	return steps
}

// diffReplay runs steps against PostgreSQL and through a new pgwarp, each
// on a new copy of the test database, and returns the index of the first
// step answered differently with both answers (-1 when none was), and
// pgwarp's cache hits.
func diffReplay(t *testing.T, mode proxy.PoolMode, clients int, steps []diffStep, seed uint64) (int, string, string, int64) {
	c := pgtest.Shared(t)
	// Client k reads and writes the rows from 100k+1 on.
	const setup = `CREATE TABLE dt (id int PRIMARY KEY, v text NOT NULL);
		INSERT INTO dt SELECT g, 'v' || g FROM generate_series(1, 5) g;
		INSERT INTO dt SELECT g, 'v' || g FROM generate_series(101, 105) g`
	dbDirect, dbProxy := pgtest.CreateDatabase(t, c), pgtest.CreateDatabase(t, c)
	pgtest.Exec(t, c, dbDirect, setup)
	pgtest.Exec(t, c, dbProxy, setup)
	// A backend for each client and one for the warm-up connection,
	// which session mode keeps: no client ever waits for one.
	p, _ := startCached(t, dbProxy, cacheSetup{mode: mode, size: clients + 1})
	defer p.Stop(t)
	// The catalog loads on first use: let it, so that the
	// cache takes part.
	warmConn := connect(t, p, dbProxy)
	defer warmConn.Close(context.Background())
	warm(t, p, warmConn, "SELECT v FROM dt WHERE id = 1")

	direct := make([]*rawConn, clients)
	through := make([]*rawConn, clients)
	for k := range clients {
		direct[k] = dialRawAddr(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port())))
		defer direct[k].conn.Close()
		direct[k].startup(dbDirect, 3, 0)
		through[k] = dialRaw(t, p)
		defer through[k].conn.Close()
		through[k].startup(dbProxy, 3, 0)
	}
	cut := rand.New(rand.NewPCG(seed, 2))
	for i, st := range steps {
		want := direct[st.client].exchange(st.batch, st.syncs, nil)
		got := through[st.client].exchange(st.batch, st.syncs, cut)
		if w, g := strings.Join(want, "\n"), strings.Join(got, "\n"); w != g {
			return i, w, g, 0
		}
	}
	return -1, "", "", p.Server.CacheOutcomes()["hit"]
}

// diffShrink removes steps (delta debugging) while the last one is still
// answered differently, for a readable failure report
// (PGWARP_DIFF_SHRINK=1).
func diffShrink(t *testing.T, mode proxy.PoolMode, clients int, steps []diffStep, seed uint64) []diffStep {
	fails := func(s []diffStep) bool {
		i, _, _, _ := diffReplay(t, mode, clients, s, seed)
		return i == len(s)-1
	}
	for chunk := len(steps) / 2; chunk >= 1; chunk /= 2 {
		for at := 0; at+chunk < len(steps); {
			try := append(append([]diffStep(nil), steps[:at]...), steps[at+chunk:]...)
			if fails(try) {
				steps = try
			} else {
				at += chunk
			}
		}
	}
	return steps
}

// TestPipelinedBatchesAnswerAsPostgresDoes replays, in both pool modes,
// pipelines the random test found answered differently: each batch's
// messages change what a statement name means only if the server runs
// them, which pgwarp learns only from the answers to the earlier batches
// of the pipeline.
func TestPipelinedBatchesAnswerAsPostgresDoes(t *testing.T) {
	parse := func(name, sql string, oids ...uint32) *pgproto3.Parse {
		return &pgproto3.Parse{Name: name, Query: sql, ParameterOIDs: oids}
	}
	bind := func(stmt string, params ...string) *pgproto3.Bind {
		b := &pgproto3.Bind{PreparedStatement: stmt}
		for _, v := range params {
			b.Parameters = append(b.Parameters, []byte(v))
		}
		return b
	}
	query := func(sql string) *pgproto3.Query { return &pgproto3.Query{String: sql} }
	exec, sync := &pgproto3.Execute{}, &pgproto3.Sync{}
	describe := func(name string) *pgproto3.Describe { return &pgproto3.Describe{ObjectType: 'S', Name: name} }
	closeStmt := func(name string) *pgproto3.Close { return &pgproto3.Close{ObjectType: 'S', Name: name} }
	const update = "UPDATE dt SET v = v || 'x' WHERE id = $1"
	cases := []struct {
		name  string
		steps []diffStep
	}{
		{
			// The failed Parse leaves s2 the UPDATE, which the next
			// batch runs: the cached read of the row must go.
			"a write through a name whose redefinition failed", []diffStep{
				{batch: []pgproto3.FrontendMessage{query("SELECT v FROM dt WHERE id = 2")}, syncs: 1},
				{batch: []pgproto3.FrontendMessage{parse("s2", update, 23), sync}, syncs: 1},
				{batch: []pgproto3.FrontendMessage{parse("s2", "SELECT 1 / ($1::int - $1::int)"), sync, bind("s2", "2"), exec, sync}, syncs: 2},
				{batch: []pgproto3.FrontendMessage{query("SELECT v FROM dt WHERE id = 2")}, syncs: 1},
			},
		},
		{
			"a Close the server skipped", []diffStep{
				{batch: []pgproto3.FrontendMessage{parse("s1", "SELECT v FROM dt WHERE id = $1", 23), sync}, syncs: 1},
				{batch: []pgproto3.FrontendMessage{parse("", "SELECT 1 / ($1::int - $1::int)"), bind("", "1"), exec, closeStmt("s1"), sync,
					describe("s1"), closeStmt("s1"), sync, bind("s1", "3"), exec, sync}, syncs: 3},
			},
		},
		{
			"two Closes, the first skipped", []diffStep{
				{batch: []pgproto3.FrontendMessage{parse("s1", "SELECT v FROM dt WHERE id = $1", 23), sync}, syncs: 1},
				{batch: []pgproto3.FrontendMessage{query("BEGIN"), parse("", "SELECT 1 / ($1::int - $1::int)"), bind("", "1"), exec, closeStmt("s1"), sync,
					query("ROLLBACK"), closeStmt("s1"), sync}, syncs: 4},
				{batch: []pgproto3.FrontendMessage{parse("s1", "SELECT 2"), sync}, syncs: 1},
			},
		},
		{
			"an unnamed statement whose Parse failed, then skipped Parses", []diffStep{
				{batch: []pgproto3.FrontendMessage{parse("", "SELECT v FROM dt WHERE id = $1", 23), bind("", "2"), exec,
					parse("", "SELECT v FROM missing_table"), sync, describe(""), parse("", update), sync}, syncs: 2},
				{batch: []pgproto3.FrontendMessage{describe(""), sync}, syncs: 1},
			},
		},
		{
			"a skipped Close of the unnamed statement, then a simple query", []diffStep{
				{batch: []pgproto3.FrontendMessage{parse("", "SELECT v FROM dt WHERE id = $1", 23), sync}, syncs: 1},
				{batch: []pgproto3.FrontendMessage{parse("f", "SELECT 1 / ($1::int - $1::int)"), bind("f", "1"), exec, closeStmt(""), sync,
					query("SELECT 1"), describe(""), sync}, syncs: 3},
			},
		},
		{
			// PostgreSQL refuses the COPY and ignores its data; the
			// client then leaves in the failed block, whose backend
			// must come back at once.
			"COPY FROM in a failed block", []diffStep{
				{batch: []pgproto3.FrontendMessage{query("BEGIN")}, syncs: 1},
				{batch: []pgproto3.FrontendMessage{query("RESET extra_float_digits")}, syncs: 1},
				{batch: []pgproto3.FrontendMessage{parse("", "SELECT v FROM missing_table"), bind(""), exec, sync}, syncs: 1},
				{batch: []pgproto3.FrontendMessage{query("COPY dt (id, v) FROM STDIN"),
					&pgproto3.CopyData{Data: []byte("6\tc6\n")}, &pgproto3.CopyDone{}}, syncs: 1},
			},
		},
		{
			"an error pgwarp raises after a pipelined BEGIN", []diffStep{
				{batch: []pgproto3.FrontendMessage{query("BEGIN"), describe(""), sync}, syncs: 2},
				{batch: []pgproto3.FrontendMessage{query("SELECT 1")}, syncs: 1},
			},
		},
	}
	for _, m := range modes {
		for _, tc := range cases {
			t.Run(m.name+"/"+tc.name, func(t *testing.T) {
				if i, want, got, _ := diffReplay(t, m.mode, 1, tc.steps, 1); i >= 0 {
					t.Fatalf("batch %d:\n%s\nPostgreSQL answered:\n%s\npgwarp answered:\n%s", i, describeBatch(tc.steps[i].batch), want, got)
				}
			})
		}
	}
}

// scriptStep is one exchange of a scripted comparison (runScript).
type scriptStep struct {
	msgs  []pgproto3.FrontendMessage
	syncs int    // ReadyForQuery messages that end the answer; 0 means 1
	want  string // the error code PostgreSQL's answer holds; "" for none
	also  string // a message PostgreSQL's answer must also hold
}

// scriptConns returns two started connections to database db: one to
// PostgreSQL itself, one through p.
func scriptConns(t *testing.T, c *pgcluster.Cluster, p *proxytest.Proxy, db string) (direct, through *rawConn) {
	t.Helper()
	direct = dialRawAddr(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port())))
	direct.startup(db, 3, 0)
	through = dialRaw(t, p)
	through.startup(db, 3, 0)
	return direct, through
}

// runScript sends each step to PostgreSQL and through pgwarp and fails at
// the first answer that differs, or that is not the answer the step
// describes (so that a script cannot pass by testing nothing).
func runScript(t *testing.T, direct, through *rawConn, steps []scriptStep) {
	t.Helper()
	for i, step := range steps {
		syncs := max(step.syncs, 1)
		want := strings.Join(direct.exchange(step.msgs, syncs, nil), "\n")
		got := strings.Join(through.exchange(step.msgs, syncs, nil), "\n")
		if got != want {
			t.Fatalf("step %d:\n%s\nPostgreSQL answered:\n%s\npgwarp answered:\n%s", i, describeBatch(step.msgs), want, got)
		}
		if step.want != "" && !strings.Contains(want, "Error "+step.want) || step.want == "" && strings.Contains(want, "Error") ||
			!strings.Contains(want, step.also) {
			t.Fatalf("step %d: PostgreSQL answered\n%s\nnot the error %q and %q the test expects", i, want, step.want, step.also)
		}
	}
}

// newBackendPerTransaction returns a script's two connections to a fresh
// database: straight to PostgreSQL, and through pgwarp in transaction mode
// with every transaction on a new backend (so the backend of a failed
// transaction block lacks what earlier transactions prepared).
func newBackendPerTransaction(t *testing.T) (direct, through *rawConn) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	p := proxytest.Start(t, c, proxytest.Options{Configure: func(pc *proxy.Config) {
		pc.Databases["*"].MaxLifetime = time.Nanosecond
	}})
	return scriptConns(t, c, p, db)
}

// TestAFailedBlockOnABackendWithoutTheStatement: in transaction mode a
// client's statement can be missing on the backend of its failed
// transaction block, where the server refuses to parse it again. pgwarp
// answers a Bind of it as PostgreSQL does, checking the parameter counts
// first (08P01) and the block then (25P02), describes a described
// statement that returns no rows, and a prepared ROLLBACK still ends the
// block.
func TestAFailedBlockOnABackendWithoutTheStatement(t *testing.T) {
	direct, through := newBackendPerTransaction(t)
	bind := func(stmt string, formats []int16, params ...string) *pgproto3.Bind {
		b := &pgproto3.Bind{PreparedStatement: stmt, ParameterFormatCodes: formats}
		for _, v := range params {
			b.Parameters = append(b.Parameters, []byte(v))
		}
		return b
	}
	exec := &pgproto3.Execute{}
	sync := &pgproto3.Sync{}
	runScript(t, direct, through, []scriptStep{
		// Named statements for the block, so that the unnamed one
		// (which a simple query would drop) lives on.
		{msgs: []pgproto3.FrontendMessage{&pgproto3.Parse{Name: "s1", Query: "SELECT $1::int"},
			&pgproto3.Parse{Name: "begin", Query: "BEGIN"},
			&pgproto3.Parse{Name: "fail", Query: "SELECT 1/0"},
			&pgproto3.Parse{Name: "rb", Query: "ROLLBACK"},
			&pgproto3.Parse{Name: "upd", Query: "UPDATE pg_class SET relname = relname WHERE false AND oid = $1"},
			&pgproto3.Describe{ObjectType: 'S', Name: "upd"},
			&pgproto3.Describe{ObjectType: 'S', Name: "s1"},
			// Statements no client describes before the block.
			&pgproto3.Parse{Name: "upd2", Query: "UPDATE pg_class SET relname = relname WHERE false AND oid = $1 AND relname = $2", ParameterOIDs: []uint32{0, 19}},
			&pgproto3.Parse{Name: "sel2", Query: "SELECT $1::text"},
			&pgproto3.Parse{Query: "SELECT $2::int /* $3 */, '$4'", ParameterOIDs: []uint32{23}}, sync}},
		{msgs: []pgproto3.FrontendMessage{bind("begin", nil), exec, sync}},
		{msgs: []pgproto3.FrontendMessage{bind("fail", nil), exec, sync}, want: "22012"},
		{msgs: []pgproto3.FrontendMessage{bind("s1", nil), exec, sync}, want: "08P01"},
		{msgs: []pgproto3.FrontendMessage{bind("s1", []int16{0, 0}, "1"), exec, sync}, want: "08P01"},
		{msgs: []pgproto3.FrontendMessage{bind("", nil, "1"), exec, sync}, want: "08P01"},
		{msgs: []pgproto3.FrontendMessage{bind("", nil, "1", "2"), exec, sync}, want: "25P02"},
		{msgs: []pgproto3.FrontendMessage{bind("s1", nil, "1"), exec, sync}, want: "25P02"},
		{msgs: []pgproto3.FrontendMessage{&pgproto3.Describe{ObjectType: 'S', Name: "upd"}, sync}},
		{msgs: []pgproto3.FrontendMessage{&pgproto3.Describe{ObjectType: 'S', Name: "s1"}, sync}, want: "25P02"},
		{msgs: []pgproto3.FrontendMessage{&pgproto3.Describe{ObjectType: 'S', Name: "upd2"}, sync}},
		{msgs: []pgproto3.FrontendMessage{&pgproto3.Describe{ObjectType: 'S', Name: "sel2"}, sync}, want: "25P02"},
		{msgs: []pgproto3.FrontendMessage{bind("rb", nil), exec, sync}},
		{msgs: []pgproto3.FrontendMessage{bind("s1", nil, "7"), exec, bind("", []int16{0}, "1", "2"), exec, sync}},
		// A block opened and failed in the same pipeline: the Bind is
		// checked against the failed block, not refused by pgwarp's
		// re-Parse.
		{msgs: []pgproto3.FrontendMessage{bind("begin", nil), exec, sync, bind("fail", nil), exec, sync, bind("s1", nil), exec, sync},
			syncs: 3, want: "08P01", also: "Error 22012"},
		{msgs: []pgproto3.FrontendMessage{bind("rb", nil), exec, sync}},
	})
}

// TestTheUnnamedStatementDescribedInAFailedBlock: the client's unnamed
// statement, parsed in an earlier transaction and never described, is
// missing on the backend of its failed transaction block, where the server
// refuses pgwarp's re-Parse. PostgreSQL describes a statement that returns
// no rows even there (parameter types it inferred, NoData) and refuses one
// that returns rows (25P02); pgwarp asks another backend and answers the
// same.
func TestTheUnnamedStatementDescribedInAFailedBlock(t *testing.T) {
	direct, through := newBackendPerTransaction(t)
	run := func(name string) *pgproto3.Bind { return &pgproto3.Bind{PreparedStatement: name} }
	exec := &pgproto3.Execute{}
	sync := &pgproto3.Sync{}
	describe := &pgproto3.Describe{ObjectType: 'S'}
	runScript(t, direct, through, []scriptStep{
		{msgs: []pgproto3.FrontendMessage{&pgproto3.Parse{Name: "begin", Query: "BEGIN"},
			&pgproto3.Parse{Name: "fail", Query: "SELECT 1/0"},
			&pgproto3.Parse{Name: "rb", Query: "ROLLBACK"},
			// Types left to the server: only it knows them.
			&pgproto3.Parse{Query: "UPDATE pg_class SET relname = relname WHERE false AND oid = $1 AND relname = $2", ParameterOIDs: []uint32{0, 19}},
			sync}},
		{msgs: []pgproto3.FrontendMessage{run("begin"), exec, sync}},
		{msgs: []pgproto3.FrontendMessage{run("fail"), exec, sync}, want: "22012"},
		{msgs: []pgproto3.FrontendMessage{describe, sync}, also: "ParameterDescription"},
		// Pipelined behind the failure, in one batch and in the next.
		{msgs: []pgproto3.FrontendMessage{run("fail"), exec, describe, sync, describe, sync}, syncs: 2, want: "25P02", also: "NoData"},
		{msgs: []pgproto3.FrontendMessage{run("rb"), exec, sync}},
		{msgs: []pgproto3.FrontendMessage{&pgproto3.Parse{Query: "SELECT $1::int"}, sync}},
		{msgs: []pgproto3.FrontendMessage{run("begin"), exec, run("fail"), exec, sync}, want: "22012"},
		{msgs: []pgproto3.FrontendMessage{describe, sync}, want: "25P02"},
		{msgs: []pgproto3.FrontendMessage{run("rb"), exec, sync}},
	})
}

// TestTheUnnamedStatementAnsweredBeforeASkippedParse: a batch parses the
// unnamed statement, fails, and parses it again; the server answers the
// first Parse and skips the second, so the backend keeps the first. A
// Describe of it pipelined in the failed block must reach that backend as
// it is: pgwarp's re-Parse would be refused there (25P02), where
// PostgreSQL describes an UPDATE even in a failed block.
func TestTheUnnamedStatementAnsweredBeforeASkippedParse(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			c := pgtest.Shared(t)
			db := pgtest.CreateDatabase(t, c)
			pgtest.Exec(t, c, db, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a')")
			p := proxytest.Start(t, c, proxytest.Options{Mode: m.mode})
			direct, through := scriptConns(t, c, p, db)
			const update = "UPDATE t SET v = v WHERE id = $1"
			one := [][]byte{[]byte("1")}
			runScript(t, direct, through, []scriptStep{
				{msgs: []pgproto3.FrontendMessage{&pgproto3.Parse{Name: "fail", Query: "SELECT 1/0"}, &pgproto3.Sync{}}},
				{msgs: []pgproto3.FrontendMessage{&pgproto3.Query{String: "BEGIN"}}},
				{msgs: []pgproto3.FrontendMessage{
					&pgproto3.Parse{Query: update},
					&pgproto3.Bind{DestinationPortal: "p", Parameters: one}, &pgproto3.Execute{Portal: "p"},
					&pgproto3.Bind{PreparedStatement: "fail"}, &pgproto3.Execute{},
					&pgproto3.Parse{Query: "SELECT v FROM t"},
					&pgproto3.Sync{}}, want: "22012"},
				{msgs: []pgproto3.FrontendMessage{&pgproto3.Sync{}, &pgproto3.Describe{ObjectType: 'S'}, &pgproto3.Sync{}}, syncs: 2, also: "ParameterDescription"},
				{msgs: []pgproto3.FrontendMessage{&pgproto3.Query{String: "ROLLBACK"}}},
			})
		})
	}
}

// TestATakenStatementNameReportsTheStatementsOwnErrorFirst: PostgreSQL
// parses and analyses a named statement before it finds the name taken, so
// a Parse under a taken name reports a syntax error, an unknown table or
// 25P02 in a failed block as such, and 42P05 only for a statement that
// would succeed.
func TestATakenStatementNameReportsTheStatementsOwnErrorFirst(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			c := pgtest.Shared(t)
			db := pgtest.CreateDatabase(t, c)
			p := proxytest.Start(t, c, proxytest.Options{Mode: m.mode})
			direct, through := scriptConns(t, c, p, db)
			parse := func(sql string) *pgproto3.Parse { return &pgproto3.Parse{Name: "s", Query: sql} }
			sync := &pgproto3.Sync{}
			runScript(t, direct, through, []scriptStep{
				{msgs: []pgproto3.FrontendMessage{parse("SELECT 1"), sync}},
				{msgs: []pgproto3.FrontendMessage{parse("SELEC 1"), sync}, want: "42601"},
				{msgs: []pgproto3.FrontendMessage{parse("SELECT * FROM missing_table"), sync}, want: "42P01"},
				{msgs: []pgproto3.FrontendMessage{parse("SELECT 2"), sync}, want: "42P05"},
				// The rest of a failed batch is skipped either way.
				{msgs: []pgproto3.FrontendMessage{parse("SELECT * FROM missing_table"), &pgproto3.Bind{PreparedStatement: "s"}, &pgproto3.Execute{}, sync}, want: "42P01"},
				{msgs: []pgproto3.FrontendMessage{parse("SELECT 2"), &pgproto3.Bind{PreparedStatement: "s"}, &pgproto3.Execute{}, sync}, want: "42P05"},
				// The name still means the first statement.
				{msgs: []pgproto3.FrontendMessage{&pgproto3.Bind{PreparedStatement: "s"}, &pgproto3.Execute{}, sync}},
				{msgs: []pgproto3.FrontendMessage{&pgproto3.Query{String: "BEGIN"}}},
				{msgs: []pgproto3.FrontendMessage{&pgproto3.Query{String: "SELECT 1/0"}}, want: "22012"},
				{msgs: []pgproto3.FrontendMessage{parse("SELECT 2"), sync}, want: "25P02"},
				{msgs: []pgproto3.FrontendMessage{parse("SELEC 2"), sync}, want: "42601"},
				{msgs: []pgproto3.FrontendMessage{&pgproto3.Query{String: "ROLLBACK"}}},
				{msgs: []pgproto3.FrontendMessage{&pgproto3.Bind{PreparedStatement: "s"}, &pgproto3.Execute{}, sync}},
			})
		})
	}
}

// TestAStatementWhoseParseTheServerMaySkipIsNotReliedOn: a Bind of a
// statement the backend lacks sends pgwarp's re-Parse in its batch; when
// that batch fails earlier, the server skips the re-Parse, and a Describe
// pipelined in the next batch must not rely on it (the server would answer
// 26000 for pgwarp's internal name). pgwarp waits for the answer and
// parses the statement again.
func TestAStatementWhoseParseTheServerMaySkipIsNotReliedOn(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	pgtest.Exec(t, c, db, "CREATE TABLE dt (id int PRIMARY KEY, v text)")
	p := proxytest.Start(t, c, proxytest.Options{Mode: proxy.PoolTransaction, Configure: func(pc *proxy.Config) {
		pc.Databases["*"].MaxLifetime = time.Nanosecond
	}})
	direct, through := scriptConns(t, c, p, db)
	sync := &pgproto3.Sync{}
	runScript(t, direct, through, []scriptStep{
		{msgs: []pgproto3.FrontendMessage{
			&pgproto3.Parse{Name: "s1", Query: "UPDATE dt SET v = v || 'x' WHERE id = $1", ParameterOIDs: []uint32{23}},
			&pgproto3.Bind{PreparedStatement: "s1", ParameterFormatCodes: []int16{0}, Parameters: [][]byte{[]byte("106")}},
			&pgproto3.Execute{}, sync}},
		{msgs: []pgproto3.FrontendMessage{
			&pgproto3.Parse{Query: "INSERT INTO dt VALUES ($1, 'n') ON CONFLICT (id) DO UPDATE SET v = dt.v || 'u'", ParameterOIDs: []uint32{23}},
			&pgproto3.Bind{ParameterFormatCodes: []int16{0}, Parameters: [][]byte{[]byte("104")}, ResultFormatCodes: []int16{1}},
			&pgproto3.Execute{}, &pgproto3.Execute{},
			&pgproto3.Bind{PreparedStatement: "s1", ParameterFormatCodes: []int16{0}, Parameters: [][]byte{[]byte("104")}, ResultFormatCodes: []int16{1}},
			&pgproto3.Describe{ObjectType: 'P'}, &pgproto3.Execute{}, &pgproto3.Execute{}, sync,
			&pgproto3.Describe{ObjectType: 'S', Name: "s1"}, sync}, syncs: 2, want: "55000", also: "ParameterDescription"},
	})
}

// The statements of the random batches: reads (cacheable), writes, errors
// at execution and at Parse, with their parameter count.
var diffStatements = []struct {
	sql    string
	params int
}{
	{"SELECT v FROM dt WHERE id = $1", 1},
	{"SELECT id, v FROM dt ORDER BY id", 0},
	{"SELECT count(*), max(v) FROM dt WHERE id <= $1", 1},
	{"UPDATE dt SET v = v || 'x' WHERE id = $1", 1},
	{"INSERT INTO dt VALUES ($1, 'n') ON CONFLICT (id) DO UPDATE SET v = dt.v || 'u'", 1},
	{"SELECT 1 / ($1::int - $1::int)", 1},
	{"SELECT v FROM missing_table", 0},
}

// randomBatch returns the messages of one exchange and how many
// ReadyForQuery messages answer them. Its keys start at base+1.
func randomBatch(r *rand.Rand, base int) ([]pgproto3.FrontendMessage, int) {
	names := []string{"", "", "s1", "s2"}
	portals := []string{"", "", "p1"}
	param := func() [][]byte { return [][]byte{[]byte(strconv.Itoa(base + 1 + r.IntN(7)))} }
	if r.IntN(25) == 0 {
		// COPY both ways; a key already there fails the COPY FROM.
		if r.IntN(2) == 0 {
			return []pgproto3.FrontendMessage{&pgproto3.Query{String: "COPY (SELECT id, v FROM dt ORDER BY id) TO STDOUT"}}, 1
		}
		id := base + 6 + r.IntN(20)
		return []pgproto3.FrontendMessage{
			&pgproto3.Query{String: "COPY dt (id, v) FROM STDIN"},
			&pgproto3.CopyData{Data: []byte(fmt.Sprintf("%d\tc%d\n", id, id))},
			&pgproto3.CopyDone{},
		}, 1
	}
	if r.IntN(5) == 0 {
		// A simple query, with the parameter spelled in.
		st := diffStatements[r.IntN(len(diffStatements))]
		sql := strings.ReplaceAll(st.sql, "$1", strconv.Itoa(base+1+r.IntN(7)))
		switch r.IntN(12) {
		case 8:
			sql = "SELECT 1; " + sql
		case 9:
			sql = fmt.Sprintf("SET extra_float_digits = %d", r.IntN(3))
		case 10:
			sql = "SHOW extra_float_digits"
		case 11:
			sql = "RESET extra_float_digits"
		case 0:
			sql = "BEGIN"
		case 1:
			sql = "COMMIT"
		case 2:
			sql = "ROLLBACK"
		}
		return []pgproto3.FrontendMessage{&pgproto3.Query{String: sql}}, 1
	}
	var msgs []pgproto3.FrontendMessage
	for range 1 + r.IntN(4) {
		name := names[r.IntN(len(names))]
		st := diffStatements[r.IntN(len(diffStatements))]
		var params [][]byte
		if st.params > 0 {
			params = param()
		}
		switch k := r.IntN(10); {
		case k < 6: // Parse (maybe), Bind, [Describe], Execute
			if name == "" || r.IntN(2) == 0 {
				var oids []uint32
				if st.params > 0 && r.IntN(2) == 0 {
					oids = []uint32{23}
				}
				msgs = append(msgs, &pgproto3.Parse{Name: name, Query: st.sql, ParameterOIDs: oids})
			}
			portal := portals[r.IntN(len(portals))]
			msgs = append(msgs, &pgproto3.Bind{DestinationPortal: portal, PreparedStatement: name, ParameterFormatCodes: []int16{0}, Parameters: params,
				ResultFormatCodes: []int16{int16(r.IntN(2))}})
			if r.IntN(2) == 0 {
				msgs = append(msgs, &pgproto3.Describe{ObjectType: 'P', Name: portal})
			}
			msgs = append(msgs, &pgproto3.Execute{Portal: portal, MaxRows: uint32(r.IntN(4) / 3)})
			if r.IntN(3) == 0 {
				msgs = append(msgs, &pgproto3.Execute{Portal: portal})
			}
		case k < 8:
			msgs = append(msgs, &pgproto3.Describe{ObjectType: 'S', Name: name})
		case k < 9:
			if r.IntN(3) == 0 {
				msgs = append(msgs, &pgproto3.Close{ObjectType: 'P', Name: portals[r.IntN(len(portals))]})
			} else {
				msgs = append(msgs, &pgproto3.Close{ObjectType: 'S', Name: name})
			}
		default:
			msgs = append(msgs, &pgproto3.Flush{})
		}
	}
	return append(msgs, &pgproto3.Sync{}), 1
}

func describeBatch(msgs []pgproto3.FrontendMessage) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "  %T %+v\n", m, m)
	}
	return b.String()
}

func dialRawAddr(t *testing.T, addr string) *rawConn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
	t.Cleanup(func() { conn.Close() })
	return &rawConn{t: t, conn: conn, fe: pgproto3.NewFrontend(conn, conn)}
}

// exchange sends msgs, in pieces of random length when cut is set, and
// returns the answers up to the syncs-th ReadyForQuery, each as a line
// that leaves out what differs between two databases or two servers for
// the same work (table OIDs, notices, parameter status, error texts).
func (r *rawConn) exchange(msgs []pgproto3.FrontendMessage, syncs int, cut *rand.Rand) []string {
	r.t.Helper()
	var raw []byte
	for _, m := range msgs {
		var err error
		if raw, err = m.Encode(raw); err != nil {
			r.t.Fatal(err)
		}
	}
	for len(raw) > 0 {
		n := len(raw)
		if cut != nil && cut.IntN(3) == 0 {
			n = 1 + cut.IntN(n)
		}
		r.write(raw[:n])
		raw = raw[n:]
	}
	var out []string
	for syncs > 0 {
		switch m := r.receive().(type) {
		case *pgproto3.ParameterStatus, *pgproto3.NoticeResponse:
		case *pgproto3.RowDescription:
			var f []string
			for _, d := range m.Fields {
				f = append(f, fmt.Sprintf("%s:%d:%d", d.Name, d.DataTypeOID, d.Format))
			}
			out = append(out, "RowDescription "+strings.Join(f, ","))
		case *pgproto3.DataRow:
			out = append(out, fmt.Sprintf("DataRow %q", m.Values))
		case *pgproto3.ErrorResponse:
			out = append(out, "Error "+m.Code)
		case *pgproto3.ReadyForQuery:
			out = append(out, "ReadyForQuery "+string(m.TxStatus))
			syncs--
		default:
			out = append(out, fmt.Sprintf("%T %+v", m, m))
		}
	}
	return out
}
