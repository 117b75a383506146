package main

import (
	"fmt"
	"strings"
)

// mixedDataset is the shape of the dashboard tables the mixed workload
// reads and writes.
type mixedDataset struct {
	artifacts      int  // rows of material_artifact
	salesArtifacts int  // artifacts with sales: 1 … salesArtifacts
	days           int  // days of sales per artifact, ending at anchor
	byDay          bool // sales stored day by day (one artifact's rows scattered) rather than artifact by artifact
	// point is the dashboard read of one artifact: true for peers.sh's
	// dash_point shape (the artifact picked in material_artifact, its
	// sales joined on the identifier, grouped), false for the sum over
	// sales picked by identifier.
	point bool
}

// anchor is the last day of sales; reads cover the 30 days up to it.
const anchor = "2026-06-30"

// mixedDatasets are the --dataset choices. peers matches the default
// dashboard dataset of ../shared/bench/peers.sh (20,000 artifacts, 5,500
// with a year of sales, loaded day by day) and its dash_point query, except
// that identifiers are 'A<n>' literals rather than lpad expressions: a key
// must be a constant for pgwarp to narrow invalidation to it. compact is
// the smaller dataset of the first mixed runs, where one artifact's 30 days
// sit in one or two pages and the uncached read is cheap.
var mixedDatasets = map[string]mixedDataset{
	"peers":   {artifacts: 20000, salesArtifacts: 5500, days: 365, byDay: true, point: true},
	"compact": {artifacts: 5000, salesArtifacts: 1500, days: 120},
}

func (d mixedDataset) describe() string {
	order := "artifact by artifact"
	if d.byDay {
		order = "day by day"
	}
	return fmt.Sprintf("%d artifacts, %d × %d days of sales (%d rows) stored %s", d.artifacts, d.salesArtifacts, d.days, d.salesArtifacts*d.days, order)
}

// load returns the SQL that creates and fills the tables.
func (d mixedDataset) load() string {
	var b strings.Builder
	fmt.Fprintf(&b, `CREATE TABLE material_artifact (artifact_identifier varchar(64) primary key, title text, tags jsonb,
	is_active boolean not null default true, last_seen timestamptz not null default now());
CREATE TABLE sales_measurement_dataset (artifact_identifier varchar(64) not null, day date not null,
	units integer not null default 0, units_net integer not null default 0);
INSERT INTO material_artifact (artifact_identifier, title, is_active)
	SELECT 'A' || g, 'Artifact ' || g, g %% 10 <> 0 FROM generate_series(1, %d) g;
`, d.artifacts)
	if d.byDay {
		fmt.Fprintf(&b, `INSERT INTO sales_measurement_dataset SELECT 'A' || a, date '%s' - d, (a * d) %% 50, (a + d) %% 40
	FROM generate_series(0, %d) d, generate_series(1, %d) a;
`, anchor, d.days-1, d.salesArtifacts)
	} else {
		fmt.Fprintf(&b, `INSERT INTO sales_measurement_dataset SELECT 'A' || a, date '%s' - d, (a * d) %% 50, (a + d) %% 40
	FROM generate_series(1, %d) a, generate_series(0, %d) d;
`, anchor, d.salesArtifacts, d.days-1)
	}
	b.WriteString("ALTER TABLE sales_measurement_dataset ADD UNIQUE (artifact_identifier, day);\n")
	return b.String()
}

// read returns the dashboard read of artifact id (a pgbench variable
// reference such as A:aid, or a literal identifier such as A0).
func (d mixedDataset) read(id string) string {
	if d.point {
		return fmt.Sprintf(`SELECT a.artifact_identifier, a.title, sum(s.units) AS units, sum(s.units_net) AS units_net, count(*) AS days
  FROM material_artifact a
  JOIN sales_measurement_dataset s ON s.artifact_identifier = a.artifact_identifier
 WHERE a.artifact_identifier = '%s'
   AND s.day > date '%s' - 30 AND s.day <= date '%s'
 GROUP BY a.artifact_identifier, a.title`, id, anchor, anchor)
	}
	return fmt.Sprintf(`SELECT a.artifact_identifier, a.title, sum(s.units) AS units, sum(s.units_net) AS units_net, count(*) AS days
  FROM sales_measurement_dataset s JOIN material_artifact a USING (artifact_identifier)
 WHERE s.artifact_identifier = '%s' AND s.day > date '%s' - 30 AND s.day <= date '%s' AND a.is_active
 GROUP BY a.artifact_identifier, a.title`, id, anchor, anchor)
}

// write returns the pgbench write of one sales row of artifact A:aid on
// day :d before the anchor.
func (d mixedDataset) write(kind string) string {
	if kind == "upsert" {
		return fmt.Sprintf(`INSERT INTO sales_measurement_dataset (artifact_identifier, day, units) VALUES ('A:aid', date '%s' - :d, 1)
ON CONFLICT (artifact_identifier, day) DO UPDATE SET units = sales_measurement_dataset.units + 1`, anchor)
	}
	return fmt.Sprintf(`UPDATE sales_measurement_dataset SET units = units + 1 WHERE artifact_identifier = 'A:aid' AND day = date '%s' - :d`, anchor)
}
