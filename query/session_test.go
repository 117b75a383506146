package query_test

import (
	"strings"
	"testing"

	"github.com/pgwarp/pgwarp/query"
)

func effectString(e query.Effect) string {
	s := e.Kind.String()
	if e.Name != "" {
		s += " " + e.Name
	}
	if e.Value != "" || e.Kind == query.EffectSet {
		s += "=" + e.Value
	}
	if e.Local {
		s += " local"
	}
	return s
}

func effectsOf(info *query.Info) string {
	var out []string
	for _, st := range info.Statements {
		for _, e := range st.Effects {
			out = append(out, effectString(e))
		}
	}
	return strings.Join(out, "; ")
}

// effectCases cover every session-state change the transaction pooler must
// replay or pin for.
var effectCases = []struct {
	name, sql, want string
}{
	{"set", "SET search_path = a, \"B\", '$user'", `set search_path=a, "B", "$user"`},
	{"set to", "SET statement_timeout TO 5000", "set statement_timeout=5000"},
	{"set string", "SET application_name = 'my app'", "set application_name=my app"},
	{"set mixed case name", "SET DateStyle = 'ISO, MDY'", "set datestyle=ISO, MDY"},
	{"set local", "SET LOCAL lock_timeout = '1s'", "set lock_timeout=1s local"},
	{"set session", "SET SESSION work_mem = '64MB'", "set work_mem=64MB"},
	{"set time zone", "SET TIME ZONE 'UTC'", "set timezone=UTC"},
	{"set time zone interval", "SET TIME ZONE INTERVAL '+02:00' HOUR TO MINUTE", "unknown timezone"},
	{"set names", "SET NAMES 'UTF8'", "set client_encoding=UTF8"},
	{"set schema", "SET SCHEMA 'app'", "set search_path=app"},
	{"set to default", "SET work_mem TO DEFAULT", "reset work_mem"},
	{"set local to default", "SET LOCAL work_mem TO DEFAULT", "reset work_mem local"},
	{"set time zone local", "SET TIME ZONE LOCAL", "reset timezone"},
	{"reset", "RESET statement_timeout", "reset statement_timeout"},
	{"reset all", "RESET ALL", "reset all"},
	{"set session characteristics", "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY", "set default_transaction_isolation=serializable; set default_transaction_read_only=on"},
	{"set transaction", "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ WRITE", "set transaction_isolation=repeatable read local; set transaction_read_only=off local"},
	{"set_config session", "SELECT set_config('search_path', 'app, public', false)", "set search_path=app, public"},
	{"set_config local", "SELECT set_config('app.tenant', '42', true)", "set app.tenant=42 local"},
	{"set_config string boolean", "SELECT set_config('x.y', 'z', 'off')", "set x.y=z"},
	{"set_config non-literal value", "SELECT set_config('app.tenant', $1, false)", "unknown app.tenant"},
	{"set_config non-literal name", "SELECT set_config(name, 'v', false) FROM settings", "unknown"},
	{"set_config non-literal is_local", "SELECT set_config('a.b', 'v', $1)", "unknown a.b"},
	{"discard all", "DISCARD ALL", "discard all"},
	{"discard plans", "DISCARD PLANS", "discard plans"},
	{"discard sequences", "DISCARD SEQUENCES", "discard sequences"},
	{"discard temp", "DISCARD TEMPORARY", "discard temp"},
	{"listen", "LISTEN jobs", "listen jobs"},
	{"unlisten", "UNLISTEN jobs", "unlisten jobs"},
	{"unlisten all", "UNLISTEN *", "unlisten all"},
	{"advisory lock", "SELECT pg_advisory_lock(42)", "advisory lock pg_advisory_lock"},
	{"advisory lock shared", "SELECT pg_advisory_lock_shared(1, 2)", "advisory lock pg_advisory_lock_shared"},
	{"try advisory lock", "SELECT pg_try_advisory_lock(hashtext('migrations'))", "advisory lock pg_try_advisory_lock"},
	{"try advisory lock shared", "SELECT pg_try_advisory_lock_shared(7)", "advisory lock pg_try_advisory_lock_shared"},
	{"advisory unlock", "SELECT pg_advisory_unlock(42)", "advisory unlock pg_advisory_unlock"},
	{"advisory unlock shared", "SELECT pg_catalog.pg_advisory_unlock_shared(42)", "advisory unlock pg_advisory_unlock_shared"},
	{"advisory unlock all", "SELECT pg_advisory_unlock_all()", "advisory unlock all pg_advisory_unlock_all"},
	{"transaction advisory lock has no session effect", "SELECT pg_advisory_xact_lock(42)", ""},
	{"create temp table", "CREATE TEMP TABLE scratch (id int)", "create temp scratch"},
	{"create temporary view", "CREATE TEMPORARY VIEW tv AS SELECT 1", "create temp tv"},
	{"create temp sequence", "CREATE TEMP SEQUENCE ts", "create temp ts"},
	{"create table in pg_temp", "CREATE TABLE pg_temp.x (a int)", "create temp x"},
	{"create temp table on commit drop", "CREATE TEMP TABLE y (a int) ON COMMIT DROP", "create temp y local"},
	{"select into temp", "SELECT * INTO TEMP z FROM t", "create temp z"},
	{"create temp table as", "CREATE TEMP TABLE w AS SELECT 1", "create temp w"},
	{"permanent table has no effect", "CREATE TABLE perm (a int)", ""},
	{"declare with hold", "DECLARE c CURSOR WITH HOLD FOR SELECT * FROM t", "declare with hold c"},
	{"declare without hold", "DECLARE c CURSOR FOR SELECT * FROM t", ""},
	{"close", "CLOSE c", "close c"},
	{"close all", "CLOSE ALL", "close all"},
	{"set role", "SET ROLE admin", "set role role=admin"},
	{"set local role", "SET LOCAL ROLE admin", "set role role=admin local"},
	{"set role none", "SET ROLE NONE", "reset role role"},
	{"reset role", "RESET ROLE", "reset role role"},
	{"set session authorization", "SET SESSION AUTHORIZATION alice", "set session authorization session_authorization=alice"},
	{"set session authorization default", "SET SESSION AUTHORIZATION DEFAULT", "reset session authorization session_authorization"},
	{"reset session authorization", "RESET SESSION AUTHORIZATION", "reset session authorization session_authorization"},
	{"set_config role", "SELECT set_config('role', 'admin', false)", "set role role=admin"},
	{"prepare", "PREPARE q (int) AS SELECT * FROM t WHERE id = $1", "prepare q"},
	{"execute", "EXECUTE q(1)", "execute q"},
	{"deallocate", "DEALLOCATE q", "deallocate q"},
	{"deallocate prepare", "DEALLOCATE PREPARE q", "deallocate q"},
	{"deallocate all", "DEALLOCATE ALL", "deallocate all"},
	{"load", "LOAD 'auto_explain'", "load=auto_explain"},
	{"several statements", "SET a.b = 1; LISTEN c; SELECT pg_advisory_lock(1)", "set a.b=1; listen c; advisory lock pg_advisory_lock"},
	{"explain analyze runs the effect", "EXPLAIN ANALYZE SELECT set_config('a.b', 'c', false)", "set a.b=c"},
	{"plain select has none", "SELECT * FROM t", ""},
}

func TestSessionEffects(t *testing.T) {
	c, err := query.NewClassifier(query.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range effectCases {
		t.Run(tt.name, func(t *testing.T) {
			info := c.Classify(tt.sql).Info
			if info.Err != nil {
				t.Fatalf("Classify(%q): %v", tt.sql, info.Err)
			}
			if got := effectsOf(info); got != tt.want {
				t.Errorf("effects of %q\n got %q\nwant %q", tt.sql, got, tt.want)
			}
			if info.ReadOnly() && tt.want != "" {
				t.Errorf("%q has session effects but is classified read-only", tt.sql)
			}
		})
	}
}

func TestSetValuesAreNotSharedBetweenStatements(t *testing.T) {
	c, _ := query.NewClassifier(query.Config{})
	for _, v := range []string{"a", "b", "c", "a"} {
		got := effectsOf(c.Classify("SET search_path = " + v).Info)
		if want := "set search_path=" + v; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		got = effectsOf(c.Classify("SELECT set_config('application_name', '" + v + "', false)").Info)
		if want := "set application_name=" + v; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestEffectPinning(t *testing.T) {
	pins := map[query.EffectKind]bool{
		query.EffectUnknown: true, query.EffectListen: true, query.EffectAdvisoryLock: true,
		query.EffectCreateTemp: true, query.EffectDeclareHold: true, query.EffectSetRole: true,
		query.EffectSetSessionAuthorization: true, query.EffectLoad: true,
	}
	for k := query.EffectUnknown; k <= query.EffectLoad; k++ {
		if got := k.Pins(); got != pins[k] {
			t.Errorf("%v.Pins() = %v, want %v", k, got, pins[k])
		}
		if strings.HasPrefix(k.String(), "EffectKind(") {
			t.Errorf("effect kind %d has no name", k)
		}
	}
}
