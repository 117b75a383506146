package query

import (
	"strconv"
	"strings"

	"github.com/pgwarp/pgwarp/internal/intern"
)

// The lexer mirrors the token rules of PostgreSQL 17's scan.l (the grammar
// pg_query embeds) closely enough that token boundaries agree on every input
// the real scanner accepts: comments (-- and nested /* */), string constants
// in all their forms, quoted identifiers, numbers, parameters, and the rules
// that split operators. It does no allocation; it exists so that the hot path
// can strip comments and normalise literals without calling into the C
// parser. standard_conforming_strings is assumed on, as it is by default
// since PostgreSQL 9.1.

// tokenKind is the kind of a lexical token.
type tokenKind uint8

const (
	tokIdent       tokenKind = iota + 1 // keyword or unquoted identifier
	tokQuotedIdent                      // "x" or U&"x"
	tokString                           // 'x', E'x', U&'x', N'x', $$x$$
	tokBitString                        // B'01', X'ff'
	tokNumber                           // 1, 1.5, 1e9, 0x1f, 1_000
	tokParam                            // $1
	tokOp                               // operators and punctuation other than ;
	tokSemicolon                        // ;
	tokOther                            // any other byte: $ \ { } …
	tokError                            // what the scanner rejects: an unterminated quote or comment, junk after a number
)

var tokenKindNames = [...]string{
	tokIdent:       "ident",
	tokQuotedIdent: "quoted-ident",
	tokString:      "string",
	tokBitString:   "bit-string",
	tokNumber:      "number",
	tokParam:       "param",
	tokOp:          "op",
	tokSemicolon:   "semicolon",
	tokOther:       "other",
	tokError:       "error",
}

// String returns the kind's name.
func (k tokenKind) String() string {
	if int(k) < len(tokenKindNames) && tokenKindNames[k] != "" {
		return tokenKindNames[k]
	}
	return "token?"
}

// token is one lexical token: src[start:end].
type token struct {
	kind tokenKind
	// timeRelative marks a string constant whose value may be read relative
	// to the current time by date/time input (see timeRelativeWord), or
	// whose value the lexer does not decode (escapes, continuations).
	timeRelative bool
	start, end   int
}

// lexer produces the tokens of src. It is a value type used on the stack.
type lexer struct {
	src string
	pos int
	// hint accumulates pgwarp hints found in comments.
	hint Hint
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isHorizSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\f' || c == '\v' }

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func isIdentCont(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '$' }

func isDolqStart(c byte) bool { return isIdentStart(c) }

func isDolqCont(c byte) bool { return isIdentStart(c) || isDigit(c) }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isOctDigit(c byte) bool { return c >= '0' && c <= '7' }

func isBinDigit(c byte) bool { return c == '0' || c == '1' }

// isOpChar reports the characters of scan.l's op_chars.
func isOpChar(c byte) bool {
	switch c {
	case '~', '!', '@', '#', '^', '&', '|', '`', '?', '+', '-', '*', '/', '%', '<', '>', '=':
		return true
	}
	return false
}

// next returns the next token. gap reports that whitespace or a comment
// preceded it; ok is false at the end of the input.
func (l *lexer) next() (t token, gap bool, ok bool) {
	s := l.src
	for l.pos < len(s) {
		c := s[l.pos]
		switch {
		case isSpace(c):
			l.pos++
			gap = true
			continue
		case c == '-' && l.pos+1 < len(s) && s[l.pos+1] == '-':
			start := l.pos
			end := start + 2
			for end < len(s) && s[end] != '\n' && s[end] != '\r' {
				end++
			}
			l.pos = end
			l.hint.comment(s[start:end], s[start+2:end])
			gap = true
			continue
		case c == '/' && l.pos+1 < len(s) && s[l.pos+1] == '*':
			start := l.pos
			depth := 1
			i := start + 2
			for i < len(s) && depth > 0 {
				if s[i] == '/' && i+1 < len(s) && s[i+1] == '*' {
					depth++
					i += 2
				} else if s[i] == '*' && i+1 < len(s) && s[i+1] == '/' {
					depth--
					i += 2
				} else {
					i++
				}
			}
			if depth > 0 {
				// An unterminated comment is a scanner error.
				l.pos = len(s)
				return token{kind: tokError, start: start, end: len(s)}, gap, true
			}
			l.pos = i
			l.hint.comment(s[start:i], s[start+2:i-2])
			gap = true
			continue
		}
		break
	}
	if l.pos >= len(s) {
		return token{}, gap, false
	}
	t = l.token()
	l.pos = t.end
	return t, gap, true
}

// token scans the token at l.pos, which is not whitespace or a comment.
func (l *lexer) token() token {
	s := l.src
	start := l.pos
	c := s[start]
	next := byte(0)
	if start+1 < len(s) {
		next = s[start+1]
	}
	switch {
	case c == '\'':
		return l.quotedString(start, start+1, false)
	case c == '"':
		return l.quotedIdent(start, start+1)
	case isIdentStart(c):
		if next == '\'' {
			switch c {
			case 'b', 'B', 'x', 'X':
				return l.bitString(start, start+2)
			case 'e', 'E':
				t := l.quotedString(start, start+2, true)
				if t.kind == tokString {
					t.timeRelative = t.timeRelative || strings.IndexByte(s[start:t.end], '\\') >= 0
				}
				return t
			case 'n', 'N':
				return l.quotedString(start, start+2, false)
			}
		}
		if (c == 'u' || c == 'U') && next == '&' && start+2 < len(s) {
			switch s[start+2] {
			case '\'':
				// The escapes of a Unicode string depend on a UESCAPE
				// clause after it: the lexer does not decode them.
				t := l.quotedString(start, start+3, false)
				if t.kind == tokString {
					t.timeRelative = true
				}
				return t
			case '"':
				return l.quotedIdent(start, start+3)
			}
		}
		if (c == 'u' || c == 'U') && next == '&' {
			// scan.l's xufailed: "u&" not followed by a quote is the
			// identifier u.
			return token{kind: tokIdent, start: start, end: start + 1}
		}
		end := start + 1
		for end < len(s) && isIdentCont(s[end]) {
			end++
		}
		return token{kind: tokIdent, start: start, end: end}
	case isDigit(c) || c == '.' && isDigit(next):
		return l.number(start)
	case c == '$':
		return l.dollar(start)
	case c == ':':
		if next == ':' || next == '=' {
			return token{kind: tokOp, start: start, end: start + 2}
		}
		return token{kind: tokOp, start: start, end: start + 1}
	case c == '.':
		if next == '.' {
			return token{kind: tokOp, start: start, end: start + 2}
		}
		return token{kind: tokOp, start: start, end: start + 1}
	case isOpChar(c):
		return l.operator(start)
	case c == ';':
		return token{kind: tokSemicolon, start: start, end: start + 1}
	case c == ',' || c == '(' || c == ')' || c == '[' || c == ']':
		return token{kind: tokOp, start: start, end: start + 1}
	}
	return token{kind: tokOther, start: start, end: start + 1}
}

// quotedString scans a string constant whose body starts at i (after the
// opening quote); backslash selects the rules of E'…' strings. A closing
// quote followed by whitespace containing a newline and another quote
// continues the string, as SQL requires.
func (l *lexer) quotedString(start, i int, backslash bool) token {
	s := l.src
	continued := false
	for i < len(s) {
		c := s[i]
		if backslash && c == '\\' {
			i += 2
			continue
		}
		if c != '\'' {
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '\'' {
			i += 2
			continue
		}
		if j, ok := continuation(s, i+1); ok {
			continued = true
			i = j
			continue
		}
		t := token{kind: tokString, start: start, end: i + 1}
		t.timeRelative = continued || hasTimeRelativeWord(s[start:i+1])
		return t
	}
	return token{kind: tokError, start: start, end: len(s)}
}

// bitString scans B'…' or X'…', whose bodies have no escapes.
func (l *lexer) bitString(start, i int) token {
	s := l.src
	for i < len(s) {
		if s[i] != '\'' {
			i++
			continue
		}
		if j, ok := continuation(s, i+1); ok {
			i = j
			continue
		}
		return token{kind: tokBitString, start: start, end: i + 1}
	}
	return token{kind: tokError, start: start, end: len(s)}
}

// continuation reports whether the text at i continues a string constant:
// horizontal space, a newline, any space, and a quote (scan.l's
// quotecontinue). It returns the index after that quote.
func continuation(s string, i int) (int, bool) {
	for i < len(s) && isHorizSpace(s[i]) {
		i++
	}
	if i >= len(s) || s[i] != '\n' && s[i] != '\r' {
		return 0, false
	}
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	if i < len(s) && s[i] == '\'' {
		return i + 1, true
	}
	return 0, false
}

// quotedIdent scans "…" or U&"…" whose body starts at i.
func (l *lexer) quotedIdent(start, i int) token {
	s := l.src
	body := i
	for i < len(s) {
		if s[i] != '"' {
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '"' {
			i += 2
			continue
		}
		if i == body {
			// A zero-length delimited identifier is a scanner error.
			return token{kind: tokError, start: start, end: i + 1}
		}
		return token{kind: tokQuotedIdent, start: start, end: i + 1}
	}
	return token{kind: tokError, start: start, end: len(s)}
}

// dollar scans a parameter ($1), a dollar-quoted string ($tag$…$tag$), or a
// lone $.
func (l *lexer) dollar(start int) token {
	s := l.src
	i := start + 1
	if i < len(s) && isDigit(s[i]) {
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		return token{kind: tokParam, start: start, end: i}
	}
	if i < len(s) && isDolqStart(s[i]) {
		for i < len(s) && isDolqCont(s[i]) {
			i++
		}
	}
	if i >= len(s) || s[i] != '$' {
		// scan.l's dolqfailed: the $ alone is a token.
		return token{kind: tokOther, start: start, end: start + 1}
	}
	delim := s[start : i+1]
	body := i + 1
	k := strings.Index(s[body:], delim)
	if k < 0 {
		return token{kind: tokError, start: start, end: len(s)}
	}
	end := body + k + len(delim)
	return token{kind: tokString, start: start, end: end, timeRelative: hasTimeRelativeWord(s[body : body+k])}
}

// digitsFrom consumes (_?digit)* from i and returns the end.
func digitsFrom(s string, i int, digit func(byte) bool) int {
	for i < len(s) {
		if digit(s[i]) {
			i++
		} else if s[i] == '_' && i+1 < len(s) && digit(s[i+1]) {
			i += 2
		} else {
			break
		}
	}
	return i
}

// number scans a numeric constant. Trailing identifier characters make the
// whole run an error token, as scan.l's *_junk rules do.
func (l *lexer) number(start int) token {
	s := l.src
	junk := func(i int) token {
		for i < len(s) && isIdentCont(s[i]) {
			i++
		}
		return token{kind: tokError, start: start, end: i}
	}
	if s[start] == '0' && start+1 < len(s) {
		var digit func(byte) bool
		switch s[start+1] {
		case 'x', 'X':
			digit = isHexDigit
		case 'o', 'O':
			digit = isOctDigit
		case 'b', 'B':
			digit = isBinDigit
		}
		if digit != nil {
			i := start + 2
			end := digitsFrom(s, i, digit)
			if end == i || end < len(s) && isIdentCont(s[end]) {
				// scan.l's hexfail/octfail/binfail, or an identifier
				// glued to the integer.
				return junk(start + 1)
			}
			return token{kind: tokNumber, start: start, end: end}
		}
	}
	i := start
	if s[i] != '.' {
		i = digitsFrom(s, i+1, isDigit)
		if i < len(s) && s[i] == '.' {
			if i+1 < len(s) && s[i+1] == '.' {
				// scan.l's numericfail: "1..10" is 1, .., 10.
				return token{kind: tokNumber, start: start, end: i}
			}
			i++
			if i < len(s) && isDigit(s[i]) {
				i = digitsFrom(s, i+1, isDigit)
			}
		}
	} else {
		i = digitsFrom(s, i+2, isDigit)
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		k := i + 1
		sign := k < len(s) && (s[k] == '+' || s[k] == '-')
		if sign {
			k++
		}
		if k < len(s) && isDigit(s[k]) {
			i = digitsFrom(s, k+1, isDigit)
		} else if sign {
			// scan.l's realfail: "1e+" is an error.
			return token{kind: tokError, start: start, end: k}
		}
	}
	if i < len(s) && isIdentStart(s[i]) {
		return junk(i)
	}
	return token{kind: tokNumber, start: start, end: i}
}

// operator scans a run of operator characters and trims it the way scan.l
// does: a comment start inside ends it, and a multi-character operator may
// not end in + or - unless it contains one of ~ ! @ # ^ & | ` ? %.
func (l *lexer) operator(start int) token {
	s := l.src
	end := start
	for end < len(s) && isOpChar(s[end]) {
		end++
	}
	op := s[start:end]
	n := len(op)
	if n == 1 {
		return token{kind: tokOp, start: start, end: end}
	}
	if k := strings.Index(op, "/*"); k >= 0 {
		n = k
	}
	if k := strings.Index(op[:n], "--"); k >= 0 {
		n = k
	}
	if n > 1 && (op[n-1] == '+' || op[n-1] == '-') && !strings.ContainsAny(op[:n-1], "~!@#^&|`?%") {
		for n > 1 && (op[n-1] == '+' || op[n-1] == '-') {
			n--
		}
	}
	return token{kind: tokOp, start: start, end: start + n}
}

// hasTimeRelativeWord reports whether s contains, as a whole word of ASCII
// letters in any case, one of the special date/time inputs whose value
// depends on the current time: now, today, tomorrow, yesterday.
func hasTimeRelativeWord(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if !isASCIILetter(c) {
			i++
			continue
		}
		j := i + 1
		for j < len(s) && isASCIILetter(s[j]) {
			j++
		}
		if timeRelativeWord(s[i:j]) {
			return true
		}
		i = j
	}
	return false
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func timeRelativeWord(w string) bool {
	switch len(w) {
	case 3:
		return strings.EqualFold(w, "now")
	case 5:
		return strings.EqualFold(w, "today")
	case 8:
		return strings.EqualFold(w, "tomorrow")
	case 9:
		return strings.EqualFold(w, "yesterday")
	}
	return false
}

// TimeRelative reports whether a parameter value sent in text format could
// be read relative to the current time by PostgreSQL's date/time input (it
// contains the word now, today, tomorrow or yesterday). A statement bound
// with such a value is not deterministic even when its text is; see
// [Env.TextParams].
func TimeRelative(value []byte) bool {
	for i := 0; i < len(value); {
		if !isASCIILetter(value[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(value) && isASCIILetter(value[j]) {
			j++
		}
		if j-i >= 3 && j-i <= 9 && timeRelativeBytes(value[i:j]) {
			return true
		}
		i = j
	}
	return false
}

func timeRelativeBytes(w []byte) bool {
	var buf [9]byte
	for i, c := range w {
		buf[i] = c | 0x20
	}
	switch string(buf[:len(w)]) {
	case "now", "today", "tomorrow", "yesterday":
		return true
	}
	return false
}

// Placeholders that stand for literals in a memo key. They start with a NUL
// byte, which cannot occur in a statement PostgreSQL accepts, and every
// token of a key is followed by a space, so they cannot be confused with
// real tokens. A time-relative string gets keyTimeRelative appended, so
// that the memo never shares an Info between 'now' and '2024-01-01'.
const (
	keyString       = "\x00s"
	keyNational     = "\x00N"
	keyTimeRelative = "\x00t"
	keyBitString    = "\x00b"
	keyInteger      = "\x00i"
	keyNumber       = "\x00n"
)

// isInteger reports whether a numeric constant is an integer: hexadecimal,
// octal or binary, or decimal without a point or an exponent.
func isInteger(num string) bool {
	if len(num) > 1 && num[0] == '0' {
		switch num[1] {
		case 'x', 'X', 'o', 'O', 'b', 'B':
			return true
		}
	}
	for i := 0; i < len(num); i++ {
		if c := num[i]; c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	return true
}

// scan is the result of lexing a query string once.
type scan struct {
	// text is the comment-free text: tokens as written, separated by one
	// space wherever whitespace or a comment separated them, without
	// leading or trailing semicolons and whitespace.
	text string
	// key is the literal-normalised memo key: unquoted identifiers and
	// keywords folded to lower case, literals replaced by a placeholder of
	// their class, every token followed by a space.
	key []byte
	// hint holds the pgwarp hints found in comments.
	hint Hint
	// timeRelative lists the start offsets of time-relative string
	// constants, when requested.
	timeRelative []int
	// lits are the literal tokens (strings, numbers, bit strings) in
	// order: the tokens the key replaces by placeholders. Key predicates
	// refer to them by ordinal.
	lits []litSpan
	// texts, if set, interns a text lex has to build (one that is not a
	// substring of sql).
	texts *intern.Table
}

// litSpan is one literal token, sql[start:end].
type litSpan struct {
	start, end int
	kind       LiteralKind
}

// lex lexes sql into out. out.key and out.lits are appended to (pass
// reused buffers with length zero); out.timeRelative is appended to only
// when collect is set.
// out.text is a substring of sql when the comment-free text is one, and a
// string built in textBuf otherwise (interned in out.texts when set); lex
// returns textBuf for reuse.
func lex(sql string, out *scan, collect bool, textBuf []byte) []byte {
	l := lexer{src: sql}
	key := out.key
	lits := out.lits
	text := textBuf[:0]
	// While the input is in canonical form (tokens separated by nothing
	// or by one space), the text is the substring sql[first:last] and the
	// buffer stays empty; built turns on at the first deviation.
	built := false
	first, last := -1, -1   // start of the first and end of the last kept token
	keyCut, textCut := 0, 0 // lengths of key and text up to the last non-semicolon token
	prevEnd := 0
	for {
		t, gap, ok := l.next()
		if !ok {
			break
		}
		if first < 0 {
			if t.kind == tokSemicolon {
				continue
			}
			first = t.start
		} else if gap {
			if !built && (t.start-prevEnd != 1 || sql[prevEnd] != ' ') {
				built = true
				text = append(text, sql[first:prevEnd]...)
			}
			if built {
				text = append(text, ' ')
			}
		}
		if built {
			text = append(text, sql[t.start:t.end]...)
		}
		switch t.kind {
		case tokIdent:
			n := len(key)
			key = append(key, sql[t.start:t.end]...)
			for i := n; i < len(key); i++ {
				if c := key[i]; c >= 'A' && c <= 'Z' {
					key[i] = c + 'a' - 'A'
				}
			}
		case tokString:
			if c := sql[t.start]; c == 'n' || c == 'N' {
				// N'x' is a cast to character, not a plain constant.
				key = append(key, keyNational...)
			} else {
				key = append(key, keyString...)
			}
			if t.timeRelative {
				key = append(key, keyTimeRelative...)
				if collect {
					out.timeRelative = append(out.timeRelative, t.start)
				}
			}
			lits = append(lits, litSpan{t.start, t.end, LiteralString})
		case tokBitString:
			key = append(key, keyBitString...)
			lits = append(lits, litSpan{t.start, t.end, LiteralBitString})
		case tokNumber:
			lits = append(lits, litSpan{t.start, t.end, LiteralNumber})
			// The grammar accepts only integers in some places (FETCH
			// 5, a typmod), so integers and other numbers differ.
			if isInteger(sql[t.start:t.end]) {
				key = append(key, keyInteger...)
			} else {
				key = append(key, keyNumber...)
			}
		default:
			key = append(key, sql[t.start:t.end]...)
		}
		key = append(key, ' ')
		prevEnd = t.end
		if t.kind != tokSemicolon {
			last = t.end
			keyCut, textCut = len(key), len(text)
		}
	}
	out.hint = l.hint
	out.key = key[:keyCut]
	out.lits = lits
	switch {
	case first < 0:
		out.text = ""
	case !built || textCut == 0:
		out.text = sql[first:last]
	default:
		out.text = out.texts.Bytes(text[:textCut])
	}
	return text
}

// ParamCount returns the highest parameter number ($n) that sql refers to
// outside string constants, quoted identifiers and comments, or 0. With the
// number of parameter types its Parse message gave, whichever is larger, it
// is PostgreSQL's count of a prepared statement's parameters.
func ParamCount(sql string) int {
	l := lexer{src: sql}
	high := 0
	for {
		t, _, ok := l.next()
		if !ok {
			return high
		}
		if t.kind == tokParam {
			if n, err := strconv.Atoi(sql[t.start+1 : t.end]); err == nil && n > high {
				high = n
			}
		}
	}
}

// LexerCompatible reports whether pgwarp's classification agrees with
// PostgreSQL's reading of a session's statements, given the session's
// standard_conforming_strings and client_encoding (both reported to the
// client in ParameterStatus). Both pgwarp's lexer and the pg_query parser
// assume standard_conforming_strings = on; with it off, a backslash escapes
// a quote in '…' strings, and a statement pgwarp reads as one harmless
// SELECT can carry a second, writing one. Likewise, in the client-only
// encodings SJIS, BIG5, GBK, UHC, GB18030 and JOHAB a multi-byte character
// may end in the byte of a backslash, which escapes the quote after it in
// an E'…' string for pgwarp but not for the server, which converts the
// encoding first. When LexerCompatible is false the proxy must not trust
// any classification: no caching, invalidate everything after each write,
// pin the session (or refuse the setting).
func LexerCompatible(standardConformingStrings, clientEncoding string) bool {
	switch strings.ToLower(strings.TrimSpace(standardConformingStrings)) {
	case "on", "true", "yes", "1", "":
	default:
		return false
	}
	var canon []byte
	for i := 0; i < len(clientEncoding); i++ {
		c := clientEncoding[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			canon = append(canon, c)
		case c >= 'A' && c <= 'Z':
			canon = append(canon, c+'a'-'A')
		}
	}
	switch string(canon) {
	case "sjis", "shiftjis", "mskanji", "shiftjis2004", "win932", "windows932",
		"big5", "win950", "windows950", "gbk", "win936", "windows936",
		"uhc", "win949", "windows949", "gb18030", "johab":
		return false
	}
	return true
}
