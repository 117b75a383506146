package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"

	"github.com/pgwarp/pgwarp/configs"
	"github.com/pgwarp/pgwarp/proxy"
	"github.com/pgwarp/pgwarp/telemetry"
)

// proxyConfig turns a loaded configuration into the proxy's.
func proxyConfig(c *configs.Config, logger *slog.Logger) (proxy.Config, error) {
	pc := proxy.Config{
		Listen:                c.Listen,
		MaxClientConnections:  c.MaxClientConnections,
		MaxMessageBytes:       int(c.MaxMessageBytes),
		MaxPreparedStatements: c.MaxPreparedStatements,
		StartupTimeout:        c.StartupTimeout,
		ShutdownTimeout:       c.ShutdownTimeout,
		AdminUsers:            c.Admin.Users,
		Logger:                logger,
		Version:               version,
		Databases:             map[string]*proxy.Database{},
	}
	m, err := proxy.ParseAuthMethod(c.Auth.Method)
	if err != nil {
		return pc, err
	}
	pc.Auth = proxy.Auth{Method: m, TrustRemote: c.Auth.TrustRemote, PassthroughCacheTTL: c.Auth.PassthroughCacheTTL, Users: map[string]*proxy.User{}}
	for _, u := range c.Auth.Users {
		pu, err := proxy.NewUser(u.Name, u.Password, u.Verifier)
		if err != nil {
			return pc, err
		}
		pc.Auth.Users[u.Name] = pu
	}
	if c.TLS.Mode != "disable" {
		cert, err := tls.LoadX509KeyPair(c.TLS.Cert, c.TLS.Key)
		if err != nil {
			return pc, fmt.Errorf("tls: loading cert %s and key %s: %w", c.TLS.Cert, c.TLS.Key, err)
		}
		pc.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		pc.TLSRequired = c.TLS.Mode == "require"
	}
	for name, db := range c.Databases {
		mode := proxy.PoolTransaction
		if db.Pool.Mode == "session" {
			mode = proxy.PoolSession
		}
		pc.Databases[name] = &proxy.Database{
			Name:                 name,
			Upstream:             db.UpstreamConfig,
			Mode:                 mode,
			MaxSize:              db.Pool.MaxSize,
			MinIdle:              db.Pool.MinIdle,
			AcquireTimeout:       db.Pool.AcquireTimeout,
			IdleTimeout:          db.Pool.IdleTimeout,
			MaxLifetime:          db.Pool.MaxLifetime,
			HealthCheckPeriod:    db.Pool.HealthCheckPeriod,
			MaxClientConnections: db.Pool.MaxClientConnections,
			ResetQuery:           db.Pool.ResetQuery,
		}
	}
	pc.ShowConfig = func() [][3]string { return showConfigRows(c) }
	return pc, nil
}

// showConfigRows renders the configuration for SHOW CONFIG, secrets
// excluded.
func showConfigRows(c *configs.Config) [][3]string {
	file := "default"
	if c.File != "" {
		file = c.File
	}
	rows := [][3]string{
		{"listen", c.Listen, ""},
		{"max_client_connections", strconv.Itoa(c.MaxClientConnections), ""},
		{"max_message_bytes", strconv.FormatInt(c.MaxMessageBytes, 10), ""},
		{"max_prepared_statements", strconv.Itoa(c.MaxPreparedStatements), ""},
		{"startup_timeout", c.StartupTimeout.String(), ""},
		{"shutdown_timeout", c.ShutdownTimeout.String(), ""},
		{"admin.http", c.Admin.HTTP, ""},
		{"tls.mode", c.TLS.Mode, ""},
		{"auth.method", c.Auth.Method, ""},
		{"auth.passthrough_cache_ttl", c.Auth.PassthroughCacheTTL.String(), ""},
	}
	for _, u := range c.Auth.Users {
		rows = append(rows, [3]string{"auth.users", u.Name, ""})
	}
	names := c.DatabaseNames()
	sort.Strings(names)
	for _, n := range names {
		db := c.Databases[n]
		u := db.UpstreamConfig
		p := "databases." + n
		rows = append(rows,
			[3]string{p + ".upstream", fmt.Sprintf("host=%s port=%d dbname=%s user=%s", u.Host, u.Port, u.Database, u.User), ""},
			[3]string{p + ".pool.mode", db.Pool.Mode, ""},
			[3]string{p + ".pool.max_size", strconv.Itoa(db.Pool.MaxSize), ""},
			[3]string{p + ".pool.min_idle", strconv.Itoa(db.Pool.MinIdle), ""},
			[3]string{p + ".pool.acquire_timeout", db.Pool.AcquireTimeout.String(), ""},
			[3]string{p + ".pool.idle_timeout", db.Pool.IdleTimeout.String(), ""},
			[3]string{p + ".pool.max_lifetime", db.Pool.MaxLifetime.String(), ""},
		)
	}
	// The source of a value is the flag that set it, or the file (or
	// the defaults, without one).
	for i := range rows {
		if flag, ok := c.Overridden[rows[i][0]]; ok {
			rows[i][2] = "flag " + flag
		} else {
			rows[i][2] = file
		}
	}
	return rows
}

// newLogger builds the process logger from the telemetry section.
func newLogger(c *configs.Config) (*slog.Logger, error) {
	return telemetry.NewLogger(os.Stderr, c.Telemetry.Log)
}

func itoa64(i int64) string { return strconv.FormatInt(i, 10) }
