-- migrate:up
CREATE TABLE artifact_tag_classification (
  artifact_identifier varchar(64) NOT NULL,
  tag_identifier varchar(64) NOT NULL,
  classified_by text NOT NULL DEFAULT 'editor',
  confidence numeric(4,3) NOT NULL DEFAULT 1,
  classified_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (artifact_identifier, tag_identifier),
  CONSTRAINT artifact_tag_classification_classified_by_check CHECK (classified_by IN ('editor', 'import', 'model')),
  CONSTRAINT artifact_tag_classification_confidence_check CHECK (confidence BETWEEN 0 AND 1)
);

-- The artifacts of a tag (the primary key serves the tags of an artifact).
CREATE INDEX artifact_tag_classification_tag_idx ON artifact_tag_classification (tag_identifier, artifact_identifier);

COMMENT ON TABLE artifact_tag_classification IS
'An information content entity stating that a tag applies to an artifact.';
COMMENT ON COLUMN artifact_tag_classification.artifact_identifier IS
'The artifact classified.
references material_artifact.artifact_identifier';
COMMENT ON COLUMN artifact_tag_classification.tag_identifier IS
'The tag that applies.
references information_tag.tag_identifier';
COMMENT ON COLUMN artifact_tag_classification.classified_by IS
'Who made the classification: an editor, a catalogue import or a model.';
COMMENT ON COLUMN artifact_tag_classification.confidence IS
'Confidence in the classification, from 0 to 1; 1 for editors.';

-- migrate:down
DROP TABLE artifact_tag_classification;
