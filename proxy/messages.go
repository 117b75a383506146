package proxy

import (
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/pgwarp/pgwarp/internal/intern"
)

// Decoders of the client messages pgwarp must understand to rename
// prepared statements. They are parsers of untrusted input: each returns an
// error for any malformed body and never panics (see the fuzz tests).

var errMalformed = errors.New("malformed message")

// parseMsg is a decoded Parse message.
type parseMsg struct {
	name  string
	query string
	types []uint32
}

func decodeParse(body []byte, texts *intern.Table) (parseMsg, error) {
	var m parseMsg
	var ok bool
	if m.name, body, ok = readCString(body); !ok {
		return m, errMalformed
	}
	i := bytes.IndexByte(body, 0)
	if i < 0 {
		return m, errMalformed
	}
	m.query, body = texts.Bytes(body[:i]), body[i+1:]
	if len(body) < 2 {
		return m, errMalformed
	}
	n := int(int16(binary.BigEndian.Uint16(body)))
	body = body[2:]
	if n < 0 || len(body) != 4*n {
		return m, errMalformed
	}
	if n > 0 {
		m.types = make([]uint32, n)
		for i := range m.types {
			m.types[i] = binary.BigEndian.Uint32(body[4*i:])
		}
	}
	return m, nil
}

// encodeParse encodes a Parse message.
func appendParse(dst []byte, name, query string, types []uint32) []byte {
	dst, at := beginMsg(dst, msgParse)
	dst = appendCString(dst, name)
	dst = appendCString(dst, query)
	dst = appendInt16(dst, int16(len(types)))
	for _, t := range types {
		dst = binary.BigEndian.AppendUint32(dst, t)
	}
	return finishMsg(dst, at)
}

// decodeBindNames splits a Bind body into its portal and statement names
// and the rest (parameters and formats), which pgwarp passes on untouched.
func decodeBindNames(body []byte) (portal, stmt string, rest []byte, err error) {
	var ok bool
	if portal, body, ok = readCString(body); !ok {
		return "", "", nil, errMalformed
	}
	if stmt, body, ok = readCString(body); !ok {
		return "", "", nil, errMalformed
	}
	return portal, stmt, body, nil
}

func appendBind(dst []byte, portal, stmt string, rest []byte) []byte {
	dst, at := beginMsg(dst, msgBind)
	dst = appendCString(dst, portal)
	dst = appendCString(dst, stmt)
	dst = append(dst, rest...)
	return finishMsg(dst, at)
}

// decodeTarget decodes the body of Describe or Close: 'S' or 'P' and a
// name.
func decodeTarget(body []byte) (kind byte, name string, err error) {
	if len(body) < 2 || (body[0] != 'S' && body[0] != 'P') {
		return 0, "", errMalformed
	}
	name, rest, ok := readCString(body[1:])
	if !ok || len(rest) != 0 {
		return 0, "", errMalformed
	}
	return body[0], name, nil
}

func appendTarget(dst []byte, typ, kind byte, name string) []byte {
	dst, at := beginMsg(dst, typ)
	dst = append(dst, kind)
	dst = appendCString(dst, name)
	return finishMsg(dst, at)
}

// decodeParamDescription decodes a ParameterDescription body.
func decodeParamDescription(body []byte) ([]uint32, error) {
	if len(body) < 2 {
		return nil, errMalformed
	}
	n := int(binary.BigEndian.Uint16(body))
	body = body[2:]
	if len(body) != 4*n {
		return nil, errMalformed
	}
	out := make([]uint32, n)
	for i := range out {
		out[i] = binary.BigEndian.Uint32(body[4*i:])
	}
	return out, nil
}
