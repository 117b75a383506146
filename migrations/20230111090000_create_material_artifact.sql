-- migrate:up
CREATE TABLE material_artifact (
  artifact_identifier varchar(64) PRIMARY KEY,
  title text,
  tags jsonb,
  is_active boolean NOT NULL DEFAULT true,
  last_seen timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE material_artifact IS
'A physical product the application tracks: one row per product, kept after it is withdrawn.';
COMMENT ON COLUMN material_artifact.artifact_identifier IS
'Stable identifier of the product, such as ART-00000001.';
COMMENT ON COLUMN material_artifact.title IS
'Display title; null until the product is catalogued.';
COMMENT ON COLUMN material_artifact.tags IS
'Tag labels as a JSON array of strings, denormalised for the catalogue API; artifact_tag_classification holds the normalised classification.';
COMMENT ON COLUMN material_artifact.is_active IS
'False once the product is withdrawn from sale.';
COMMENT ON COLUMN material_artifact.last_seen IS
'When a source feed last listed the product.';

-- migrate:down
DROP TABLE material_artifact;
