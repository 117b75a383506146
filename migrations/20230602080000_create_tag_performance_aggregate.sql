-- migrate:up
CREATE TABLE tag_performance_aggregate (
  tag_identifier varchar(64) NOT NULL,
  day date NOT NULL,
  artifact_count integer NOT NULL DEFAULT 0,
  units bigint NOT NULL DEFAULT 0,
  units_net bigint NOT NULL DEFAULT 0,
  refreshed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tag_identifier, day)
);

-- Best tags over recent days.
CREATE INDEX tag_performance_aggregate_day_idx ON tag_performance_aggregate (day);

COMMENT ON TABLE tag_performance_aggregate IS
'Daily sales per tag, derived from sales_measurement_dataset and artifact_tag_classification by refresh_tag_performance_aggregate().';
COMMENT ON COLUMN tag_performance_aggregate.tag_identifier IS
'The tag aggregated.
references information_tag.tag_identifier';
COMMENT ON COLUMN tag_performance_aggregate.artifact_count IS
'How many artifacts with the tag sold that day.';

-- Refreshes a bounded range of days so that one call stays a short
-- transaction; callers refresh longer periods in several calls.
CREATE FUNCTION refresh_tag_performance_aggregate(from_day date, to_day date)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
  refreshed integer;
BEGIN
  IF to_day < from_day OR to_day - from_day > 31 THEN
    RAISE EXCEPTION 'refresh_tag_performance_aggregate: refresh 1 to 32 days per call, not % to %', from_day, to_day;
  END IF;
  DELETE FROM tag_performance_aggregate WHERE day BETWEEN from_day AND to_day;
  INSERT INTO tag_performance_aggregate (tag_identifier, day, artifact_count, units, units_net)
  SELECT c.tag_identifier, s.day, count(*), sum(s.units), sum(s.units_net)
    FROM sales_measurement_dataset s
    JOIN artifact_tag_classification c ON c.artifact_identifier = s.artifact_identifier
   WHERE s.day BETWEEN from_day AND to_day
   GROUP BY c.tag_identifier, s.day;
  GET DIAGNOSTICS refreshed = ROW_COUNT;
  RETURN refreshed;
END
$$;

COMMENT ON FUNCTION refresh_tag_performance_aggregate(date, date) IS
'Recomputes tag_performance_aggregate for from_day to to_day (at most 32 days) and returns the number of rows written.';

-- migrate:down
DROP FUNCTION refresh_tag_performance_aggregate(date, date);
DROP TABLE tag_performance_aggregate;
