-- migrate:up
CREATE TABLE digital_asset (
  asset_identifier varchar(64) PRIMARY KEY,
  artifact_identifier varchar(64),
  media_type text NOT NULL,
  storage_uri text NOT NULL,
  byte_size bigint NOT NULL,
  sha256 bytea,
  width_px integer,
  height_px integer,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT digital_asset_storage_uri_key UNIQUE (storage_uri),
  CONSTRAINT digital_asset_byte_size_check CHECK (byte_size >= 0),
  CONSTRAINT digital_asset_sha256_check CHECK (octet_length(sha256) = 32),
  CONSTRAINT digital_asset_dimensions_check CHECK (width_px > 0 AND height_px > 0)
);

-- The assets of an artifact.
CREATE INDEX digital_asset_artifact_idx ON digital_asset (artifact_identifier)
  WHERE artifact_identifier IS NOT NULL;

COMMENT ON TABLE digital_asset IS
'An information content entity stored as a file: product photos, scans, PDFs.';
COMMENT ON COLUMN digital_asset.asset_identifier IS
'Stable identifier of the asset, such as AST-00000001.';
COMMENT ON COLUMN digital_asset.artifact_identifier IS
'The artifact the asset depicts or describes; null for assets of no single artifact.
references material_artifact.artifact_identifier';
COMMENT ON COLUMN digital_asset.media_type IS
'IANA media type of the file, such as image/jpeg.';
COMMENT ON COLUMN digital_asset.storage_uri IS
'Where the file is stored, such as s3://bucket/key.';
COMMENT ON COLUMN digital_asset.sha256 IS
'SHA-256 of the file''s bytes, when known.';
COMMENT ON COLUMN digital_asset.width_px IS
'Width of an image or video in pixels; null for other media.';

-- migrate:down
DROP TABLE digital_asset;
