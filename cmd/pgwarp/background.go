package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgwarp/pgwarp/configs"
	"github.com/pgwarp/pgwarp/migrations/orphans"
	"github.com/pgwarp/pgwarp/telemetry"
)

// orphanScanner runs `pgwarp orphans` every orphans.interval against the
// configured database and exports the counts as the pgwarp_orphans
// metric. It connects directly to the upstream (not through the pool) and
// scans in keyset-paginated chunks, so it is safe on a production database.
// It is owned by serve and stops when ctx ends.
func orphanScanner(ctx context.Context, c *configs.Config, m *telemetry.Metrics, logger *slog.Logger) {
	o := c.Orphans
	db := c.Databases[o.Database]
	if o.Interval <= 0 || db == nil {
		return
	}
	t := time.NewTimer(time.Minute)
	if o.Interval < time.Minute {
		t.Reset(o.Interval)
	}
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		scanOrphans(ctx, db, m, logger)
		t.Reset(o.Interval)
	}
}

func scanOrphans(ctx context.Context, db *configs.Database, m *telemetry.Metrics, logger *slog.Logger) {
	cfg, err := pgx.ParseConfig(db.Upstream)
	if err != nil {
		logger.Error("orphan scan: upstream", "database", db.Name, "error", err)
		return
	}
	if db.UpstreamConfig != nil && db.UpstreamConfig.Password != "" {
		cfg.Password = db.UpstreamConfig.Password
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	conn, err := pgx.ConnectConfig(sctx, cfg)
	if err != nil {
		logger.Error("orphan scan: cannot connect", "database", db.Name, "error", err)
		return
	}
	defer conn.Close(context.Background())
	start := time.Now()
	rep, err := orphans.Scan(sctx, conn, orphans.Options{})
	if err != nil {
		logger.Error("orphan scan failed", "database", db.Name, "error", err)
		return
	}
	for _, rel := range rep.Relations {
		if rel.Err != nil {
			logger.Warn("orphan scan: relation failed", "relation", rel.Relation.String(), "error", rel.Err)
			continue
		}
		m.SetOrphans(rel.Relation.String(), rel.OrphanRows)
	}
	logger.Info("orphan scan", "database", db.Name, "relations", len(rep.Relations), "orphan_rows", rep.OrphanRows(),
		"duration", time.Since(start).Round(time.Millisecond))
}
