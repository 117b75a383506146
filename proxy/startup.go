package proxy

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Request codes of the untyped packets a connection starts with
// (https://www.postgresql.org/docs/current/protocol-message-formats.html).
const (
	codeCancelRequest = 80877102
	codeSSLRequest    = 80877103
	codeGSSENCRequest = 80877104

	protocolMajor3 = 3
)

// maxStartupPacket is PostgreSQL's MAX_STARTUP_PACKET_LENGTH.
const maxStartupPacket = 10000

type startupKind uint8

const (
	startupKindMessage startupKind = iota
	startupKindSSL
	startupKindGSSENC
	startupKindCancel
)

func (k startupKind) String() string {
	switch k {
	case startupKindMessage:
		return "StartupMessage"
	case startupKindSSL:
		return "SSLRequest"
	case startupKindGSSENC:
		return "GSSENCRequest"
	case startupKindCancel:
		return "CancelRequest"
	}
	return fmt.Sprintf("startupKind(%d)", uint8(k))
}

// startupParam is one name/value pair of a StartupMessage, in the order the
// client sent it.
type startupParam struct{ name, value string }

// startupPacket is a decoded first packet of a connection.
type startupPacket struct {
	kind         startupKind
	major, minor uint16
	params       []startupParam
	cancelPID    uint32
	cancelSecret []byte
}

// param returns the value of a startup parameter (the last one wins, as in
// PostgreSQL).
func (p *startupPacket) param(name string) (string, bool) {
	v, ok := "", false
	for _, kv := range p.params {
		if kv.name == name {
			v, ok = kv.value, true
		}
	}
	return v, ok
}

// readStartupPacket reads one length-prefixed startup packet from rd. It
// reads what the client has sent, as PostgreSQL does, so the caller checks
// that nothing follows an SSLRequest or GSSENCRequest before the switch to
// TLS (CVE-2021-23214).
func readStartupPacket(rd *msgReader) (*startupPacket, error) {
	body, err := rd.startupPacket()
	if err != nil {
		return nil, err
	}
	return parseStartupPacket(body)
}

// parseStartupPacket decodes the body of a startup packet (everything after
// the length word). Errors are *Error values ready to send as FATAL.
func parseStartupPacket(b []byte) (*startupPacket, error) {
	if len(b) < 4 {
		return nil, newFatal(CodeProtocolViolation, "invalid length of startup packet")
	}
	code := binary.BigEndian.Uint32(b)
	rest := b[4:]
	switch code {
	case codeSSLRequest, codeGSSENCRequest:
		if len(rest) != 0 {
			return nil, newFatal(CodeProtocolViolation, "invalid length of startup packet")
		}
		if code == codeSSLRequest {
			return &startupPacket{kind: startupKindSSL}, nil
		}
		return &startupPacket{kind: startupKindGSSENC}, nil
	case codeCancelRequest:
		// Protocol 3.0 keys are 4 bytes; 3.2 allows up to 256.
		if len(rest) < 8 || len(rest) > 4+256 {
			return nil, newFatal(CodeProtocolViolation, "invalid length of cancel request packet")
		}
		return &startupPacket{
			kind:         startupKindCancel,
			cancelPID:    binary.BigEndian.Uint32(rest),
			cancelSecret: append([]byte(nil), rest[4:]...),
		}, nil
	}
	p := &startupPacket{kind: startupKindMessage, major: uint16(code >> 16), minor: uint16(code)}
	if p.major != protocolMajor3 {
		// Decoding the rest is pointless; the caller rejects the version.
		return p, nil
	}
	// Name/value pairs, each a C string, terminated by an empty name.
	for {
		if len(rest) == 0 {
			return nil, newFatal(CodeProtocolViolation, "invalid startup packet layout: expected terminator as last byte")
		}
		if rest[0] == 0 {
			if len(rest) != 1 {
				return nil, newFatal(CodeProtocolViolation, "invalid startup packet layout: expected terminator as last byte")
			}
			break
		}
		name, r, ok := readCString(rest)
		if !ok {
			return nil, newFatal(CodeProtocolViolation, "invalid startup packet layout: expected terminator as last byte")
		}
		value, r, ok := readCString(r)
		if !ok {
			return nil, newFatal(CodeProtocolViolation, "invalid startup packet layout: expected terminator as last byte")
		}
		p.params = append(p.params, startupParam{name, value})
		rest = r
	}
	return p, nil
}

// protocolOptions returns the _pq_.* protocol options the client asked for;
// pgwarp supports none of them, so all are reported back in
// NegotiateProtocolVersion, exactly as PostgreSQL does.
func (p *startupPacket) protocolOptions() []string {
	var opts []string
	for _, kv := range p.params {
		if strings.HasPrefix(kv.name, "_pq_.") {
			opts = append(opts, kv.name)
		}
	}
	return opts
}

// appendNegotiateProtocolVersion encodes NegotiateProtocolVersion: the
// newest minor version supported (0) and the unrecognised options.
func appendNegotiateProtocolVersion(dst []byte, opts []string) []byte {
	dst, at := beginMsg(dst, msgNegotiateProtocolV)
	dst = appendInt32(dst, 0)
	dst = appendInt32(dst, int32(len(opts)))
	for _, o := range opts {
		dst = appendCString(dst, o)
	}
	return finishMsg(dst, at)
}

// encodeStartupPacket encodes a StartupMessage; tests and the fuzz corpus
// use it.
func encodeStartupPacket(major, minor uint16, params ...string) []byte {
	b := []byte{0, 0, 0, 0}
	b = binary.BigEndian.AppendUint32(b, uint32(major)<<16|uint32(minor))
	for _, s := range params {
		b = appendCString(b, s)
	}
	b = append(b, 0)
	binary.BigEndian.PutUint32(b, uint32(len(b)))
	return b
}
