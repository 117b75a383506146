-- Catalogue search by tag label: WHERE tags @> '["vinyl"]'.

-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY material_artifact_tags_idx
  ON material_artifact USING gin (tags jsonb_path_ops);

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS material_artifact_tags_idx;
