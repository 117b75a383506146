package proxy

import (
	"bytes"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/pgwarp/pgwarp/internal/intern"
)

// Fuzz targets for the decoders of untrusted client bytes. The seed corpus
// lives in testdata/fuzz/<FuzzName>/; `make fuzz` runs each target briefly.

// FuzzStartupPacket checks that parseStartupPacket never panics on the body
// of a startup packet (everything after the length word), and that whatever
// it accepts encodes back to the same bytes.
func FuzzStartupPacket(f *testing.F) {
	for _, seed := range [][]byte{
		encodeStartupPacket(3, 0, "user", "app", "database", "app")[4:],
		encodeStartupPacket(3, 2, "user", "app", "_pq_.test", "1")[4:],
		encodeStartupPacket(3, 0, "user", "app", "options", `-c search_path=a\ b --work-mem=4MB`)[4:],
		encodeStartupPacket(3, 0)[4:],
		encodeStartupPacket(2, 0, "user", "app")[4:],
		encodeStartupPacket(1234, 5679)[4:], // SSLRequest
		encodeStartupPacket(1234, 5680)[4:], // GSSENCRequest
		binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, codeCancelRequest<<32|42), 7),
		append(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, codeCancelRequest), 42), bytes.Repeat([]byte{9}, 32)...),
		{0, 3, 0, 0, 'u', 's', 'e', 'r', 0},                 // no terminator
		{0, 3, 0, 0, 'u', 's', 'e', 'r', 0, 'x', 0, 0, 0},   // bytes after the terminator
		{0, 3, 0, 0, 'u', 's', 'e', 'r', 0, 'x', 0, 0, 'y'}, // ditto
		{0, 3},
		{},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		p, err := parseStartupPacket(body)
		if !bytes.Equal(body, orig) {
			t.Fatal("parseStartupPacket modified its input")
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !e.Fatal() || e.Code != CodeProtocolViolation {
				t.Fatalf("rejection is not a FATAL 08P01 *Error: %#v", err)
			}
			if p != nil {
				t.Fatal("a packet returned together with an error")
			}
			return
		}
		var re []byte
		switch p.kind {
		case startupKindSSL:
			re = binary.BigEndian.AppendUint32(nil, codeSSLRequest)
		case startupKindGSSENC:
			re = binary.BigEndian.AppendUint32(nil, codeGSSENCRequest)
		case startupKindCancel:
			if len(p.cancelSecret) < 4 || len(p.cancelSecret) > 256 {
				t.Fatalf("cancel secret of %d bytes accepted", len(p.cancelSecret))
			}
			re = binary.BigEndian.AppendUint32(nil, codeCancelRequest)
			re = binary.BigEndian.AppendUint32(re, p.cancelPID)
			re = append(re, p.cancelSecret...)
			// The secret must be a copy: the read buffer is reused.
			if len(body) > 8 {
				body[8] ^= 0xff
				if p.cancelSecret[0] != orig[8] {
					t.Fatal("cancel secret aliases the input")
				}
				body[8] ^= 0xff
			}
		case startupKindMessage:
			if p.major != protocolMajor3 {
				// Only the version is decoded; the caller rejects it.
				if len(p.params) != 0 {
					t.Fatalf("parameters decoded for protocol %d.%d", p.major, p.minor)
				}
				re = binary.BigEndian.AppendUint32(nil, uint32(p.major)<<16|uint32(p.minor))
				if !bytes.Equal(re, body[:4]) {
					t.Fatalf("version %d.%d does not encode back to % x", p.major, p.minor, body[:4])
				}
				return
			}
			kv := make([]string, 0, 2*len(p.params))
			for _, prm := range p.params {
				if prm.name == "" || strings.IndexByte(prm.name, 0) >= 0 || strings.IndexByte(prm.value, 0) >= 0 {
					t.Fatalf("impossible parameter %q=%q", prm.name, prm.value)
				}
				kv = append(kv, prm.name, prm.value)
			}
			full := encodeStartupPacket(p.major, p.minor, kv...)
			if got := int(binary.BigEndian.Uint32(full)); got != len(full) {
				t.Fatalf("encoded length word %d for %d bytes", got, len(full))
			}
			re = full[4:]
			again, err := parseStartupPacket(re)
			if err != nil {
				t.Fatalf("re-encoded packet rejected: %v", err)
			}
			if len(again.params) != len(p.params) {
				t.Fatalf("re-encoded packet has %d parameters, want %d", len(again.params), len(p.params))
			}
			for i := range p.params {
				if again.params[i] != p.params[i] {
					t.Fatalf("parameter %d: %q after re-encoding, %q before", i, again.params[i], p.params[i])
				}
			}
			for _, o := range p.protocolOptions() {
				if !strings.HasPrefix(o, "_pq_.") {
					t.Fatalf("protocol option %q", o)
				}
			}
		default:
			t.Fatalf("unknown kind %v", p.kind)
		}
		if !bytes.Equal(re, body) {
			t.Fatalf("%v re-encodes as\n% x\nnot\n% x", p.kind, re, body)
		}
	})
}

// chunkReader returns its data in chunks whose sizes come from a script,
// to exercise every way a message can be split across reads.
type chunkReader struct {
	data  []byte
	sizes []byte
	reads int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	c.reads++
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.sizes) > 0 {
		n = int(c.sizes[0]%32) + 1
		c.sizes = c.sizes[1:]
	}
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// FuzzMsgReader runs msgReader over arbitrary bytes, delivered in arbitrary
// chunks, with a small initial buffer and a small maximum: it never panics,
// never returns a body longer than the maximum, returns exactly the framed
// messages of the input, reports hasMessage truthfully and terminates.
func FuzzMsgReader(f *testing.F) {
	q := appendMsg(nil, msgQuery, []byte("SELECT 1\x00"))
	pipeline := appendParse(nil, "s1", "SELECT $1::int", []uint32{23})
	pipeline = appendBind(pipeline, "", "s1", []byte{0, 0, 0, 1, 0, 0, 0, 1, '7', 0, 0})
	pipeline = appendMsg(pipeline, msgExecute, []byte{0, 0, 0, 0, 0})
	pipeline = appendMsg(pipeline, msgSync, nil)
	// The unnamed statement parsed, bound, described and run in one go.
	unnamed := appendParse(nil, "", "SELECT $1::int", nil)
	unnamed = appendBind(unnamed, "", "", []byte{0, 1, 0, 0, 0, 2, 0, 0, 0, 1, '7', 0xff, 0xff, 0xff, 0xff, 0, 1, 0, 1})
	unnamed = appendTarget(unnamed, msgDescribe, 'P', "")
	unnamed = appendMsg(unnamed, msgExecute, []byte{0, 0, 0, 0, 0})
	unnamed = appendMsg(unnamed, msgSync, nil)
	for _, seed := range []struct {
		data    []byte
		chunks  []byte
		initial uint8
		max     uint16
	}{
		{q, nil, 16, 64},
		{q, []byte{0, 0, 0, 0, 0, 0}, 1, 64},
		{pipeline, []byte{3, 7, 1, 31}, 4, 128},
		{unnamed, nil, 64, 256},
		{unnamed, []byte{30, 5, 40}, 8, 256},
		{appendMsg(nil, msgCopyData, bytes.Repeat([]byte("x"), 300)), []byte{31, 31}, 8, 256}, // too large
		{appendMsg(nil, msgCopyData, bytes.Repeat([]byte("x"), 256)), nil, 8, 256},            // exactly max
		{[]byte{'Q', 0, 0, 0, 3}, nil, 8, 64},                                                 // impossible length
		{[]byte{'Q', 0xff, 0xff, 0xff, 0xff}, nil, 8, 64},                                     // negative length
		{[]byte{'Q', 0, 0, 0, 9, 'a'}, nil, 8, 64},                                            // truncated
		{[]byte{msgSync, 0, 0, 0, 4, msgSync, 0, 0}, nil, 2, 0},
		{nil, nil, 5, 5},
	} {
		f.Add(seed.data, seed.chunks, seed.initial, seed.max)
	}
	f.Fuzz(func(t *testing.T, data, chunks []byte, initial uint8, maxBody uint16) {
		init := int(initial%64) + 1
		maxLen := int(maxBody % 1024)
		src := &chunkReader{data: bytes.Clone(data), sizes: chunks}
		m := newMsgReader(src, init, maxLen)
		var framed []byte
		for i := 0; ; i++ {
			if i > len(data) {
				t.Fatalf("%d messages from %d bytes: the reader does not terminate", i, len(data))
			}
			had := m.hasMessage()
			reads := src.reads
			typ, body, err := m.next()
			var tl *errMessageTooLarge
			if had && (src.reads != reads || (err != nil && !errors.As(err, &tl))) {
				t.Fatalf("hasMessage reported a buffered message, but next read again (%d reads) or failed (%v)", src.reads-reads, err)
			}
			if err != nil {
				switch {
				case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, errBadLength):
				case errors.As(err, &tl):
					if tl.size <= tl.max || tl.max != maxLen {
						t.Fatalf("too large reported for %d bytes with max %d", tl.size, tl.max)
					}
				default:
					t.Fatalf("unexpected error %v", err)
				}
				if errors.Is(err, io.EOF) && len(framed) != len(data) {
					t.Fatalf("clean EOF after %d of %d bytes", len(framed), len(data))
				}
				break
			}
			if len(body) > maxLen {
				t.Fatalf("body of %d bytes returned with max %d", len(body), maxLen)
			}
			framed = appendMsg(framed, typ, body)
			if !bytes.HasPrefix(data, framed) {
				t.Fatalf("the messages returned are not the input's:\n% x\n% x", framed, data)
			}
			// The cache's look-ahead at a Bind group stays within
			// what is buffered, and skipping the group it found
			// lands on a message boundary of the input.
			for _, bind := range []bool{false, true} {
				g, ok := m.peekGroupAt(m.r, bind)
				if !ok {
					continue
				}
				if g.n < 2 || g.n > 4 || (bind && g.bind == nil) || (g.describe && g.n < 3) {
					t.Fatalf("group %+v (bind %v)", g, bind)
				}
				peek := *m
				peek.skipGroup(g)
				if peek.r > peek.w || peek.buf[peek.r-5] != msgSync {
					t.Fatalf("skipping group %+v ends at %d of %d", g, peek.r, peek.w)
				}
			}
			if m.buffered() != len(data)-len(framed)-len(src.data) {
				t.Fatalf("buffered() = %d, want %d", m.buffered(), len(data)-len(framed)-len(src.data))
			}
		}
		if len(m.buf) > max(init, 2*(maxLen+5)) {
			t.Fatalf("reader buffer grew to %d bytes for max %d", len(m.buf), maxLen)
		}
	})
}

// FuzzStartupFraming runs msgReader's startup-packet framing over arbitrary
// bytes in arbitrary chunks: it never panics, returns exactly the packets of
// the input, rejects an impossible length as FATAL 08P01, accounts for what
// it buffered and never grows beyond the largest startup packet.
func FuzzStartupFraming(f *testing.F) {
	ssl := encodeStartupPacket(1234, 5679)
	start := encodeStartupPacket(3, 0, "user", "app", "database", "app")
	for _, seed := range []struct{ data, chunks []byte }{
		{append(bytes.Clone(ssl), start...), nil},
		{append(bytes.Clone(ssl), start...), []byte{1, 2, 3, 5, 8}},
		{append(bytes.Clone(start), 'Q', 0, 0, 0, 5, 0), []byte{40}},
		{[]byte{0, 0, 0, 7, 1, 2, 3}, nil},          // shorter than any packet
		{[]byte{0, 0, 0x27, 0x11}, nil},             // longer than 10000
		{[]byte{0, 0, 0, 16, 0, 3, 0, 0, 'u'}, nil}, // truncated
		{nil, nil},
	} {
		f.Add(seed.data, seed.chunks)
	}
	f.Fuzz(func(t *testing.T, data, chunks []byte) {
		src := &chunkReader{data: bytes.Clone(data), sizes: chunks}
		m := newMsgReader(src, startupReadBuffer, 1<<20)
		var framed []byte
		for i := 0; ; i++ {
			if i > len(data) {
				t.Fatalf("%d packets from %d bytes: the reader does not terminate", i, len(data))
			}
			if i == 1 {
				// As the session does after the login: the bytes
				// already read must survive.
				m.resize(sessionReadBuffer)
			}
			body, err := m.startupPacket()
			if err != nil {
				var e *Error
				switch {
				case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
				case errors.As(err, &e) && e.Fatal() && e.Code == CodeProtocolViolation:
				default:
					t.Fatalf("unexpected error %v", err)
				}
				if errors.Is(err, io.EOF) && len(framed) != len(data) {
					t.Fatalf("clean EOF after %d of %d bytes", len(framed), len(data))
				}
				break
			}
			if len(body) < 4 || len(body)+4 > maxStartupPacket {
				t.Fatalf("body of %d bytes accepted", len(body))
			}
			framed = binary.BigEndian.AppendUint32(framed, uint32(len(body)+4))
			framed = append(framed, body...)
			if !bytes.HasPrefix(data, framed) {
				t.Fatalf("the packets returned are not the input's:\n% x\n% x", framed, data)
			}
			if m.buffered() != len(data)-len(framed)-len(src.data) {
				t.Fatalf("buffered() = %d, want %d", m.buffered(), len(data)-len(framed)-len(src.data))
			}
		}
		if len(m.buf) > 4*maxStartupPacket {
			t.Fatalf("reader buffer grew to %d bytes", len(m.buf))
		}
	})
}

// FuzzClientMessages feeds one body to each client-message decoder pgwarp
// uses to rename prepared statements: none panics, and whatever they accept
// encodes back to the same bytes.
func FuzzClientMessages(f *testing.F) {
	for _, seed := range [][]byte{
		appendParse(nil, "stmt_1", "SELECT $1::int, $2", []uint32{23, 25})[5:],
		appendParse(nil, "", "SELECT 1", nil)[5:],
		appendParse(nil, "lazy", "SELECT $1", []uint32{0})[5:],
		appendBind(nil, "", "stmt_1", []byte{0, 1, 0, 1, 0, 1, 0, 0, 0, 4, 0, 0, 0, 7, 0, 1, 0, 1})[5:],
		appendBind(nil, "portal", "", []byte{0, 0, 0, 0, 0, 0})[5:],
		appendTarget(nil, msgDescribe, 'S', "stmt_1")[5:],
		appendTarget(nil, msgClose, 'P', "")[5:],
		{0, 3, 0, 0, 0, 23, 0, 0, 0, 25, 0, 0, 0, 0},
		{'S'},
		{'X', 'a', 0},
		{'s', 0, 'q', 0, 0xff, 0xff},
		{0, 0, 0, 1},
		{},
	} {
		f.Add(seed)
	}
	// A small table, so that texts collide in it.
	texts := intern.New(4, 64)
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		if m, err := decodeParse(body, texts); err == nil {
			if n := len(m.types); n > 0x7fff {
				t.Fatalf("%d parameter types from an Int16 count", n)
			}
			re := appendParse(nil, m.name, m.query, m.types)
			if re[0] != msgParse || int(binary.BigEndian.Uint32(re[1:])) != len(re)-1 || !bytes.Equal(re[5:], body) {
				t.Fatalf("Parse %+v re-encodes as % x, not % x", m, re[5:], body)
			}
			again, err := decodeParse(re[5:], texts)
			if err != nil || again.name != m.name || again.query != m.query || len(again.types) != len(m.types) {
				t.Fatalf("re-encoded Parse decodes as %+v, %v", again, err)
			}
		}
		if portal, stmt, rest, err := decodeBindNames(body); err == nil {
			re := appendBind(nil, portal, stmt, rest)
			if !bytes.Equal(re[5:], body) || int(binary.BigEndian.Uint32(re[1:])) != len(re)-1 {
				t.Fatalf("Bind %q %q re-encodes as % x, not % x", portal, stmt, re[5:], body)
			}
			var a bindArgs
			if readBind(rest, &a) {
				// What the cache reads of a Bind is the whole Bind.
				again := binary.BigEndian.AppendUint16(nil, uint16(len(a.formats)/2))
				again = append(again, a.formats...)
				again = binary.BigEndian.AppendUint16(again, uint16(len(a.values)))
				for _, v := range a.values {
					if v == nil {
						again = binary.BigEndian.AppendUint32(again, 0xffffffff)
						continue
					}
					again = binary.BigEndian.AppendUint32(again, uint32(len(v)))
					again = append(again, v...)
				}
				again = binary.BigEndian.AppendUint16(again, uint16(len(a.results)/2))
				again = append(again, a.results...)
				if !bytes.Equal(again, rest) {
					t.Fatalf("Bind arguments %+v re-encode as % x, not % x", a, again, rest)
				}
				for i := range a.values {
					if f := a.format(i); len(a.formats) == 0 && f != 0 {
						t.Fatalf("format %d of parameter %d without format codes", f, i)
					}
				}
			}
		}
		if kind, name, err := decodeTarget(body); err == nil {
			if kind != 'S' && kind != 'P' {
				t.Fatalf("target kind %q accepted", kind)
			}
			re := appendTarget(nil, msgDescribe, kind, name)
			if !bytes.Equal(re[5:], body) {
				t.Fatalf("target %c %q re-encodes as % x, not % x", kind, name, re[5:], body)
			}
		}
		if types, err := decodeParamDescription(body); err == nil {
			if 2+4*len(types) != len(body) {
				t.Fatalf("%d types from %d bytes", len(types), len(body))
			}
			re := binary.BigEndian.AppendUint16(nil, uint16(len(types)))
			for _, ty := range types {
				re = binary.BigEndian.AppendUint32(re, ty)
			}
			if !bytes.Equal(re, body) {
				t.Fatalf("ParameterDescription re-encodes as % x, not % x", re, body)
			}
		}
		if !bytes.Equal(body, orig) {
			t.Fatal("a decoder modified its input")
		}
	})
}

// Test SCRAM parameters: few iterations keep the fuzzer fast.
const (
	fuzzSCRAMPassword   = "correct horse"
	fuzzSCRAMIterations = 16
)

var fuzzSCRAMSalt = []byte("0123456789abcdef")

// scramProof computes the ClientProof a client knowing password sends for
// authMessage (RFC 5802 section 3).
func scramProof(password string, salt []byte, iterations int, authMessage []byte) []byte {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		panic(err)
	}
	clientKey := hmacSHA256(salted, []byte("Client Key"))
	stored := sha256.Sum256(clientKey)
	sig := hmacSHA256(stored[:], authMessage)
	proof := make([]byte, len(clientKey))
	for i := range proof {
		proof[i] = clientKey[i] ^ sig[i]
	}
	return proof
}

// FuzzSCRAM drives the server side of SCRAM-SHA-256 with arbitrary client
// messages. The first message is taken as is; the final one either as is
// (raw) or built around the server's nonce so that the proof check itself
// is reached. Nothing panics, a mock exchange (unknown user) never
// succeeds, and a real one succeeds only with the proof derived from the
// right password, answering with the matching server signature.
func FuzzSCRAM(f *testing.F) {
	f.Add("SCRAM-SHA-256", []byte("n,,n=,r=rOprNGfwEbeRWgbNEkqO"), []byte("c=biws,r=x,p=AAAA"), "", []byte(nil), "correct horse", false, false)
	f.Add("SCRAM-SHA-256", []byte("n,,n=,r=rOprNGfwEbeRWgbNEkqO"), []byte(nil), "", []byte(nil), "correct horse", false, false)
	f.Add("SCRAM-SHA-256", []byte("n,,n=user,r=abc"), []byte(nil), ",x=ext", []byte(nil), "wrong", false, false)
	f.Add("SCRAM-SHA-256", []byte("y,,n=,r=abc,ext=1"), []byte(nil), "", bytes.Repeat([]byte{1}, 32), "", true, false)
	f.Add("SCRAM-SHA-256", []byte("n,,n=,r=abc"), []byte(nil), "", []byte(nil), "correct horse", false, true)
	f.Add("SCRAM-SHA-256-PLUS", []byte("p=tls-server-end-point,,n=,r=abc"), []byte(nil), "", []byte(nil), "", false, false)
	f.Add("SCRAM-SHA-256", []byte("n,a=admin,n=,r=abc"), []byte(nil), "", []byte(nil), "", false, false)
	f.Add("SCRAM-SHA-256", []byte("n,,n=,r="), []byte(nil), "", []byte(nil), "", false, false)
	f.Add("SCRAM-SHA-256", []byte("n,,n=,r=a,b"), []byte("c=biws,r=a,p="), "", []byte(nil), "", true, false)
	f.Fuzz(func(t *testing.T, mech string, first, rawFinal []byte, extra string, proof []byte, password string, raw, mock bool) {
		v, err := deriveSCRAMVerifier(fuzzSCRAMPassword, fuzzSCRAMSalt, fuzzSCRAMIterations)
		if err != nil {
			t.Fatal(err)
		}
		x := &scramExchange{v: v}
		if mock {
			x.v, x.mock = mockSCRAMVerifier([]byte("server secret"), "nobody"), true
		}
		serverFirst, err := x.start(mech, first)
		if err != nil {
			return
		}
		sf := string(serverFirst)
		if !strings.HasPrefix(sf, "r=") || !strings.Contains(sf, ",s=") || !strings.Contains(sf, ",i=") {
			t.Fatalf("malformed server-first %q", sf)
		}
		final := rawFinal
		if !raw {
			// A well-formed client-final around the server's nonce; the
			// fuzzer picks the extensions, the proof and the password.
			if len(proof) == 0 {
				withoutProof := "c=" + base64.StdEncoding.EncodeToString([]byte(x.gs2Header)) + ",r=" + x.nonce + extra
				am := x.clientFirstBare + "," + x.serverFirst + "," + withoutProof
				proof = scramProof(password, fuzzSCRAMSalt, fuzzSCRAMIterations, []byte(am))
			}
			final = []byte("c=" + base64.StdEncoding.EncodeToString([]byte(x.gs2Header)) + ",r=" + x.nonce + extra +
				",p=" + base64.StdEncoding.EncodeToString(proof))
		}
		serverFinal, err := x.finish(final)
		if err != nil {
			var e *Error
			if !errors.Is(err, errBadPassword) && (!errors.As(err, &e) || !e.Fatal() || e.Code != CodeProtocolViolation) {
				t.Fatalf("finish failed with %#v, neither a bad password nor a protocol violation", err)
			}
			return
		}
		if mock {
			t.Fatalf("a mock exchange (unknown user) succeeded with %q", final)
		}
		msg := string(final)
		i := strings.LastIndex(msg, ",p=")
		withoutProof := msg[:i]
		got, derr := base64.StdEncoding.DecodeString(msg[i+3:])
		am := []byte(x.clientFirstBare + "," + x.serverFirst + "," + withoutProof)
		want := scramProof(fuzzSCRAMPassword, fuzzSCRAMSalt, fuzzSCRAMIterations, am)
		if derr != nil || !bytes.Equal(got, want) {
			t.Fatalf("SCRAM succeeded with a wrong proof: %q", final)
		}
		wantFinal := "v=" + base64.StdEncoding.EncodeToString(hmacSHA256(v.serverKey, am))
		if string(serverFinal) != wantFinal {
			t.Fatalf("server-final %q, want %q", serverFinal, wantFinal)
		}
	})
}

// TestSCRAMSucceedsWithTheRightPasswordOnly pins down the fuzz target's
// positive path: with the proof derived from the right password the
// exchange succeeds, with any other password it fails.
func TestSCRAMSucceedsWithTheRightPasswordOnly(t *testing.T) {
	v, err := deriveSCRAMVerifier(fuzzSCRAMPassword, fuzzSCRAMSalt, fuzzSCRAMIterations)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		password string
		ok       bool
	}{{fuzzSCRAMPassword, true}, {fuzzSCRAMPassword + " ", false}, {"", false}} {
		x := &scramExchange{v: v}
		if _, err := x.start(scramMechanism, []byte("n,,n=,r=clientnonce")); err != nil {
			t.Fatal(err)
		}
		withoutProof := "c=biws,r=" + x.nonce
		am := x.clientFirstBare + "," + x.serverFirst + "," + withoutProof
		proof := scramProof(tc.password, fuzzSCRAMSalt, fuzzSCRAMIterations, []byte(am))
		_, err := x.finish([]byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)))
		if (err == nil) != tc.ok {
			t.Errorf("password %q: finish error %v, want success %v", tc.password, err, tc.ok)
		}
		if err != nil && !errors.Is(err, errBadPassword) {
			t.Errorf("password %q: error %v, want errBadPassword", tc.password, err)
		}
	}
}
