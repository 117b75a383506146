package pgtest_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgwarp/pgwarp/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestSharedClusterAnswersOverTCPAndSocket(t *testing.T) {
	c := pgtest.Shared(t)
	ctx := context.Background()
	for _, url := range []string{c.URL("postgres", "postgres"), c.SocketURL("postgres", "postgres")} {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		var n int
		if err := conn.QueryRow(ctx, "SELECT 41 + 1").Scan(&n); err != nil || n != 42 {
			t.Fatalf("got %d, %v", n, err)
		}
		conn.Close(ctx)
	}
}

func TestCreateRoleRequiresItsPasswordOverTCP(t *testing.T) {
	c := pgtest.Shared(t)
	ctx := context.Background()
	for _, method := range []string{"scram-sha-256", "md5", "password"} {
		name := "u_" + map[string]string{"scram-sha-256": "scram", "md5": "md5", "password": "plain"}[method]
		pgtest.CreateRole(t, c, name, "s3cret", method)
		bad := "postgres://" + name + ":wrong@127.0.0.1:" + strconv.Itoa(c.Port()) + "/postgres?sslmode=disable"
		if conn, err := pgx.Connect(ctx, bad); err == nil {
			conn.Close(ctx)
			t.Fatalf("%s: wrong password accepted", method)
		}
		good := "postgres://" + name + ":s3cret@127.0.0.1:" + strconv.Itoa(c.Port()) + "/postgres?sslmode=disable"
		conn, err := pgx.Connect(ctx, good)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		conn.Close(ctx)
	}
}
