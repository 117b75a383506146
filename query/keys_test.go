package query_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgwarp/pgwarp/internal/pgdate"
	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/query"
)

// keySchema is the database the key predicate tests run against: tables
// with every keyable column type and some that are not, and the features
// that must disable keys (triggers, row-level security, partitions,
// inheritance, nondeterministic collations, generated columns, cascading
// foreign keys, views, a user-defined = operator in its own schema).
const keySchema = `
CREATE SCHEMA k;
CREATE TABLE k.items (id int8 PRIMARY KEY, sku varchar(8), code text, u uuid, small int2, price numeric, title text, n int4);
CREATE TABLE k.other (id int4 PRIMARY KEY, item_id int8, x int4, onlyother int4);
CREATE TABLE k.trig (id int4 PRIMARY KEY, v text);
CREATE FUNCTION k.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER t_touch BEFORE UPDATE ON k.trig FOR EACH ROW EXECUTE FUNCTION k.touch();
CREATE TABLE k.rls (id int4, v text);
ALTER TABLE k.rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY p_all ON k.rls USING (true);
CREATE COLLATION k.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE k.ci_t (id int4, name text COLLATE k.ci);
CREATE TABLE k.gen (id int4, a int4, b int4 GENERATED ALWAYS AS (a * 2) STORED);
CREATE TABLE k.part (id int4, day date) PARTITION BY RANGE (day);
CREATE TABLE k.part_2024 PARTITION OF k.part FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE k.casc_parent (id int4 PRIMARY KEY, v text);
CREATE TABLE k.casc_child (id int4, pid int4 REFERENCES k.casc_parent ON DELETE CASCADE);
CREATE VIEW k.v AS SELECT * FROM k.items;
CREATE TABLE k.loose (id int4, name text);
CREATE UNIQUE INDEX loose_name ON k.loose (name text_pattern_ops);
CREATE FUNCTION k.writer() RETURNS int LANGUAGE sql VOLATILE AS 'INSERT INTO k.other VALUES (999, 1, 1, 1) RETURNING 1';
CREATE TABLE k.uq (a int4, b text, c int4, d int4, e text COLLATE k.ci, f int4, g int4);
CREATE UNIQUE INDEX uq_ab ON k.uq (a, b);
CREATE UNIQUE INDEX uq_c_partial ON k.uq (c) WHERE c > 0;
CREATE UNIQUE INDEX uq_lower ON k.uq (lower(b));
ALTER TABLE k.uq ADD CONSTRAINT uq_d UNIQUE (d) DEFERRABLE;
CREATE UNIQUE INDEX uq_e ON k.uq (e);
CREATE UNIQUE INDEX uq_f ON k.uq (f) INCLUDE (g);
CREATE UNIQUE INDEX uq_b_pattern ON k.uq (b text_pattern_ops);
CREATE TABLE k.ruled (id int4 PRIMARY KEY);
CREATE RULE r_ruled AS ON UPDATE TO k.ruled DO INSTEAD NOTHING;
CREATE TABLE k.ip (id int4 PRIMARY KEY);
CREATE TABLE k.ic () INHERITS (k.ip);
CREATE TABLE k.daily (a int4, day date, v int4, ts timestamp, UNIQUE (a, day), UNIQUE (ts));
CREATE SCHEMA ops2;
CREATE FUNCTION ops2.minus(date, int4) RETURNS date LANGUAGE sql IMMUTABLE AS 'SELECT $1 - $2 * 2';
CREATE OPERATOR ops2.- (LEFTARG = date, RIGHTARG = int4, FUNCTION = ops2.minus);
CREATE SCHEMA ops;
CREATE FUNCTION ops.eq(int8, int8) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 = $2';
CREATE OPERATOR ops.= (LEFTARG = int8, RIGHTARG = int8, FUNCTION = ops.eq);
`

// newKeyFixture creates a database with keySchema and loads its catalog.
func newKeyFixture(t testing.TB) fixture { return newSchemaFixture(t, keySchema) }

// keyString renders table keys as "k.items.id=5|6", sorted.
func keyString(keys []query.TableKey) string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Relation.String() + "." + k.Column + "=" + strings.Join(k.Values, "|")
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func textParams(ps ...string) []query.Param {
	out := make([]query.Param, len(ps))
	for i, p := range ps {
		out[i] = query.Param{Value: []byte(p)}
	}
	return out
}

func int8Param(v int64) query.Param {
	return query.Param{Value: binary.BigEndian.AppendUint64(nil, uint64(v)), Binary: true, Type: 20}
}

func TestReadKeys(t *testing.T) {
	fx := newKeyFixture(t)
	c, _ := query.NewClassifier(query.Config{})
	sp := query.ParseSearchPath("k, public", "postgres")
	uuidBin := []byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}
	tests := []struct {
		name   string
		sql    string
		params []query.Param
		whole  string
		keys   string
	}{
		{"integer literal", "SELECT title FROM items WHERE id = 5", nil, "", "k.items.id=5"},
		{"constant on the left", "SELECT title FROM items WHERE 5 = id", nil, "", "k.items.id=5"},
		{"negative", "SELECT title FROM items WHERE id = -5", nil, "", "k.items.id=-5"},
		{"double negative", "SELECT title FROM items WHERE id = - (-5)", nil, "", "k.items.id=5"},
		{"leading zeros", "SELECT title FROM items WHERE id = 007", nil, "", "k.items.id=7"},
		{"alias qualified", "SELECT i.title FROM items i WHERE i.id = 5", nil, "", "k.items.id=5"},
		{"name qualified", "SELECT items.title FROM k.items WHERE items.id = 5", nil, "", "k.items.id=5"},
		{"string for an integer", "SELECT title FROM items WHERE id = ' 42 '", nil, "", "k.items.id=42"},
		{"first usable conjunct", "SELECT title FROM items WHERE price = 3 AND code = 'a' AND id = 5", nil, "", "k.items.code=a"},
		{"nested AND", "SELECT title FROM items WHERE (title <> 'x' AND (id = 5 AND n > 1))", nil, "", "k.items.id=5"},
		{"OR is whole", "SELECT title FROM items WHERE id = 5 OR id = 6", nil, "k.items", ""},
		{"IN is whole", "SELECT title FROM items WHERE id IN (5)", nil, "k.items", ""},
		{"no WHERE", "SELECT title FROM items", nil, "k.items", ""},
		{"decimal is whole", "SELECT title FROM items WHERE id = 5.0", nil, "k.items", ""},
		{"hex string is whole", "SELECT title FROM items WHERE id = '0x10'", nil, "k.items", ""},
		{"out of range int8", "SELECT title FROM items WHERE id = 99999999999999999999", nil, "k.items", ""},
		{"out of range int2", "SELECT title FROM items WHERE small = 70000", nil, "k.items", ""},
		{"int2 in range", "SELECT title FROM items WHERE small = -32768", nil, "", "k.items.small=-32768"},
		{"numeric column", "SELECT title FROM items WHERE price = 5", nil, "k.items", ""},
		{"varchar", "SELECT title FROM items WHERE sku = 'ab c'", nil, "", "k.items.sku=ab c"},
		{"quote escape", "SELECT title FROM items WHERE code = 'it''s'", nil, "", "k.items.code=it's"},
		{"escape string", "SELECT title FROM items WHERE code = E'a\\tb'", nil, "", "k.items.code=a\tb"},
		{"dollar quoted is whole", "SELECT title FROM items WHERE code = $$a$$", nil, "k.items", ""},
		{"cast is whole", "SELECT title FROM items WHERE code = 'a'::text", nil, "k.items", ""},
		{"non-ASCII needs no conversion", "SELECT title FROM items WHERE code = 'é'", nil, "", "k.items.code=é"},
		{"uuid braces and case", "SELECT title FROM items WHERE u = '{A0EEBC99-9C0B4EF8-BB6D-6BB9BD380A11}'", nil, "", "k.items.u=a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		{"bad uuid is whole", "SELECT title FROM items WHERE u = 'a0eebc99'", nil, "k.items", ""},
		{"join carries the key", "SELECT * FROM items i JOIN other o ON o.item_id = i.id WHERE i.id = 5", nil, "", "k.items.id=5 k.other.item_id=5"},
		{"join carries the key the other way", "SELECT * FROM items i JOIN other o ON i.id = o.item_id WHERE o.item_id = 5", nil, "", "k.items.id=5 k.other.item_id=5"},
		{"comma join carries the key", "SELECT * FROM items i, other o WHERE o.item_id = i.id AND i.id = 5", nil, "", "k.items.id=5 k.other.item_id=5"},
		{"constant in an inner ON", "SELECT * FROM items i JOIN other o ON o.item_id = i.id AND i.id = 5", nil, "", "k.items.id=5 k.other.item_id=5"},
		{"nested inner joins", "SELECT * FROM uq JOIN (items i JOIN other o ON o.item_id = i.id) ON uq.a = o.x WHERE i.id = 5", nil, "k.uq", "k.items.id=5 k.other.item_id=5"},
		{"int4 from int8", "SELECT * FROM items i JOIN other o ON o.x = i.id WHERE i.id = 5", nil, "", "k.items.id=5 k.other.x=5"},
		{"USING carries the key", "SELECT * FROM items JOIN other USING (id) WHERE items.id = 5", nil, "", "k.items.id=5 k.other.id=5"},
		{"parameter carried", "SELECT * FROM items i JOIN other o ON o.item_id = i.id WHERE i.id = $1", textParams("8"), "", "k.items.id=8 k.other.item_id=8"},
		{"left join condition does not carry", "SELECT * FROM items i LEFT JOIN other o ON o.item_id = i.id WHERE i.id = 5", nil, "k.other", "k.items.id=5"},
		{"left join ON constant is no key", "SELECT * FROM items i LEFT JOIN other o ON i.id = 5 AND o.item_id = i.id", nil, "k.items k.other", ""},
		{"inner join under an outer join", "SELECT * FROM uq LEFT JOIN (items i JOIN other o ON o.item_id = i.id AND i.id = 5) ON true", nil, "k.items k.other k.uq", ""},
		{"WHERE equality across a left join", "SELECT * FROM items i LEFT JOIN other o ON true WHERE o.item_id = i.id AND i.id = 5", nil, "", "k.items.id=5 k.other.item_id=5"},
		{"other key family is not carried", "SELECT * FROM items i JOIN other o ON o.x = i.sku WHERE i.sku = 'a'", nil, "k.other", "k.items.sku=a"},
		{"unkeyable source column", "SELECT * FROM items i JOIN other o ON o.x = i.price WHERE i.price = 5", nil, "k.items k.other", ""},
		{"direct key wins", "SELECT * FROM items i JOIN other o ON o.item_id = i.id WHERE i.id = 5 AND o.x = 7", nil, "", "k.items.id=5 k.other.x=7"},
		{"one step only", "SELECT * FROM items i JOIN other o ON o.item_id = i.id JOIN uq ON uq.a = o.x WHERE i.id = 5", nil, "k.uq", "k.items.id=5 k.other.item_id=5"},
		{"no carry into a nondeterministic collation", "SELECT * FROM items i JOIN ci_t c ON c.name = i.code WHERE i.code = 'a'", nil, "k.ci_t", "k.items.code=a"},
		{"unqualified join column", "SELECT * FROM items i JOIN other o ON item_id = i.id WHERE i.id = 5", nil, "k.other", "k.items.id=5"},
		{"unqualified in a join is whole", "SELECT * FROM items i JOIN other o ON o.item_id = i.id WHERE n = 5", nil, "k.items k.other", ""},
		{"self join is whole", "SELECT * FROM items a, items b WHERE a.id = 5 AND b.id = 6", nil, "k.items", ""},
		{"subquery level", "SELECT * FROM other WHERE item_id IN (SELECT id FROM items WHERE code = 'a')", nil, "k.other", "k.items.code=a"},
		{"outer reference is not a key", "SELECT * FROM other o WHERE EXISTS (SELECT 1 FROM items WHERE o.x = 5)", nil, "k.items k.other", ""},
		{"column of another level", "SELECT * FROM other o WHERE EXISTS (SELECT 1 FROM items WHERE onlyother = 5)", nil, "k.items k.other", ""},
		{"view is whole", "SELECT * FROM v WHERE id = 5", nil, "k.items k.v", ""},
		{"union is whole", "SELECT id FROM items WHERE id = 5 UNION SELECT id FROM other WHERE id = 1", nil, "k.items k.other", ""},
		{"with name shadows", "WITH items AS (SELECT 1 AS id) SELECT * FROM items WHERE id = 5", nil, "", ""},
		{"row security is whole", "SELECT * FROM rls WHERE id = 1", nil, "k.rls", ""},
		{"nondeterministic collation is whole", "SELECT * FROM ci_t WHERE name = 'a'", nil, "k.ci_t", ""},
		{"reads of a table with triggers", "SELECT * FROM trig WHERE id = 1", nil, "", "k.trig.id=1"},
		{"partitioned is whole", "SELECT * FROM part WHERE id = 1", nil, "k.part", ""},
		{"column aliases are whole", "SELECT * FROM items AS i(a, b) WHERE i.a = 5", nil, "k.items", ""},
		{"text parameter", "SELECT title FROM items WHERE id = $1", textParams("17"), "", "k.items.id=17"},
		{"binary int8 parameter", "SELECT title FROM items WHERE id = $1", []query.Param{int8Param(-3)}, "", "k.items.id=-3"},
		{"int4 declared for int8 column", "SELECT title FROM items WHERE id = $1", []query.Param{{Value: []byte{0, 0, 0, 1}, Binary: true, Type: 23}}, "k.items", ""},
		{"binary uuid parameter", "SELECT title FROM items WHERE u = $1", []query.Param{{Value: uuidBin, Binary: true, Type: 2950}}, "", "k.items.u=a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		{"NULL parameter", "SELECT title FROM items WHERE id = $1", []query.Param{{}}, "k.items", ""},
		{"missing parameter", "SELECT title FROM items WHERE id = $2", textParams("1"), "k.items", ""},
		{"untyped shared parameter", "SELECT title FROM items WHERE id = $1 AND small = $1", textParams("1"), "k.items", ""},
		{"typed shared parameter", "SELECT title FROM items WHERE id = $1 AND small = $1", []query.Param{int8Param(1)}, "", "k.items.id=1"},
	}
	// One set of buffers for every statement, reused as a session
	// reuses its own: what one lookup left in them must not leak into
	// the next, nor into the plans.
	var bufs query.KeyBuffers
	var lits []query.Literal
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := c.Classify(tt.sql)
			if res.Info.Err != nil {
				t.Fatalf("classify %q: %v", tt.sql, res.Info.Err)
			}
			v := query.Values{Literals: res.Literals, Params: tt.params, NoConversion: true}
			whole, keys, ok := fx.cat.ReadKeys(&res.Info.Statements[0], sp, v)
			if !ok {
				t.Fatalf("ReadKeys(%q) not ok", tt.sql)
			}
			if names(whole) != tt.whole || keyString(keys) != tt.keys {
				t.Errorf("ReadKeys(%q) = whole %q keys %q, want whole %q keys %q", tt.sql, names(whole), keyString(keys), tt.whole, tt.keys)
			}
			for range 2 {
				into := c.ClassifyInto(tt.sql, lits)
				lits = into.Literals
				vi := query.Values{Literals: into.Literals, Params: tt.params, NoConversion: true}
				w, k, r, ok := fx.cat.ReadKeysAndRangesInto(&into.Info.Statements[0], sp, vi, &bufs)
				if !ok || names(w) != tt.whole || keyString(k) != tt.keys || rangeString(r) != rangeString(fx.cat.ReadRanges(&res.Info.Statements[0], sp, v)) {
					t.Errorf("with reused buffers: whole %q keys %q ranges %q", names(w), keyString(k), rangeString(r))
				}
			}
			deps, _ := fx.cat.ReadDependencies(&res.Info.Statements[0], sp)
			got := append([]query.Relation(nil), whole...)
			for _, k := range keys {
				got = append(got, k.Relation)
			}
			if names(got) != names(deps) {
				t.Errorf("ReadKeys(%q) covers %q, ReadDependencies %q", tt.sql, names(got), names(deps))
			}
		})
	}

	t.Run("non-ASCII text needs the same encoding", func(t *testing.T) {
		res := c.Classify("SELECT title FROM items WHERE code = 'é'")
		_, keys, _ := fx.cat.ReadKeys(&res.Info.Statements[0], sp, query.Values{Literals: res.Literals})
		if len(keys) != 0 {
			t.Errorf("keys %q without NoConversion", keyString(keys))
		}
	})
	t.Run("the search path is part of what is reused", func(t *testing.T) {
		res := c.Classify("SELECT title FROM items WHERE id = 5")
		st := &res.Info.Statements[0]
		v := query.Values{Literals: res.Literals, NoConversion: true}
		opsPath := query.ParseSearchPath("ops, k, public", "postgres")
		for i := 0; i < 2; i++ {
			if _, keys, _ := fx.cat.ReadKeys(st, sp, v); keyString(keys) != "k.items.id=5" {
				t.Fatalf("round %d, path k: keys %q", i, keyString(keys))
			}
			if _, keys, _ := fx.cat.ReadKeys(st, opsPath, v); len(keys) != 0 {
				t.Fatalf("round %d, path ops (a user-defined =): keys %q", i, keyString(keys))
			}
		}
		other := query.Values{Literals: c.Classify("SELECT title FROM items WHERE id = 7").Literals, NoConversion: true}
		if _, keys, _ := fx.cat.ReadKeys(st, sp, other); keyString(keys) != "k.items.id=7" {
			t.Fatalf("another execution's value: keys %q", keyString(keys))
		}
	})
	t.Run("a user-defined = on the search path", func(t *testing.T) {
		res := c.Classify("SELECT title FROM items WHERE id = 5")
		opsPath := query.ParseSearchPath("ops, k, public", "postgres")
		_, keys, _ := fx.cat.ReadKeys(&res.Info.Statements[0], opsPath, query.Values{Literals: res.Literals, NoConversion: true})
		if len(keys) != 0 {
			t.Errorf("keys %q with ops.= on the search path", keyString(keys))
		}
	})
}

func TestInvalidationsWith(t *testing.T) {
	fx := newKeyFixture(t)
	c, _ := query.NewClassifier(query.Config{})
	sp := query.ParseSearchPath("k, public", "postgres")
	tests := []struct {
		name   string
		sql    string
		params []query.Param
		tables string
		keys   string
		all    bool
	}{
		{"update by key", "UPDATE items SET title = 'x' WHERE id = 5", nil, "", "k.items.id=5", false},
		{"update of the key", "UPDATE items SET id = 6, title = 'x' WHERE id = 5", nil, "", "k.items.id=5|6", false},
		{"update of the key by expression", "UPDATE items SET id = id + 1 WHERE id = 5", nil, "k.items", "", false},
		{"update of the key to DEFAULT", "UPDATE items SET code = DEFAULT WHERE code = 'a'", nil, "k.items", "", false},
		{"update keeps other constraints", "UPDATE items SET id = id + 1 WHERE id = 5 AND code = 'a'", nil, "", "k.items.code=a", false},
		{"multiple assignment", "UPDATE items SET (id, title) = (6, 'x') WHERE id = 5", nil, "k.items", "", false},
		{"update without a key", "UPDATE items SET title = 'x' WHERE n > 5", nil, "k.items", "", false},
		{"update with OR", "UPDATE items SET title = 'x' WHERE id = 5 OR id = 6", nil, "k.items", "", false},
		{"update all", "UPDATE items SET title = 'x'", nil, "k.items", "", false},
		{"update from", "UPDATE items i SET title = 'x' FROM other o WHERE i.id = 5 AND o.id = i.id", nil, "", "k.items.id=5", false},
		{"unqualified with FROM", "UPDATE items SET title = 'x' FROM other o WHERE n = 5 AND o.id = 1", nil, "k.items", "", false},
		{"delete by two keys", "DELETE FROM items WHERE id = 5 AND code = 'z'", nil, "", "k.items.code=z k.items.id=5", false},
		{"delete all", "DELETE FROM items", nil, "k.items", "", false},
		{"insert values", "INSERT INTO items (id, code, title) VALUES (1, 'a', 'x'), (2, 'b', now()::text)", nil, "", "k.items.code=a|b k.items.id=1|2", false},
		{"insert positional", "INSERT INTO items VALUES (1, 'sku')", nil, "", "k.items.id=1 k.items.sku=sku", false},
		{"insert with an expression in one row", "INSERT INTO items (id, code) VALUES (1, 'a'), (2, lower('B'))", nil, "", "k.items.id=1|2", false},
		{"insert select", "INSERT INTO items (id) SELECT 1", nil, "k.items", "", false},
		{"insert default values", "INSERT INTO other DEFAULT VALUES", nil, "k.other", "", false},
		{"insert on conflict do nothing", "INSERT INTO items (id, code) VALUES (1, 'a') ON CONFLICT DO NOTHING", nil, "", "k.items.code=a k.items.id=1", false},
		{"upsert keeps the target", "INSERT INTO items (id, code) VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET title = 'y'", nil, "", "k.items.id=1", false},
		{"upsert setting the target", "INSERT INTO items (id, code) VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET id = 9", nil, "", "k.items.id=1|9", false},
		{"upsert setting the target by expression", "INSERT INTO items (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET id = excluded.id + 1", nil, "k.items", "", false},
		{"upsert on constraint", "INSERT INTO items (id) VALUES (1) ON CONFLICT ON CONSTRAINT items_pkey DO UPDATE SET title = 'y'", nil, "k.items", "", false},
		{"upsert with a loose unique index", "INSERT INTO loose (id, name) VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET id = 2", nil, "k.loose", "", false},
		{"parameters", "UPDATE items SET title = $2 WHERE id = $1", textParams("8", "t"), "", "k.items.id=8", false},
		{"generated column is not a key of an update", "UPDATE gen SET a = 1 WHERE b = 4", nil, "k.gen", "", false},
		{"generated table keyed otherwise", "UPDATE gen SET a = 1 WHERE id = 4", nil, "", "k.gen.id=4", false},
		{"trigger", "UPDATE trig SET v = 'x' WHERE id = 1", nil, "k.trig", "", true},
		{"partitioned", "UPDATE part SET id = 1 WHERE id = 2", nil, "k.part k.part_2024", "", false},
		{"cascade", "DELETE FROM casc_parent WHERE id = 1", nil, "k.casc_child", "k.casc_parent.id=1", false},
		{"writing function", "UPDATE items SET n = writer() WHERE id = 1", nil, "k.items", "", false},
		{"data-modifying WITH", "WITH d AS (DELETE FROM other WHERE id = 1 RETURNING *) UPDATE items SET n = 1 WHERE id = 1", nil, "k.items k.other", "", false},
		{"two statements, common key", "UPDATE items SET title = 'a' WHERE id = 1; DELETE FROM items WHERE id = 2", nil, "", "k.items.id=1|2", false},
		{"two statements, no common key", "UPDATE items SET title = 'a' WHERE id = 1; DELETE FROM items WHERE code = 'c'", nil, "k.items", "", false},
		{"one keyed, one whole", "UPDATE items SET title = 'a' WHERE id = 1; DELETE FROM items", nil, "k.items", "", false},
		{"keyed and another table", "UPDATE items SET title = 'a' WHERE id = 1; DELETE FROM other", nil, "k.other", "k.items.id=1", false},
		{"where current of", "UPDATE items SET title = 'a' WHERE CURRENT OF cur", nil, "k.items", "", false},
		{"update by a computed day", "UPDATE daily SET v = v + 1 WHERE a = 1 AND day = date '2026-06-30' - 100", nil, "", "k.daily.a=1 k.daily.day=2026-03-22", false},
		{"update moving the day", "UPDATE daily SET day = '2026-06-25' WHERE a = 1 AND day = '2026-01-01'", nil, "", "k.daily.a=1 k.daily.day=2026-01-01|2026-06-25", false},
		{"update moving the day by expression", "UPDATE daily SET day = day + 1 WHERE a = 1 AND day = '2026-01-01'", nil, "", "k.daily.a=1", false},
		{"upsert of a day", "INSERT INTO daily (a, day, v) VALUES (1, date '2026-06-30' - 5, 1) ON CONFLICT (a, day) DO UPDATE SET v = daily.v + 1", nil, "", "k.daily.a=1 k.daily.day=2026-06-25", false},
		{"delete by a date parameter", "DELETE FROM daily WHERE day = $1", textParams("2026-02-01"), "", "k.daily.day=2026-02-01", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := c.Classify(tt.sql)
			if res.Info.Err != nil {
				t.Fatalf("classify %q: %v", tt.sql, res.Info.Err)
			}
			v := query.Values{Literals: res.Literals, Params: tt.params, NoConversion: true}
			ws := fx.cat.InvalidationsWith(res.Info, sp, v)
			if names(ws.Tables) != tt.tables || keyString(ws.Keys) != tt.keys || ws.All != tt.all {
				t.Errorf("InvalidationsWith(%q) = tables %q keys %q all=%v, want tables %q keys %q all=%v",
					tt.sql, names(ws.Tables), keyString(ws.Keys), ws.All, tt.tables, tt.keys, tt.all)
			}
			// Without values nothing narrows.
			plain := fx.cat.Invalidations(res.Info, sp)
			if z := fx.cat.InvalidationsWith(res.Info, sp, query.Values{}); names(z.Tables) != names(plain.Tables) || len(z.Keys) != 0 {
				t.Errorf("InvalidationsWith(%q, zero values) = %q keys %q, want %q", tt.sql, names(z.Tables), keyString(z.Keys), names(plain.Tables))
			}
			// Every table Invalidations reports is still covered.
			covered := append([]query.Relation(nil), ws.Tables...)
			for _, k := range ws.Keys {
				covered = append(covered, k.Relation)
			}
			for _, r := range plain.Tables {
				if !strings.Contains(" "+names(covered)+" ", " "+r.String()+" ") {
					t.Errorf("InvalidationsWith(%q) lost %s", tt.sql, r)
				}
			}
		})
	}
}

// rangeString renders read ranges as "k.daily.day=[2026-06-01,2026-06-30]",
// sorted; open ends are -inf and +inf.
func rangeString(rs []query.TableRange) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		end := func(x int64) string {
			switch {
			case x == math.MinInt64:
				return "-inf"
			case x == math.MaxInt64:
				return "+inf"
			case r.Date:
				d, ok := pgdate.Format(x)
				if !ok {
					return fmt.Sprintf("day%d", x)
				}
				return d
			}
			return strconv.FormatInt(x, 10)
		}
		out[i] = r.Relation.String() + "." + r.Column + "=[" + end(r.Lo) + "," + end(r.Hi) + "]"
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// dateParam is a binary date parameter: days since 2000-01-01.
func dateParam(days int32) query.Param {
	return query.Param{Value: binary.BigEndian.AppendUint32(nil, uint32(days)), Binary: true, Type: 1082}
}

func TestReadRanges(t *testing.T) {
	fx := newKeyFixture(t)
	c, _ := query.NewClassifier(query.Config{})
	sp := query.ParseSearchPath("k, public", "postgres")
	tests := []struct {
		name   string
		sql    string
		params []query.Param
		ranges string
	}{
		{"dashboard window", "SELECT sum(v) FROM daily WHERE a = 1 AND day > date '2026-06-30' - 30 AND day <= date '2026-06-30'", nil, "k.daily.a=[1,1] k.daily.day=[2026-06-01,2026-06-30]"},
		{"untyped string", "SELECT v FROM daily WHERE day >= '2026-01-01'", nil, "k.daily.day=[2026-01-01,+inf]"},
		{"cast forms", "SELECT v FROM daily WHERE day > '2026-01-01'::date AND day < CAST('2026-01-10' AS date)", nil, "k.daily.day=[2026-01-02,2026-01-09]"},
		{"pg_catalog.date", "SELECT v FROM daily WHERE day <= pg_catalog.date '2026-01-01'", nil, "k.daily.day=[-inf,2026-01-01]"},
		{"constant on the left", "SELECT v FROM daily WHERE date '2026-01-10' > day", nil, "k.daily.day=[-inf,2026-01-09]"},
		{"between", "SELECT v FROM daily d WHERE d.day BETWEEN '2024-02-28' AND date '2024-02-28' + 2", nil, "k.daily.day=[2024-02-28,2024-03-01]"},
		{"intersection", "SELECT v FROM daily WHERE day > '2026-01-01' AND day < '2026-01-10' AND day >= '2026-01-03'", nil, "k.daily.day=[2026-01-03,2026-01-09]"},
		{"negative offset", "SELECT v FROM daily WHERE day >= date '2026-01-01' + -3", nil, "k.daily.day=[2025-12-29,+inf]"},
		{"minus a negative", "SELECT v FROM daily WHERE day >= date '2026-01-01' - (-3)", nil, "k.daily.day=[2026-01-04,+inf]"},
		{"equality", "SELECT v FROM daily WHERE day = '2026-01-05'", nil, "k.daily.day=[2026-01-05,2026-01-05]"},
		{"integer range", "SELECT v FROM daily WHERE a BETWEEN 3 AND 7", nil, "k.daily.a=[3,7]"},
		{"integer strict", "SELECT v FROM daily WHERE a > 3 AND 10 > a", nil, "k.daily.a=[4,9]"},
		{"text parameter", "SELECT v FROM daily WHERE day >= $1", textParams("2026-01-01"), "k.daily.day=[2026-01-01,+inf]"},
		{"binary parameter", "SELECT v FROM daily WHERE day < $1", []query.Param{dateParam(0)}, "k.daily.day=[-inf,1999-12-31]"},
		{"parameter cast to date", "SELECT v FROM daily WHERE day >= $1::date", textParams("2026-01-01"), "k.daily.day=[2026-01-01,+inf]"},
		{"text parameter cast to date", "SELECT v FROM daily WHERE day <= CAST($1 AS date)", []query.Param{{Value: []byte("2026-01-01"), Type: 25}}, "k.daily.day=[-inf,2026-01-01]"},
		{"binary parameter cast to date", "SELECT v FROM daily WHERE day = $1::date", []query.Param{{Value: dateParam(1).Value, Binary: true}}, "k.daily.day=[2000-01-02,2000-01-02]"},
		{"integer parameter cast to date", "SELECT v FROM daily WHERE day = $1::date", []query.Param{{Value: []byte("2026-01-01"), Type: 23}}, ""},
		{"parameter cast to date plus an offset", "SELECT v FROM daily WHERE day > $1::date - 30", textParams("2026-01-31"), ""},
		{"join condition", "SELECT i.title FROM items i JOIN daily d ON d.a = i.n AND d.day > '2026-01-01' WHERE i.id = 1", nil, "k.daily.day=[2026-01-02,+inf] k.items.id=[1,1]"},
		{"subquery level", "SELECT id FROM items WHERE n IN (SELECT a FROM daily WHERE day < '2026-01-01')", nil, "k.daily.day=[-inf,2025-12-31]"},
		{"timestamp column", "SELECT v FROM daily WHERE ts > '2026-01-01'", nil, ""},
		{"non-ISO date", "SELECT v FROM daily WHERE day > '01/02/2026'", nil, ""},
		{"special value", "SELECT v FROM daily WHERE day > 'today'", nil, ""},
		{"impossible date", "SELECT v FROM daily WHERE day > '2023-02-29'", nil, ""},
		{"year zero", "SELECT v FROM daily WHERE day > '0000-01-01'", nil, ""},
		{"out of canonical years", "SELECT v FROM daily WHERE day > date '9999-12-31' + 1", nil, ""},
		{"OR", "SELECT v FROM daily WHERE day > '2026-01-01' OR a = 1", nil, ""},
		{"NOT BETWEEN", "SELECT v FROM daily WHERE day NOT BETWEEN '2026-01-01' AND '2026-02-01'", nil, ""},
		{"BETWEEN SYMMETRIC", "SELECT v FROM daily WHERE day BETWEEN SYMMETRIC '2026-02-01' AND '2026-01-01'", nil, ""},
		{"outer join condition", "SELECT i.title FROM items i LEFT JOIN daily d ON d.a = i.n AND d.day > '2026-01-01'", nil, ""},
		{"self join", "SELECT 1 FROM daily d1 JOIN daily d2 ON d2.a = d1.a WHERE d1.day > '2026-01-01'", nil, ""},
		{"empty range", "SELECT v FROM daily WHERE day > '2026-01-10' AND day < '2026-01-05'", nil, ""},
		{"function of the column", "SELECT v FROM daily WHERE day + 1 > '2026-01-01'", nil, ""},
		{"row lock", "SELECT v FROM daily WHERE day > '2026-01-01' FOR UPDATE", nil, ""},
		{"numeric column", "SELECT title FROM items WHERE price > 5", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := c.Classify(tt.sql)
			if res.Info.Err != nil {
				t.Fatalf("classify %q: %v", tt.sql, res.Info.Err)
			}
			v := query.Values{Literals: res.Literals, Params: tt.params, NoConversion: true}
			if got := rangeString(fx.cat.ReadRanges(&res.Info.Statements[0], sp, v)); got != tt.ranges {
				t.Errorf("ReadRanges(%q) = %q, want %q", tt.sql, got, tt.ranges)
			}
		})
	}

	// A user-defined - on the path (ops2.-(date, int4) doubles the
	// offset) makes date arithmetic unknown: no range, no key, no bound.
	t.Run("user-defined date arithmetic", func(t *testing.T) {
		opsPath := query.ParseSearchPath("ops2, k, public", "postgres")
		res := c.Classify("SELECT v FROM daily WHERE a = 1 AND day > date '2026-06-30' - 30")
		v := query.Values{Literals: res.Literals}
		if got := rangeString(fx.cat.ReadRanges(&res.Info.Statements[0], opsPath, v)); got != "" {
			t.Errorf("ranges %q with a user-defined - on the path", got)
		}
		if _, keys, _ := fx.cat.ReadKeys(&res.Info.Statements[0], opsPath, v); len(keys) != 0 {
			t.Errorf("keys %q with a user-defined - on the path", keyString(keys))
		}
		if got := rangeString(fx.cat.ReadRanges(&res.Info.Statements[0], sp, v)); got != "k.daily.a=[1,1] k.daily.day=[2026-06-01,+inf]" {
			t.Errorf("ranges %q on the default path", got)
		}
		up := c.Classify("UPDATE daily SET v = v + 1 WHERE a = 1 AND day = date '2026-06-30' - 30")
		uv := query.Values{Literals: up.Literals}
		if ws := fx.cat.InvalidationsWith(up.Info, opsPath, uv); len(ws.Keys) != 0 {
			t.Errorf("write keys %q with a user-defined - on the path", keyString(ws.Keys))
		}
		if n := fx.cat.MaxRowsWritten(up.Info, opsPath, uv); n != 0 {
			t.Errorf("bound %d with a user-defined - on the path", n)
		}
		// The comparison itself is PostgreSQL's: a - of another schema
		// does not matter without arithmetic.
		plain := c.Classify("SELECT v FROM daily WHERE day > '2026-06-01'")
		if got := rangeString(fx.cat.ReadRanges(&plain.Info.Statements[0], opsPath, query.Values{Literals: plain.Literals})); got != "k.daily.day=[2026-06-02,+inf]" {
			t.Errorf("ranges %q without arithmetic", got)
		}
	})
}

// TestDateValuesAgreeWithPostgres checks the dates pgwarp computes for
// date literals plus or minus integers against PostgreSQL's arithmetic.
func TestDateValuesAgreeWithPostgres(t *testing.T) {
	fx := newKeyFixture(t)
	c, _ := query.NewClassifier(query.Config{})
	sp := query.ParseSearchPath("k, public", "postgres")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, fx.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, expr := range []string{
		"date '2026-06-30' - 30", "date '2024-03-01' - 1", "date '2023-03-01' - 1", "date '1900-02-28' + 1",
		"date '2000-02-28' + 1", "date '1970-01-01' - 719162", "date '0001-01-01' + 3652058", "date '2026-06-30' + -365",
		"'2026-06-30'::date - 0", "CAST('1999-12-31' AS date) + 1", "date '2026-06-30' - 2147483647",
	} {
		res := c.Classify("UPDATE daily SET v = 1 WHERE day = " + expr)
		ws := fx.cat.InvalidationsWith(res.Info, sp, query.Values{Literals: res.Literals})
		var want string
		err := conn.QueryRow(ctx, "SELECT ("+expr+")::text", pgx.QueryExecModeSimpleProtocol).Scan(&want)
		got := ""
		if len(ws.Keys) == 1 && len(ws.Keys[0].Values) == 1 {
			got = ws.Keys[0].Values[0]
		}
		switch {
		case err != nil && got != "":
			t.Errorf("%s: pgwarp %q, PostgreSQL: %v", expr, got, err)
		case err == nil && got != "" && got != want:
			t.Errorf("%s: pgwarp %q, PostgreSQL %q", expr, got, want)
		case err == nil && got == "" && len(want) == 10:
			t.Errorf("%s: pgwarp found no value, PostgreSQL %q", expr, want)
		}
	}
}

// TestCanonicalValuesAgreeWithPostgres checks that wherever pgwarp
// canonicalises a value, PostgreSQL's input and output functions give the
// same canonical text, and that PostgreSQL accepts every value pgwarp
// accepts.
func TestCanonicalValuesAgreeWithPostgres(t *testing.T) {
	c := pgtest.Shared(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.SocketURL(c.Superuser(), "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	inputs := []string{
		"0", "-0", "+0", "42", " 42", "42 ", "\t-7\n", "007", "1e3", "0x10", "1_000", "", " ", "-", "+-1",
		"32767", "32768", "-32768", "-32769", "2147483647", "2147483648", "-2147483648", "-2147483649",
		"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
		"18446744073709551616", "99999999999999999999999", "1 2", "١",
		"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
		"{a0eebc999c0b4ef8bb6d6bb9bd380a11}", "a0eebc999c0b4ef8bb6d6bb9bd380a11",
		"a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
		"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-", "-a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
		"g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
		"plain", "trailing  ", "é", "tab\tnew\nline",
		"2026-06-30", "2024-02-29", "2023-02-29", "0001-01-01", "9999-12-31", "0000-01-01", "2026-13-01", "2026-06-31",
		"26-06-30", "2026-6-30", "20260630", "today", "epoch", "infinity", " 2026-06-30", "2026-06-30 ", "06/30/2026",
	}
	types := []struct {
		oid    uint32
		typmod int32
		name   string
	}{{21, -1, "int2"}, {23, -1, "int4"}, {20, -1, "int8"}, {2950, -1, "uuid"}, {25, -1, "text"}, {1043, -1, "varchar"}, {1082, -1, "date"}}
	for _, typ := range types {
		for _, in := range inputs {
			got, ok := query.CanonicalText(typ.oid, typ.typmod, in)
			if !ok {
				continue
			}
			var out string
			if err := conn.QueryRow(ctx, "SELECT $1::"+typ.name+"::text", in).Scan(&out); err != nil {
				t.Errorf("pgwarp canonicalises %q as %s to %q, PostgreSQL rejects it: %v", in, typ.name, got, err)
				continue
			}
			if out != got {
				t.Errorf("%q as %s: pgwarp %q, PostgreSQL %q", in, typ.name, got, out)
			}
		}
	}
	// String constants decode as the server reads them.
	tokens := []string{`'a'`, `'it''s'`, `E'a\tb'`, `e'\\'`, `E'\''`, `'a'` + "\n" + `'b'`, `E'x\ny'`, `'é'`, `E'\b\f\r'`}
	for _, tok := range tokens {
		got, ok := query.DecodeString(tok)
		if !ok {
			continue
		}
		var out string
		if err := conn.QueryRow(ctx, "SELECT "+tok+"::text", pgx.QueryExecModeSimpleProtocol).Scan(&out); err != nil {
			t.Errorf("SELECT %s: %v", tok, err)
			continue
		}
		if out != got {
			t.Errorf("decode %s: pgwarp %q, PostgreSQL %q", tok, got, out)
		}
	}
	for _, tok := range []string{`'a'`, `'it''s'`, `E'a\tb'`} {
		if _, ok := query.DecodeString(tok); !ok {
			t.Errorf("decode %s failed", tok)
		}
	}
}

func TestMaxRowsWritten(t *testing.T) {
	fx := newKeyFixture(t)
	c, _ := query.NewClassifier(query.Config{})
	sp := query.ParseSearchPath("k, public", "postgres")
	tests := []struct {
		sql    string
		params []query.Param
		want   int64
	}{
		{"UPDATE items SET title = 'x' WHERE id = 5", nil, 1},
		{"DELETE FROM items WHERE id = '5'", nil, 1},
		{"UPDATE items SET title = 'x' WHERE 5 = id AND random() < 2", nil, 1},
		{"UPDATE items SET title = 'x' WHERE id = 5 OR id = 6", nil, 0},
		{"UPDATE items SET title = 'x' WHERE id IN (5)", nil, 0},
		{"UPDATE items SET title = 'x' WHERE id = 5 + 0", nil, 0},
		{"UPDATE items SET title = 'x' WHERE id = $1", []query.Param{{Value: []byte("5")}}, 1},
		{"UPDATE items SET title = 'x' WHERE id = $1", []query.Param{int8Param(5)}, 1},
		{"UPDATE items SET title = 'x' WHERE id = $1", []query.Param{{Value: []byte("5"), Type: 701}}, 0},
		{"UPDATE items SET title = $1 WHERE id = $1", []query.Param{{Value: []byte("5")}}, 0},
		{"UPDATE items SET title = 'x' WHERE id = $2", []query.Param{{Value: []byte("5")}}, 0},
		{"UPDATE items i SET title = 'x' FROM other o WHERE i.id = 5 AND o.id = 1", nil, 1},
		{"UPDATE items SET title = 'x' FROM other WHERE id = 5", nil, 0},
		{"UPDATE uq SET c = 1 WHERE a = 1 AND b = 'x'", nil, 1},
		{"UPDATE uq SET c = 1 WHERE a = 1", nil, 0},
		{"DELETE FROM uq WHERE c = 5", nil, 0},
		{"DELETE FROM uq WHERE d = 5", nil, 0},
		{"DELETE FROM uq WHERE e = 'x'", nil, 0},
		{"DELETE FROM uq WHERE f = 1", nil, 1},
		{"DELETE FROM uq WHERE g = 1", nil, 0},
		{"DELETE FROM uq WHERE b = 'x'", nil, 0},
		{"DELETE FROM uq WHERE lower(b) = 'x'", nil, 0},
		{"UPDATE ruled SET id = 2 WHERE id = 1", nil, 0},
		{"UPDATE ip SET id = 2 WHERE id = 1", nil, 0},
		{"UPDATE part SET id = 1 WHERE id = 2", nil, 0},
		{"UPDATE trig SET v = 'x' WHERE id = 1", nil, 1},
		{"UPDATE v SET title = 'x' WHERE id = 1", nil, 0},
		{"WITH x AS (DELETE FROM other RETURNING 1) UPDATE items SET n = 1 WHERE id = 1", nil, 0},
		{"UPDATE items SET title = 'x' WHERE CURRENT OF c", nil, 0},
		{"INSERT INTO items (id) VALUES (1), (2), (3)", nil, 3},
		{"INSERT INTO items (id, title) VALUES ($1, now()::text)", []query.Param{{Value: []byte("1")}}, 1},
		{"INSERT INTO items (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET title = 'x'", nil, 1},
		{"INSERT INTO items (id) VALUES (1) ON CONFLICT DO NOTHING", nil, 1},
		{"INSERT INTO items (id) SELECT 1", nil, 0},
		{"INSERT INTO items (id) VALUES (1); INSERT INTO items (id) VALUES (2)", nil, 0},
		{"INSERT INTO part VALUES (1, '2024-02-01')", nil, 1},
		{"INSERT INTO v (id) VALUES (1)", nil, 0},
		{"SELECT 1", nil, 0},
		{"UPDATE daily SET v = 1 WHERE a = 1 AND day = date '2026-06-30' - 5", nil, 1},
		{"DELETE FROM daily WHERE day = CAST('2026-06-30' AS pg_catalog.date) - 1 AND a = 1", nil, 1},
		{"UPDATE daily SET v = 1 WHERE a = 1 AND day = '2026-06-30'::date + $1", []query.Param{{Value: []byte("3")}}, 1},
		{"UPDATE daily SET v = 1 WHERE a = 1 AND day = - (-5) + date '2026-06-30'", nil, 1},
		{"UPDATE daily SET v = 1 WHERE day = date '2026-06-30' - 5", nil, 0},
		{"UPDATE daily SET v = 1 WHERE a = 1 AND day = current_date", nil, 0},
		{"UPDATE daily SET v = 1 WHERE a = 1 AND day = now()::date", nil, 0},
		{"UPDATE daily SET v = 1 WHERE a = 1 AND day = day + 0", nil, 0},
		{"UPDATE daily SET v = 1 WHERE a = 1 AND day = (SELECT max(day) FROM daily)", nil, 0},
		{"UPDATE daily SET v = 1 WHERE a = 1 AND day = date '2026-06-30' OPERATOR(ops2.-) 5", nil, 0},
		{"UPDATE daily SET v = 1 WHERE a = 1 AND day = NULL::date", nil, 0},
		{"UPDATE daily SET v = 1 WHERE ts = timestamp '2026-01-01' + interval '1 day'", nil, 0},
		{"UPDATE daily SET v = 1 WHERE a = 1 + 0 AND day = date '2026-06-30'", nil, 0},
	}
	for _, tt := range tests {
		res := c.Classify(tt.sql)
		if res.Info.Err != nil {
			t.Fatalf("classify %q: %v", tt.sql, res.Info.Err)
		}
		v := query.Values{Literals: res.Literals, Params: tt.params}
		if got := fx.cat.MaxRowsWritten(res.Info, sp, v); got != tt.want {
			t.Errorf("MaxRowsWritten(%q) = %d, want %d", tt.sql, got, tt.want)
		}
	}
	// A user-defined = on the search path may match several rows.
	res := c.Classify("UPDATE items SET title = 'x' WHERE id = 5")
	if got := fx.cat.MaxRowsWritten(res.Info, query.ParseSearchPath("ops, k, public", "postgres"), query.Values{Literals: res.Literals}); got != 0 {
		t.Errorf("with ops.= on the search path: %d, want 0", got)
	}
	// So may a user-defined operator in a constant expression: it need
	// not be deterministic.
	res = c.Classify("UPDATE daily SET v = 1 WHERE a = 1 AND day = date '2026-06-30' - 5")
	if got := fx.cat.MaxRowsWritten(res.Info, query.ParseSearchPath("ops2, k, public", "postgres"), query.Values{Literals: res.Literals}); got != 0 {
		t.Errorf("with ops2.- on the search path: %d, want 0", got)
	}
}

// BenchmarkReadKeysAndRanges is what a cache lookup of a dashboard read
// costs in the query package once its plan is made: its keys and ranges
// from one execution's literals.
func BenchmarkReadKeysAndRanges(b *testing.B) {
	fx := newKeyFixture(b)
	c, _ := query.NewClassifier(query.Config{})
	sp := query.ParseSearchPath("k, public", "postgres")
	res := c.Classify("SELECT sum(v) FROM daily WHERE a = 7 AND day > date '2026-06-30' - 30 AND day <= date '2026-06-30'")
	st := &res.Info.Statements[0]
	v := query.Values{Literals: res.Literals}
	b.ReportAllocs()
	for b.Loop() {
		_, keys, ranges, _ := fx.cat.ReadKeysAndRanges(st, sp, v)
		if len(keys) != 1 || len(ranges) != 2 {
			b.Fatalf("keys %q ranges %q", keyString(keys), rangeString(ranges))
		}
	}
}
