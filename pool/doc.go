// Package pool keeps upstream PostgreSQL connections for pgwarp: one
// [Pool] per (database, upstream user), built on github.com/jackc/puddle/v2.
//
// A [Backend] is an upstream connection that was dialled and authenticated
// with pgconn and then hijacked: from then on it is a raw net.Conn that the
// proxy drives with the protocol directly. A [Lease] hands a Backend to one
// session at a time. The holder of a lease either releases it (the backend
// is idle, outside any transaction, and clean) or destroys it; a backend is
// never handed on dirty.
//
// The pool also remembers, per backend, what the proxy set up on it (the
// prepared statements of [StatementSet], the session settings), so that the
// next session can reuse or undo them. It does not read the global
// configuration and does not parse SQL: the proxy decides what is clean.
package pool
