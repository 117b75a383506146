package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"slices"
	"strings"
)

// Key identifies one cacheable result. It is the SHA-256 digest of everything
// that can change the bytes PostgreSQL sends back for a statement, as fed to a
// [KeyBuilder].
//
// SHA-256 rather than a faster 64- or 128-bit hash such as xxHash or FNV:
// statement text and parameter values come from clients, so a collision is
// not only an accident to make improbable but something an attacker could
// search for, and a collision would replay one role's rows to another. Non-
// cryptographic hashes offer no resistance to deliberately built collisions;
// SHA-256 offers 2^128 work against them, needs no dependency, and runs on the
// SHA-NI instructions of current x86 and ARM CPUs at well over 1 GB/s, so a
// typical key costs a few hundred nanoseconds. Truncating it to 128 bits would
// save 16 bytes per entry and halve that margin, which is not worth it.
type Key [sha256.Size]byte

// String returns the key in hexadecimal.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// Protocol is the protocol flavour a result was produced for. It is part of
// the key because the bytes replayed differ between the simple and the
// extended query protocol.
type Protocol uint8

const (
	// ProtocolSimple is a Query message.
	ProtocolSimple Protocol = iota + 1
	// ProtocolExtended is a Parse/Bind/Describe/Execute batch.
	ProtocolExtended
)

// String returns "simple" or "extended".
func (p Protocol) String() string {
	switch p {
	case ProtocolSimple:
		return "simple"
	case ProtocolExtended:
		return "extended"
	default:
		return "unknown"
	}
}

// Tags in front of every item fed to the hash. With a tag and a length in
// front of every variable-length field, two different sequences of builder
// calls can never produce the same byte stream, so different inputs never
// share a key except through a SHA-256 collision.
const (
	keyTagHeader    byte = 'H'
	keyTagStatement byte = 'Q'
	keyTagParam     byte = 'P'
	keyTagNull      byte = 'N'
	keyTagFormats   byte = 'F'
	keyTagSetting   byte = 'S'
)

// keyDomain separates pgwarp cache keys from every other use of SHA-256 and
// versions the encoding: change it whenever the encoding changes.
const keyDomain = "pgwarp/cache-key/v1"

// keyFlushAt is the size of the builder's staging buffer. Items are staged
// and hashed in one call when the key is small (the common case), and
// streamed through the hash in chunks of this size otherwise, so a builder
// never retains more than this however large a statement or parameter was.
const keyFlushAt = 4096

type keyState uint8

const (
	keyStateIdle keyState = iota
	keyStateStarted
	keyStateStatement
	keyStateBroken
)

type keySetting struct{ name, value string }

// KeyBuilder builds a [Key] from the components of a request without
// allocating once it has warmed up. Call [KeyBuilder.Reset] first, then
// [KeyBuilder.Setting] for every result-affecting setting (in any order),
// [KeyBuilder.Statement] once, [KeyBuilder.Param] for every parameter and
// [KeyBuilder.ResultFormats] (extended protocol), then [KeyBuilder.Key].
//
// The proxy should feed every setting that can change result bytes:
// search_path, TimeZone, DateStyle, IntervalStyle, client_encoding,
// extra_float_digits, bytea_output, standard_conforming_strings, lc_monetary,
// lc_numeric and any custom GUC its statements read. Feeding more settings
// only costs hit rate; feeding fewer serves wrong bytes.
//
// The zero KeyBuilder is ready to use. A KeyBuilder is owned by one goroutine
// (typically one per session); it keeps no reference to the strings and
// slices it is given after the call returns.
type KeyBuilder struct {
	state    keyState
	h        hash.Hash
	hashing  bool // part of the key already went into h
	buf      []byte
	settings []keySetting
	sum      [sha256.Size]byte
}

// Reset starts a new key for a statement run with the given protocol in the
// given database as the given role (the role whose privileges and row-level
// security policies apply, i.e. the current_user the upstream runs as).
func (b *KeyBuilder) Reset(p Protocol, database, role string) {
	b.state = keyStateStarted
	b.hashing = false
	b.buf = b.buf[:0]
	clear(b.settings) // drop references to the previous request's strings
	b.settings = b.settings[:0]
	b.appendRaw(keyDomain)
	b.buf = append(b.buf, keyTagHeader, byte(p))
	b.appendString(database)
	b.appendString(role)
}

// Setting adds one result-affecting setting. Names are compared without
// regard to ASCII case, as PostgreSQL does; values are taken literally. The
// order of Setting calls does not matter.
func (b *KeyBuilder) Setting(name, value string) {
	if b.state == keyStateIdle {
		b.state = keyStateBroken
	}
	b.settings = append(b.settings, keySetting{name, value})
}

// Statement adds the comment-free text of the statement. It must be called
// exactly once per key.
func (b *KeyBuilder) Statement(text string) {
	switch b.state {
	case keyStateStarted:
		b.state = keyStateStatement
	default:
		b.state = keyStateBroken
		return
	}
	b.buf = append(b.buf, keyTagStatement)
	b.appendString(text)
}

// Param adds one bound parameter value with its format code (0 text, 1
// binary) and type OID (0 when the client left it unspecified). A nil value
// is SQL NULL, which is distinct from an empty non-nil value, as in the Bind
// message.
func (b *KeyBuilder) Param(format int16, oid uint32, value []byte) {
	if b.state == keyStateIdle {
		b.state = keyStateBroken
		return
	}
	b.buf = append(b.buf, keyTagParam)
	b.buf = binary.BigEndian.AppendUint16(b.buf, uint16(format))
	b.buf = binary.BigEndian.AppendUint32(b.buf, oid)
	if value == nil {
		b.buf = append(b.buf, keyTagNull)
		return
	}
	b.appendBytes(value)
}

// ResultFormats adds the result-column format codes of the Bind message as
// sent (an empty list, one code for all columns, or one per column).
func (b *KeyBuilder) ResultFormats(codes []int16) {
	if b.state == keyStateIdle {
		b.state = keyStateBroken
		return
	}
	b.buf = append(b.buf, keyTagFormats)
	b.buf = binary.AppendUvarint(b.buf, uint64(len(codes)))
	for _, c := range codes {
		b.buf = binary.BigEndian.AppendUint16(b.buf, uint16(c))
	}
}

// Key finishes the key and leaves the builder idle until the next Reset. It
// returns [ErrKeyIncomplete] if Reset was not called first or Statement was
// not called exactly once.
func (b *KeyBuilder) Key() (Key, error) {
	if b.state != keyStateStatement {
		b.state = keyStateIdle
		b.hashing = false
		b.buf = b.buf[:0]
		clear(b.settings)
		b.settings = b.settings[:0]
		return Key{}, ErrKeyIncomplete
	}
	b.state = keyStateIdle
	slices.SortFunc(b.settings, compareSettings)
	for _, s := range b.settings {
		b.buf = append(b.buf, keyTagSetting)
		b.appendLowerString(s.name)
		b.appendString(s.value)
	}
	clear(b.settings)
	b.settings = b.settings[:0]
	if !b.hashing {
		k := Key(sha256.Sum256(b.buf))
		b.buf = b.buf[:0]
		return k, nil
	}
	b.flush()
	b.hashing = false
	return Key(b.h.Sum(b.sum[:0])), nil
}

func compareSettings(x, y keySetting) int {
	if c := compareFold(x.name, y.name); c != 0 {
		return c
	}
	return strings.Compare(x.value, y.value)
}

// compareFold orders ASCII-case-insensitively without allocating.
func compareFold(x, y string) int {
	for i := 0; i < len(x) && i < len(y); i++ {
		cx, cy := lowerASCII(x[i]), lowerASCII(y[i])
		if cx != cy {
			if cx < cy {
				return -1
			}
			return 1
		}
	}
	return len(x) - len(y)
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

func (b *KeyBuilder) appendString(s string) {
	b.buf = binary.AppendUvarint(b.buf, uint64(len(s)))
	b.appendRaw(s)
}

func (b *KeyBuilder) appendLowerString(s string) {
	b.buf = binary.AppendUvarint(b.buf, uint64(len(s)))
	for i := 0; i < len(s); i++ {
		if len(b.buf) >= keyFlushAt {
			b.flush()
		}
		b.buf = append(b.buf, lowerASCII(s[i]))
	}
}

func (b *KeyBuilder) appendBytes(p []byte) {
	b.buf = binary.AppendUvarint(b.buf, uint64(len(p)))
	for len(p) > 0 {
		if len(b.buf) >= keyFlushAt {
			b.flush()
		}
		n := min(len(p), keyFlushAt-len(b.buf))
		b.buf = append(b.buf, p[:n]...)
		p = p[n:]
	}
}

// appendRaw stages s in chunks so the staging buffer never grows past
// keyFlushAt plus one small header.
func (b *KeyBuilder) appendRaw(s string) {
	for len(s) > 0 {
		if len(b.buf) >= keyFlushAt {
			b.flush()
		}
		n := min(len(s), keyFlushAt-len(b.buf))
		b.buf = append(b.buf, s[:n]...)
		s = s[n:]
	}
}

func (b *KeyBuilder) flush() {
	if b.h == nil {
		b.h = sha256.New()
	}
	if !b.hashing {
		b.h.Reset()
		b.hashing = true
	}
	b.h.Write(b.buf)
	b.buf = b.buf[:0]
}
