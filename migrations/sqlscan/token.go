package sqlscan

import "fmt"

// Kind is the lexical class of a [Token].
type Kind int

// Token kinds.
const (
	// KindWord is an unquoted identifier or keyword. Its Value is lower-cased,
	// as PostgreSQL folds unquoted names.
	KindWord Kind = iota + 1
	// KindQuotedIdent is a double-quoted identifier ("Name", U&"…"). Its
	// Value has the quotes removed and "" unescaped.
	KindQuotedIdent
	// KindString is a string constant: '…', E'…', B'…', X'…', N'…', U&'…'
	// or a dollar-quoted string. Its Value is the raw text.
	KindString
	// KindNumber is a numeric constant.
	KindNumber
	// KindParam is a positional parameter such as $1.
	KindParam
	// KindPunct is one of ( ) [ ] , ; . : :: .
	KindPunct
	// KindOperator is a run of operator characters (+ - * / < > = ~ ! @ # %
	// ^ & | ` ?).
	KindOperator
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case KindWord:
		return "word"
	case KindQuotedIdent:
		return "quoted identifier"
	case KindString:
		return "string"
	case KindNumber:
		return "number"
	case KindParam:
		return "parameter"
	case KindPunct:
		return "punctuation"
	case KindOperator:
		return "operator"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Token is one lexical element of SQL text. Comments and white space are not
// tokens.
type Token struct {
	Kind Kind
	// Text is the token exactly as written.
	Text string
	// Value is the normalised text: lower-cased for a [KindWord], unquoted
	// for a [KindQuotedIdent], equal to Text otherwise.
	Value string
	// Offset is the byte offset of the token in the scanned input.
	Offset int
	// Line is the 1-based line of the token's first byte.
	Line int
}

// Is reports whether t is the unquoted keyword or identifier word (given in
// lower case).
func (t Token) Is(word string) bool {
	return t.Kind == KindWord && t.Value == word
}

// IsPunct reports whether t is the punctuation p.
func (t Token) IsPunct(p string) bool {
	return t.Kind == KindPunct && t.Text == p
}

// IsName reports whether t can name a database object: an unquoted word or a
// quoted identifier.
func (t Token) IsName() bool {
	return t.Kind == KindWord || t.Kind == KindQuotedIdent
}

// SyntaxError reports text the scanner cannot tokenise: a quote, dollar quote
// or block comment that is never closed.
type SyntaxError struct {
	// Line is the 1-based line where the unterminated element starts.
	Line int
	// Msg describes the problem.
	Msg string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}
