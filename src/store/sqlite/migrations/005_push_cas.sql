-- Pushes move branches by compare-and-set, and locks belong to an actor's id.
--
-- A delivery whose push names a `before` that is not the branch's recorded head (a replay, or
-- one overtaken by a newer push) is kept as `stale`: it moved nothing. SQLite cannot alter a
-- CHECK, so webhook_deliveries is rebuilt exactly as 003 left it, with the wider CHECK.
--
-- A deleted branch keeps its row with the zero sha as head (a tombstone), so an old push of it
-- replayed later finds a head to compare with instead of looking like a branch never seen.
--
-- locked_by_id: the id of whoever holds the lock (a token's id); unlocking compares it, not the
-- name. Locks taken before this migration get the id of the one live token with that name;
-- when the name is ambiguous or gone, the id stays NULL and only break-glass unlocks them.

CREATE TABLE webhook_deliveries_005 (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  provider      TEXT NOT NULL,
  project_id    TEXT NOT NULL,
  delivery_id   TEXT NOT NULL,
  push          TEXT,
  state         TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed', 'stale')),
  received_at   TEXT NOT NULL,
  processed_at  TEXT,
  builds        TEXT NOT NULL DEFAULT '[]',
  error         TEXT,
  UNIQUE (provider, project_id, delivery_id)
);
INSERT INTO webhook_deliveries_005 (seq, provider, project_id, delivery_id, push, state, received_at, processed_at, builds, error)
SELECT seq, provider, project_id, delivery_id, push, state, received_at, processed_at, builds, error FROM webhook_deliveries;
DROP TABLE webhook_deliveries;
ALTER TABLE webhook_deliveries_005 RENAME TO webhook_deliveries;
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (seq) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_project ON webhook_deliveries (project_id, seq);

ALTER TABLE environments ADD COLUMN locked_by_id TEXT;
UPDATE environments
SET locked_by_id = (SELECT t.id FROM tokens t WHERE t.name = environments.locked_by AND t.revoked_at IS NULL)
WHERE locked_at IS NOT NULL
  AND (SELECT count(*) FROM tokens t WHERE t.name = environments.locked_by AND t.revoked_at IS NULL) = 1;
