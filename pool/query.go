package pool

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// Result is the outcome of [Backend.Query]: rows in text format and the
// command tags, one per statement.
type Result struct {
	Rows [][]*string
	Tags []string
}

// Query runs sql with the simple protocol on a backend nobody else is
// reading (pgwarp's own housekeeping: settings, resets, catalog loads) and
// waits for ReadyForQuery. ParameterStatus messages update Params. A server
// error is returned as *pgconn.PgError after the backend is idle again; any
// other error leaves the backend broken. ctx bounds the whole exchange.
func (b *Backend) Query(ctx context.Context, sql string) (*Result, error) {
	res := &Result{}
	err := b.exchange(ctx, sql, func(typ byte, body []byte) error {
		switch typ {
		case 'D':
			var dr pgproto3.DataRow
			if err := dr.Decode(body); err != nil {
				return err
			}
			row := make([]*string, len(dr.Values))
			for i, v := range dr.Values {
				if v != nil {
					s := string(v)
					row[i] = &s
				}
			}
			res.Rows = append(res.Rows, row)
		case 'C':
			var cc pgproto3.CommandComplete
			_ = cc.Decode(body)
			res.Tags = append(res.Tags, string(cc.CommandTag))
		}
		return nil
	})
	var pgErr *pgconn.PgError
	if err != nil && !errors.As(err, &pgErr) {
		return nil, err
	}
	return res, err
}

// exchange sends sql as a simple Query and reads until ReadyForQuery,
// doing what every housekeeping exchange does: it records ParameterStatus
// and the transaction status, keeps the first ErrorResponse to return once
// the backend is idle, and refuses a COPY. Every message before the
// ReadyForQuery also goes to each; an error from each, like any I/O
// error, leaves the backend broken.
func (b *Backend) exchange(ctx context.Context, sql string, each func(typ byte, body []byte) error) error {
	return b.exchangeMessages(ctx, queryMessage(sql), each)
}

// queryMessage returns sql as a simple Query message.
func queryMessage(sql string) []byte {
	msg := []byte{'Q', 0, 0, 0, 0}
	msg = append(append(msg, sql...), 0)
	binary.BigEndian.PutUint32(msg[1:], uint32(len(msg)-1))
	return msg
}

// exchangeMessages is exchange for out, complete frontend messages that
// end with the one Query or Sync the server answers with ReadyForQuery.
func (b *Backend) exchangeMessages(ctx context.Context, out []byte, each func(typ byte, body []byte) error) error {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(30 * time.Second)
	}
	_ = b.Conn.SetDeadline(dl)
	defer b.Conn.SetDeadline(time.Time{})
	if _, err := b.Conn.Write(out); err != nil {
		b.broken = true
		return err
	}
	var pgErr *pgconn.PgError
	for {
		typ, body, err := b.readMessage()
		if err != nil {
			b.broken = true
			return err
		}
		switch typ {
		case 'E':
			var er pgproto3.ErrorResponse
			_ = er.Decode(body)
			if pgErr == nil {
				pgErr = pgconn.ErrorResponseToPgError(&er)
			}
		case 'S':
			var ps pgproto3.ParameterStatus
			if err := ps.Decode(body); err == nil {
				b.Params[ps.Name] = ps.Value
			}
		case 'Z':
			if len(body) == 1 {
				b.TxStatus = body[0]
			}
			if pgErr != nil {
				return pgErr
			}
			return nil
		case 'G', 'H', 'W':
			b.broken = true
			return errors.New("pgwarp housekeeping query started a COPY")
		}
		if err := each(typ, body); err != nil {
			b.broken = true
			return err
		}
	}
}

// readMessage reads one whole message through ReadBuf, keeping what
// follows it buffered.
func (b *Backend) readMessage() (byte, []byte, error) {
	for {
		if b.Buffered >= 5 {
			n := int(int32(binary.BigEndian.Uint32(b.ReadBuf[1:])))
			if n < 4 {
				return 0, nil, fmt.Errorf("invalid message length %d", n)
			}
			if 1+n > len(b.ReadBuf) {
				if 1+n > 64<<20 {
					return 0, nil, fmt.Errorf("message of %d bytes", n)
				}
				nb := make([]byte, 1+n)
				copy(nb, b.ReadBuf[:b.Buffered])
				b.ReadBuf = nb
			}
			if b.Buffered >= 1+n {
				typ := b.ReadBuf[0]
				body := append([]byte(nil), b.ReadBuf[5:1+n]...)
				b.Buffered = copy(b.ReadBuf, b.ReadBuf[1+n:b.Buffered])
				if len(b.ReadBuf) > readBufSize && b.Buffered <= readBufSize {
					nb := make([]byte, readBufSize)
					b.Buffered = copy(nb, b.ReadBuf[:b.Buffered])
					b.ReadBuf = nb
				}
				return typ, body, nil
			}
		}
		k, err := b.Conn.Read(b.ReadBuf[b.Buffered:])
		b.Buffered += k
		if err != nil {
			return 0, nil, err
		}
	}
}

// RawExchange sends out, complete frontend messages that end with the one
// Query or Sync the server answers with ReadyForQuery (a simple Query, or
// an extended-protocol Parse, Bind, Execute, Sync), and hands every message
// the server sends before that ReadyForQuery, header included, to sink as
// it arrives (for results that must be kept byte for byte, such as a cache
// refresh). The slice is valid only during the call. A server error is
// returned as *pgconn.PgError once the backend is idle again.
func (b *Backend) RawExchange(ctx context.Context, out []byte, sink func(typ byte, msg []byte)) error {
	var msg []byte
	return b.exchangeMessages(ctx, out, func(typ byte, body []byte) error {
		msg = append(msg[:0], typ, 0, 0, 0, 0)
		binary.BigEndian.PutUint32(msg[1:], uint32(len(body)+4))
		sink(typ, append(msg, body...))
		return nil
	})
}
