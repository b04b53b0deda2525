-- Git: external repositories, branches, builds with leases, build logs, webhook deliveries.

ALTER TABLE projects ADD COLUMN repo_url TEXT;
ALTER TABLE projects ADD COLUMN webhook_secret TEXT;

ALTER TABLE deployments ADD COLUMN build_id TEXT;

ALTER TABLE environments ADD COLUMN follows TEXT;
ALTER TABLE environments ADD COLUMN preview INTEGER NOT NULL DEFAULT 0;
ALTER TABLE environments ADD COLUMN retired_at TEXT;

CREATE TABLE branches (
  project_id  TEXT NOT NULL REFERENCES projects(id),
  name        TEXT NOT NULL,
  head        TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  PRIMARY KEY (project_id, name)
);

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
  UNIQUE (project_id, commit_sha)
);
CREATE INDEX builds_queue ON builds (state, created_at);
CREATE INDEX builds_project ON builds (project_id, created_at);

CREATE TABLE build_logs (
  build_id  TEXT NOT NULL REFERENCES builds(id),
  seq       INTEGER NOT NULL,
  at        TEXT NOT NULL,
  stream    TEXT NOT NULL,
  text      TEXT NOT NULL,
  PRIMARY KEY (build_id, seq)
);

CREATE TABLE webhook_deliveries (
  provider     TEXT NOT NULL,
  delivery_id  TEXT NOT NULL,
  project_id   TEXT NOT NULL,
  received_at  TEXT NOT NULL,
  PRIMARY KEY (provider, delivery_id)
);
