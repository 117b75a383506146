-- migrate:up
CREATE TABLE tag_suggestion (
  suggestion_identifier varchar(64) PRIMARY KEY,
  artifact_identifier varchar(64) NOT NULL,
  tag_identifier varchar(64),
  proposed_label text,
  source text NOT NULL,
  score real,
  status text NOT NULL DEFAULT 'pending',
  created_at timestamptz NOT NULL DEFAULT now(),
  decided_at timestamptz,
  CONSTRAINT tag_suggestion_target_check CHECK (tag_identifier IS NOT NULL OR proposed_label IS NOT NULL),
  CONSTRAINT tag_suggestion_source_check CHECK (source IN ('editor', 'customer', 'model')),
  CONSTRAINT tag_suggestion_score_check CHECK (score BETWEEN 0 AND 1),
  CONSTRAINT tag_suggestion_status_check CHECK (status IN ('pending', 'accepted', 'rejected')),
  CONSTRAINT tag_suggestion_decision_check CHECK ((status = 'pending') = (decided_at IS NULL))
);

-- The suggestions for an artifact.
CREATE INDEX tag_suggestion_artifact_idx ON tag_suggestion (artifact_identifier);

COMMENT ON TABLE tag_suggestion IS
'An information content entity proposing a tag for an artifact, waiting for an editor''s decision.';
COMMENT ON COLUMN tag_suggestion.artifact_identifier IS
'The artifact the tag is suggested for.
references material_artifact.artifact_identifier';
COMMENT ON COLUMN tag_suggestion.tag_identifier IS
'The existing tag suggested; null when a new label is proposed instead.
references information_tag.tag_identifier';
COMMENT ON COLUMN tag_suggestion.proposed_label IS
'A label for a tag that does not exist yet.';
COMMENT ON COLUMN tag_suggestion.score IS
'The suggesting model''s score from 0 to 1; null for people.';

-- migrate:down
DROP TABLE tag_suggestion;
