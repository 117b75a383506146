package proxy_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/proxy"
	"github.com/pgwarp/pgwarp/proxy/proxytest"
)

// login connects and runs one query; it returns the SQLSTATE of a failure
// ("" on success).
func login(t *testing.T, url string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err == nil {
		defer conn.Close(ctx)
		var one int
		err = conn.QueryRow(ctx, "SELECT 1").Scan(&one)
	}
	if err == nil {
		return ""
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	t.Fatalf("login failed without a PostgreSQL error: %v", err)
	return ""
}

func mustUser(t *testing.T, name, password, verifier string) *proxy.User {
	t.Helper()
	u, err := proxy.NewUser(name, password, verifier)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestLocalAuthenticationMethods(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	verifier, err := proxy.SCRAMVerifier("from-verifier")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		method proxy.AuthMethod
		users  []*proxy.User
		user   string
		pass   string
		want   string
	}{
		{"scram right password", proxy.AuthSCRAM, []*proxy.User{mustUser(t, "app", "s3cret", "")}, "app", "s3cret", ""},
		{"scram wrong password", proxy.AuthSCRAM, []*proxy.User{mustUser(t, "app", "s3cret", "")}, "app", "nope", "28P01"},
		{"scram unknown user looks like a wrong password", proxy.AuthSCRAM, []*proxy.User{mustUser(t, "app", "s3cret", "")}, "mallory", "x", "28P01"},
		{"scram stored verifier", proxy.AuthSCRAM, []*proxy.User{mustUser(t, "app", "", verifier)}, "app", "from-verifier", ""},
		{"scram stored verifier wrong password", proxy.AuthSCRAM, []*proxy.User{mustUser(t, "app", "", verifier)}, "app", "from-verifie", "28P01"},
		{"md5 right password", proxy.AuthMD5, []*proxy.User{mustUser(t, "app", "m5", "")}, "app", "m5", ""},
		{"md5 wrong password", proxy.AuthMD5, []*proxy.User{mustUser(t, "app", "m5", "")}, "app", "m6", "28P01"},
		{"trust from loopback", proxy.AuthTrust, nil, "anyone", "", ""},
		{"trust with users rejects unknown roles", proxy.AuthTrust, []*proxy.User{mustUser(t, "app", "x", "")}, "other", "", "28000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := proxytest.Upstream(t, c) // logs in upstream as the superuser
			p := proxytest.Start(t, c, proxytest.Options{Configure: func(cfg *proxy.Config) {
				cfg.Databases["*"].Upstream = up
				cfg.Auth = proxy.Auth{Method: tc.method, Users: map[string]*proxy.User{}}
				for _, u := range tc.users {
					cfg.Auth.Users[u.Name] = u
				}
			}})
			if got := login(t, p.URL(tc.user, tc.pass, db)); got != tc.want {
				t.Fatalf("login as %s got SQLSTATE %q, want %q", tc.user, got, tc.want)
			}
		})
	}
}

func TestPassthroughLetsTheUpstreamDecide(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	pgtest.CreateRole(t, c, "pt_scram", "scram-pw", "scram-sha-256")
	pgtest.CreateRole(t, c, "pt_md5", "md5-pw", "md5")
	pgtest.CreateRole(t, c, "pt_plain", "plain-pw", "password")
	pgtest.CreateRole(t, c, "pt_trusted", "unused", "")
	pgtest.CreateRole(t, c, "pt_rejected", "x", "reject")
	pgtest.Exec(t, c, db, "GRANT ALL ON SCHEMA public TO PUBLIC")
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			p := proxytest.Start(t, c, proxytest.Options{Mode: mode.mode})
			for _, tc := range []struct {
				user, pass, db, want string
			}{
				{"pt_scram", "scram-pw", db, ""},
				{"pt_scram", "wrong", db, "28P01"},
				// Remembered: the right password again, then a wrong one,
				// which must never get a pooled backend.
				{"pt_scram", "scram-pw", db, ""},
				{"pt_scram", "wrong", db, "28P01"},
				{"pt_md5", "md5-pw", db, ""},
				{"pt_md5", "md5-pw!", db, "28P01"},
				{"pt_plain", "plain-pw", db, ""},
				{"pt_plain", "", db, "28P01"},
				{"pt_trusted", "", db, ""},
				{"pt_rejected", "x", db, "28000"},
				{"no_such_role", "", db, "28000"},
				{"pt_trusted", "", "no_such_database", "3D000"},
			} {
				if got := login(t, p.URL(tc.user, tc.pass, tc.db)); got != tc.want {
					t.Errorf("%s/%q on %s: got SQLSTATE %q, want %q", tc.user, tc.pass, tc.db, got, tc.want)
				}
			}
		})
	}
}

func TestPassthroughAsksForAPasswordOnlyWhenTheUpstreamDoes(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	pgtest.CreateRole(t, c, "pt_ask", "pw", "scram-sha-256")
	pgtest.CreateRole(t, c, "pt_noask", "pw", "")
	p := proxytest.Start(t, c, proxytest.Options{})
	for _, tc := range []struct {
		user  string
		asked bool
	}{{"pt_ask", true}, {"pt_noask", false}} {
		cfg, err := pgconn.ParseConfig(p.URL(tc.user, "pw", db))
		if err != nil {
			t.Fatal(err)
		}
		asked := false
		cfg.AfterNetConnect = func(_ context.Context, _ *pgconn.Config, conn netConn) (netConn, error) {
			return &authWatcher{Conn: conn, asked: &asked}, nil
		}
		conn, err := pgconn.ConnectConfig(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		conn.Close(context.Background())
		if asked != tc.asked {
			t.Errorf("%s: asked for a password = %v, want %v", tc.user, asked, tc.asked)
		}
	}
}

func TestTLSBetweenClientAndPgwarp(t *testing.T) {
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	files := pgtest.NewTLSFiles(t, t.TempDir())
	cert, err := tls.LoadX509KeyPair(files.CertFile, files.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, required := range []bool{false, true} {
		p := proxytest.Start(t, c, proxytest.Options{Configure: func(cfg *proxy.Config) {
			cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
			cfg.TLSRequired = required
			cfg.Auth = proxy.Auth{Method: proxy.AuthSCRAM, Users: map[string]*proxy.User{"app": mustUser(t, "app", "tls-pw", "")}}
		}})
		verified := p.URL("app", "tls-pw", db, "sslmode", "verify-full", "sslrootcert", files.CAFile)
		verified = strings.Replace(verified, "sslmode=disable&", "", 1)
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, strings.Replace(verified, p.Host, "localhost", 1))
		if err != nil {
			t.Fatalf("verify-full (required=%v): %v", required, err)
		}
		var ssl bool
		if err := conn.QueryRow(ctx, "SELECT 1 = 1").Scan(&ssl); err != nil || !ssl {
			t.Fatal(err)
		}
		if _, ok := conn.PgConn().Conn().(*tls.Conn); !ok {
			t.Errorf("client connection is %T, not TLS", conn.PgConn().Conn())
		}
		conn.Close(ctx)
		plain := login(t, p.URL("app", "tls-pw", db))
		if required && plain != "28000" {
			t.Errorf("plaintext client with tls required: got %q, want 28000", plain)
		}
		if !required && plain != "" {
			t.Errorf("plaintext client with tls allowed: got %q", plain)
		}
	}
}
