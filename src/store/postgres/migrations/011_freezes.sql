-- Freezes: spans of time in which nothing goes live in an environment but an admin's forced
-- release. [from_at, until_at) in UTC. Deleting one (unfreeze) removes its row; the audit log
-- (environment.freeze / environment.unfreeze events) keeps what was frozen, when and why.

CREATE TABLE freezes (
  id              TEXT PRIMARY KEY,
  project_id      TEXT NOT NULL REFERENCES projects(id),
  environment_id  TEXT NOT NULL REFERENCES environments(id),
  from_at         TIMESTAMPTZ NOT NULL,
  until_at        TIMESTAMPTZ NOT NULL,
  reason          TEXT NOT NULL,
  created_by      TEXT NOT NULL,
  created_at      TIMESTAMPTZ NOT NULL,
  CHECK (until_at > from_at)
);
CREATE INDEX freezes_environment ON freezes (environment_id, until_at);
CREATE INDEX freezes_project ON freezes (project_id, until_at);
