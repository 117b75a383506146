-- Dashboards rank all artifacts over the last days (WHERE day > $1 … GROUP BY
-- artifact_identifier): an index led by day, covering the measures, lets
-- them read only those days. Built CONCURRENTLY so that writes go on; if the
-- build fails it leaves an INVALID index: drop it before running up again.

-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY sales_measurement_dataset_day_idx
  ON sales_measurement_dataset (day, artifact_identifier) INCLUDE (units, units_net);

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS sales_measurement_dataset_day_idx;
