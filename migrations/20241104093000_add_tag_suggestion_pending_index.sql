-- The editors' queue: the oldest pending suggestions first.

-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY tag_suggestion_pending_idx
  ON tag_suggestion (created_at) WHERE status = 'pending';

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS tag_suggestion_pending_idx;
