package query

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pgwarp/pgwarp/internal/pgdate"
)

// LiteralKind is the lexical class of a [Literal].
type LiteralKind uint8

// Literal kinds: the token classes the memo replaces by placeholders.
const (
	// LiteralString is a string constant in any of its forms: '…', E'…',
	// N'…', U&'…' and $tag$…$tag$.
	LiteralString LiteralKind = iota + 1
	// LiteralNumber is a numeric constant: 42, 4.5, 1e9, 0x1f, 1_000.
	LiteralNumber
	// LiteralBitString is B'…' or X'…'.
	LiteralBitString
)

// String returns the kind's name.
func (k LiteralKind) String() string {
	switch k {
	case LiteralString:
		return "string"
	case LiteralNumber:
		return "number"
	case LiteralBitString:
		return "bit-string"
	}
	return "LiteralKind(" + strconv.Itoa(int(k)) + ")"
}

// Literal is one literal token of a query string as written: its kind and
// its text, quotes, prefix and escapes included (E'a\n', 42). Key
// predicates refer to literals by their position among the literal tokens
// of the string, so that one memoised [Info] serves every string of the
// same structure.
type Literal struct {
	Kind LiteralKind
	// Text is the token, a substring of the query string.
	Text string
}

// Param is one bound parameter of an extended-protocol Bind.
type Param struct {
	// Value is the parameter's value as sent; nil for NULL.
	Value []byte
	// Binary reports format code 1.
	Binary bool
	// Type is the parameter's type OID from the Parse message, 0 when the
	// Parse message left it unspecified (the server then infers it).
	Type uint32
}

// Values are the literal and parameter values of one execution of a
// statement, from which [Catalog.ReadKeys] and [Catalog.InvalidationsWith]
// read the values of key predicates. The zero Values narrows nothing.
type Values struct {
	// Literals are the [Result.Literals] of the query string the
	// statement came from (the Query message's string, or the Parse
	// message's for the extended protocol).
	Literals []Literal
	// Params are the Bind parameters ($1 is Params[0]); nil for the
	// simple protocol.
	Params []Param
	// NoConversion reports that the server stores text as the client
	// sends it: the session's client_encoding equals the server_encoding,
	// or the server_encoding is SQL_ASCII (both are reported in
	// ParameterStatus). Without it, a text value containing a byte outside
	// ASCII is not keyable, because another session with another
	// client_encoding could send the same stored value as different
	// bytes.
	NoConversion bool
}

// Type OIDs of the keyable column types (pg_type.dat).
const (
	oidInt8    = 20
	oidInt2    = 21
	oidInt4    = 23
	oidText    = 25
	oidVarchar = 1043
	oidUUID    = 2950
	oidDate    = 1082
)

// keyableType reports the column types whose values key predicates
// canonicalise.
func keyableType(oid uint32) bool {
	switch oid {
	case oidInt2, oidInt4, oidInt8, oidText, oidVarchar, oidUUID, oidDate:
		return true
	}
	return false
}

// keyFamily groups the keyable types whose = compares canonical values
// across types: the integers, the strings, uuid, and date. A column of one
// family equated with a column of another is never a key.
func keyFamily(oid uint32) int {
	switch oid {
	case oidInt2, oidInt4, oidInt8:
		return 1
	case oidText, oidVarchar:
		return 2
	case oidUUID:
		return 3
	case oidDate:
		return 4
	}
	return 0
}

// keyArg is where a key predicate's value comes from: the lit-th literal
// token of the query string (negated when neg), or parameter $param.
// Neither is set for a value that is not a constant.
type keyArg struct {
	lit   int32 // ordinal among the literal tokens, or -1
	param int32 // parameter number, or 0
	neg   bool  // an odd number of unary minus signs folded into a number
	// date reports a string literal cast to date (date 'x', 'x'::date,
	// CAST('x' AS date)); off, when not zero, is one more than the
	// ordinal of an integer literal added to it (subtracted when offNeg),
	// as in date '2026-06-30' - 30. Only a date column takes such a value.
	date   bool
	off    int32
	offNeg bool
	// shared reports a parameter that appears more than once in the
	// statement, so that its type may be inferred from another context.
	shared bool
	// expr reports an expression that is constant within the statement
	// (literals, parameters, casts and built-in operators only: no
	// column, function call or subquery) but has no one value pgwarp
	// knows; it is not constant(), and only bounds writes.
	expr bool
}

// noArg is the keyArg of an expression that is not a constant.
var noArg = keyArg{lit: -1}

func (a keyArg) constant() bool { return a.lit >= 0 || a.param > 0 }

// dateLiteral reports a date literal, with or without an offset (a
// parameter cast to date is not one: its value is the parameter's).
func (a keyArg) dateLiteral() bool { return a.lit >= 0 && a.date }

// valueUse says where a value goes: into a comparison with the column
// (WHERE col = v), or into the column (INSERT, UPDATE SET), where
// PostgreSQL coerces it to the column's type and length.
type valueUse uint8

const (
	useCompare valueUse = iota
	useStore
)

// canonical returns the canonical text of the value a supplies for column
// col, or false when it is not keyable. The canonical text identifies the
// value exactly as the column stores it: two canonical texts are equal
// exactly when PostgreSQL's = on the column type finds the values equal.
func (col *column) canonical(a keyArg, v *Values, use valueUse) (string, bool) {
	switch {
	case a.dateLiteral():
		return col.fromDateExpr(a, v)
	case a.lit >= 0:
		if int(a.lit) >= len(v.Literals) {
			return "", false
		}
		return col.fromLiteral(v.Literals[a.lit], a.neg, v.NoConversion, use)
	case a.param > 0:
		if int(a.param) > len(v.Params) {
			return "", false
		}
		if a.date {
			return col.fromDateParam(v.Params[a.param-1], a.shared)
		}
		return col.fromParam(v.Params[a.param-1], a.shared, v.NoConversion, use)
	}
	return "", false
}

// fromDateParam canonicalises a parameter cast to date ($1::date) for a
// date column. An unspecified parameter takes the cast's type, date; one
// declared text or varchar is cast by date's input function, as a date
// parameter in text format is read.
func (col *column) fromDateParam(p Param, shared bool) (string, bool) {
	if col.typ != oidDate || p.Value == nil {
		return "", false
	}
	switch {
	case p.Type == 0 && shared:
		// Its type may come from another use.
		return "", false
	case p.Binary && (p.Type == 0 || p.Type == oidDate):
		return col.fromParam(Param{Value: p.Value, Binary: true, Type: oidDate}, false, true, useCompare)
	case p.Type == 0 || p.Type == oidDate || p.Type == oidText || p.Type == oidVarchar:
		// Text format, or textrecv's bytes for a binary text parameter.
		if _, ok := pgdate.Parse(string(p.Value)); !ok {
			return "", false
		}
		return string(p.Value), true
	}
	return "", false
}

// fromDateExpr canonicalises a date literal, plus or minus an integer
// literal, for a date column: PostgreSQL's date + integer adds days.
func (col *column) fromDateExpr(a keyArg, v *Values) (string, bool) {
	days, ok := col.dateExprDays(a, v)
	if !ok {
		return "", false
	}
	return pgdate.Format(days)
}

// dateExprDays is fromDateExpr's value as days since 1970-01-01, within
// the canonical years.
func (col *column) dateExprDays(a keyArg, v *Values) (int64, bool) {
	if col.typ != oidDate || !a.date || int(a.lit) >= len(v.Literals) {
		return 0, false
	}
	lit := v.Literals[a.lit]
	if lit.Kind != LiteralString {
		return 0, false
	}
	s, ok := decodeString(lit.Text)
	if !ok {
		return 0, false
	}
	days, ok := pgdate.Parse(s)
	if !ok {
		return 0, false
	}
	if a.off > 0 {
		k := int(a.off - 1)
		if k >= len(v.Literals) || v.Literals[k].Kind != LiteralNumber || !allDigits(v.Literals[k].Text) {
			return 0, false
		}
		n, err := strconv.ParseInt(v.Literals[k].Text, 10, 32)
		if err != nil {
			return 0, false
		}
		if a.offNeg {
			n = -n
		}
		days += n
	}
	return days, days >= pgdate.Min && days <= pgdate.Max
}

func (col *column) fromLiteral(lit Literal, neg, noConversion bool, use valueUse) (string, bool) {
	switch lit.Kind {
	case LiteralNumber:
		// An integer constant compared with or stored into an integer
		// column keeps its numeric value; decimals round on assignment
		// and other forms (0x1f, 1_000) differ between server versions.
		if !col.isInt() || !allDigits(lit.Text) {
			return "", false
		}
		return canonicalInt(lit.Text, neg, col.typ)
	case LiteralString:
		if neg {
			return "", false
		}
		s, ok := decodeString(lit.Text)
		if !ok {
			return "", false
		}
		return col.fromText(s, noConversion, use)
	}
	return "", false
}

func (col *column) fromParam(p Param, shared, noConversion bool, use valueUse) (string, bool) {
	if p.Value == nil {
		return "", false
	}
	if p.Type == 0 {
		// The server infers the type of an unspecified parameter from its
		// first use; only a parameter used once surely takes the
		// column's type (text for varchar, which has no = of its own).
		if shared {
			return "", false
		}
	} else if !paramTypeFits(p.Type, col.typ) {
		return "", false
	}
	if !p.Binary {
		return col.fromText(string(p.Value), noConversion, use)
	}
	b := p.Value
	switch col.typ {
	case oidInt2:
		if len(b) != 2 {
			return "", false
		}
		return strconv.FormatInt(int64(int16(uint16(b[0])<<8|uint16(b[1]))), 10), true
	case oidInt4:
		if len(b) != 4 {
			return "", false
		}
		return strconv.FormatInt(int64(int32(uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3]))), 10), true
	case oidInt8:
		if len(b) != 8 {
			return "", false
		}
		var u uint64
		for _, c := range b {
			u = u<<8 | uint64(c)
		}
		return strconv.FormatInt(int64(u), 10), true
	case oidUUID:
		if len(b) != 16 {
			return "", false
		}
		return formatUUID(b), true
	case oidDate:
		// date_recv: days since 2000-01-01; the extremes are -infinity
		// and infinity, outside the canonical years anyway.
		if len(b) != 4 {
			return "", false
		}
		n := int64(int32(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])))
		return pgdate.Format(n + pgdate.PostgresEpoch)
	case oidText, oidVarchar:
		// textrecv reads the bytes in the client encoding, as text input
		// does.
		return col.fromText(string(b), noConversion, use)
	}
	return "", false
}

// paramTypeFits reports whether a parameter declared with type oid
// compares and stores like a value of the column's type. text and varchar
// are interchangeable: varchar has no operators of its own and converts to
// text without a function.
func paramTypeFits(oid, colType uint32) bool {
	if oid == colType {
		return true
	}
	text := func(o uint32) bool { return o == oidText || o == oidVarchar }
	return text(oid) && text(colType)
}

// fromText canonicalises a value given as text (a decoded string literal,
// or a parameter in text format) the way the column type's input function
// reads it.
func (col *column) fromText(s string, noConversion bool, use valueUse) (string, bool) {
	switch col.typ {
	case oidInt2, oidInt4, oidInt8:
		return parseIntInput(s, col.typ)
	case oidUUID:
		return parseUUID(s)
	case oidDate:
		if _, ok := pgdate.Parse(s); !ok {
			return "", false
		}
		return s, true
	case oidText, oidVarchar:
		if strings.IndexByte(s, 0) >= 0 {
			return "", false
		}
		if !isASCII(s) && (!noConversion || !utf8.ValidString(s)) {
			return "", false
		}
		if use == useStore && col.typ == oidVarchar && col.typmod >= 4 && len(s) > 0 && s[len(s)-1] == ' ' {
			// Storing into varchar(n) silently drops spaces beyond n
			// characters. A value of at most n bytes has at most n
			// characters, so nothing is dropped.
			if len(s) > int(col.typmod)-4 {
				return "", false
			}
		}
		return s, true
	}
	return "", false
}

func (col *column) isInt() bool {
	return col.typ == oidInt2 || col.typ == oidInt4 || col.typ == oidInt8
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// intRange returns the bounds of an integer column type.
func intRange(typ uint32) (lo, hi int64) {
	switch typ {
	case oidInt2:
		return -1 << 15, 1<<15 - 1
	case oidInt4:
		return -1 << 31, 1<<31 - 1
	}
	return -1 << 63, 1<<63 - 1
}

// canonicalInt returns the canonical text of the decimal digits digits,
// negated when neg, if the value is in range for typ.
func canonicalInt(digits string, neg bool, typ uint32) (string, bool) {
	var mag uint64
	for i := 0; i < len(digits); i++ {
		d := uint64(digits[i] - '0')
		if mag > (1<<64-1-d)/10 {
			return "", false
		}
		mag = mag*10 + d
	}
	lo, hi := intRange(typ)
	if neg {
		if mag > uint64(-(lo+1))+1 {
			return "", false
		}
		if mag == 0 {
			return "0", true
		}
		return "-" + strconv.FormatUint(mag, 10), true
	}
	if mag > uint64(hi) {
		return "", false
	}
	return strconv.FormatUint(mag, 10), true
}

// isCSpace reports the bytes C's isspace accepts in the C locale. The
// server's locale may accept more; inputs with such bytes are rejected
// here, which only costs a key.
func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// parseIntInput reads s as int2in, int4in and int8in do in PostgreSQL 15
// (pg_strtoint16/32/64): surrounding whitespace, an optional sign, decimal
// digits. Later versions also accept 0x, 0o, 0b prefixes and underscores;
// those are rejected here.
func parseIntInput(s string, typ uint32) (string, bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == start {
		return "", false
	}
	digits := s[start:i]
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	if i != len(s) {
		return "", false
	}
	return canonicalInt(digits, neg, typ)
}

// parseUUID reads s as uuid_in does (string_to_uuid): an optional pair of
// braces around 32 hexadecimal digits, with an optional hyphen after any
// group of four digits except the last.
func parseUUID(s string) (string, bool) {
	i := 0
	braces := len(s) > 0 && s[0] == '{'
	if braces {
		i++
	}
	var b [16]byte
	for k := 0; k < 16; k++ {
		if i+1 >= len(s) || !isHexDigit(s[i]) || !isHexDigit(s[i+1]) {
			return "", false
		}
		b[k] = hexVal(s[i])<<4 | hexVal(s[i+1])
		i += 2
		if i < len(s) && s[i] == '-' && k%2 == 1 && k < 15 {
			i++
		}
	}
	if braces {
		if i >= len(s) || s[i] != '}' {
			return "", false
		}
		i++
	}
	if i != len(s) {
		return "", false
	}
	return formatUUID(b[:]), true
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// formatUUID returns the 16 bytes of b in uuid_out's form.
func formatUUID(b []byte) string {
	const hex = "0123456789abcdef"
	var out [36]byte
	j := 0
	for k, c := range b {
		if k == 4 || k == 6 || k == 8 || k == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hex[c>>4], hex[c&15]
		j += 2
	}
	return string(out[:])
}

// decodeString returns the value of a string constant token: '…' with ”
// for a quote, and E'…' with the escapes \\ \' \b \f \n \r \t (other
// escapes, whose meaning depends on the server encoding or version, are
// not decoded); either may continue across lines ('a'<newline>'b'). It
// reports false for the forms it does not decode: N'…' (a cast to
// character), U&'…' and dollar quoting.
func decodeString(tok string) (string, bool) {
	if tok == "" {
		return "", false
	}
	escapes := false
	i := 0
	switch tok[0] {
	case '\'':
		i = 1
	case 'e', 'E':
		if len(tok) < 2 || tok[1] != '\'' {
			return "", false
		}
		escapes = true
		i = 2
	default:
		return "", false
	}
	simple := true
	for k := i; k < len(tok)-1; k++ {
		if tok[k] == '\'' || escapes && tok[k] == '\\' {
			simple = false
			break
		}
	}
	if simple && len(tok) > i && tok[len(tok)-1] == '\'' {
		return tok[i : len(tok)-1], true
	}
	var b strings.Builder
	for i < len(tok) {
		c := tok[i]
		switch {
		case escapes && c == '\\':
			if i+1 >= len(tok) {
				return "", false
			}
			switch tok[i+1] {
			case '\\':
				b.WriteByte('\\')
			case '\'':
				b.WriteByte('\'')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			default:
				return "", false
			}
			i += 2
		case c == '\'':
			if i+1 < len(tok) && tok[i+1] == '\'' {
				b.WriteByte('\'')
				i += 2
				continue
			}
			if i == len(tok)-1 {
				return b.String(), true
			}
			// A continuation: whitespace with a newline, then a quote.
			j, ok := continuation(tok, i+1)
			if !ok {
				return "", false
			}
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return "", false
}
