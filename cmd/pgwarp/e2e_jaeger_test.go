package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgwarp/pgwarp/internal/pgtest"
	"github.com/pgwarp/pgwarp/telemetry/jaegertest"
)

// TestE2EJaegerTracesQueriesThroughServe runs pgwarp serve with OTLP export
// to a real Jaeger (make e2e), sends queries, one of them carrying an
// application's traceparent, and finds the spans through Jaeger's query
// API: the application's trace continues through pgwarp.
func TestE2EJaegerTracesQueriesThroughServe(t *testing.T) {
	j := jaegertest.Start(t) // skips unless PGWARP_E2E=1
	c := pgtest.Shared(t)
	db := pgtest.CreateDatabase(t, c)
	pgtest.Exec(t, c, db, "CREATE TABLE sales_measurement_dataset (artifact_identifier varchar(64), day date, units int); INSERT INTO sales_measurement_dataset VALUES ('a', '2026-01-01', 3)")
	listen := freeAddr(t)
	service := "pgwarp-e2e-" + strings.ReplaceAll(db, "_", "-")
	startServe(t, fmt.Sprintf(`listen: %s
admin: { http: "off" }
auth: { method: trust }
databases:
  %s:
    upstream: %s
telemetry:
  enabled: true
  otlp_endpoint: %s
  service_name: %s
  sample_ratio: 1.0
`, listen, db, c.URL(c.Superuser(), db), j.OTLPGRPCEndpoint, service))
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", listen, db))
	if err != nil {
		t.Fatal(err)
	}
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	var units int
	q := fmt.Sprintf("SELECT sum(units) FROM sales_measurement_dataset /*traceparent='00-%s-%s-01'*/", traceID, parentID)
	if err := conn.QueryRow(ctx, q, pgx.QueryExecModeSimpleProtocol).Scan(&units); err != nil || units != 3 {
		t.Fatalf("query: %d, %v", units, err)
	}
	conn.Close(ctx)
	tr := j.WaitForTrace(t, traceID, 1)
	found := false
	for _, s := range tr.Spans {
		if s.OperationName == "SELECT sales_measurement_dataset" && s.Parent() == parentID {
			found = true
			if v, _ := s.Tag("db.system.name"); v != "postgresql" {
				t.Errorf("span tags: %+v", s.Tags)
			}
		}
	}
	if !found {
		t.Fatalf("no pgwarp query span under the application's span in trace %s: %+v", traceID, tr.Spans)
	}
}
