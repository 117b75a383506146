package proxy_test

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgwarp/pgwarp/proxy"
)

// BenchmarkCacheHit measures a cache hit through pgwarp, in process, in
// each protocol: the dashboard point query of one artifact, answered from
// the cache. The client writes pre-encoded messages and reads the reply
// into a reused buffer, so allocs/op and B/op are pgwarp's own.
func BenchmarkCacheHit(b *testing.B) {
	db := dashboardDB(b)
	p, _ := startCached(b, db, cacheSetup{mode: proxy.PoolTransaction})
	const sql = "SELECT sum(units) FROM sales_measurement_dataset WHERE artifact_identifier = $1 AND day >= date '2026-01-10'"
	const simple = "SELECT sum(units) FROM sales_measurement_dataset WHERE artifact_identifier = 'a7' AND day >= date '2026-01-10'"
	warmConn := connect(b, p, db)
	warm(b, p, warmConn, simple, pgx.QueryExecModeSimpleProtocol)
	warm(b, p, warmConn, sql, pgx.QueryExecModeExec, "a7")

	encode := func(msgs ...pgproto3.FrontendMessage) []byte {
		var out []byte
		for _, m := range msgs {
			var err error
			if out, err = m.Encode(out); err != nil {
				b.Fatal(err)
			}
		}
		return out
	}
	bind := &pgproto3.Bind{PreparedStatement: "dash", ParameterFormatCodes: []int16{0}, Parameters: [][]byte{[]byte("a7")}, ResultFormatCodes: []int16{1}}
	unnamedBind := *bind
	unnamedBind.PreparedStatement = ""
	for _, bc := range []struct {
		name    string
		prepare []byte
		request []byte
	}{
		{"simple", nil, encode(&pgproto3.Query{String: simple})},
		{"extended", nil, encode(&pgproto3.Parse{Query: sql, ParameterOIDs: []uint32{25}}, &unnamedBind,
			&pgproto3.Describe{ObjectType: 'P'}, &pgproto3.Execute{}, &pgproto3.Sync{})},
		{"prepared", encode(&pgproto3.Parse{Name: "dash", Query: sql, ParameterOIDs: []uint32{25}}, &pgproto3.Sync{}),
			encode(bind, &pgproto3.Execute{}, &pgproto3.Sync{})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := benchDial(b, p.Addr(), db)
			if bc.prepare != nil {
				c.roundTrip(b, bc.prepare)
			}
			c.roundTrip(b, bc.request) // a miss for the prepared statement's own key
			hits := p.Server.CacheOutcomes()["hit"]
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				c.roundTrip(b, bc.request)
			}
			b.StopTimer()
			if got := p.Server.CacheOutcomes()["hit"] - hits; got < int64(b.N) {
				b.Fatalf("%d of %d requests were cache hits", got, b.N)
			}
		})
	}
}

// benchConn is a client connection that allocates nothing per round trip.
type benchConn struct {
	conn net.Conn
	r    *bufio.Reader
	buf  []byte
}

func benchDial(b *testing.B, addr, db string) *benchConn {
	b.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	c := &benchConn{conn: conn, r: bufio.NewReaderSize(conn, 64<<10), buf: make([]byte, 64<<10)}
	c.roundTrip(b, startupPacket(3, 0, "user", "postgres", "database", db))
	return c
}

// roundTrip writes req and reads messages up to ReadyForQuery, failing on
// an ErrorResponse.
func (c *benchConn) roundTrip(b *testing.B, req []byte) {
	if _, err := c.conn.Write(req); err != nil {
		b.Fatal(err)
	}
	for {
		if _, err := io.ReadFull(c.r, c.buf[:5]); err != nil {
			b.Fatal(err)
		}
		typ, n := c.buf[0], int(binary.BigEndian.Uint32(c.buf[1:5]))-4
		if n < 0 || n > len(c.buf) {
			b.Fatalf("message %q of %d bytes", typ, n)
		}
		if _, err := io.ReadFull(c.r, c.buf[:n]); err != nil {
			b.Fatal(err)
		}
		switch typ {
		case 'E':
			b.Fatalf("error from pgwarp: %q", c.buf[:n])
		case 'Z':
			return
		}
	}
}
