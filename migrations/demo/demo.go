package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options sizes the dataset. The zero value of every field is usable.
type Options struct {
	// Artifacts is the number of material_artifact rows. Zero means 5000.
	Artifacts int
	// SalesArtifacts is the number of artifacts (the first ones) with a
	// daily sales row for every day. Zero means 1000; at most Artifacts.
	SalesArtifacts int
	// Days is the number of days of sales, ending at the anchor. Zero
	// means 365.
	Days int
	// Anchor is the last day of sales. Zero means the last day of an
	// earlier load if there is one, else today (the server's date).
	Anchor time.Time
	// Timeout bounds the loading transaction. Zero means 2m.
	Timeout time.Duration
}

func (o Options) withDefaults() (Options, error) {
	if o.Artifacts <= 0 {
		o.Artifacts = 5000
	}
	if o.SalesArtifacts <= 0 {
		o.SalesArtifacts = min(1000, o.Artifacts)
	}
	if o.Days <= 0 {
		o.Days = 365
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.SalesArtifacts > o.Artifacts {
		return o, fmt.Errorf("demo: %d sales artifacts but only %d artifacts", o.SalesArtifacts, o.Artifacts)
	}
	return o, nil
}

// Summary reports what a load inserted.
type Summary struct {
	// Anchor is the last day of sales.
	Anchor time.Time
	// Inserted maps each table to the rows this load inserted; all zero
	// when the dataset was already there.
	Inserted map[string]int64
}

// Total returns the number of rows inserted into all tables.
func (s *Summary) Total() int64 {
	var n int64
	for _, v := range s.Inserted {
		n += v
	}
	return n
}

// Load connects directly to databaseURL, which must have the bundled schema
// applied (see migrations.ApplyBundled), and loads the dataset.
func Load(ctx context.Context, databaseURL string, opts Options) (*Summary, error) {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("demo: parsing the database URL: %w", err)
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "pgwarp demo"
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("demo: connecting: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	return LoadConn(ctx, conn, opts)
}

// LoadConn loads the dataset over conn in one transaction, then analyzes
// the tables.
func LoadConn(ctx context.Context, conn *pgx.Conn, opts Options) (*Summary, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, t := range tables {
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", t).Scan(&ok); err != nil {
			return nil, fmt.Errorf("demo: checking the schema: %w", err)
		}
		if !ok {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("demo: the database lacks %v: apply the bundled migrations first (pgwarp migrate up)", missing)
	}
	anchor, err := findAnchor(ctx, conn, opts)
	if err != nil {
		return nil, err
	}
	sum := &Summary{Anchor: anchor, Inserted: map[string]int64{}}
	tctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	err = pgx.BeginFunc(tctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(tctx, fmt.Sprintf("SET LOCAL statement_timeout = %d", opts.Timeout.Milliseconds())); err != nil {
			return err
		}
		args := pgx.NamedArgs{"anchor": anchor.Format("2006-01-02"), "artifacts": opts.Artifacts, "sales": opts.SalesArtifacts, "days": opts.Days}
		for _, st := range statements {
			tag, err := tx.Exec(tctx, st.sql, args)
			if err != nil {
				return fmt.Errorf("demo: loading %s: %w", st.table, err)
			}
			if st.table != "" {
				sum.Inserted[st.table] += tag.RowsAffected()
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if sum.Total() > 0 {
		for _, t := range tables {
			if _, err := conn.Exec(ctx, "ANALYZE "+pgx.Identifier{t}.Sanitize()); err != nil {
				return nil, fmt.Errorf("demo: analyzing %s: %w", t, err)
			}
		}
	}
	return sum, nil
}

// findAnchor keeps the anchor of an earlier load, so that a second load
// derives the same rows.
func findAnchor(ctx context.Context, conn *pgx.Conn, opts Options) (time.Time, error) {
	if !opts.Anchor.IsZero() {
		y, m, d := opts.Anchor.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
	}
	var anchor time.Time
	err := conn.QueryRow(ctx, `SELECT coalesce(
  (SELECT max(day) FROM sales_measurement_dataset WHERE artifact_identifier = 'ART-00000001'),
  current_date)`).Scan(&anchor)
	if err != nil {
		return time.Time{}, fmt.Errorf("demo: finding the anchor day: %w", err)
	}
	return anchor, nil
}
