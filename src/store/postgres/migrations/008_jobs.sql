-- One durable queue for all background work (webhook deliveries, the build reaper, upload
-- expiry, project purges, pipeline evaluations). A job is queued (maybe for later: run_at),
-- running under a lease (locked_by, locked_until, extended by heartbeats), done, or dead after
-- its last attempt (last_error says why; an admin may queue it again).
--
-- key: at most one queued job per key, so enqueuing the same work twice runs it once; while a
-- job of a key runs, the next one of that key waits (it is not claimed) so work on one key is
-- never done twice at once. payload is JSON text.
--
-- Work that was waiting in the old places comes over: a project with pending webhook
-- deliveries gets its `webhook.deliver` job, a deleted project not purged yet its `project.purge`.

CREATE TABLE jobs (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind          TEXT NOT NULL,
  key           TEXT,
  payload       TEXT NOT NULL DEFAULT '{}',
  state         TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
  run_at        TIMESTAMPTZ NOT NULL,
  attempts      INTEGER NOT NULL DEFAULT 0,
  max_attempts  INTEGER NOT NULL CHECK (max_attempts >= 1),
  locked_by     TEXT,
  locked_until  TIMESTAMPTZ,
  last_error    TEXT,
  created_at    TIMESTAMPTZ NOT NULL,
  updated_at    TIMESTAMPTZ NOT NULL,
  done_at       TIMESTAMPTZ
);
CREATE UNIQUE INDEX jobs_queued_key ON jobs (key) WHERE state = 'queued';
-- Claims read the queued and the running jobs (few), listings a state newest first.
CREATE INDEX jobs_state ON jobs (state, id);

-- A project's `webhook.deliver` job reads the project's oldest pending delivery, among few
-- pending rows rather than along the project's whole history.
CREATE INDEX webhook_deliveries_pending_project ON webhook_deliveries (project_id, seq) WHERE state = 'pending';

INSERT INTO jobs (kind, key, payload, state, run_at, max_attempts, created_at, updated_at)
SELECT 'webhook.deliver', 'webhook.deliver:' || project_id, '{"projectId":"' || project_id || '"}', 'queued', min(received_at), 5, min(received_at), min(received_at)
FROM webhook_deliveries
WHERE state = 'pending'
GROUP BY project_id;

INSERT INTO jobs (kind, key, payload, state, run_at, max_attempts, created_at, updated_at)
SELECT 'project.purge', 'project.purge:' || id, '{"projectId":"' || id || '"}', 'queued', deleted_at, 10, deleted_at, deleted_at
FROM projects
WHERE deleted_at IS NOT NULL AND purged_at IS NULL;
