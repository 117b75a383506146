package proxy_test

import (
	"encoding/binary"
	"net"
)

type netConn = net.Conn

// authWatcher records whether the server asked the client for a password
// (an AuthenticationCleartextPassword, MD5Password or SASL request).
type authWatcher struct {
	net.Conn
	asked *bool
	buf   []byte
}

func (w *authWatcher) Read(p []byte) (int, error) {
	n, err := w.Conn.Read(p)
	w.buf = append(w.buf, p[:n]...)
	for len(w.buf) >= 5 {
		l := int(binary.BigEndian.Uint32(w.buf[1:]))
		if len(w.buf) < 1+l {
			break
		}
		if w.buf[0] == 'R' && l >= 8 {
			switch binary.BigEndian.Uint32(w.buf[5:]) {
			case 3, 5, 10:
				*w.asked = true
			}
		}
		w.buf = w.buf[1+l:]
	}
	return n, err
}
