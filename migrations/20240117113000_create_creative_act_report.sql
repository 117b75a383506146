-- migrate:up
CREATE TABLE creative_act_report (
  report_identifier varchar(64) PRIMARY KEY,
  artifact_identifier varchar(64) NOT NULL,
  plan_identifier varchar(64),
  act_kind text NOT NULL,
  creator_name text NOT NULL,
  performed_on date NOT NULL,
  hours_spent numeric(6,2),
  summary text,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT creative_act_report_act_kind_check CHECK (act_kind IN ('design', 'photography', 'illustration', 'writing', 'editing')),
  CONSTRAINT creative_act_report_hours_check CHECK (hours_spent >= 0)
);

-- The creative history of an artifact, and the work done under a plan.
CREATE INDEX creative_act_report_artifact_idx ON creative_act_report (artifact_identifier, performed_on);
CREATE INDEX creative_act_report_plan_idx ON creative_act_report (plan_identifier)
  WHERE plan_identifier IS NOT NULL;

COMMENT ON TABLE creative_act_report IS
'A report of a creative act performed on an artifact: designing it, photographing it, writing its copy.';
COMMENT ON COLUMN creative_act_report.artifact_identifier IS
'The artifact worked on.
references material_artifact.artifact_identifier';
COMMENT ON COLUMN creative_act_report.plan_identifier IS
'The plan the work was done under, if any.
references plan_specification.plan_identifier';
COMMENT ON COLUMN creative_act_report.creator_name IS
'Who performed the act, as credited.';

-- migrate:down
DROP TABLE creative_act_report;
