package query_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/pgwarp/pgwarp/query"
)

func names(rs []query.Relation) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestCatalogReadsFunctionVolatilityFromPgProc(t *testing.T) {
	fx := newFixture(t)
	def := query.DefaultSearchPath("postgres")
	app := query.ParseSearchPath("app, public", "postgres")
	tests := []struct {
		name string
		f    query.Function
		sp   query.SearchPath
		want query.Volatility
	}{
		{"user volatile", query.Function{Schema: "app", Name: "vol", Args: 1}, def, query.VolatilityVolatile},
		{"user immutable", query.Function{Schema: "app", Name: "imm", Args: 1}, def, query.VolatilityImmutable},
		{"user stable", query.Function{Schema: "app", Name: "stab", Args: 1}, def, query.VolatilityStable},
		{"overloads differ: the most volatile", query.Function{Schema: "app", Name: "over", Args: 1}, def, query.VolatilityVolatile},
		{"default argument omitted", query.Function{Schema: "app", Name: "defaults", Args: 1}, def, query.VolatilityImmutable},
		{"default argument given", query.Function{Schema: "app", Name: "defaults", Args: 2}, def, query.VolatilityImmutable},
		{"too many arguments is unknown", query.Function{Schema: "app", Name: "defaults", Args: 3}, def, query.VolatilityVolatile},
		{"unqualified through search_path", query.Function{Name: "imm", Args: 1}, app, query.VolatilityImmutable},
		{"unqualified not on search_path is unknown", query.Function{Name: "imm", Args: 1}, def, query.VolatilityVolatile},
		{"unknown function", query.Function{Name: "no_such_function", Args: 0}, def, query.VolatilityVolatile},
		{"now", query.Function{Name: "now"}, def, query.VolatilityStable},
		{"random", query.Function{Name: "random"}, def, query.VolatilityVolatile},
		{"lpad", query.Function{Name: "lpad", Args: 2}, def, query.VolatilityImmutable},
		{"count(*)", query.Function{Name: "count"}, def, query.VolatilityImmutable},
		{"variadic concat", query.Function{Name: "concat", Args: 5}, def, query.VolatilityStable},
		{"date_trunc overloads include a stable one", query.Function{Name: "date_trunc", Args: 2}, def, query.VolatilityStable},
		{"pg_catalog qualified", query.Function{Schema: "pg_catalog", Name: "upper", Args: 1}, def, query.VolatilityImmutable},
		{"sql value function", query.Function{Schema: "pg_catalog", Name: "current_date", Fixed: query.VolatilityStable}, def, query.VolatilityStable},
		{"user operator qualified", query.Function{Schema: "app", Name: "===", Args: 2, Operator: true}, def, query.VolatilityVolatile},
		{"user operator through search_path", query.Function{Name: "===", Args: 2, Operator: true}, app, query.VolatilityVolatile},
		{"built-in operator", query.Function{Name: "=", Args: 2, Operator: true}, app, query.VolatilityImmutable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fx.cat.FunctionVolatility(tt.f, tt.sp); got != tt.want {
				t.Errorf("FunctionVolatility(%v) = %v, want %v", tt.f, got, tt.want)
			}
		})
	}
}

func TestCatalogResolvesRelationsAndKinds(t *testing.T) {
	fx := newFixture(t)
	def := query.DefaultSearchPath("postgres")
	app := query.ParseSearchPath("app", "postgres")
	tests := []struct {
		rel      query.Relation
		sp       query.SearchPath
		want     string
		wantKind query.RelKind
	}{
		{query.Relation{Schema: "app", Name: "accounts"}, def, "app.accounts", query.RelTable},
		{query.Relation{Name: "accounts"}, app, "app.accounts", query.RelTable},
		{query.Relation{Name: "items"}, def, "public.items", query.RelTable},
		{query.Relation{Name: "rich"}, app, "app.rich", query.RelView},
		{query.Relation{Name: "totals"}, app, "app.totals", query.RelMatView},
		{query.Relation{Name: "measurements"}, app, "app.measurements", query.RelPartitionedTable},
		{query.Relation{Name: "ft"}, app, "app.ft", query.RelForeignTable},
		{query.Relation{Name: "seq"}, app, "app.seq", query.RelSequence},
		{query.Relation{Name: "pg_class"}, app, "pg_catalog.pg_class", query.RelTable},
		{query.Relation{Name: "tables"}, query.ParseSearchPath("information_schema", ""), "information_schema.tables", query.RelView},
		{query.Relation{Name: "Mixed Case"}, def, `public."Mixed Case"`, query.RelTable},
	}
	for _, tt := range tests {
		got, kind, ok := fx.cat.Resolve(tt.rel, tt.sp)
		if !ok || got.String() != tt.want || kind != tt.wantKind {
			t.Errorf("Resolve(%v, %v) = %v %v %v, want %s %v", tt.rel, tt.sp, got, kind, ok, tt.want, tt.wantKind)
		}
	}
	for _, missing := range []query.Relation{{Name: "accounts"}, {Schema: "app", Name: "nope"}, {Schema: "pg_temp", Name: "accounts"}} {
		if got, _, ok := fx.cat.Resolve(missing, def); ok {
			t.Errorf("Resolve(%v) = %v, want not found", missing, got)
		}
	}
}

func TestCatalogReadDependenciesFollowViewsMatviewsAndPolicies(t *testing.T) {
	fx := newFixture(t)
	c, _ := query.NewClassifier(query.Config{})
	sp := query.ParseSearchPath("app, public", "postgres")
	tests := []struct {
		sql, want string
		ok        bool
	}{
		{"SELECT * FROM accounts", "app.accounts", true},
		{"SELECT * FROM rich", "app.accounts app.rich", true},
		{"SELECT * FROM rich_orders", "app.accounts app.orders app.rich app.rich_orders", true},
		{"SELECT * FROM totals_v", "app.totals app.totals_v", true},
		{"SELECT * FROM team_docs", "app.members app.team_docs", true},
		{"SELECT * FROM measurements", "app.measurements", true},
		{"SELECT * FROM items i JOIN accounts a ON a.id = i.id", "app.accounts public.items", true},
		{"SELECT * FROM no_such_table", "", false},
	}
	for _, tt := range tests {
		st := c.Classify(tt.sql).Info.Statements[0]
		deps, ok := fx.cat.ReadDependencies(&st, sp)
		if names(deps) != tt.want || ok != tt.ok {
			t.Errorf("ReadDependencies(%q) = %q %v, want %q %v", tt.sql, names(deps), ok, tt.want, tt.ok)
		}
	}
}

func TestCatalogInvalidationFollowsPartitionsCascadesAndUpdatableViews(t *testing.T) {
	fx := newFixture(t)
	tests := []struct {
		table, want string
		unknown     bool
	}{
		{"accounts", "app.accounts app.order_lines app.orders", false},
		{"orders", "app.order_lines app.orders", false},
		{"audit", "app.audit", false},
		{"measurements_2024_q1", "app.measurements app.measurements_2024 app.measurements_2024_q1", false},
		{"measurements", "app.measurements app.measurements_2024 app.measurements_2024_q1 app.measurements_2025", false},
		{"child_inh", "app.child_inh app.parent_inh", false},
		{"parent_inh", "app.child_inh app.parent_inh", false},
		{"rich", "app.accounts app.order_lines app.orders app.rich", false},
		{"logged", "app.logged", true},
		{"ruled", "app.ruled", true},
		{"trig_part", "app.trig_parent app.trig_part", true},
		{"trig_parent", "app.trig_parent app.trig_part", true},
		{"trig_view", "app.trig_base app.trig_view", true},
		{"totals", "app.totals", false},
	}
	for _, tt := range tests {
		got, unknown := fx.cat.InvalidatedBy(query.Relation{Schema: "app", Name: tt.table})
		if names(got) != tt.want || unknown != tt.unknown {
			t.Errorf("InvalidatedBy(app.%s) = %q unknown=%v, want %q unknown=%v", tt.table, names(got), unknown, tt.want, tt.unknown)
		}
	}
}

func TestCatalogInvalidationsOfStatements(t *testing.T) {
	fx := newFixture(t)
	c, _ := query.NewClassifier(query.Config{})
	sp := query.ParseSearchPath("app, public", "postgres")
	tests := []struct {
		sql, want     string
		all, mayWrite bool
	}{
		{"SELECT * FROM accounts", "", false, false},
		{"DELETE FROM accounts WHERE id = 1", "app.accounts app.order_lines app.orders", false, false},
		{"INSERT INTO audit VALUES (1, 'x')", "app.audit", false, false},
		{"WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d", "app.order_lines app.orders", false, false},
		{"TRUNCATE accounts CASCADE", "app.accounts app.audit app.order_lines app.orders", false, false},
		{"INSERT INTO logged VALUES (1)", "app.logged", true, false},
		{"SELECT app.writer(1)", "", false, true},
		{"SELECT * FROM accounts WHERE app.vol(id) > 0", "", false, true},
		{"SELECT nextval('app.seq')", "", false, false},
		{"DO $$BEGIN END$$", "", true, false},
		{"CREATE TABLE public.accounts (id int)", "app.accounts", false, false},
		{"UPDATE public.items SET price = 2; DELETE FROM orders", "app.order_lines app.orders public.items", false, false},
		{"REFRESH MATERIALIZED VIEW totals", "app.totals", false, false},
		{"ALTER TABLE items ADD COLUMN x int", "public.items", false, false},
	}
	for _, tt := range tests {
		ws := fx.cat.Invalidations(c.Classify(tt.sql).Info, sp)
		if names(ws.Tables) != tt.want || ws.All != tt.all || ws.MayWrite != tt.mayWrite {
			t.Errorf("Invalidations(%q) = %q all=%v mayWrite=%v, want %q all=%v mayWrite=%v",
				tt.sql, names(ws.Tables), ws.All, ws.MayWrite, tt.want, tt.all, tt.mayWrite)
		}
	}
}

func TestCatalogVolatilityIncludesViewsAndPolicies(t *testing.T) {
	fx := newFixture(t)
	c, _ := query.NewClassifier(query.Config{})
	sp := query.ParseSearchPath("app, public", "postgres")
	tests := []struct {
		sql  string
		want query.Volatility
	}{
		{"SELECT * FROM rich_orders", query.VolatilityImmutable},
		{"SELECT * FROM imm_v", query.VolatilityImmutable},
		{"SELECT * FROM recent", query.VolatilityStable},
		{"SELECT * FROM today_v", query.VolatilityStable},
		{"SELECT * FROM vol_v", query.VolatilityVolatile},
		{"SELECT * FROM secured", query.VolatilityStable},
		{"SELECT * FROM team_docs", query.VolatilityImmutable},
		{"SELECT app.imm(id) FROM accounts", query.VolatilityImmutable},
		{"SELECT app.stab(id) FROM accounts", query.VolatilityStable},
		{"SELECT * FROM accounts WHERE id === 1", query.VolatilityVolatile},
	}
	for _, tt := range tests {
		st := c.Classify(tt.sql).Info.Statements[0]
		if got, why := fx.cat.Volatility(&st, sp); got != tt.want {
			t.Errorf("Volatility(%q) = %v (%s), want %v", tt.sql, got, why, tt.want)
		}
	}
}

func TestNewCatalogRejectsMalformedRows(t *testing.T) {
	if _, err := query.NewCatalog([][]string{{"f", "s", "n"}}); err == nil {
		t.Error("a short row was accepted")
	}
	if _, err := query.NewCatalog([][]string{{"f", "s", "n", "x", "0", "false", "i", "s"}}); err == nil {
		t.Error("a non-numeric argument count was accepted")
	}
	cat, err := query.NewCatalog([][]string{{"z", "", "", "", "", "", "", ""}})
	if err != nil || cat == nil {
		t.Errorf("an unknown row kind was not ignored: %v", err)
	}
}

func TestLoadCatalogReportsQuerierErrors(t *testing.T) {
	boom := errors.New("boom")
	_, err := query.LoadCatalog(context.Background(), func(context.Context, string) ([][]string, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Errorf("LoadCatalog error = %v, want one wrapping %v", err, boom)
	}
}

func TestNilCatalogKnowsNothing(t *testing.T) {
	var cat *query.Catalog
	c, _ := query.NewClassifier(query.Config{})
	sp := query.DefaultSearchPath("u")
	if v := cat.FunctionVolatility(query.Function{Name: "lpad", Args: 2}, sp); v != query.VolatilityVolatile {
		t.Errorf("nil catalog: lpad is %v, want volatile", v)
	}
	if _, _, ok := cat.Resolve(query.Relation{Name: "t"}, sp); ok {
		t.Error("nil catalog resolved a relation")
	}
	if v := query.Eligibility(c.Classify("SELECT 1 + 1").Info, cat, query.Env{SearchPath: sp}); !v.Cacheable() {
		t.Errorf("nil catalog: SELECT 1 + 1 is %v, want cacheable", v)
	}
}
