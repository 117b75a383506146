package sqlscan

import "strings"

// Tokenize returns the tokens of src. When a quote, dollar quote or block
// comment is not closed, it returns the tokens before it and a
// [*SyntaxError]; the unterminated element itself is not a token.
func Tokenize(src string) ([]Token, error) {
	l := lexer{src: src, line: 1}
	var toks []Token
	for {
		tok, ok, err := l.next()
		if err != nil {
			return toks, err
		}
		if !ok {
			return toks, nil
		}
		toks = append(toks, tok)
	}
}

// lexer walks src once. It is owned by one call of [Tokenize].
type lexer struct {
	src  string
	pos  int
	line int
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func isIdentCont(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '$'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isOpChar reports the characters PostgreSQL allows in operator names.
func isOpChar(c byte) bool {
	return strings.IndexByte("+-*/<>=~!@#%^&|`?", c) >= 0
}

// advance moves to end, counting the newlines it passes.
func (l *lexer) advance(end int) {
	l.line += strings.Count(l.src[l.pos:end], "\n")
	l.pos = end
}

// skipSpaceAndComments skips white space, -- comments and nested /* */
// comments.
func (l *lexer) skipSpaceAndComments() error {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case isSpace(c):
			l.advance(l.pos + 1)
		case strings.HasPrefix(l.src[l.pos:], "--"):
			end := strings.IndexByte(l.src[l.pos:], '\n')
			if end < 0 {
				l.pos = len(l.src)
				return nil
			}
			l.advance(l.pos + end + 1)
		case strings.HasPrefix(l.src[l.pos:], "/*"):
			startLine := l.line
			depth := 0
			i := l.pos
			for {
				if i >= len(l.src) {
					l.advance(len(l.src))
					return &SyntaxError{Line: startLine, Msg: "unterminated /* comment"}
				}
				if strings.HasPrefix(l.src[i:], "/*") {
					depth++
					i += 2
					continue
				}
				if strings.HasPrefix(l.src[i:], "*/") {
					depth--
					i += 2
					if depth == 0 {
						break
					}
					continue
				}
				i++
			}
			l.advance(i)
		default:
			return nil
		}
	}
	return nil
}

// next returns the next token; ok is false at the end of the input.
func (l *lexer) next() (tok Token, ok bool, err error) {
	if err := l.skipSpaceAndComments(); err != nil {
		return Token{}, false, err
	}
	if l.pos >= len(l.src) {
		return Token{}, false, nil
	}
	start, line := l.pos, l.line
	emit := func(kind Kind, end int, value string) (Token, bool, error) {
		text := l.src[start:end]
		if value == "" && kind != KindQuotedIdent {
			value = text
		}
		l.advance(end)
		return Token{Kind: kind, Text: text, Value: value, Offset: start, Line: line}, true, nil
	}
	rest := l.src[start:]
	c := rest[0]

	// Prefixed string constants and identifiers: E'…', B'…', X'…', N'…',
	// U&'…', U&"…".
	if len(rest) >= 2 && rest[1] == '\'' {
		switch c {
		case 'e', 'E':
			end, err := l.quoted(start+2, '\'', true)
			if err != nil {
				return Token{}, false, err
			}
			return emit(KindString, end, "")
		case 'b', 'B', 'x', 'X', 'n', 'N':
			end, err := l.quoted(start+2, '\'', false)
			if err != nil {
				return Token{}, false, err
			}
			return emit(KindString, end, "")
		}
	}
	if len(rest) >= 3 && (c == 'u' || c == 'U') && rest[1] == '&' && (rest[2] == '\'' || rest[2] == '"') {
		end, err := l.quoted(start+3, rest[2], false)
		if err != nil {
			return Token{}, false, err
		}
		if rest[2] == '"' {
			return emit(KindQuotedIdent, end, unquoteIdent(l.src[start+2:end]))
		}
		return emit(KindString, end, "")
	}

	switch {
	case isIdentStart(c):
		end := start + 1
		for end < len(l.src) && isIdentCont(l.src[end]) {
			end++
		}
		return emit(KindWord, end, strings.ToLower(l.src[start:end]))
	case c == '\'':
		end, err := l.quoted(start+1, '\'', false)
		if err != nil {
			return Token{}, false, err
		}
		return emit(KindString, end, "")
	case c == '"':
		end, err := l.quoted(start+1, '"', false)
		if err != nil {
			return Token{}, false, err
		}
		return emit(KindQuotedIdent, end, unquoteIdent(l.src[start:end]))
	case c == '$':
		if len(rest) > 1 && isDigit(rest[1]) {
			end := start + 1
			for end < len(l.src) && isDigit(l.src[end]) {
				end++
			}
			return emit(KindParam, end, "")
		}
		if delim, ok := dollarDelimiter(rest); ok {
			closeAt := strings.Index(l.src[start+len(delim):], delim)
			if closeAt < 0 {
				l.advance(len(l.src))
				return Token{}, false, &SyntaxError{Line: line, Msg: "unterminated dollar-quoted string " + delim}
			}
			return emit(KindString, start+len(delim)+closeAt+len(delim), "")
		}
		return emit(KindOperator, start+1, "")
	case isDigit(c) || c == '.' && len(rest) > 1 && isDigit(rest[1]):
		end := start + 1
		for end < len(l.src) {
			d := l.src[end]
			if (d == '+' || d == '-') && (l.src[end-1] == 'e' || l.src[end-1] == 'E') {
				end++
				continue
			}
			if isDigit(d) || d == '.' || d == '_' || d >= 'a' && d <= 'z' || d >= 'A' && d <= 'Z' {
				end++
				continue
			}
			break
		}
		return emit(KindNumber, end, "")
	case c == ':':
		if len(rest) > 1 && rest[1] == ':' {
			return emit(KindPunct, start+2, "")
		}
		return emit(KindPunct, start+1, "")
	case strings.IndexByte("(),;.[]", c) >= 0:
		return emit(KindPunct, start+1, "")
	case isOpChar(c):
		end := start + 1
		for end < len(l.src) && isOpChar(l.src[end]) {
			if strings.HasPrefix(l.src[end:], "--") || strings.HasPrefix(l.src[end:], "/*") {
				break
			}
			end++
		}
		return emit(KindOperator, end, "")
	default:
		// A byte PostgreSQL would reject (a control character, say): keep it
		// as an operator token so that the scan goes on and the server
		// reports the error.
		return emit(KindOperator, start+1, "")
	}
}

// quoted returns the end of a quoted element whose body starts at from and
// which is closed by q; a doubled q is an escaped q. With backslash, a
// backslash escapes the next byte (E'…' strings).
func (l *lexer) quoted(from int, q byte, backslash bool) (int, error) {
	i := from
	for i < len(l.src) {
		c := l.src[i]
		switch {
		case backslash && c == '\\':
			i += 2
		case c == q:
			if i+1 < len(l.src) && l.src[i+1] == q {
				i += 2
				continue
			}
			return i + 1, nil
		default:
			i++
		}
	}
	line := l.line
	l.advance(len(l.src))
	what := "string"
	if q == '"' {
		what = "quoted identifier"
	}
	return 0, &SyntaxError{Line: line, Msg: "unterminated " + what}
}

// dollarDelimiter returns the opening delimiter ($$ or $tag$) at the start of
// s, if there is one.
func dollarDelimiter(s string) (string, bool) {
	if len(s) < 2 || s[0] != '$' {
		return "", false
	}
	i := 1
	if s[i] != '$' {
		if !isIdentStart(s[i]) {
			return "", false
		}
		for i < len(s) && (isIdentStart(s[i]) || isDigit(s[i])) {
			i++
		}
		if i >= len(s) || s[i] != '$' {
			return "", false
		}
	}
	return s[:i+1], true
}

// unquoteIdent removes the surrounding double quotes of a quoted identifier
// and unescapes doubled quotes.
func unquoteIdent(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	return strings.ReplaceAll(s, `""`, `"`)
}
