package query

import (
	"context"
	"fmt"
)

// CatalogQuery is the one statement whose rows [NewCatalog] reads. Running
// it as a single statement gives every fact from one snapshot. It needs
// PostgreSQL 12 or later (pg_collation.collisdeterministic,
// pg_attribute.attgenerated). Each row has eight text columns, the first
// naming the row's kind:
//
//	e  search_path, current_user of the session that ran the query
//	f  function:  schema, name, pronargs, pronargdefaults, variadic, provolatile, proparallel
//	o  operator outside pg_catalog: schema, name, arity, -, -, provolatile, proparallel of its function
//	r  relation:  schema, name, relkind, has user triggers, has rules, row security, view definition
//	v  view dependency: view schema, view name, relation schema, relation name
//	i  inheritance: child schema, child name, parent schema, parent name
//	k  foreign key: referencing schema, name, referenced schema, name, confupdtype, confdeltype
//	p  row-level security policy: table schema, table name, USING expression, command
//	c  column of an ordinary table or materialized view outside the system schemas:
//	   schema, table, name, attnum, type OID, typmod, flags (n: nondeterministic
//	   collation, g: generated column)
//	u  table with a unique index whose equality may differ from its column types' =
//	   (a non-default operator class or a nondeterministic collation): schema, name
//	q  strict unique index of an ordinary table: schema, table, the attnums of
//	   its key columns joined by commas; strict means valid, immediate, not partial, no
//	   expressions, default operator classes, deterministic collations
//
// View definitions and policy expressions are printed relative to the
// session's search_path, which the e row records so that [NewCatalog]
// resolves them the same way. Temporary relations of other sessions are
// left out. The query needs no privileges beyond those of an ordinary
// role.
const CatalogQuery = `WITH unique_indexes AS (
  -- Every unique index, and whether its equality is its key types' own =
  -- (default operator classes, deterministic collations): the u and q rows.
  SELECT i.indrelid, i.indkey, i.indnkeyatts, i.indimmediate, i.indisvalid, i.indpred, i.indexprs,
         n.nspname, c.relname, c.relkind, c.relpersistence,
         NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(i.indclass::pg_catalog.oid[]) AS k(cls)
                       LEFT JOIN pg_catalog.pg_opclass oc ON oc.oid = k.cls
                      WHERE oc.opcdefault IS NOT TRUE)
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(i.indcollation::pg_catalog.oid[]) AS k(coll)
                           JOIN pg_catalog.pg_collation co ON co.oid = k.coll
                          WHERE NOT co.collisdeterministic) AS exact
    FROM pg_catalog.pg_index i
    JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE i.indisunique)
SELECT 'e', pg_catalog.current_setting('search_path'), current_user::text, '', '', '', '', ''
UNION ALL
SELECT 'f', n.nspname::text, p.proname::text, p.pronargs::text, p.pronargdefaults::text,
       (p.provariadic <> 0)::text, p.provolatile::text, p.proparallel::text
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
UNION ALL
SELECT 'o', n.nspname::text, o.oprname::text, CASE WHEN o.oprleft = 0 THEN '1' ELSE '2' END, '', '',
       p.provolatile::text, p.proparallel::text
  FROM pg_catalog.pg_operator o
  JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
  JOIN pg_catalog.pg_proc p ON p.oid = o.oprcode
 WHERE n.nspname <> 'pg_catalog'
UNION ALL
SELECT 'r', n.nspname::text, c.relname::text, c.relkind::text,
       EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal)::text,
       EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite w WHERE w.ev_class = c.oid AND w.rulename <> '_RETURN')::text,
       c.relrowsecurity::text,
       CASE WHEN c.relkind = 'v' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
            THEN coalesce(pg_catalog.pg_get_viewdef(c.oid), '') ELSE '' END
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S') AND c.relpersistence <> 't'
UNION ALL
SELECT DISTINCT 'v', vn.nspname::text, v.relname::text, dn.nspname::text, d.relname::text, '', '', ''
  FROM pg_catalog.pg_rewrite w
  JOIN pg_catalog.pg_class v ON v.oid = w.ev_class AND v.relkind = 'v'
  JOIN pg_catalog.pg_namespace vn ON vn.oid = v.relnamespace
  JOIN pg_catalog.pg_depend dep ON dep.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
       AND dep.objid = w.oid AND dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
       AND dep.refobjid <> v.oid
  JOIN pg_catalog.pg_class d ON d.oid = dep.refobjid
  JOIN pg_catalog.pg_namespace dn ON dn.oid = d.relnamespace
 WHERE w.rulename = '_RETURN' AND d.relpersistence <> 't'
UNION ALL
SELECT 'i', cn.nspname::text, c.relname::text, pn.nspname::text, p.relname::text, '', '', ''
  FROM pg_catalog.pg_inherits i
  JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
  JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace
  JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
  JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
UNION ALL
SELECT 'k', cn.nspname::text, c.relname::text, rn.nspname::text, r.relname::text,
       k.confupdtype::text, k.confdeltype::text, ''
  FROM pg_catalog.pg_constraint k
  JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
  JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace
  JOIN pg_catalog.pg_class r ON r.oid = k.confrelid
  JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace
 WHERE k.contype = 'f'
UNION ALL
SELECT 'p', n.nspname::text, c.relname::text,
       coalesce(pg_catalog.pg_get_expr(pol.polqual, pol.polrelid), ''), pol.polcmd::text, '', '', ''
  FROM pg_catalog.pg_policy pol
  JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
UNION ALL
SELECT 'c', n.nspname::text, c.relname::text, a.attname::text, a.attnum::text, a.atttypid::text,
       a.atttypmod::text,
       CASE WHEN co.collisdeterministic IS FALSE THEN 'n' ELSE '' END
         || CASE WHEN a.attgenerated <> '' THEN 'g' ELSE '' END
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
 WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'm') AND c.relpersistence <> 't'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
UNION ALL
SELECT DISTINCT 'u', u.nspname::text, u.relname::text, '', '', '', '', ''
  FROM unique_indexes u
 WHERE u.relpersistence <> 't' AND NOT u.exact
UNION ALL
SELECT 'q', u.nspname::text, u.relname::text,
       (SELECT pg_catalog.string_agg(k.attnum::text, ',' ORDER BY k.ord)
          FROM pg_catalog.unnest(u.indkey::pg_catalog.int2[]) WITH ORDINALITY AS k(attnum, ord)
         WHERE k.ord <= u.indnkeyatts),
       '', '', '', ''
  FROM unique_indexes u
 WHERE u.exact AND u.indimmediate AND u.indisvalid AND u.indpred IS NULL AND u.indexprs IS NULL
   AND u.relkind = 'r' AND u.relpersistence <> 't'
   AND u.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(u.indkey::pg_catalog.int2[]) AS k(attnum)
                     JOIN pg_catalog.pg_attribute a ON a.attrelid = u.indrelid AND a.attnum = k.attnum
                     JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
                    WHERE NOT co.collisdeterministic)`

// Querier runs one read-only SQL statement on the upstream database and
// returns its rows, each column as text and NULL as the empty string. The
// caller implements it with its own connection (the query package does no
// I/O); it must honour ctx.
type Querier func(ctx context.Context, sql string) ([][]string, error)

// LoadCatalog runs [CatalogQuery] through q and builds the [Catalog]. The
// proxy calls it when it first connects to a database and again after DDL
// passes through (any statement of [KindDDL]), and swaps the result in
// atomically.
func LoadCatalog(ctx context.Context, q Querier) (*Catalog, error) {
	rows, err := q(ctx, CatalogQuery)
	if err != nil {
		return nil, fmt.Errorf("query: loading the catalog: %w", err)
	}
	return NewCatalog(rows)
}
