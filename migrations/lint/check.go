package lint

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/pgwarp/pgwarp/migrations/sqlscan"
)

// File is one migration file to lint.
type File struct {
	// Name is the file's base name, used in findings.
	Name string
	// Blocks are the file's up and down blocks in file order.
	Blocks []Block
}

// Block is the SQL of one migration directive.
type Block struct {
	// Down is set for a "-- migrate:down" block.
	Down bool
	// Line is the 1-based line in the file where SQL starts.
	Line int
	// SQL is the block's text.
	SQL string
	// Transaction is false for a transaction:false block.
	Transaction bool
	// Options are the directive's key:value options.
	Options map[string]string
	// Malformed are the directive's words that are not key:value options.
	Malformed []string
}

// Check lints files, which must be in the order they apply, and returns the
// findings ordered by file and line. It follows the tables and column types
// the files create so that later files are judged against them; lint a whole
// migration directory and filter the findings by file to lint only some.
func Check(files []File) []Finding {
	c := checker{columns: map[string]map[string]string{}}
	for _, f := range files {
		c.file = f.Name
		c.created = [2]map[string]bool{{}, {}}
		for _, b := range f.Blocks {
			c.block(b)
		}
	}
	sort.SliceStable(c.findings, func(i, j int) bool {
		if c.findings[i].File != c.findings[j].File {
			return c.findings[i].File < c.findings[j].File
		}
		return c.findings[i].Line < c.findings[j].Line
	})
	return c.findings
}

// checker carries what the linter knows while it walks the files. It is
// owned by one call of [Check].
type checker struct {
	// columns maps table → column → declared type, from up blocks.
	columns map[string]map[string]string
	// file is the name of the file being checked.
	file string
	// created holds the tables created so far in this file's up (index 0)
	// and down (index 1) blocks: they are empty, so indexing or altering
	// them is harmless.
	created  [2]map[string]bool
	findings []Finding
}

// blockState is the block and statement a rule is looking at.
type blockState struct {
	Block
	stmt sqlscan.Statement
}

func (b blockState) dir() int {
	if b.Down {
		return 1
	}
	return 0
}

// line converts a line of the block to a line of the file.
func (b blockState) line(blockLine int) int { return b.Line + blockLine - 1 }

func (c *checker) add(line int, sev Severity, rule, format string, args ...any) {
	c.findings = append(c.findings, Finding{File: c.file, Line: line, Severity: sev, Rule: rule, Message: fmt.Sprintf(format, args...)})
}

func (c *checker) block(b Block) {
	c.options(b)
	stmts, err := sqlscan.Split(b.SQL)
	var se *sqlscan.SyntaxError
	if errors.As(err, &se) {
		c.add(b.Line+se.Line-1, SeverityError, RuleSyntax, "%s; the statements after it cannot be checked", se.Msg)
	}
	if !b.Transaction && len(stmts) > 1 {
		c.add(b.Line, SeverityWarning, RuleNonTransactionalStatement,
			"this transaction:false section has %d statements: dbmate sends them as one implicit transaction (so CONCURRENTLY fails) and a failure part-way leaves the first ones applied; give each statement its own section", len(stmts))
	}
	for _, s := range stmts {
		c.statement(blockState{Block: b, stmt: s})
	}
}

func (c *checker) options(b Block) {
	for _, w := range b.Malformed {
		c.add(b.Line, SeverityWarning, RuleDirectiveOption, "directive word %q is not a key:value option; dbmate ignores it", w)
	}
	keys := make([]string, 0, len(b.Options))
	for k := range b.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := b.Options[k]
		switch {
		case k != "transaction":
			c.add(b.Line, SeverityWarning, RuleDirectiveOption, "unknown directive option %q; dbmate ignores it (the only option is transaction:false)", k+":"+v)
		case v != "true" && v != "false":
			c.add(b.Line, SeverityWarning, RuleDirectiveOption, "transaction:%s is neither true nor false, so the section runs in a transaction", v)
		}
	}
}

func (c *checker) statement(b blockState) {
	ts := tokens(b.stmt.Tokens)
	switch {
	case ts.words(0, "create"):
		i := ts.skip(1, "unique")
		if ts.words(i, "index") {
			c.createIndex(b, ts, i+1)
			return
		}
		if j, ok := createTableHead(ts); ok {
			c.createTable(b, ts, j)
			return
		}
	case ts.words(0, "alter", "table"):
		c.alterTable(b, ts)
		return
	case ts.words(0, "drop", "table") && !b.Down:
		// Down blocks undo; only up blocks change what the later files
		// see.
		i := ts.skip(2, "if", "exists")
		for _, part := range ts[i:].splitTop() {
			if q, _, ok := part.name(0); ok {
				delete(c.columns, q.key())
			}
		}
	case ts.words(0, "drop", "index", "concurrently"),
		ts.words(0, "reindex") && containsWord(ts, "concurrently"):
		if b.Transaction {
			c.add(b.line(b.stmt.Line), SeverityError, RuleConcurrentInTransaction,
				"%s … CONCURRENTLY cannot run inside a transaction: put it alone in a section with '-- migrate:%s transaction:false'",
				strings.ToUpper(ts[0].Value), direction(b.Down))
		}
	case ts.words(0, "grant"), ts.words(0, "revoke"):
		// GRANT REFERENCES is a privilege, not a constraint.
		return
	}
	c.foreignKeys(b, ts, "", "")
}

func containsWord(ts tokens, w string) bool {
	for _, t := range ts {
		if t.Is(w) {
			return true
		}
	}
	return false
}

func direction(down bool) string {
	if down {
		return "down"
	}
	return "up"
}

// createTableHead recognises CREATE [GLOBAL|LOCAL] [TEMP|TEMPORARY|UNLOGGED]
// TABLE [IF NOT EXISTS] and returns the index of the table name.
func createTableHead(ts tokens) (int, bool) {
	i := 1
	if ts.words(i, "global") || ts.words(i, "local") {
		i++
	}
	if ts.words(i, "temporary") || ts.words(i, "temp") || ts.words(i, "unlogged") {
		i++
	}
	if !ts.words(i, "table") {
		return 0, false
	}
	return ts.skip(i+1, "if", "not", "exists"), true
}

func (c *checker) createIndex(b blockState, ts tokens, i int) {
	if ts.words(i, "concurrently") {
		if b.Transaction {
			c.add(b.line(b.stmt.Line), SeverityError, RuleConcurrentInTransaction,
				"CREATE INDEX CONCURRENTLY cannot run inside a transaction: put it alone in a section with '-- migrate:%s transaction:false'", direction(b.Down))
		}
		return
	}
	on := ts.find(i, "on")
	if on < 0 {
		return
	}
	table, _, ok := ts.name(ts.skip(on+1, "only"))
	if !ok || c.created[b.dir()][table.key()] {
		return
	}
	c.add(b.line(b.stmt.Line), SeverityWarning, RuleIndexNotConcurrent,
		"CREATE INDEX on existing table %s blocks writes to it until the index is built; use CREATE INDEX CONCURRENTLY, alone in a section with '-- migrate:%s transaction:false'", table, direction(b.Down))
}

func (c *checker) createTable(b blockState, ts tokens, i int) {
	table, next, ok := ts.name(i)
	if !ok {
		return
	}
	c.created[b.dir()][table.key()] = true
	body, _, ok := ts.parenBody(next)
	if !ok {
		// CREATE TABLE … AS, OF type, PARTITION OF: no column list.
		return
	}
	cols := map[string]string{}
	for _, item := range body.splitTop() {
		if len(item) == 0 {
			continue
		}
		if isTableConstraint(item) {
			c.foreignKeys(b, item, table.String(), "")
			continue
		}
		col := item[0].Value
		cols[col] = typeText(columnType(item[1:]))
		c.foreignKeys(b, item, table.String(), col)
	}
	if !b.Down {
		c.columns[table.key()] = cols
	}
}

func isTableConstraint(item tokens) bool {
	if item[0].Kind != sqlscan.KindWord {
		return false
	}
	switch item[0].Value {
	case "constraint", "primary", "unique", "check", "foreign", "exclude", "like":
		return true
	}
	return false
}

// columnType returns the type tokens at the start of a column definition's
// remainder.
func columnType(ts tokens) tokens {
	depth := 0
	for i, t := range ts {
		switch {
		case t.IsPunct("("):
			depth++
		case t.IsPunct(")"):
			depth--
		case depth == 0 && t.Kind == sqlscan.KindWord && columnConstraintWords[t.Value]:
			return ts[:i]
		}
	}
	return ts
}

func (c *checker) alterTable(b blockState, ts tokens) {
	i := ts.skip(2, "if", "exists")
	i = ts.skip(i, "only")
	table, next, ok := ts.name(i)
	if !ok {
		return
	}
	if next < len(ts) && ts[next].Kind == sqlscan.KindOperator && ts[next].Text == "*" {
		next++
	}
	existing := !c.created[b.dir()][table.key()]
	for _, action := range ts[next:].splitTop() {
		switch {
		case action.words(0, "add"):
			c.addColumn(b, table, action, existing)
		case action.words(0, "alter"):
			j := action.skip(1, "column")
			col, after, ok := action.name(j)
			if !ok || len(col) != 1 {
				continue
			}
			after = action.skip(after, "set", "data")
			if action.words(after, "type") {
				c.alterType(b, table, col[0], action, after+1, existing)
			}
		case action.words(0, "drop"):
			j := action.skip(1, "column")
			j = action.skip(j, "if", "exists")
			if col, _, ok := action.name(j); ok && !b.Down && !action.words(1, "constraint") {
				delete(c.columns[table.key()], col.key())
			}
		case action.words(0, "rename", "to"):
			if to, _, ok := action.name(2); ok && !b.Down {
				c.columns[to.key()] = c.columns[table.key()]
				delete(c.columns, table.key())
			}
		case action.words(0, "rename"):
			j := action.skip(1, "column")
			from, after, ok := action.name(j)
			if ok && action.words(after, "to") && !b.Down {
				if to, _, ok := action.name(after + 1); ok {
					if cols := c.columns[table.key()]; cols != nil {
						cols[to.key()] = cols[from.key()]
						delete(cols, from.key())
					}
				}
			}
		default:
			c.foreignKeys(b, action, table.String(), "")
		}
	}
}

func (c *checker) addColumn(b blockState, table qualName, action tokens, existing bool) {
	j := 1
	if j >= len(action) || isTableConstraint(action[j:]) {
		c.foreignKeys(b, action, table.String(), "")
		return
	}
	j = action.skip(j, "column")
	j = action.skip(j, "if", "not", "exists")
	col, after, ok := action.name(j)
	if !ok || len(col) != 1 {
		return
	}
	rest := action[after:]
	typ := columnType(rest)
	c.foreignKeys(b, rest, table.String(), col[0])
	if !b.Down {
		if c.columns[table.key()] == nil {
			c.columns[table.key()] = map[string]string{}
		}
		c.columns[table.key()][col[0]] = typeText(typ)
	}
	if !existing || isSerial(typeText(typ)) {
		return
	}
	constraints := rest[len(typ):]
	notNull := hasSequence(constraints, "not", "null") || hasSequence(constraints, "primary", "key")
	if notNull && !containsWord(constraints, "default") && !containsWord(constraints, "generated") {
		c.add(b.line(action[0].Line), SeverityWarning, RuleAddColumnNotNull,
			"ADD COLUMN %s.%s NOT NULL without a DEFAULT fails as soon as %s has rows; add a default, or add the column nullable, backfill it in batches and then SET NOT NULL",
			table, col[0], table)
	}
}

func hasSequence(ts tokens, ws ...string) bool {
	for i := range ts {
		if ts.words(i, ws...) {
			return true
		}
	}
	return false
}

func (c *checker) alterType(b blockState, table qualName, col string, action tokens, i int, existing bool) {
	rest := action[i:]
	typ := columnType(rest)
	newType := parseType(typeText(typ))
	if !b.Down {
		defer func() {
			if cols := c.columns[table.key()]; cols != nil {
				cols[col] = typeText(typ)
			}
		}()
	}
	if !existing {
		return
	}
	line := b.line(action[0].Line)
	if containsWord(rest[len(typ):], "using") {
		c.add(line, SeverityWarning, RuleColumnTypeRewrite,
			"ALTER COLUMN %s.%s TYPE %s … USING rewrites the whole table under an ACCESS EXCLUSIVE lock; add a new column, backfill it in batches and swap instead", table, col, newType.raw)
		return
	}
	oldText, known := c.columns[table.key()][col]
	if !known {
		c.add(line, SeverityWarning, RuleColumnTypeRewrite,
			"ALTER COLUMN %s.%s TYPE %s may rewrite the whole table under an ACCESS EXCLUSIVE lock (the linter does not know the column's current type); only raising a length or precision limit or varchar→text is free", table, col, newType.raw)
		return
	}
	if old := parseType(oldText); rewrites(old, newType) {
		c.add(line, SeverityWarning, RuleColumnTypeRewrite,
			"ALTER COLUMN %s.%s TYPE %s (from %s) rewrites the whole table under an ACCESS EXCLUSIVE lock; add a new column, backfill it in batches and swap instead", table, col, newType.raw, old.raw)
	}
}

// foreignKeys reports every FOREIGN KEY or REFERENCES constraint in ts.
// table and column, when known, make the message show the exact comment
// that documents the relation instead.
func (c *checker) foreignKeys(b blockState, ts tokens, table, column string) {
	for i := 0; i < len(ts); i++ {
		var cols []string
		at := i
		switch {
		case ts.words(i, "foreign", "key"):
			var next int
			cols, next = ts.parenNames(i + 2)
			if next < len(ts) && ts[next].Is("references") {
				i = next
			} else {
				i = next - 1
			}
		case ts[i].Is("references"):
			if column != "" {
				cols = []string{column}
			}
		default:
			continue
		}
		var target qualName
		var targetCols []string
		if i < len(ts) && ts[i].Is("references") {
			var next int
			target, next, _ = ts.name(i + 1)
			targetCols, next = ts.parenNames(next)
			i = next - 1
		}
		c.add(b.line(ts[at].Line), SeverityError, RuleForeignKey, "%s", fkMessage(table, cols, target, targetCols))
	}
}

func fkMessage(table string, cols []string, target qualName, targetCols []string) string {
	const why = "foreign keys are not used (ADR-004): relations are documented, not enforced, and checked by `pgwarp orphans`"
	if table == "" || len(cols) != 1 || len(target) == 0 || len(targetCols) > 1 {
		return why + "; drop the constraint and document each referencing column with COMMENT ON COLUMN <table>.<column> IS 'references <table>.<column>' (docs/migrations.md)"
	}
	tcol := "<its key column>"
	if len(targetCols) == 1 {
		tcol = targetCols[0]
	}
	return fmt.Sprintf("%s; drop the constraint and add COMMENT ON COLUMN %s.%s IS 'references %s.%s' (docs/migrations.md)", why, table, cols[0], target, tcol)
}
