-- migrate:up
CREATE TABLE plan_specification (
  plan_identifier varchar(64) PRIMARY KEY,
  parent_plan_identifier varchar(64),
  artifact_identifier varchar(64),
  title text NOT NULL,
  objective text,
  status text NOT NULL DEFAULT 'draft',
  starts_on date,
  ends_on date,
  budget_minor_units bigint,
  currency_code char(3),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT plan_specification_status_check CHECK (status IN ('draft', 'active', 'completed', 'cancelled')),
  CONSTRAINT plan_specification_period_check CHECK (ends_on >= starts_on),
  CONSTRAINT plan_specification_budget_check CHECK (budget_minor_units >= 0),
  CONSTRAINT plan_specification_currency_check CHECK (currency_code ~ '^[A-Z]{3}$'),
  CONSTRAINT plan_specification_budget_currency_check CHECK ((budget_minor_units IS NULL) = (currency_code IS NULL))
);

-- The plans about an artifact, and the sub-plans of a plan.
CREATE INDEX plan_specification_artifact_idx ON plan_specification (artifact_identifier)
  WHERE artifact_identifier IS NOT NULL;
CREATE INDEX plan_specification_parent_idx ON plan_specification (parent_plan_identifier)
  WHERE parent_plan_identifier IS NOT NULL;

COMMENT ON TABLE plan_specification IS
'A plan specification: what is to be done for a product line or campaign, by when and with what budget.';
COMMENT ON COLUMN plan_specification.parent_plan_identifier IS
'The plan this one is part of; null for a top-level plan.
references plan_specification.plan_identifier';
COMMENT ON COLUMN plan_specification.artifact_identifier IS
'The artifact the plan is about; null for plans about no single artifact.
references material_artifact.artifact_identifier';
COMMENT ON COLUMN plan_specification.budget_minor_units IS
'Budget in minor units of currency_code; both null when there is no budget.';

-- migrate:down
DROP TABLE plan_specification;
