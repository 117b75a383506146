package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// runCanned serves the PostgreSQL protocol with one fixed answer: trust
// login, and to every simple Query the same one-row result. It does no
// parsing, no lookup and no upstream work, so pgbench against it measures
// the floor of what any cache hit can cost on the machine: the loopback
// round trip and the scheduling of pgbench and a Go server on the same
// cores. It runs until SIGINT or SIGTERM.
func runCanned(args []string) error {
	fs := flag.NewFlagSet("canned", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:16440", "loopback address to serve on")
	_ = fs.Parse(args)
	if err := loopbackOnly(*listen); err != nil {
		return err
	}
	answer, err := cannedAnswer()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() { <-stop; _ = ln.Close() }()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go serveCanned(c, answer)
	}
}

// cannedAnswer is the reply to every Query: the shape of the dashboard
// point query's result (five columns, one row) and ReadyForQuery.
func cannedAnswer() ([]byte, error) {
	text := func(name string) pgproto3.FieldDescription {
		return pgproto3.FieldDescription{Name: []byte(name), DataTypeOID: 25, DataTypeSize: -1, TypeModifier: -1}
	}
	num := func(name string) pgproto3.FieldDescription {
		return pgproto3.FieldDescription{Name: []byte(name), DataTypeOID: 20, DataTypeSize: 8, TypeModifier: -1}
	}
	var b []byte
	var err error
	for _, m := range []pgproto3.BackendMessage{
		&pgproto3.RowDescription{Fields: []pgproto3.FieldDescription{text("artifact_identifier"), text("title"), num("units"), num("units_net"), num("days")}},
		&pgproto3.DataRow{Values: [][]byte{[]byte("ART-00000042"), []byte("Artifact 42"), []byte("3120"), []byte("2871"), []byte("30")}},
		&pgproto3.CommandComplete{CommandTag: []byte("SELECT 1")},
		&pgproto3.ReadyForQuery{TxStatus: 'I'},
	} {
		if b, err = m.Encode(b); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// serveCanned runs one client connection: SSL refused, any startup packet
// accepted, then the canned answer to every Query until Terminate.
func serveCanned(c net.Conn, answer []byte) {
	defer c.Close()
	_ = c.(*net.TCPConn).SetNoDelay(true)
	r := bufio.NewReaderSize(c, 8192)
	var hdr [8]byte
	for {
		_ = c.SetReadDeadline(time.Now().Add(time.Minute))
		if _, err := io.ReadFull(r, hdr[:4]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(hdr[:4]))
		if n < 8 || n > 10000 {
			return
		}
		body := make([]byte, n-4)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		if binary.BigEndian.Uint32(body[:4]) == 80877103 { // SSLRequest
			if _, err := c.Write([]byte{'N'}); err != nil {
				return
			}
			continue
		}
		break
	}
	var hello []byte
	for _, m := range []pgproto3.BackendMessage{
		&pgproto3.AuthenticationOk{},
		&pgproto3.ParameterStatus{Name: "server_version", Value: "15.0"},
		&pgproto3.ParameterStatus{Name: "client_encoding", Value: "UTF8"},
		&pgproto3.ParameterStatus{Name: "standard_conforming_strings", Value: "on"},
		&pgproto3.BackendKeyData{ProcessID: 1, SecretKey: []byte{0, 0, 0, 1}},
		&pgproto3.ReadyForQuery{TxStatus: 'I'},
	} {
		hello, _ = m.Encode(hello)
	}
	if _, err := c.Write(hello); err != nil {
		return
	}
	buf := make([]byte, 0, 8192)
	for {
		_ = c.SetReadDeadline(time.Time{})
		if _, err := io.ReadFull(r, hdr[:5]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(hdr[1:5]))
		if n < 4 || n > 1<<20 {
			return
		}
		buf = buf[:n-4]
		if _, err := io.ReadFull(r, buf); err != nil {
			return
		}
		switch hdr[0] {
		case 'Q':
			if _, err := c.Write(answer); err != nil {
				return
			}
		case 'X':
			return
		default:
			fmt.Fprintf(os.Stderr, "canned: message %q is not served\n", hdr[0])
			return
		}
	}
}
