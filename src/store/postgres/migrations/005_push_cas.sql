-- Pushes move branches by compare-and-set, and locks belong to an actor's id.
--
-- A delivery whose push names a `before` that is not the branch's recorded head (a replay, or
-- one overtaken by a newer push) is kept as `stale`: it moved nothing.
--
-- A deleted branch keeps its row with the zero sha as head (a tombstone), so an old push of it
-- replayed later finds a head to compare with instead of looking like a branch never seen.
--
-- locked_by_id: the id of whoever holds the lock (a token's id); unlocking compares it, not the
-- name. Locks taken before this migration get the id of the one live token with that name;
-- when the name is ambiguous or gone, the id stays NULL and only break-glass unlocks them.

ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_state_check;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_state_check CHECK (state IN ('pending', 'done', 'failed', 'stale'));

ALTER TABLE environments ADD COLUMN locked_by_id TEXT;
UPDATE environments
SET locked_by_id = (SELECT t.id FROM tokens t WHERE t.name = environments.locked_by AND t.revoked_at IS NULL)
WHERE locked_at IS NOT NULL
  AND (SELECT count(*) FROM tokens t WHERE t.name = environments.locked_by AND t.revoked_at IS NULL) = 1;
