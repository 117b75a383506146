package orphans

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"github.com/pgwarp/pgwarp/migrations/relations"
)

// Querier runs queries: a *pgx.Conn, a pgx.Tx or a pool. Scan runs every
// chunk as its own statement, outside any transaction the caller did not
// open.
type Querier = relations.Querier

// ErrNoKey is wrapped by the error of a relation whose referencing table
// has neither a primary key nor a unique index on NOT NULL columns to
// paginate by.
var ErrNoKey = errors.New("the referencing table has no primary key or unique index on NOT NULL columns to scan it by")

// Scan checks every documented relation of the database q is connected to
// (or those in opts.Only). It fails only when the relations cannot be read;
// a relation that cannot be scanned is reported in its RelationReport.Err,
// and the scan goes on with the next. It stops with ctx.
func Scan(ctx context.Context, q Querier, opts Options) (*Report, error) {
	opts = opts.withDefaults()
	rels, problems, err := relations.Load(ctx, q)
	if err != nil {
		return nil, err
	}
	rep := &Report{Problems: problems}
	if len(opts.Only) > 0 {
		rels, err = selectRelations(rels, opts.Only)
		if err != nil {
			return nil, err
		}
		rep.Problems = nil
	}
	for _, rel := range rels {
		rr := scanRelation(ctx, q, rel, opts)
		rep.Relations = append(rep.Relations, rr)
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
	}
	return rep, nil
}

// selectRelations keeps the relations whose referencing column is named in
// only.
func selectRelations(rels []relations.Relation, only []string) ([]relations.Relation, error) {
	var out []relations.Relation
	for _, name := range only {
		found := false
		for _, r := range rels {
			full := r.From.Schema + "." + r.From.Table + "." + r.From.Name
			if name == full || name == r.From.Table+"."+r.From.Name || name == r.From.String() {
				out = append(out, r)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("no documented relation from column %q", name)
		}
	}
	return out, nil
}

// ScanURL opens a direct, read-only connection to databaseURL, runs [Scan]
// and closes the connection. Each chunk runs with statement_timeout set to
// opts.ChunkTimeout.
func ScanURL(ctx context.Context, databaseURL string, opts Options) (*Report, error) {
	opts = opts.withDefaults()
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("parsing the database URL: %w", err)
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "pgwarp orphans"
	}
	cfg.RuntimeParams["default_transaction_read_only"] = "on"
	cfg.RuntimeParams["statement_timeout"] = fmt.Sprint(opts.ChunkTimeout.Milliseconds())
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 5 * time.Second}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("connecting for the orphan scan: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	return Scan(ctx, conn, opts)
}

// keyColumn is a column of the key a table is paginated by.
type keyColumn struct {
	name string
	typ  string
}

// paginationKey finds the referencing table's primary key, else its
// narrowest unique, valid, non-partial index on NOT NULL columns.
const paginationKey = `
WITH idx AS (
  SELECT i.indexrelid, i.indrelid, i.indkey, i.indnkeyatts
    FROM pg_index i
   WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indisvalid AND i.indpred IS NULL
     AND i.indexprs IS NULL
     AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey::int2[]) k(attnum)
                       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                      WHERE NOT a.attnotnull)
   ORDER BY i.indisprimary DESC, i.indnkeyatts, i.indexrelid
   LIMIT 1)
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
  FROM idx
 CROSS JOIN LATERAL unnest(idx.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
  JOIN pg_attribute a ON a.attrelid = idx.indrelid AND a.attnum = k.attnum
 WHERE k.ord <= idx.indnkeyatts
 ORDER BY k.ord`

func loadKey(ctx context.Context, q Querier, table string) ([]keyColumn, error) {
	rows, err := q.Query(ctx, paginationKey, table)
	if err != nil {
		return nil, fmt.Errorf("finding the key of %s: %w", table, err)
	}
	defer rows.Close()
	var key []keyColumn
	for rows.Next() {
		var k keyColumn
		if err := rows.Scan(&k.name, &k.typ); err != nil {
			return nil, fmt.Errorf("finding the key of %s: %w", table, err)
		}
		key = append(key, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("finding the key of %s: %w", table, err)
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("%s: %w", table, ErrNoKey)
	}
	return key, nil
}

// chunkQueries are the two forms of a relation's chunk query: the first
// chunk, and the next ones after a key.
type chunkQueries struct {
	first, next string
}

// buildChunkQueries writes the chunk query of rel: read the next ChunkSize
// rows by key, and return how many were read, the last key, how many
// point at nothing, and a sample of those values. $1 is the chunk size, $2
// the sample size, $3… the last key's columns as text.
func buildChunkQueries(rel relations.Relation, key []keyColumn) chunkQueries {
	from := rel.From.QualifiedTable()
	to := rel.To.QualifiedTable()
	var sel, order, orderDesc, lastKey, after, bounds []string
	for i, k := range key {
		col := pgx.Identifier{k.name}.Sanitize()
		alias := fmt.Sprintf("k%d", i)
		sel = append(sel, col+" AS "+alias)
		order = append(order, col)
		orderDesc = append(orderDesc, alias+" DESC")
		lastKey = append(lastKey, alias+"::text")
		after = append(after, col)
		bounds = append(bounds, fmt.Sprintf("CAST($%d::text AS %s)", i+3, k.typ))
	}
	sel = append(sel, pgx.Identifier{rel.From.Name}.Sanitize()+" AS ref")
	build := func(where string) string {
		return `WITH chunk AS MATERIALIZED (
  SELECT ` + strings.Join(sel, ", ") + `
    FROM ` + from + where + `
   ORDER BY ` + strings.Join(order, ", ") + `
   LIMIT $1
), orphan AS (
  SELECT c.ref FROM chunk c
   WHERE c.ref IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM ` + to + ` t WHERE t.` + pgx.Identifier{rel.To.Name}.Sanitize() + ` = c.ref)
)
SELECT (SELECT count(*) FROM chunk),
       (SELECT ARRAY[` + strings.Join(lastKey, ", ") + `] FROM chunk ORDER BY ` + strings.Join(orderDesc, ", ") + ` LIMIT 1),
       (SELECT count(*) FROM orphan),
       ARRAY(SELECT DISTINCT ref::text FROM orphan ORDER BY 1 LIMIT $2)`
	}
	return chunkQueries{
		first: build(""),
		next:  build("\n   WHERE (" + strings.Join(after, ", ") + ") > (" + strings.Join(bounds, ", ") + ")"),
	}
}

// scanRelation walks one relation chunk by chunk.
func scanRelation(ctx context.Context, q Querier, rel relations.Relation, opts Options) RelationReport {
	rr := RelationReport{Relation: rel}
	key, err := loadKey(ctx, q, rel.From.QualifiedTable())
	if err != nil {
		rr.Err = err
		return rr
	}
	queries := buildChunkQueries(rel, key)
	seen := map[string]bool{}
	var last []string
	for {
		sql, args := queries.first, []any{opts.ChunkSize, opts.SampleSize}
		if last != nil {
			sql = queries.next
			for _, k := range last {
				args = append(args, k)
			}
		}
		var scanned, orphans int64
		var lastKey, sample []string
		// A grace period over the chunk timeout lets a server-side
		// statement_timeout (ScanURL sets one) end the query cleanly first.
		cctx, cancel := context.WithTimeout(ctx, opts.ChunkTimeout+5*time.Second)
		err := queryRow(cctx, q, sql, args, &scanned, &lastKey, &orphans, &sample)
		cancel()
		if err != nil {
			rr.Err = fmt.Errorf("scanning chunk %d of %s: %w", rr.Chunks+1, rel, err)
			return rr
		}
		rr.Chunks++
		rr.ScannedRows += scanned
		rr.OrphanRows += orphans
		for _, v := range sample {
			if len(rr.Sample) < opts.SampleSize && !seen[v] {
				seen[v] = true
				rr.Sample = append(rr.Sample, v)
			}
		}
		if opts.OnChunk != nil {
			opts.OnChunk(Chunk{Relation: rel, Scanned: scanned, OrphanRows: orphans})
		}
		if scanned < int64(opts.ChunkSize) || len(lastKey) != len(key) {
			return rr
		}
		last = lastKey
		if opts.Pause > 0 {
			select {
			case <-ctx.Done():
				rr.Err = ctx.Err()
				return rr
			case <-time.After(opts.Pause):
			}
		}
	}
}

// queryRow runs a one-row query through Querier and scans it.
func queryRow(ctx context.Context, q Querier, sql string, args []any, dest ...any) error {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return errors.New("the chunk query returned no row")
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}
