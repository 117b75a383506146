package lint

import "fmt"

// Severity says whether a finding stops `pgwarp migrate up`.
type Severity int

// Severities.
const (
	// SeverityWarning is printed; the migration still runs.
	SeverityWarning Severity = iota + 1
	// SeverityError stops `up` before anything is applied (unless --no-lint).
	SeverityError
)

// String returns "warning" or "error".
func (s Severity) String() string {
	switch s {
	case SeverityWarning:
		return "warning"
	case SeverityError:
		return "error"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// Rule names, as printed in findings.
const (
	RuleForeignKey                = "foreign-key"
	RuleIndexNotConcurrent        = "index-not-concurrent"
	RuleConcurrentInTransaction   = "concurrently-in-transaction"
	RuleColumnTypeRewrite         = "column-type-rewrite"
	RuleAddColumnNotNull          = "add-column-not-null"
	RuleNonTransactionalStatement = "non-transactional-multi-statement"
	RuleDirectiveOption           = "directive-option"
	RuleSyntax                    = "syntax"
)

// Rule describes one lint rule.
type Rule struct {
	Name     string
	Severity Severity
	Summary  string
}

// Rules lists every rule the linter applies.
var Rules = []Rule{
	{RuleForeignKey, SeverityError, "FOREIGN KEY or REFERENCES constraint: relations are documented with COMMENT ON COLUMN … IS 'references table.column' (ADR-004)"},
	{RuleConcurrentInTransaction, SeverityError, "CREATE/DROP INDEX or REINDEX CONCURRENTLY in a section without transaction:false, which PostgreSQL rejects"},
	{RuleSyntax, SeverityError, "unterminated quote, dollar quote or comment"},
	{RuleIndexNotConcurrent, SeverityWarning, "CREATE INDEX without CONCURRENTLY on a table the migration did not create blocks writes while it builds"},
	{RuleColumnTypeRewrite, SeverityWarning, "ALTER COLUMN … TYPE that rewrites the table under an exclusive lock"},
	{RuleAddColumnNotNull, SeverityWarning, "ADD COLUMN … NOT NULL (or PRIMARY KEY) without a default fails on a table with rows"},
	{RuleNonTransactionalStatement, SeverityWarning, "a transaction:false section with several statements, which dbmate sends as one implicit transaction"},
	{RuleDirectiveOption, SeverityWarning, "a directive option dbmate ignores, such as a misspelt transaction:false"},
}

// Finding is one problem found in a migration file.
type Finding struct {
	File string
	// Line is the 1-based line in File.
	Line     int
	Severity Severity
	Rule     string
	Message  string
}

// String formats the finding as "file:line: severity: message [rule]".
func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: %s: %s [%s]", f.File, f.Line, f.Severity, f.Message, f.Rule)
}

// CountErrors returns how many findings are errors.
func CountErrors(findings []Finding) int {
	n := 0
	for _, f := range findings {
		if f.Severity == SeverityError {
			n++
		}
	}
	return n
}
