-- migrate:up
CREATE TABLE commercial_transaction_process (
  transaction_identifier varchar(64) PRIMARY KEY,
  transaction_kind text NOT NULL,
  artifact_identifier varchar(64) NOT NULL,
  refunded_transaction_identifier varchar(64),
  quantity integer NOT NULL DEFAULT 1,
  amount_minor_units bigint NOT NULL,
  currency_code char(3) NOT NULL,
  occurred_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT commercial_transaction_process_kind_check CHECK (transaction_kind IN ('order', 'refund')),
  CONSTRAINT commercial_transaction_process_quantity_check CHECK (quantity > 0),
  CONSTRAINT commercial_transaction_process_amount_check CHECK (amount_minor_units >= 0),
  CONSTRAINT commercial_transaction_process_currency_check CHECK (currency_code ~ '^[A-Z]{3}$'),
  -- A refund names the order it refunds; an order names nothing.
  CONSTRAINT commercial_transaction_process_refund_check
    CHECK ((transaction_kind = 'refund') = (refunded_transaction_identifier IS NOT NULL))
);

-- The history of one artifact, and revenue over a period.
CREATE INDEX commercial_transaction_process_artifact_idx ON commercial_transaction_process (artifact_identifier, occurred_at);
CREATE INDEX commercial_transaction_process_occurred_idx ON commercial_transaction_process (occurred_at);
-- The refunds of an order.
CREATE INDEX commercial_transaction_process_refunded_idx ON commercial_transaction_process (refunded_transaction_identifier)
  WHERE refunded_transaction_identifier IS NOT NULL;

COMMENT ON TABLE commercial_transaction_process IS
'A process record of a commercial transaction: an order of an artifact, or the refund of an order.';
COMMENT ON COLUMN commercial_transaction_process.transaction_identifier IS
'Stable identifier of the transaction, such as ORD-00000001 or REF-00000001.';
COMMENT ON COLUMN commercial_transaction_process.transaction_kind IS
'order or refund.';
COMMENT ON COLUMN commercial_transaction_process.artifact_identifier IS
'The artifact sold or refunded.
references material_artifact.artifact_identifier';
COMMENT ON COLUMN commercial_transaction_process.refunded_transaction_identifier IS
'For a refund, the order it refunds; null for an order.
references commercial_transaction_process.transaction_identifier';
COMMENT ON COLUMN commercial_transaction_process.amount_minor_units IS
'Amount in the currency''s minor units (cents), never negative: a refund is a refund by its kind, not by its sign.';
COMMENT ON COLUMN commercial_transaction_process.currency_code IS
'ISO 4217 code of the amount''s currency.';
COMMENT ON COLUMN commercial_transaction_process.occurred_at IS
'When the customer ordered, or when the refund was granted.';

-- migrate:down
DROP TABLE commercial_transaction_process;
