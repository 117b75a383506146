package migrations_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgwarp/pgwarp/internal/pgcluster"
	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/migrations"
)

// testDB is a fresh database of the shared cluster.
type testDB struct {
	c    *pgcluster.Cluster
	name string
	url  string
}

func newTestDB(t *testing.T) testDB {
	t.Helper()
	c := pgtest.Shared(t)
	name := pgtest.CreateDatabase(t, c)
	return testDB{c: c, name: name, url: c.URL(c.Superuser(), name)}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// connect opens a connection to db that the test closes at its end.
func (db testDB) connect(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(testCtx(t), db.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// scalar runs a one-value query.
func scalar[T any](t *testing.T, conn *pgx.Conn, sql string, args ...any) T {
	t.Helper()
	var v T
	if err := conn.QueryRow(testCtx(t), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// syncBuffer is a log safe for the concurrent runners of a test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newRunner(t *testing.T, cfg migrations.Config) *migrations.Runner {
	t.Helper()
	r, err := migrations.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func appliedVersions(t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	rows, err := conn.Query(testCtx(t), "SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	v, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return v
}
