package sqlscan

// Statement is one SQL statement of a scanned text.
type Statement struct {
	// Text is the statement as written, from its first token to the end of
	// its last token: leading comments and the terminating semicolon are not
	// part of it.
	Text string
	// Start and End are the byte offsets of Text in the scanned input.
	Start, End int
	// Line is the 1-based line of the statement's first token.
	Line int
	// Tokens are the statement's tokens, without the terminating semicolon.
	Tokens []Token
}

// Split returns the statements of src, splitting at semicolons outside
// parentheses and outside SQL-standard function bodies (CREATE FUNCTION or
// PROCEDURE … BEGIN ATOMIC … END), as psql does. Empty statements (a lone
// semicolon, only comments) are left out. When src holds an unterminated
// quote or comment, Split returns the statements before it together with a
// [*SyntaxError].
func Split(src string) ([]Statement, error) {
	toks, err := Tokenize(src)
	var stmts []Statement
	var cur []Token
	flush := func() {
		if len(cur) == 0 {
			return
		}
		first, last := cur[0], cur[len(cur)-1]
		end := last.Offset + len(last.Text)
		stmts = append(stmts, Statement{
			Text:   src[first.Offset:end],
			Start:  first.Offset,
			End:    end,
			Line:   first.Line,
			Tokens: cur,
		})
		cur = nil
	}
	var s splitState
	for _, t := range toks {
		if t.IsPunct(";") && s.parens == 0 && s.blocks == 0 {
			flush()
			s = splitState{}
			continue
		}
		s.observe(t)
		cur = append(cur, t)
	}
	flush()
	return stmts, err
}

// splitState follows nesting within one statement.
type splitState struct {
	// parens is the depth of open parentheses.
	parens int
	// blocks is the depth of BEGIN/CASE … END inside a routine body.
	blocks int
	// words are the first words of the statement, to recognise CREATE [OR
	// REPLACE] FUNCTION|PROCEDURE.
	words []string
	// routine is set once the statement is known to create a routine.
	routine bool
}

func (s *splitState) observe(t Token) {
	if len(s.words) < 4 {
		v := ""
		if t.Kind == KindWord {
			v = t.Value
		}
		s.words = append(s.words, v)
		s.routine = isCreateRoutine(s.words)
	}
	switch {
	case t.IsPunct("("):
		s.parens++
	case t.IsPunct(")"):
		if s.parens > 0 {
			s.parens--
		}
	case s.routine && s.parens == 0 && (t.Is("begin") || t.Is("case")):
		s.blocks++
	case s.routine && s.parens == 0 && t.Is("end"):
		if s.blocks > 0 {
			s.blocks--
		}
	}
}

func isCreateRoutine(w []string) bool {
	routine := func(s string) bool { return s == "function" || s == "procedure" }
	switch {
	case len(w) >= 2 && w[0] == "create" && routine(w[1]):
		return true
	case len(w) >= 4 && w[0] == "create" && w[1] == "or" && w[2] == "replace" && routine(w[3]):
		return true
	}
	return false
}
