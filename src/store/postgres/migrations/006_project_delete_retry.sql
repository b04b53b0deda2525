-- Projects can be deleted, and a failed or canceled build can be retried.
--
-- A deleted project keeps its row (its events, builds and deployments still name it) under the
-- name `~<id>`, which no project name can take, so its old name (kept in deleted_name) is free
-- again at once. purged_at is set once what it left outside the database — its git repository,
-- the blobs no other project uses — is gone; a deletion a crash cut short is finished at start.
--
-- Builds are unique per (project, commit, retry number) instead of (project, commit): a retry
-- is a new build of the same commit with the next retry number, naming the build it retries in
-- retry_of (one retry per build).

ALTER TABLE projects ADD COLUMN deleted_at TIMESTAMPTZ;
ALTER TABLE projects ADD COLUMN deleted_name TEXT;
ALTER TABLE projects ADD COLUMN purged_at TIMESTAMPTZ;
CREATE INDEX projects_unpurged ON projects (deleted_at) WHERE deleted_at IS NOT NULL AND purged_at IS NULL;

ALTER TABLE builds ADD COLUMN retry_number INTEGER NOT NULL DEFAULT 0;
ALTER TABLE builds ADD COLUMN retry_of TEXT REFERENCES builds(id);
ALTER TABLE builds DROP CONSTRAINT builds_project_id_commit_sha_key;
ALTER TABLE builds ADD CONSTRAINT builds_project_id_commit_sha_retry_number_key UNIQUE (project_id, commit_sha, retry_number);
CREATE UNIQUE INDEX builds_retry_of ON builds (retry_of) WHERE retry_of IS NOT NULL;
