package relations

import (
	"context"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"
)

// Column is a column of a table.
type Column struct {
	Schema string
	Table  string
	Name   string
	// Type is the column's type as format_type prints it.
	Type string
}

// QualifiedTable returns the column's table as a quoted SQL name.
func (c Column) QualifiedTable() string { return pgx.Identifier{c.Schema, c.Table}.Sanitize() }

// String returns table.column, prefixed with the schema unless it is
// public.
func (c Column) String() string {
	s := quoteName(c.Table) + "." + quoteName(c.Name)
	if c.Schema != "public" {
		s = quoteName(c.Schema) + "." + s
	}
	return s
}

// Relation is a documented relation: every non-null From value should be a
// To value.
type Relation struct {
	From Column
	To   Column
}

// String returns "from -> to".
func (r Relation) String() string { return r.From.String() + " -> " + r.To.String() }

// Problem is a relation comment that cannot be used: malformed, or naming a
// column that does not exist.
type Problem struct {
	Column  Column
	Comment string
	Err     error
}

func (p Problem) Error() string { return fmt.Sprintf("comment on column %s: %v", p.Column, p.Err) }

func (p Problem) Unwrap() error { return p.Err }

// Querier runs queries: a *pgx.Conn, a pgx.Tx or a pool.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// commentedColumns lists the columns of ordinary and partitioned tables
// outside the system schemas that have a comment.
const commentedColumns = `
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), d.description
  FROM pg_description d
  JOIN pg_class c ON c.oid = d.objoid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid
 WHERE d.classoid = 'pg_class'::regclass AND d.objsubid > 0
   AND c.relkind IN ('r', 'p') AND NOT a.attisdropped
   AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'
 ORDER BY 1, 2, 3`

// targetColumn finds a relation's target column and its type.
const targetColumn = `
SELECT format_type(a.atttypid, a.atttypmod)
  FROM pg_attribute a
 WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped`

// Load reads every relation documented in the column comments of the
// database q is connected to, ordered by referencing column. Comments that
// document a relation badly, or one to a column that does not exist, are
// returned as problems; err is for failures to read the catalog.
func Load(ctx context.Context, q Querier) ([]Relation, []Problem, error) {
	rows, err := q.Query(ctx, commentedColumns)
	if err != nil {
		return nil, nil, fmt.Errorf("reading column comments: %w", err)
	}
	type commented struct {
		col     Column
		comment string
	}
	var cols []commented
	for rows.Next() {
		var c commented
		if err := rows.Scan(&c.col.Schema, &c.col.Table, &c.col.Name, &c.col.Type, &c.comment); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("reading column comments: %w", err)
		}
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("reading column comments: %w", err)
	}
	var rels []Relation
	var problems []Problem
	for _, c := range cols {
		ref, ok, err := ParseComment(c.comment)
		if err != nil {
			problems = append(problems, Problem{Column: c.col, Comment: c.comment, Err: err})
			continue
		}
		if !ok {
			continue
		}
		to := Column{Schema: ref.Schema, Table: ref.Table, Name: ref.Column}
		if to.Schema == "" {
			to.Schema = c.col.Schema
		}
		typ, found, err := lookupColumn(ctx, q, to)
		if err != nil {
			return nil, nil, err
		}
		if !found {
			problems = append(problems, Problem{Column: c.col, Comment: c.comment, Err: fmt.Errorf("%q names %s, which does not exist", ref.Line(), to)})
			continue
		}
		to.Type = typ
		rels = append(rels, Relation{From: c.col, To: to})
	}
	sort.SliceStable(rels, func(i, j int) bool { return rels[i].From.String() < rels[j].From.String() })
	return rels, problems, nil
}

func lookupColumn(ctx context.Context, q Querier, c Column) (typ string, found bool, err error) {
	rows, err := q.Query(ctx, targetColumn, c.QualifiedTable(), c.Name)
	if err != nil {
		return "", false, fmt.Errorf("looking up column %s: %w", c, err)
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&typ); err != nil {
			return "", false, fmt.Errorf("looking up column %s: %w", c, err)
		}
		found = true
	}
	return typ, found, rows.Err()
}
