package query_test

import (
	"strings"
	"testing"

	"github.com/pgwarp/pgwarp/query"
)

// summarize renders a statement compactly: kind, ro/rw, then the non-empty
// parts among reads (r=), writes (w=), creates (c=), functions (f=), lock,
// flags and transaction control.
func summarize(st query.Statement) string {
	parts := []string{st.Kind.String()}
	if st.ReadOnly {
		parts = append(parts, "ro")
	} else {
		parts = append(parts, "rw")
	}
	rels := func(tag string, rs []query.Relation) {
		if len(rs) == 0 {
			return
		}
		names := make([]string, len(rs))
		for i, r := range rs {
			names[i] = r.String()
		}
		parts = append(parts, tag+"="+strings.Join(names, ","))
	}
	rels("r", st.Reads)
	rels("w", st.Writes)
	rels("c", st.Creates)
	if len(st.Functions) > 0 {
		names := make([]string, len(st.Functions))
		for i, f := range st.Functions {
			names[i] = f.String()
			if f.Operator {
				names[i] = "op:" + names[i]
			}
		}
		parts = append(parts, "f="+strings.Join(names, ","))
	}
	if st.Locking != query.LockNone {
		parts = append(parts, st.Locking.String())
	}
	for _, flag := range []struct {
		on   bool
		name string
	}{
		{st.SelectInto, "into"}, {st.ModifyingCTE, "modifying-cte"}, {st.TimeLiteral, "time-literal"},
		{st.Sampling, "sampling"}, {st.ExplainAnalyze, "analyze"}, {st.UnknownWrites, "unknown-writes"},
	} {
		if flag.on {
			parts = append(parts, flag.name)
		}
	}
	if st.Transaction.Kind != query.TxNone {
		tx := st.Transaction
		s := "tx=" + tx.Kind.String()
		if tx.Isolation != "" {
			s += "/" + tx.Isolation
		}
		if tx.Access != query.TxAccessDefault {
			s += "/" + tx.Access.String()
		}
		if tx.Deferrable {
			s += "/DEFERRABLE"
		}
		if tx.Chain {
			s += "/CHAIN"
		}
		if tx.Name != "" {
			s += "/" + tx.Name
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func summarizeInfo(info *query.Info) string {
	if info.Err != nil {
		return "error: " + info.Err.Message
	}
	var out []string
	for _, st := range info.Statements {
		out = append(out, summarize(st))
	}
	return strings.Join(out, " ; ")
}

func TestClassifyStatements(t *testing.T) {
	tests := []struct {
		name, sql, want string
	}{
		{"point query", "SELECT abalance FROM pgbench_accounts WHERE aid = 12345;", "select ro r=pgbench_accounts f=op:=/2"},
		{"values", "VALUES (1), (2)", "select ro"},
		{"table", "TABLE s.t", "select ro r=s.t"},
		{"join with schema and quoted names", `SELECT * FROM public.a JOIN "My Schema"."T" USING (id)`, `select ro r=public.a,"My Schema"."T"`},
		{"subquery and union", "SELECT x FROM a WHERE y IN (SELECT y FROM b) UNION SELECT z FROM c", "select ro r=a,b,c"},
		{"cte names are not relations", "WITH t AS (SELECT 1 AS x) SELECT * FROM t, u", "select ro r=u"},
		{"qualified name is not a cte", "WITH t AS (SELECT 1) SELECT * FROM s.t", "select ro r=s.t"},
		{"non-recursive cte sees only earlier ctes", "WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a", "select ro r=b"},
		{"recursive cte sees itself", "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r", "select ro f=op:+/2,op:</2"},
		{"cte scope ends with its query", "SELECT * FROM (WITH x AS (SELECT 1) SELECT * FROM x) s, x", "select ro r=x"},
		{"data-modifying cte", "WITH d AS (DELETE FROM t WHERE a < 0 RETURNING *) SELECT count(*) FROM d", "select rw w=t f=op:</2,count/0 modifying-cte"},
		{"for update", "SELECT * FROM t FOR UPDATE", "select rw r=t FOR UPDATE"},
		{"for key share in a subquery", "SELECT * FROM (SELECT * FROM t FOR KEY SHARE) s", "select rw r=t FOR KEY SHARE"},
		{"locked relation names are aliases", "SELECT * FROM t AS x FOR NO KEY UPDATE OF x", "select rw r=t FOR NO KEY UPDATE"},
		{"select into", "SELECT * INTO newt FROM t", "select rw r=t c=newt into"},
		{"now", "SELECT now()", "select ro f=now/0"},
		{"current_date", "SELECT CURRENT_DATE, current_user", "select ro f=pg_catalog.current_date/0,pg_catalog.current_user/0"},
		{"now literal cast", "SELECT 'now'::timestamptz", "select ro time-literal"},
		{"today typed literal", "SELECT * FROM t WHERE d > date 'today'", "select ro r=t f=op:>/2 time-literal"},
		{"bare time-relative literal", "SELECT * FROM t WHERE ts > 'yesterday'", "select ro r=t f=op:>/2 time-literal"},
		{"fixed date literal", "SELECT * FROM t WHERE d > date '2024-01-01' - 30", "select ro r=t f=op:>/2,op:-/2"},
		{"nextval", "SELECT nextval('s')", "select rw f=nextval/1"},
		{"set_config", "SELECT set_config('a.b', 'c', false)", "select rw f=set_config/3"},
		{"advisory lock", "SELECT pg_try_advisory_xact_lock(1)", "select rw f=pg_try_advisory_xact_lock/1"},
		{"count star", "SELECT count(*) FROM t", "select ro r=t f=count/0"},
		{"qualified function", "SELECT myschema.f(1, 2)", "select ro f=myschema.f/2"},
		{"user operator", "SELECT a OPERATOR(s.===) b FROM t", "select ro r=t f=op:s.===/2"},
		{"tablesample", "SELECT * FROM t TABLESAMPLE SYSTEM (10)", "select ro r=t sampling"},
		{"tablesample repeatable", "SELECT * FROM t TABLESAMPLE BERNOULLI (10) REPEATABLE (1)", "select ro r=t"},
		{"lateral function", "SELECT * FROM t, LATERAL generate_series(1, t.n)", "select ro r=t f=generate_series/2"},
		{"insert select", "INSERT INTO a SELECT * FROM b", "insert rw r=b w=a"},
		{"insert on conflict", "INSERT INTO a (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET n = a.n + 1", "insert rw w=a f=op:+/2"},
		{"update from", "UPDATE a SET x = b.x FROM b WHERE a.id = b.id", "update rw r=b w=a f=op:=/2"},
		{"delete using", "DELETE FROM s.a USING b WHERE a.id = b.id RETURNING a.*", "delete rw r=b w=s.a f=op:=/2"},
		{"merge", "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v)", "merge rw r=s w=t f=op:=/2"},
		{"copy to", "COPY t TO STDOUT", "copy to ro r=t"},
		{"copy query to", "COPY (SELECT * FROM t WHERE a > 1) TO STDOUT", "copy to ro r=t f=op:>/2"},
		{"copy writing query to", "COPY (DELETE FROM t RETURNING *) TO STDOUT", "copy to rw w=t"},
		{"copy from", "COPY t FROM STDIN", "copy from rw w=t"},
		{"explain", "EXPLAIN SELECT * FROM t", "explain ro r=t"},
		{"explain of a write", "EXPLAIN UPDATE t SET a = 1", "explain ro"},
		{"explain analyze of a write", "EXPLAIN ANALYZE UPDATE t SET a = 1", "explain rw w=t analyze"},
		{"explain analyze option list", "EXPLAIN (ANALYZE, BUFFERS) DELETE FROM t", "explain rw w=t analyze"},
		{"explain analyze off", "EXPLAIN (ANALYZE false) DELETE FROM t", "explain ro"},
		{"explain analyze of a read", "EXPLAIN ANALYZE SELECT * FROM t", "explain ro r=t analyze"},
		{"truncate", "TRUNCATE a, s.b CASCADE", "truncate rw w=a,s.b"},
		{"lock", "LOCK TABLE t IN ACCESS EXCLUSIVE MODE", "lock rw"},
		{"call", "CALL p(1)", "call rw f=p/1 unknown-writes"},
		{"do", "DO $$BEGIN PERFORM 1; END$$", "do rw unknown-writes"},
		{"notify", "NOTIFY ch, 'x'", "notify rw"},
		{"listen", "LISTEN ch", "listen rw"},
		{"refresh", "REFRESH MATERIALIZED VIEW CONCURRENTLY mv", "refresh materialized view rw w=mv"},
		{"vacuum", "VACUUM ANALYZE t", "maintenance rw"},
		{"show", "SHOW search_path", "show ro"},
		{"create table", "CREATE TABLE s.t (id int)", "ddl rw c=s.t"},
		{"create table as", "CREATE TABLE n AS SELECT * FROM t", "ddl rw r=t c=n"},
		{"create view", "CREATE OR REPLACE VIEW v AS SELECT * FROM t", "ddl rw w=v c=v"},
		{"alter table", "ALTER TABLE t ADD COLUMN c int", "ddl rw w=t"},
		{"drop tables", "DROP TABLE a, s.b CASCADE", "ddl rw w=a,s.b"},
		{"drop index", "DROP INDEX i", "ddl rw"},
		{"drop function", "DROP FUNCTION f(int)", "ddl rw unknown-writes"},
		{"rename table", "ALTER TABLE t RENAME TO u", "ddl rw w=t c=u"},
		{"grant on table", "GRANT SELECT ON t, s.u TO r", "ddl rw w=t,s.u"},
		{"revoke on all tables", "REVOKE SELECT ON ALL TABLES IN SCHEMA s FROM r", "ddl rw unknown-writes"},
		{"create policy", "CREATE POLICY p ON t USING (owner = current_user)", "ddl rw w=t"},
		{"create function", "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", "ddl rw unknown-writes"},
		{"create index", "CREATE INDEX ON t (a)", "ddl rw"},
		{"comment hides a keyword", "SELECT 1 /* ; DROP TABLE t */", "select ro"},
		{"line comment hides a keyword", "SELECT 1 -- ; DELETE FROM t\n", "select ro"},
		{"keyword in a string", "SELECT 'DELETE FROM t' FROM u", "select ro r=u"},
		{"multiple statements", "SELECT 1; UPDATE t SET a = 1", "select ro ; update rw w=t"},
		{"begin", "BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE", "transaction rw tx=BEGIN/serializable/READ ONLY/DEFERRABLE"},
		{"start transaction", "START TRANSACTION READ WRITE", "transaction rw tx=BEGIN/READ WRITE"},
		{"commit", "COMMIT", "transaction rw tx=COMMIT"},
		{"end", "END", "transaction rw tx=COMMIT"},
		{"commit and chain", "COMMIT AND CHAIN", "transaction rw tx=COMMIT/CHAIN"},
		{"rollback", "ROLLBACK", "transaction rw tx=ROLLBACK"},
		{"abort and chain", "ABORT AND CHAIN", "transaction rw tx=ROLLBACK/CHAIN"},
		{"savepoint", "SAVEPOINT sp1", "transaction rw tx=SAVEPOINT/sp1"},
		{"release", "RELEASE SAVEPOINT sp1", "transaction rw tx=RELEASE/sp1"},
		{"rollback to", "ROLLBACK TO SAVEPOINT sp1", "transaction rw tx=ROLLBACK TO/sp1"},
		{"prepare transaction", "PREPARE TRANSACTION 'gid1'", "transaction rw tx=PREPARE TRANSACTION/gid1"},
		{"commit prepared", "COMMIT PREPARED 'gid1'", "transaction rw tx=COMMIT PREPARED/gid1"},
		{"rollback prepared", "ROLLBACK PREPARED 'gid1'", "transaction rw tx=ROLLBACK PREPARED/gid1"},
		{"parse error", "SELEC 1", `error: syntax error at or near "SELEC"`},
		{"empty", " ;; -- nothing\n", ""},
	}
	c, err := query.NewClassifier(query.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := c.Classify(tt.sql).Info
			if got := summarizeInfo(info); got != tt.want {
				t.Errorf("Classify(%q)\n got %s\nwant %s", tt.sql, got, tt.want)
			}
		})
	}
}

func TestPrepareClassifiesThePreparedStatement(t *testing.T) {
	c, _ := query.NewClassifier(query.Config{})
	info := c.Classify("PREPARE p (int) AS UPDATE t SET a = $1").Info
	st := info.Statements[0]
	if st.Kind != query.KindPrepare || st.Prepared == nil {
		t.Fatalf("got %+v", st)
	}
	if got := summarize(*st.Prepared); got != "update rw w=t" {
		t.Errorf("prepared statement = %s, want update rw w=t", got)
	}
	if len(st.Writes) != 0 || st.ReadOnly {
		t.Errorf("PREPARE itself writes nothing but is not a read: %+v", st)
	}
}

func TestParseErrorIsReportedNotPanicked(t *testing.T) {
	c, _ := query.NewClassifier(query.Config{})
	for _, sql := range []string{"SELECT (", "SELECT 'unterminated", "SELECT 1 /* open", "\x00", "SELECT 1\x00; DROP TABLE t"} {
		info := c.Classify(sql).Info
		if info.Err == nil || len(info.Statements) != 0 || info.ReadOnly() {
			t.Errorf("Classify(%q) = %s, want a parse error", sql, summarizeInfo(info))
		}
	}
}
