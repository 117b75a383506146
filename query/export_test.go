package query

import "strings"

// Token is a lexical token as the tests see it.
type Token struct {
	Kind         string
	Text         string
	Start, End   int
	TimeRelative bool
}

// LexTokens returns the tokens of sql.
func LexTokens(sql string) []Token {
	l := lexer{src: sql}
	var out []Token
	for {
		t, _, ok := l.next()
		if !ok {
			return out
		}
		out = append(out, Token{Kind: t.kind.String(), Text: sql[t.start:t.end], Start: t.start, End: t.end, TimeRelative: t.timeRelative})
	}
}

// Lex returns the comment-free text, the memo key and the hint of sql.
func Lex(sql string) (text, key string, hint Hint) {
	var sc scan
	lex(sql, &sc, false, nil)
	return sc.text, string(sc.key), sc.hint
}

// ParseUncached classifies sql without a memo.
func ParseUncached(sql string) *Info {
	var sc scan
	lex(sql, &sc, true, nil)
	return parse(sql, &sc)
}

// ValueSensitive reports whether the memo keys info by exact text.
func ValueSensitive(info *Info) bool { return info.valueSensitive }

// LiteralVariant returns sql with every literal replaced by another of the
// same class (integer, other number, string, time-relative string,
// national string, bit string), so that its memo key is unchanged. The
// replacement is set off by spaces so that it cannot merge with an
// adjacent token.
func LiteralVariant(sql string) string {
	l := lexer{src: sql}
	var b []byte
	last := 0
	for {
		t, _, ok := l.next()
		if !ok {
			break
		}
		var repl string
		switch t.kind {
		case tokNumber:
			repl = "4.5"
			if isInteger(sql[t.start:t.end]) {
				repl = "42"
			}
		case tokBitString:
			repl = "B'1'"
		case tokString:
			repl = "'q'"
			if t.timeRelative {
				repl = "'now'"
			}
			// The variant keeps the string's kind: N'…', E'…' and
			// U&'…' keep their prefix, a dollar-quoted string stays
			// dollar-quoted. A plain '…' after a string and a newline
			// would continue that string instead.
			tok := sql[t.start:t.end]
			if tok[0] == '$' {
				repl = "$$" + repl[1:len(repl)-1] + "$$"
			} else if q := strings.IndexByte(tok, '\''); q > 0 {
				repl = tok[:q] + repl
			}
		default:
			continue
		}
		b = append(b, sql[last:t.start]...)
		b = append(b, ' ')
		b = append(b, repl...)
		b = append(b, ' ')
		last = t.end
	}
	b = append(b, sql[last:]...)
	return string(b)
}

// CanonicalText canonicalises s, a value given as text, for a column of
// type typ (an OID) with typmod typmod, as a comparison's key value.
func CanonicalText(typ uint32, typmod int32, s string) (string, bool) {
	col := column{typ: typ, typmod: typmod}
	return col.fromText(s, true, useCompare)
}

// DecodeString returns the value of a string constant token.
func DecodeString(tok string) (string, bool) { return decodeString(tok) }
