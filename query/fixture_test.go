package query_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/query"
)

// fixtureSchema is the database the catalog, eligibility and read-only
// tests run against: user functions of every volatility, overloads,
// views over views, a materialized view, a multi-level partition tree,
// inheritance, foreign keys with and without cascading actions, triggers,
// rules, row-level security and foreign tables.
const fixtureSchema = `
CREATE SCHEMA app;
CREATE TABLE app.accounts (id int PRIMARY KEY, balance int NOT NULL DEFAULT 0, owner text);
CREATE TABLE app.orders (id int PRIMARY KEY, account_id int REFERENCES app.accounts ON DELETE CASCADE, total int, created timestamptz);
CREATE TABLE app.order_lines (order_id int REFERENCES app.orders ON DELETE SET NULL, qty int);
CREATE TABLE app.audit (account_id int REFERENCES app.accounts, note text);
CREATE TABLE app.measurements (id int, day date, v int) PARTITION BY RANGE (day);
CREATE TABLE app.measurements_2024 PARTITION OF app.measurements
  FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY RANGE (day);
CREATE TABLE app.measurements_2024_q1 PARTITION OF app.measurements_2024 FOR VALUES FROM ('2024-01-01') TO ('2024-04-01');
CREATE TABLE app.measurements_2025 PARTITION OF app.measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE app.parent_inh (id int);
CREATE TABLE app.child_inh (extra int) INHERITS (app.parent_inh);
CREATE FUNCTION app.log_trigger() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO app.audit VALUES (NULL, 'x'); RETURN NEW; END$$;
CREATE TABLE app.logged (id int);
CREATE TRIGGER t_log AFTER INSERT ON app.logged FOR EACH ROW EXECUTE FUNCTION app.log_trigger();
CREATE TABLE app.ruled (id int);
CREATE RULE r_ruled AS ON INSERT TO app.ruled DO ALSO INSERT INTO app.audit VALUES (NULL, 'rule');
CREATE TABLE app.trig_parent (id int, day date) PARTITION BY RANGE (day);
CREATE TABLE app.trig_part PARTITION OF app.trig_parent FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TRIGGER t_part BEFORE INSERT ON app.trig_parent FOR EACH ROW EXECUTE FUNCTION app.log_trigger();
CREATE FUNCTION app.vol(int) RETURNS int LANGUAGE sql VOLATILE AS 'SELECT $1';
CREATE FUNCTION app.imm(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2';
CREATE FUNCTION app.stab(int) RETURNS int LANGUAGE sql STABLE AS 'SELECT $1';
CREATE FUNCTION app.over(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 1';
CREATE FUNCTION app.over(text) RETURNS int LANGUAGE sql VOLATILE AS 'SELECT 2';
CREATE FUNCTION app.defaults(a int, b int DEFAULT 1) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT a + b';
CREATE FUNCTION app.safe_imm(int) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT $1';
CREATE FUNCTION app.writer(int) RETURNS int LANGUAGE sql VOLATILE AS 'INSERT INTO app.audit VALUES (NULL, ''w'') RETURNING 1';
CREATE FUNCTION app.cmp(int, int) RETURNS boolean LANGUAGE sql VOLATILE AS 'SELECT $1 = $2';
CREATE OPERATOR app.=== (LEFTARG = int, RIGHTARG = int, FUNCTION = app.cmp);
CREATE VIEW app.rich AS SELECT * FROM app.accounts WHERE balance > 100;
CREATE VIEW app.rich_orders AS SELECT o.* FROM app.orders o JOIN app.rich r ON r.id = o.account_id;
CREATE VIEW app.recent AS SELECT * FROM app.orders WHERE created > now() - interval '1 day';
CREATE VIEW app.today_v AS SELECT CURRENT_DATE AS d;
CREATE VIEW app.catalog_v AS SELECT relname FROM pg_class;
CREATE VIEW app.vol_v AS SELECT app.vol(id) AS v FROM app.accounts;
CREATE VIEW app.imm_v AS SELECT app.imm(id) AS v, lpad(owner, 10) AS o FROM app.accounts;
CREATE MATERIALIZED VIEW app.totals AS SELECT account_id, sum(total) AS total FROM app.orders GROUP BY 1;
CREATE VIEW app.totals_v AS SELECT * FROM app.totals;
CREATE TABLE app.trig_base (id int);
CREATE VIEW app.trig_view AS SELECT * FROM app.trig_base;
CREATE FUNCTION app.instead() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER t_instead INSTEAD OF INSERT ON app.trig_view FOR EACH ROW EXECUTE FUNCTION app.instead();
CREATE SEQUENCE app.seq;
CREATE TABLE app.secured (id int, owner text);
ALTER TABLE app.secured ENABLE ROW LEVEL SECURITY;
CREATE POLICY p_owner ON app.secured USING (owner = current_setting('app.user'));
CREATE TABLE app.members (team int, usr text);
CREATE TABLE app.team_docs (team int, body text);
ALTER TABLE app.team_docs ENABLE ROW LEVEL SECURITY;
CREATE POLICY p_team ON app.team_docs USING (team IN (SELECT team FROM app.members));
CREATE FOREIGN DATA WRAPPER dummy_fdw;
CREATE SERVER dummy_srv FOREIGN DATA WRAPPER dummy_fdw;
CREATE FOREIGN TABLE app.ft (id int) SERVER dummy_srv;
CREATE TABLE app.mixed (id int, k int) PARTITION BY LIST (k);
CREATE TABLE app.mixed_local PARTITION OF app.mixed FOR VALUES IN (1);
CREATE FOREIGN TABLE app.mixed_remote PARTITION OF app.mixed FOR VALUES IN (2) SERVER dummy_srv;
CREATE TABLE "Mixed Case" ("Id" int);
CREATE TABLE public.items (id int PRIMARY KEY, name text, price numeric, added date);
CREATE FUNCTION public.twin(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1';
CREATE FUNCTION app.twin(int) RETURNS int LANGUAGE sql VOLATILE AS 'SELECT $1';
INSERT INTO app.accounts VALUES (1, 500, 'alice'), (2, 50, 'bob');
INSERT INTO app.orders VALUES (10, 1, 99, now()), (11, 2, 5, now());
INSERT INTO public.items VALUES (1, 'pen', 1.5, '2024-01-01');
`

// fixture is a database with fixtureSchema and its loaded catalog.
type fixture struct {
	url string
	cat *query.Catalog
}

// newFixture creates a database with fixtureSchema and loads its catalog.
func newFixture(t testing.TB) fixture { return newSchemaFixture(t, fixtureSchema) }

// newSchemaFixture creates a database with schema and loads its catalog.
func newSchemaFixture(t testing.TB, schema string) fixture {
	t.Helper()
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	url := c.SocketURL(c.Superuser(), db)
	pgtest.Exec(t, c, db, schema)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	cat, err := query.LoadCatalog(ctx, pgxQuerier(conn))
	if err != nil {
		t.Fatal(err)
	}
	return fixture{url: url, cat: cat}
}

// pgxQuerier implements query.Querier on a pgx connection, as the proxy
// does on its own upstream connections.
func pgxQuerier(conn *pgx.Conn) query.Querier {
	return func(ctx context.Context, sql string) ([][]string, error) {
		rows, err := conn.Query(ctx, sql, pgx.QueryExecModeSimpleProtocol)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out [][]string
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				return nil, err
			}
			row := make([]string, len(vals))
			for i, v := range vals {
				if v != nil {
					row[i] = fmt.Sprint(v)
				}
			}
			out = append(out, row)
		}
		return out, rows.Err()
	}
}
