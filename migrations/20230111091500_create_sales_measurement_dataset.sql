-- migrate:up
CREATE TABLE sales_measurement_dataset (
  artifact_identifier varchar(64) NOT NULL,
  day date NOT NULL,
  units integer NOT NULL DEFAULT 0,
  units_net integer NOT NULL DEFAULT 0,
  -- The unique index also serves per-artifact date ranges:
  -- WHERE artifact_identifier = $1 AND day BETWEEN $2 AND $3.
  CONSTRAINT sales_measurement_dataset_artifact_day_key UNIQUE (artifact_identifier, day),
  CONSTRAINT sales_measurement_dataset_units_check CHECK (units >= 0)
);

COMMENT ON TABLE sales_measurement_dataset IS
'Daily sales measurements on a ratio scale: one row per artifact and day.';
COMMENT ON COLUMN sales_measurement_dataset.artifact_identifier IS
'The artifact whose sales are measured.
references material_artifact.artifact_identifier';
COMMENT ON COLUMN sales_measurement_dataset.day IS
'The calendar day measured, in the shop''s time zone.';
COMMENT ON COLUMN sales_measurement_dataset.units IS
'Units sold that day.';
COMMENT ON COLUMN sales_measurement_dataset.units_net IS
'Units sold that day less units returned that day; negative when returns exceed sales.';

-- migrate:down
DROP TABLE sales_measurement_dataset;
