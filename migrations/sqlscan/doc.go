// Package sqlscan tokenises PostgreSQL SQL text and splits it into
// statements the way psql does: semicolons inside quotes, dollar quotes,
// comments, parentheses and SQL-standard function bodies (BEGIN ATOMIC … END)
// do not end a statement.
//
// It is for the migration runner, which executes a migration one statement at
// a time so that a failure names the statement, and for the migration linter,
// which matches token sequences. It is not a parser: it knows no grammar
// beyond what splitting needs, and it never rejects SQL the server would
// accept. The query classification of the proxy uses PostgreSQL's own parser
// instead.
//
// The input is untrusted (a migration file from disk): every function here
// terminates on any byte string and reports unterminated quotes and comments
// as a [*SyntaxError] instead of guessing.
package sqlscan
