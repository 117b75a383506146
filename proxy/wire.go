package proxy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Message type bytes of the PostgreSQL protocol 3.0
// (https://www.postgresql.org/docs/current/protocol-message-formats.html).
// Frontend and backend share some letters with different meanings.
const (
	// Frontend (client → server).
	msgQuery        = 'Q'
	msgParse        = 'P'
	msgBind         = 'B'
	msgDescribe     = 'D'
	msgExecute      = 'E'
	msgSync         = 'S'
	msgFlush        = 'H'
	msgClose        = 'C'
	msgTerminate    = 'X'
	msgCopyData     = 'd'
	msgCopyDone     = 'c'
	msgCopyFail     = 'f'
	msgFunctionCall = 'F'
	msgPassword     = 'p'

	// Backend (server → client).
	msgAuthentication     = 'R'
	msgBackendKeyData     = 'K'
	msgParameterStatus    = 'S'
	msgReadyForQuery      = 'Z'
	msgErrorResponse      = 'E'
	msgNoticeResponse     = 'N'
	msgNotification       = 'A'
	msgRowDescription     = 'T'
	msgDataRow            = 'D'
	msgCommandComplete    = 'C'
	msgEmptyQuery         = 'I'
	msgParseComplete      = '1'
	msgBindComplete       = '2'
	msgCloseComplete      = '3'
	msgParamDescription   = 't'
	msgNoData             = 'n'
	msgPortalSuspended    = 's'
	msgCopyInResponse     = 'G'
	msgCopyOutResponse    = 'H'
	msgCopyBothResponse   = 'W'
	msgFunctionCallResp   = 'V'
	msgNegotiateProtocolV = 'v'
)

// Transaction status bytes of ReadyForQuery.
const (
	txIdle   = 'I'
	txInTx   = 'T'
	txFailed = 'E'
)

// errMessageTooLarge is returned by [msgReader.next] for a message whose
// declared length exceeds the configured bound.
type errMessageTooLarge struct {
	typ  byte
	size int
	max  int
}

func (e *errMessageTooLarge) Error() string {
	return fmt.Sprintf("message %q of %d bytes exceeds max_message_bytes (%d)", e.typ, e.size, e.max)
}

// errBadLength is returned for a message whose length field is impossible.
var errBadLength = errors.New("invalid message length")

// msgReader frames protocol messages read from a stream. It keeps one buffer
// that grows to hold a large message (up to max) and shrinks back afterwards,
// so an idle connection holds only the initial buffer. It is owned by one
// goroutine.
type msgReader struct {
	rd      io.Reader
	buf     []byte // buffered, unconsumed bytes are buf[r:w]
	r, w    int
	initial int
	max     int // largest accepted body length
}

func newMsgReader(rd io.Reader, initial, max int) *msgReader {
	return &msgReader{rd: rd, buf: make([]byte, initial), initial: initial, max: max}
}

// next returns the next message's type and body. The body aliases the
// reader's buffer and is valid only until the next call.
func (m *msgReader) next() (typ byte, body []byte, err error) {
	if err := m.fill(5); err != nil {
		return 0, nil, err
	}
	typ = m.buf[m.r]
	n := int(int32(binary.BigEndian.Uint32(m.buf[m.r+1:])))
	if n < 4 {
		return typ, nil, errBadLength
	}
	if n-4 > m.max {
		return typ, nil, &errMessageTooLarge{typ: typ, size: n - 4, max: m.max}
	}
	if err := m.fill(1 + n); err != nil {
		return typ, nil, err
	}
	body = m.buf[m.r+5 : m.r+1+n]
	m.r += 1 + n
	return typ, body, nil
}

// The client reader's buffer sizes: during the startup phase, and for the
// session's messages (it grows for a larger message, and shrinks back).
const (
	startupReadBuffer = 256
	sessionReadBuffer = 4096
)

// resize gives the reader a buffer of initial bytes (more if it holds
// more), keeping what it buffered.
func (m *msgReader) resize(initial int) {
	nb := make([]byte, max(initial, m.w-m.r))
	m.w = copy(nb, m.buf[m.r:m.w])
	m.r, m.buf, m.initial = 0, nb, initial
}

// startupPacket returns the body of the next startup packet (everything
// after its length word; startup packets have no type byte). The body
// aliases the reader's buffer and is valid only until the next call.
func (m *msgReader) startupPacket() ([]byte, error) {
	if err := m.fill(4); err != nil {
		return nil, err
	}
	n := int(int32(binary.BigEndian.Uint32(m.buf[m.r:])))
	if n < 8 || n > maxStartupPacket {
		return nil, newFatal(CodeProtocolViolation, "invalid length of startup packet")
	}
	if err := m.fill(n); err != nil {
		return nil, err
	}
	body := m.buf[m.r+4 : m.r+n]
	m.r += n
	return body, nil
}

// hasMessage reports whether a complete message is already buffered, so
// that next returns without reading.
func (m *msgReader) hasMessage() bool {
	if m.w-m.r < 5 {
		return false
	}
	n := int(int32(binary.BigEndian.Uint32(m.buf[m.r+1:])))
	return n >= 4 && m.w-m.r >= 1+n
}

// buffered returns the number of buffered bytes not yet returned.
func (m *msgReader) buffered() int { return m.w - m.r }

// fill makes at least n bytes available at buf[r:].
func (m *msgReader) fill(n int) error {
	if m.w-m.r >= n {
		return nil
	}
	if m.r == m.w {
		m.r, m.w = 0, 0
		// Give back a buffer grown for one large message once it is
		// consumed.
		if len(m.buf) > m.initial && n <= m.initial {
			m.buf = make([]byte, m.initial)
		}
	}
	if len(m.buf)-m.r < n {
		if n > len(m.buf) {
			size := len(m.buf) * 2
			for size < n {
				size *= 2
			}
			nb := make([]byte, size)
			m.w = copy(nb, m.buf[m.r:m.w])
			m.buf = nb
		} else {
			m.w = copy(m.buf, m.buf[m.r:m.w])
		}
		m.r = 0
	}
	for m.w-m.r < n {
		k, err := m.rd.Read(m.buf[m.w:])
		m.w += k
		if err != nil {
			if m.w-m.r >= n {
				return nil
			}
			if errors.Is(err, io.EOF) && m.w > m.r {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// appendMsg appends a message with the given type and body to dst.
func appendMsg(dst []byte, typ byte, body []byte) []byte {
	dst = append(dst, typ, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(dst[len(dst)-4:], uint32(len(body)+4))
	return append(dst, body...)
}

// beginMsg appends a message header with a length placeholder and returns
// the offset to pass to finishMsg.
func beginMsg(dst []byte, typ byte) ([]byte, int) {
	at := len(dst)
	return append(dst, typ, 0, 0, 0, 0), at
}

// finishMsg fills in the length of the message begun at offset at.
func finishMsg(dst []byte, at int) []byte {
	binary.BigEndian.PutUint32(dst[at+1:], uint32(len(dst)-at-1))
	return dst
}

func appendCString(dst []byte, s string) []byte { return append(append(dst, s...), 0) }

func appendInt32(dst []byte, v int32) []byte {
	return binary.BigEndian.AppendUint32(dst, uint32(v))
}

func appendInt16(dst []byte, v int16) []byte {
	return binary.BigEndian.AppendUint16(dst, uint16(v))
}

func appendReadyForQuery(dst []byte, status byte) []byte {
	return append(dst, msgReadyForQuery, 0, 0, 0, 5, status)
}

func appendParameterStatus(dst []byte, name, value string) []byte {
	dst, at := beginMsg(dst, msgParameterStatus)
	dst = appendCString(dst, name)
	dst = appendCString(dst, value)
	return finishMsg(dst, at)
}

func appendBackendKeyData(dst []byte, pid, secret uint32) []byte {
	dst = append(dst, msgBackendKeyData, 0, 0, 0, 12)
	dst = binary.BigEndian.AppendUint32(dst, pid)
	return binary.BigEndian.AppendUint32(dst, secret)
}

func appendAuth(dst []byte, code int32, data []byte) []byte {
	dst, at := beginMsg(dst, msgAuthentication)
	dst = appendInt32(dst, code)
	dst = append(dst, data...)
	return finishMsg(dst, at)
}

// Authentication request codes.
const (
	authOK                = 0
	authCleartextPassword = 3
	authMD5Password       = 5
	authSASL              = 10
	authSASLContinue      = 11
	authSASLFinal         = 12
)

// readCString reads a NUL-terminated string at the start of b and returns it
// and the rest.
func readCString(b []byte) (string, []byte, bool) {
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), b[i+1:], true
		}
	}
	return "", nil, false
}

// extGroup is a buffered extended-protocol group that a cached result can
// answer whole: [Bind of the unnamed portal and statement,] [Describe
// portal ""], Execute "" with no row limit, Sync. bind is the Bind's body
// after its two names, non-nil exactly when the group starts with that
// Bind (behind a Parse); n is how many messages the group holds.
type extGroup struct {
	describe bool
	bind     []byte
	n        int
}

// peekGroup reports whether the messages buffered right after a Bind of
// the unnamed portal are exactly [Describe portal ""], Execute "" with no
// row limit, Sync — the group a cached extended-protocol result answers.
// Nothing is consumed.
func (m *msgReader) peekGroup() (extGroup, bool) {
	return m.peekGroupAt(m.r, false)
}

// peekBindGroup is peekGroup for the messages buffered right after a Parse
// of the unnamed statement: they must start with a Bind of the unnamed
// portal to the unnamed statement. The Bind's body stays in the reader's
// buffer, valid until the next read.
func (m *msgReader) peekBindGroup() (extGroup, bool) {
	return m.peekGroupAt(m.r, true)
}

func (m *msgReader) peekGroupAt(p int, bind bool) (g extGroup, ok bool) {
	next := func() (byte, []byte, bool) {
		if m.w-p < 5 {
			return 0, nil, false
		}
		n := int(int32(binary.BigEndian.Uint32(m.buf[p+1:])))
		if n < 4 || m.w-p < 1+n {
			return 0, nil, false
		}
		typ, body := m.buf[p], m.buf[p+5:p+1+n]
		p += 1 + n
		g.n++
		return typ, body, true
	}
	typ, body, ok := next()
	if !ok {
		return extGroup{}, false
	}
	if bind {
		// Both names empty: two zero bytes.
		if typ != msgBind || len(body) < 2 || body[0] != 0 || body[1] != 0 {
			return extGroup{}, false
		}
		g.bind = body[2:]
		if typ, body, ok = next(); !ok {
			return extGroup{}, false
		}
	}
	if typ == msgDescribe {
		if len(body) != 2 || body[0] != 'P' || body[1] != 0 {
			return extGroup{}, false
		}
		g.describe = true
		if typ, body, ok = next(); !ok {
			return extGroup{}, false
		}
	}
	if typ != msgExecute || len(body) != 5 || body[0] != 0 || binary.BigEndian.Uint32(body[1:]) != 0 {
		return extGroup{}, false
	}
	if typ, body, ok = next(); !ok || typ != msgSync || len(body) != 0 {
		return extGroup{}, false
	}
	return g, true
}

// skipGroup consumes the group a peek found.
func (m *msgReader) skipGroup(g extGroup) {
	for range g.n {
		l := int(binary.BigEndian.Uint32(m.buf[m.r+1:]))
		m.r += 1 + l
	}
}
