-- migrate:up
CREATE TABLE tag_category (
  category_identifier varchar(64) PRIMARY KEY,
  title text NOT NULL,
  description text,
  created_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE tag_category IS
'An information content entity that groups tags: genre, format, audience…';
COMMENT ON COLUMN tag_category.category_identifier IS
'Stable identifier of the category, such as CAT-GENRE.';

CREATE TABLE information_tag (
  tag_identifier varchar(64) PRIMARY KEY,
  category_identifier varchar(64) NOT NULL,
  label text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Also serves listing the tags of a category.
  CONSTRAINT information_tag_category_label_key UNIQUE (category_identifier, label)
);

COMMENT ON TABLE information_tag IS
'An information content entity that labels artifacts; artifacts are classified with tags in artifact_tag_classification.';
COMMENT ON COLUMN information_tag.tag_identifier IS
'Stable identifier of the tag, such as TAG-0001.';
COMMENT ON COLUMN information_tag.category_identifier IS
'The category the tag belongs to.
references tag_category.category_identifier';
COMMENT ON COLUMN information_tag.label IS
'The label shown to people, unique within its category; the value copied into material_artifact.tags.';

-- migrate:down
DROP TABLE information_tag;
DROP TABLE tag_category;
