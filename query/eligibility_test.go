package query_test

import (
	"strings"
	"testing"

	"github.com/pgwarp/pgwarp/query"
)

// Session contexts for eligibility cases.
const (
	envApp      = iota // search_path app, public; autocommit
	envDefault         // search_path "$user", public
	envInTx            // inside BEGIN
	envTemp            // the session created a temporary table
	envNowParam        // a text parameter bound to 'now'
)

// eligibilityCases cover every trap of issue 4: data-modifying CTEs, row
// locks, now() and its SQL-standard spellings, user functions of each
// volatility, nextval, multi-statement strings, transaction blocks, SELECT
// INTO, COPY TO, EXPLAIN ANALYZE of a write, set_config, comments hiding
// keywords, schema-qualified and quoted names, time-relative literals.
var eligibilityCases = []struct {
	name   string
	sql    string
	env    int
	reason query.Reason
	detail string // a substring of Verdict.Detail, when it matters
}{
	// Cacheable.
	{"point query", "SELECT balance FROM accounts WHERE id = 12345;", envApp, query.ReasonCacheable, ""},
	{"schema-qualified", "SELECT * FROM app.accounts WHERE id = 1", envDefault, query.ReasonCacheable, ""},
	{"aggregate", "SELECT count(*), sum(total) FROM orders", envApp, query.ReasonCacheable, ""},
	{"values", "VALUES (1, 'a'), (2, 'b')", envApp, query.ReasonCacheable, ""},
	{"table", "TABLE app.accounts", envDefault, query.ReasonCacheable, ""},
	{"read-only with", "WITH r AS (SELECT * FROM accounts WHERE balance > 10) SELECT * FROM r", envApp, query.ReasonCacheable, ""},
	{"view over view", "SELECT * FROM rich_orders", envApp, query.ReasonCacheable, ""},
	{"materialized view", "SELECT * FROM totals", envApp, query.ReasonCacheable, ""},
	{"view over materialized view", "SELECT * FROM totals_v", envApp, query.ReasonCacheable, ""},
	{"user immutable function", "SELECT app.imm(id) FROM accounts", envApp, query.ReasonCacheable, ""},
	{"view calling immutable functions", "SELECT * FROM imm_v", envApp, query.ReasonCacheable, ""},
	{"partitioned table with a fixed date", "SELECT * FROM measurements WHERE day > date '2024-01-01'", envApp, query.ReasonCacheable, ""},
	{"dashboard aggregate", "SELECT name, sum(price) FROM items WHERE added > date '2024-06-30' - 30 AND added <= date '2024-06-30' GROUP BY name ORDER BY 2 DESC LIMIT 20", envApp, query.ReasonCacheable, ""},
	{"quoted identifiers", `SELECT "Id" FROM "Mixed Case"`, envDefault, query.ReasonCacheable, ""},
	{"comment hides a keyword", "SELECT * FROM public.items /* ; DELETE FROM items */", envDefault, query.ReasonCacheable, ""},
	{"line comment hides a keyword", "SELECT * FROM items -- ; UPDATE items SET price = 0\n", envApp, query.ReasonCacheable, ""},
	{"keyword in a string", "SELECT 'DELETE FROM items' AS s FROM items", envApp, query.ReasonCacheable, ""},
	{"row security without volatile policy", "SELECT * FROM team_docs", envApp, query.ReasonCacheable, ""},
	{"repeatable sample", "SELECT * FROM accounts TABLESAMPLE BERNOULLI (10) REPEATABLE (42)", envApp, query.ReasonCacheable, ""},
	{"immutable built-ins", "SELECT lpad(owner, 10), upper(owner), abs(balance) FROM accounts", envApp, query.ReasonCacheable, ""},
	{"parameters", "SELECT * FROM items WHERE name = $1 AND price > $2", envApp, query.ReasonCacheable, ""},
	{"constant", "SELECT 1", envApp, query.ReasonCacheable, ""},
	{"lateral set-returning function", "SELECT * FROM accounts a, LATERAL generate_series(1, a.id) g", envApp, query.ReasonCacheable, ""},
	{"inheritance parent", "SELECT * FROM parent_inh", envApp, query.ReasonCacheable, ""},
	{"trailing comment and semicolon", "SELECT * FROM accounts; -- done", envApp, query.ReasonCacheable, ""},
	{"cte named like a system table", "WITH pg_class AS (SELECT 1 AS x) SELECT * FROM pg_class", envApp, query.ReasonCacheable, ""},

	// Volatile.
	{"now()", "SELECT now()", envApp, query.ReasonVolatile, "stable"},
	{"now() in a filter", "SELECT * FROM orders WHERE created > now() - interval '1 day'", envApp, query.ReasonVolatile, "stable"},
	{"random()", "SELECT random()", envApp, query.ReasonVolatile, "volatile"},
	{"CURRENT_DATE", "SELECT CURRENT_DATE", envApp, query.ReasonVolatile, "stable"},
	{"CURRENT_TIMESTAMP", "SELECT * FROM orders WHERE created < CURRENT_TIMESTAMP", envApp, query.ReasonVolatile, "stable"},
	{"LOCALTIME", "SELECT LOCALTIME", envApp, query.ReasonVolatile, "stable"},
	{"CURRENT_USER", "SELECT * FROM accounts WHERE owner = CURRENT_USER", envApp, query.ReasonVolatile, "stable"},
	{"'now'::timestamptz", "SELECT 'now'::timestamptz", envApp, query.ReasonVolatile, "time-relative literal"},
	{"'today'::date", "SELECT * FROM items WHERE added = 'today'::date", envApp, query.ReasonVolatile, "time-relative literal"},
	{"bare 'yesterday'", "SELECT * FROM items WHERE added > 'yesterday'", envApp, query.ReasonVolatile, "time-relative literal"},
	{"date 'tomorrow'", "SELECT * FROM items WHERE added < date 'tomorrow'", envApp, query.ReasonVolatile, "time-relative literal"},
	{"user volatile function", "SELECT app.vol(id) FROM accounts", envApp, query.ReasonVolatile, "volatile"},
	{"user stable function", "SELECT app.stab(id) FROM accounts", envApp, query.ReasonVolatile, "stable"},
	{"overloads with a volatile one", "SELECT app.over(1)", envApp, query.ReasonVolatile, "volatile"},
	{"view calling a volatile function", "SELECT * FROM vol_v", envApp, query.ReasonVolatile, "volatile"},
	{"view calling now()", "SELECT * FROM recent", envApp, query.ReasonVolatile, "stable"},
	{"view using CURRENT_DATE", "SELECT * FROM today_v", envApp, query.ReasonVolatile, "stable"},
	{"row security policy calling current_setting", "SELECT * FROM secured", envApp, query.ReasonVolatile, "stable"},
	{"tablesample", "SELECT * FROM accounts TABLESAMPLE SYSTEM (50)", envApp, query.ReasonVolatile, "TABLESAMPLE"},
	{"unknown function", "SELECT no_such_fn(1)", envApp, query.ReasonVolatile, "volatile"},
	{"to_char has stable overloads", "SELECT to_char(added, 'YYYY') FROM items", envApp, query.ReasonVolatile, "stable"},
	{"user operator with a volatile function", "SELECT * FROM accounts WHERE id === 1", envApp, query.ReasonVolatile, "volatile"},
	{"currval", "SELECT currval('app.seq')", envApp, query.ReasonVolatile, "volatile"},
	{"pg_relation_size", "SELECT pg_relation_size('app.accounts')", envApp, query.ReasonVolatile, "volatile"},
	{"time-relative parameter", "SELECT * FROM items WHERE added > $1", envNowParam, query.ReasonVolatile, "time-relative parameter"},

	// Uncacheable.
	{"data-modifying cte", "WITH d AS (DELETE FROM audit RETURNING *) SELECT * FROM d", envApp, query.ReasonUncacheable, "data-modifying"},
	{"insert cte", "WITH i AS (INSERT INTO audit VALUES (1, 'x') RETURNING *) SELECT count(*) FROM i", envApp, query.ReasonUncacheable, "data-modifying"},
	{"for update", "SELECT * FROM accounts WHERE id = 1 FOR UPDATE", envApp, query.ReasonUncacheable, "row-locking"},
	{"for share", "SELECT * FROM accounts FOR SHARE", envApp, query.ReasonUncacheable, "row-locking"},
	{"for no key update", "SELECT * FROM accounts FOR NO KEY UPDATE SKIP LOCKED", envApp, query.ReasonUncacheable, "row-locking"},
	{"for key share", "SELECT * FROM accounts FOR KEY SHARE", envApp, query.ReasonUncacheable, "row-locking"},
	{"select into", "SELECT * INTO copy_of_accounts FROM accounts", envApp, query.ReasonUncacheable, "SELECT INTO"},
	{"nextval", "SELECT nextval('app.seq')", envApp, query.ReasonUncacheable, "writes"},
	{"setval", "SELECT setval('app.seq', 5)", envApp, query.ReasonUncacheable, "writes"},
	{"set_config", "SELECT set_config('app.user', 'alice', false)", envApp, query.ReasonUncacheable, "writes"},
	{"advisory lock", "SELECT pg_advisory_lock(1)", envApp, query.ReasonUncacheable, "locks"},
	{"transaction advisory lock", "SELECT pg_try_advisory_xact_lock(1)", envApp, query.ReasonUncacheable, "locks"},
	{"pg_notify", "SELECT pg_notify('c', 'x')", envApp, query.ReasonUncacheable, "writes"},
	{"copy to", "COPY accounts TO STDOUT", envApp, query.ReasonUncacheable, "not a query"},
	{"explain analyze of a write", "EXPLAIN ANALYZE UPDATE accounts SET balance = 0", envApp, query.ReasonUncacheable, "not a query"},
	{"explain", "EXPLAIN SELECT * FROM accounts", envApp, query.ReasonUncacheable, "not a query"},
	{"insert", "INSERT INTO audit VALUES (1, 'x')", envApp, query.ReasonUncacheable, "not a query"},
	{"update", "UPDATE accounts SET balance = balance + 1 WHERE id = 1", envApp, query.ReasonUncacheable, "not a query"},
	{"delete", "DELETE FROM audit", envApp, query.ReasonUncacheable, "not a query"},
	{"merge", "MERGE INTO accounts a USING items i ON a.id = i.id WHEN MATCHED THEN UPDATE SET owner = i.name", envApp, query.ReasonUncacheable, "not a query"},
	{"system catalog", "SELECT relname FROM pg_class", envApp, query.ReasonUncacheable, "system catalog"},
	{"information_schema", "SELECT * FROM information_schema.tables", envApp, query.ReasonUncacheable, "system catalog"},
	{"view over a system catalog", "SELECT * FROM catalog_v", envApp, query.ReasonUncacheable, "system catalog"},
	{"foreign table", "SELECT * FROM ft", envApp, query.ReasonUncacheable, "foreign table"},
	{"partitioned table with a foreign partition", "SELECT * FROM mixed", envApp, query.ReasonUncacheable, "foreign partition"},
	{"sequence", "SELECT last_value FROM app.seq", envApp, query.ReasonUncacheable, "sequence"},
	{"unknown relation", "SELECT * FROM no_such_table", envApp, query.ReasonUncacheable, "unknown relation"},
	{"unqualified name not on the search path", "SELECT * FROM accounts", envDefault, query.ReasonUncacheable, "unknown relation"},
	{"session with temporary tables", "SELECT * FROM accounts", envTemp, query.ReasonUncacheable, "temporary"},
	{"pg_temp", "SELECT * FROM pg_temp.scratch", envApp, query.ReasonUncacheable, "temporary"},
	{"begin", "BEGIN", envApp, query.ReasonUncacheable, "not a query"},
	{"set", "SET search_path = app", envApp, query.ReasonUncacheable, "not a query"},
	{"show", "SHOW search_path", envApp, query.ReasonUncacheable, "not a query"},
	{"call", "CALL some_procedure()", envApp, query.ReasonUncacheable, "not a query"},
	{"empty", "-- nothing\n;", envApp, query.ReasonUncacheable, "empty"},

	// Transaction, multiple statements, parse errors.
	{"inside begin", "SELECT * FROM accounts WHERE id = 1", envInTx, query.ReasonTransaction, ""},
	{"two selects", "SELECT 1; SELECT 2", envApp, query.ReasonMultipleStatements, ""},
	{"begin and select in one string", "BEGIN; SELECT * FROM accounts; COMMIT", envApp, query.ReasonMultipleStatements, ""},
	{"multi-statement beats transaction", "SELECT 1; SELECT 2", envInTx, query.ReasonMultipleStatements, ""},
	{"parse error", "SELEC * FROM accounts", envApp, query.ReasonParseError, "syntax error"},
	{"incomplete", "SELECT * FROM accounts WHERE", envApp, query.ReasonParseError, "syntax error"},
}

func eligibilityEnv(kind int) query.Env {
	env := query.Env{SearchPath: query.ParseSearchPath("app, public", "postgres")}
	switch kind {
	case envDefault:
		env.SearchPath = query.DefaultSearchPath("postgres")
	case envInTx:
		env.InTransaction = true
	case envTemp:
		env.HasTemp = true
	case envNowParam:
		env.TextParams = [][]byte{[]byte("now")}
	}
	return env
}

func TestEligibility(t *testing.T) {
	if len(eligibilityCases) < 60 {
		t.Fatalf("only %d eligibility cases", len(eligibilityCases))
	}
	fx := newFixture(t)
	c, err := query.NewClassifier(query.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range eligibilityCases {
		t.Run(tt.name, func(t *testing.T) {
			v := query.Eligibility(c.Classify(tt.sql).Info, fx.cat, eligibilityEnv(tt.env))
			if v.Reason != tt.reason || !strings.Contains(v.String(), tt.detail) {
				t.Errorf("Eligibility(%q) = %v, want %v with %q", tt.sql, v, tt.reason, tt.detail)
			}
			if v.Cacheable() != (tt.reason == query.ReasonCacheable) {
				t.Errorf("Cacheable() = %v for %v", v.Cacheable(), v)
			}
		})
	}
}

// TestEligibilityFollowsTheSearchPathOfEachCall: the same memoised
// statement calls twin(), which is IMMUTABLE in public and VOLATILE in app;
// the verdict follows the search_path of each call, whatever the calls
// before it memoised.
func TestEligibilityFollowsTheSearchPathOfEachCall(t *testing.T) {
	fx := newFixture(t)
	c, err := query.NewClassifier(query.Config{})
	if err != nil {
		t.Fatal(err)
	}
	const sql = "SELECT twin(id) FROM items"
	app := query.Env{SearchPath: query.ParseSearchPath("app, public", "postgres")}
	public := query.Env{SearchPath: query.ParseSearchPath("public", "postgres")}
	for i := 0; i < 3; i++ {
		if v := query.Eligibility(c.Classify(sql).Info, fx.cat, app); v.Reason != query.ReasonVolatile {
			t.Fatalf("round %d, search_path app, public: %v, want volatile (app.twin)", i, v)
		}
		if v := query.Eligibility(c.Classify(sql).Info, fx.cat, public); !v.Cacheable() {
			t.Fatalf("round %d, search_path public: %v, want cacheable (public.twin)", i, v)
		}
	}
}

func TestReasonNames(t *testing.T) {
	want := []string{"cacheable", "uncacheable", "volatile", "transaction", "multiplestatements", "parseerror"}
	for i, w := range want {
		if got := query.Reason(i).String(); got != w {
			t.Errorf("Reason(%d) = %q, want %q", i, got, w)
		}
	}
}
