package proxy

import (
	"context"
	"errors"
	"net"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgwarp/pgwarp/internal/pgcluster"
	"github.com/pgwarp/pgwarp/internal/pgtest"
)

func TestSplitOptionsSplitsOnWhitespaceAndHonoursBackslashEscapes(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"only blanks", " \t\r\n ", nil},
		{"one switch", "-c work_mem=5MB", []string{"-c", "work_mem=5MB"}},
		{"surrounding and repeated blanks", "  -c \t work_mem=5MB  \n", []string{"-c", "work_mem=5MB"}},
		{"attached value", "-cwork_mem=5MB --statement-timeout=1s", []string{"-cwork_mem=5MB", "--statement-timeout=1s"}},
		{"escaped space", `-c search_path=a,\ b`, []string{"-c", "search_path=a, b"}},
		{"escaped tab", "-c application_name=a\\\tb", []string{"-c", "application_name=a\tb"}},
		{"escaped backslash", `-c application_name=a\\b`, []string{"-c", `application_name=a\b`}},
		{"escaped ordinary character", `-c application_name=\a\b`, []string{"-c", "application_name=ab"}},
		{"escaped space makes a word of its own", `-c a.b=x \  y`, []string{"-c", "a.b=x", " ", "y"}},
		// pg_split_opts: a trailing backslash escapes nothing and is
		// dropped.
		{"trailing backslash", `-c application_name=ab\`, []string{"-c", "application_name=ab"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := splitOptions(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("splitOptions(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func params(kv ...string) []startupParam {
	var out []startupParam
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, startupParam{kv[i], kv[i+1]})
	}
	return out
}

func TestStartupSettingsExpandOptionsAndLowerCaseNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []startupParam
		want map[string]string
	}{
		{"none", nil, map[string]string{}},
		{"plain parameters", params("application_name", "app", "TimeZone", "UTC", "myapp.tenant", "acme"),
			map[string]string{"application_name": "app", "timezone": "UTC", "myapp.tenant": "acme"}},
		{"options with -c, attached -c and --", params("options", "-c work_mem=5MB -cstatement_timeout=1s --lock-timeout=2s"),
			map[string]string{"work_mem": "5MB", "statement_timeout": "1s", "lock_timeout": "2s"}},
		{"dashes in a -c name become underscores", params("options", "-c idle-in-transaction-session-timeout=3s"),
			map[string]string{"idle_in_transaction_session_timeout": "3s"}},
		{"names are case-insensitive", params("options", "-c Work_Mem=5MB"), map[string]string{"work_mem": "5MB"}},
		{"escaped value", params("options", `-c search_path=a,\ b`), map[string]string{"search_path": "a, b"}},
		{"value with equals sign", params("options", "-c myapp.expr=a=b"), map[string]string{"myapp.expr": "a=b"}},
		{"empty value", params("options", "-c myapp.empty="), map[string]string{"myapp.empty": ""}},
		{"the last -c of a name wins", params("options", "-c myapp.x=1 -c myapp.x=2"), map[string]string{"myapp.x": "2"}},
		{"empty options", params("options", ""), map[string]string{}},
		// PostgreSQL applies the options switches first and the other
		// startup parameters after them, whatever their order in the
		// packet (process_startup_options).
		{"a parameter beats options whatever the order", params("application_name", "param", "options", "-c application_name=option"),
			map[string]string{"application_name": "param"}},
		{"a parameter beats options, options last", params("options", "-c application_name=option", "application_name", "param"),
			map[string]string{"application_name": "param"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := startupSettings(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("startupSettings(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestStartupSettingsRejectWhatCannotBePooled(t *testing.T) {
	for _, tc := range []struct {
		name    string
		options string
		code    string
	}{
		{"server switch", "-B 100", CodeFeatureNotSupported},
		{"bare word", "work_mem=5MB", CodeFeatureNotSupported},
		{"-c without a value", "-c", CodeSyntaxError},
		{"-c name without =", "-c work_mem", CodeSyntaxError},
		{"-- name without =", "--work_mem", CodeSyntaxError},
		{"-c with an empty name", "-c =x", CodeSyntaxError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := startupSettings(params("options", tc.options))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("startupSettings(options=%q) = %v, %v; want an error", tc.options, got, err)
			}
			if !e.Fatal() || e.Code != tc.code || e.Message == "" {
				t.Fatalf("options=%q: got %s %s %q, want FATAL %s", tc.options, e.Severity, e.Code, e.Message, tc.code)
			}
		})
	}
}

func TestSettingsSQLAppliesTheDifferenceOnly(t *testing.T) {
	for _, tc := range []struct {
		name       string
		want, have map[string]string
		sql        string
	}{
		{"nothing", nil, nil, ""},
		{"already applied", map[string]string{"a.b": "1"}, map[string]string{"a.b": "1"}, ""},
		{"one new", map[string]string{"work_mem": "5MB"}, nil,
			"SELECT pg_catalog.set_config('work_mem', '5MB', false)"},
		{"sets sorted, unchanged left out", map[string]string{"z.z": "1", "a.a": "2", "m.m": "3"}, map[string]string{"m.m": "3", "z.z": "0"},
			"SELECT pg_catalog.set_config('a.a', '2', false), pg_catalog.set_config('z.z', '1', false)"},
		{"resets sorted", nil, map[string]string{"work_mem": "5MB", "application_name": "x"},
			`RESET "application_name"; RESET "work_mem"`},
		{"sets then resets", map[string]string{"a.a": "1"}, map[string]string{"b.b": "2"},
			`SELECT pg_catalog.set_config('a.a', '1', false); RESET "b.b"`},
		{"empty value is a value", map[string]string{"a.a": ""}, map[string]string{"a.a": "x"},
			"SELECT pg_catalog.set_config('a.a', '', false)"},
		{"quotes", map[string]string{"a.a": "it's"}, nil, "SELECT pg_catalog.set_config('a.a', 'it''s', false)"},
		{"backslashes", map[string]string{"a.a": `c:\it's`}, nil, `SELECT pg_catalog.set_config('a.a', E'c:\\it''s', false)`},
		{"quoted name", nil, map[string]string{`we"ird`: "1"}, `RESET "we""ird"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := settingsSQL(tc.want, tc.have); got != tc.sql {
				t.Fatalf("settingsSQL(%v, %v) =\n%s\nwant\n%s", tc.want, tc.have, got, tc.sql)
			}
		})
	}
}

// startRaw opens a connection straight to the cluster (no pgwarp) with the
// startup parameters in exactly the given order, which pgconn (a map)
// cannot do, and returns a frontend ready for queries.
func startRaw(t *testing.T, c *pgcluster.Cluster, kv ...string) (*pgproto3.Frontend, net.Conn) {
	t.Helper()
	conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write(encodeStartupPacket(3, 0, append([]string{"user", c.Superuser(), "database", "postgres"}, kv...)...)); err != nil {
		t.Fatal(err)
	}
	fe := pgproto3.NewFrontend(conn, conn)
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		switch m := msg.(type) {
		case *pgproto3.ErrorResponse:
			t.Fatalf("PostgreSQL rejected startup parameters %q: %s %s", kv, m.Code, m.Message)
		case *pgproto3.ReadyForQuery:
			return fe, conn
		}
	}
}

// rawSettings runs simple queries on fe and returns current_setting of
// each name afterwards.
func rawSettings(t *testing.T, fe *pgproto3.Frontend, sql string, names []string) map[string]string {
	t.Helper()
	if sql != "" {
		fe.Send(&pgproto3.Query{String: sql})
	}
	q := "SELECT "
	for i, n := range names {
		if i > 0 {
			q += ", "
		}
		q += "current_setting(" + quoteLiteral(n) + ")"
	}
	fe.Send(&pgproto3.Query{String: q})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	pending := 1
	if sql != "" {
		pending = 2
	}
	for pending > 0 {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		switch m := msg.(type) {
		case *pgproto3.ErrorResponse:
			t.Fatalf("%s: %s %s", sql, m.Code, m.Message)
		case *pgproto3.DataRow:
			if pending == 1 {
				for i, n := range names {
					out[n] = string(m.Values[i])
				}
			}
		case *pgproto3.ReadyForQuery:
			pending--
		}
	}
	return out
}

// TestStartupSettingsMeanWhatPostgreSQLMakesOfThem connects to PostgreSQL
// once with the startup parameters themselves, once plainly followed by
// pgwarp's settingsSQL(startupSettings(params)), and compares the
// resulting settings: a pooled client must end up where a direct one
// does.
func TestStartupSettingsMeanWhatPostgreSQLMakesOfThem(t *testing.T) {
	c := pgtest.Shared(t)
	for _, tc := range []struct {
		name string
		kv   []string
	}{
		{"options switches", []string{"options", "-c work_mem=5MB --statement-timeout=1s -clock_timeout=2s"}},
		{"escaped blanks", []string{"options", `-c search_path=a,\ b -c application_name=x\ \ y`}},
		{"escaped backslash", []string{"options", `-c application_name=a\\b`}},
		{"trailing backslash", []string{"options", `-c application_name=ab\`}},
		{"tabs and newlines", []string{"options", "-c\twork_mem=6MB\n-c\tmyapp.x=1"}},
		{"custom parameter", []string{"myapp.tenant", "acme", "TimeZone", "Europe/Paris", "DateStyle", "SQL, DMY"}},
		{"parameter before options", []string{"application_name", "param", "options", "-c application_name=option"}},
		{"options before parameter", []string{"options", "-c application_name=option", "application_name", "param"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := params(tc.kv...)
			settings, err := startupSettings(ps)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for n := range settings {
				names = append(names, n)
			}
			sort.Strings(names)
			direct, _ := startRaw(t, c, tc.kv...)
			want := rawSettings(t, direct, "", names)
			pooled, _ := startRaw(t, c)
			got := rawSettings(t, pooled, settingsSQL(settings, nil), names)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("startup parameters %q:\npooled (settingsSQL) %v\ndirect              %v", tc.kv, got, want)
			}
		})
	}
}

// TestSettingsSQLTakesABackendFromOneClientsSettingsToAnothers runs the
// transition statements on a real backend: after them every setting is
// the new client's, and settings only the old client had are back at the
// backend's defaults.
func TestSettingsSQLTakesABackendFromOneClientsSettingsToAnothers(t *testing.T) {
	c := pgtest.Shared(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.URL(c.Superuser(), "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	names := []string{"application_name", "search_path", "timezone", "work_mem", "myapp.tenant", "myapp.quote"}
	read := func() map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, n := range names {
			var v string
			if err := conn.QueryRow(ctx, "SELECT coalesce(current_setting($1, true), '<unset>')", n).Scan(&v); err != nil {
				t.Fatal(err)
			}
			out[n] = v
		}
		return out
	}
	defaults := read()
	exec := func(sql string) {
		t.Helper()
		if sql == "" {
			return
		}
		if _, err := conn.PgConn().Exec(ctx, sql).ReadAll(); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	a := map[string]string{"application_name": "client a", "search_path": `"A", public`, "work_mem": "7MB",
		"myapp.tenant": "a", "myapp.quote": `it's \ here`}
	b := map[string]string{"application_name": "client b", "timezone": "Asia/Tokyo", "myapp.tenant": "b"}
	exec(settingsSQL(a, nil))
	got := read()
	for n, v := range a {
		if got[n] != v {
			t.Errorf("after client a: %s = %q, want %q", n, got[n], v)
		}
	}
	exec(settingsSQL(b, a))
	got = read()
	for _, n := range names {
		want, ok := b[n]
		if !ok {
			want = defaults[n]
			if n == "myapp.quote" {
				// A reset placeholder keeps existing, empty.
				want = ""
			}
		}
		if got[n] != want {
			t.Errorf("after switching to client b: %s = %q, want %q", n, got[n], want)
		}
	}
	if sql := settingsSQL(b, b); sql != "" {
		t.Errorf("no change needed, got %q", sql)
	}
}
