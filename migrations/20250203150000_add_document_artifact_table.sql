-- migrate:up
CREATE TABLE document_artifact (
  document_identifier varchar(64) PRIMARY KEY,
  artifact_identifier varchar(64),
  asset_identifier varchar(64),
  document_kind text NOT NULL,
  title text NOT NULL,
  body text,
  media_type text NOT NULL DEFAULT 'text/markdown',
  language_code text NOT NULL DEFAULT 'en',
  published_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT document_artifact_kind_check CHECK (document_kind IN ('manual', 'specification', 'certificate', 'press_release', 'note')),
  CONSTRAINT document_artifact_language_check CHECK (language_code ~ '^[a-z]{2,3}(-[A-Z]{2})?$'),
  -- The text is either in body or in a stored file.
  CONSTRAINT document_artifact_content_check CHECK (body IS NOT NULL OR asset_identifier IS NOT NULL)
);

-- The documents of an artifact, and the documents stored in an asset.
CREATE INDEX document_artifact_artifact_idx ON document_artifact (artifact_identifier)
  WHERE artifact_identifier IS NOT NULL;
CREATE INDEX document_artifact_asset_idx ON document_artifact (asset_identifier)
  WHERE asset_identifier IS NOT NULL;

COMMENT ON TABLE document_artifact IS
'A document: a manual, specification, certificate, press release or note, written in body or stored as a digital asset.';
COMMENT ON COLUMN document_artifact.artifact_identifier IS
'The artifact the document is about; null for general documents.
references material_artifact.artifact_identifier';
COMMENT ON COLUMN document_artifact.asset_identifier IS
'The stored file holding the document, when it is not written in body.
references digital_asset.asset_identifier';
COMMENT ON COLUMN document_artifact.language_code IS
'BCP 47 language of the document, such as en or de-CH.';

-- migrate:down
DROP TABLE document_artifact;
