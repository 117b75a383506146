-- migrate:up
ALTER TABLE commercial_transaction_process ADD COLUMN refund_reason text;

COMMENT ON COLUMN commercial_transaction_process.refund_reason IS
'Why a refund was granted, as support entered it; null for orders.';

-- migrate:down
ALTER TABLE commercial_transaction_process DROP COLUMN refund_reason;
