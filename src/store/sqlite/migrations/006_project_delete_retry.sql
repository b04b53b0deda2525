-- Projects can be deleted, and a failed or canceled build can be retried.
--
-- A deleted project keeps its row (its events, builds and deployments still name it) under the
-- name `~<id>`, which no project name can take, so its old name (kept in deleted_name) is free
-- again at once. purged_at is set once what it left outside the database — its git repository,
-- the blobs no other project uses — is gone; a deletion a crash cut short is finished at start.
--
-- Builds are unique per (project, commit, retry number) instead of (project, commit): a retry
-- is a new build of the same commit with the next retry number, naming the build it retries in
-- retry_of (one retry per build). SQLite cannot drop a UNIQUE constraint, so builds is rebuilt:
-- its rows are set aside, the table is created anew with every column the earlier migrations
-- gave it, and the rows come back. Foreign-key checks are deferred to the commit so that
-- build_logs, which references builds, is checked against the rebuilt table.

ALTER TABLE projects ADD COLUMN deleted_at TEXT;
ALTER TABLE projects ADD COLUMN deleted_name TEXT;
ALTER TABLE projects ADD COLUMN purged_at TEXT;
CREATE INDEX projects_unpurged ON projects (deleted_at) WHERE deleted_at IS NOT NULL AND purged_at IS NULL;

PRAGMA defer_foreign_keys = ON;

CREATE TABLE builds_005 AS SELECT * FROM builds;
DROP TABLE builds;

CREATE TABLE builds (
  id                   TEXT PRIMARY KEY,
  project_id           TEXT NOT NULL REFERENCES projects(id),
  commit_sha           TEXT NOT NULL,
  ref                  TEXT NOT NULL,
  branch               TEXT,
  state                TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'canceled')),
  source_url           TEXT,
  trigger_kind         TEXT NOT NULL,
  created_at           TEXT NOT NULL,
  created_by           TEXT NOT NULL,
  started_at           TEXT,
  finished_at          TEXT,
  attempt              INTEGER NOT NULL DEFAULT 0,
  runner               TEXT,
  lease_expires_at     TEXT,
  cancel_requested_at  TEXT,
  deployment_id        TEXT,
  error                TEXT,
  author               TEXT,
  message              TEXT,
  log_seq              INTEGER NOT NULL DEFAULT 0,
  lease_token_hash     TEXT,
  retry_number         INTEGER NOT NULL DEFAULT 0,
  retry_of             TEXT REFERENCES builds(id),
  UNIQUE (project_id, commit_sha, retry_number)
);

INSERT INTO builds (
  id, project_id, commit_sha, ref, branch, state, source_url, trigger_kind, created_at, created_by, started_at, finished_at,
  attempt, runner, lease_expires_at, cancel_requested_at, deployment_id, error, author, message, log_seq, lease_token_hash
)
SELECT
  id, project_id, commit_sha, ref, branch, state, source_url, trigger_kind, created_at, created_by, started_at, finished_at,
  attempt, runner, lease_expires_at, cancel_requested_at, deployment_id, error, author, message, log_seq, lease_token_hash
FROM builds_005;
DROP TABLE builds_005;

CREATE INDEX builds_queue ON builds (state, created_at);
CREATE INDEX builds_project ON builds (project_id, created_at);
CREATE UNIQUE INDEX builds_retry_of ON builds (retry_of) WHERE retry_of IS NOT NULL;
