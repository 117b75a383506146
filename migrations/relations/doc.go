// Package relations reads the relations the schema documents instead of
// enforcing them with foreign keys (ADR-004).
//
// A relation is documented in the comment of the referencing column, by a
// line of its own:
//
//	COMMENT ON COLUMN sales_measurement_dataset.artifact_identifier IS
//	'The artifact whose sales are measured.
//	references material_artifact.artifact_identifier';
//
// The line is the word "references" (in any case), blanks, and the target
// column as table.column (in the referencing table's schema) or
// schema.table.column; names are written as in SQL, unquoted (folded to lower
// case) or double-quoted. Nothing else may be on that line; the comment's
// other lines are free text. A comment has at most one such line. A line
// that starts with "references" but does not follow the form is an error,
// never silently ignored, so that a typo cannot drop a relation from the
// orphan check.
//
// [ParseComment] parses one comment; [Load] reads every documented relation
// of a database from its catalog. The package reads documentation; it does
// not check data (package orphans does) and never writes.
package relations
