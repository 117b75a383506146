// Package pgcluster finds the PostgreSQL server binaries on this machine and
// runs a private PostgreSQL cluster with them: initdb into a directory, start
// a postmaster on a unix socket and a loopback TCP port, stop it.
//
// It serves two callers: the test harness ([github.com/pgwarp/pgwarp/internal/pgtest]),
// which starts one throwaway cluster per test binary, and `pgwarp dev`, which
// keeps a cluster under .pgwarp/dev between runs.
//
// initdb and postgres refuse to run as root. When the calling process is root,
// the cluster's files are owned by, and its processes run as, an unprivileged
// account (by default "postgres", which the Debian packages create). For a
// normal user nothing changes: the cluster runs as that user.
//
// This package is not for production clusters: it turns off fsync on request
// and trusts local connections.
package pgcluster
