-- Webhook deliveries become a durable queue: the ack records each delivery, with the push it
-- carries, in one statement and answers at once; a worker records the pushes later, one at a
-- time in seq order, and notes the builds each one queued.
--
-- The idempotency key is now the provider's own delivery id per project. 002 kept
-- `<project id>/<delivery id>` in delivery_id; existing rows are split here. They were recorded
-- in the request that received them, so they come over as done, without their push.
-- seq is the primary key (SQLite autoincrements only an INTEGER PRIMARY KEY); the key the
-- ack's INSERT … ON CONFLICT DO NOTHING relies on is the UNIQUE constraint.
-- No foreign key on project_id: a delivery outlives its project and then ends failed.

CREATE TABLE webhook_deliveries_002 AS SELECT provider, delivery_id, project_id, received_at FROM webhook_deliveries;
DROP TABLE webhook_deliveries;

CREATE TABLE webhook_deliveries (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  provider      TEXT NOT NULL,
  project_id    TEXT NOT NULL,
  delivery_id   TEXT NOT NULL,
  push          TEXT,
  state         TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
  received_at   TEXT NOT NULL,
  processed_at  TEXT,
  builds        TEXT NOT NULL DEFAULT '[]',
  error         TEXT,
  UNIQUE (provider, project_id, delivery_id)
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (seq) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_project ON webhook_deliveries (project_id, seq);

INSERT INTO webhook_deliveries (provider, project_id, delivery_id, push, state, received_at, processed_at)
SELECT
  provider,
  project_id,
  CASE
    WHEN substr(delivery_id, 1, length(project_id) + 1) = project_id || '/' THEN substr(delivery_id, length(project_id) + 2)
    ELSE delivery_id
  END,
  NULL,
  'done',
  received_at,
  received_at
FROM webhook_deliveries_002
ORDER BY received_at, delivery_id;

DROP TABLE webhook_deliveries_002;
