-- Slipway schema, PostgreSQL.

CREATE TABLE projects (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  created_at  TIMESTAMPTZ NOT NULL,
  created_by  TEXT NOT NULL
);

CREATE TABLE tokens (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('admin', 'deployer', 'viewer')),
  hash          TEXT NOT NULL UNIQUE,
  created_at    TIMESTAMPTZ NOT NULL,
  created_by    TEXT NOT NULL,
  last_used_at  TIMESTAMPTZ,
  revoked_at    TIMESTAMPTZ
);

CREATE TABLE uploads (
  id               TEXT PRIMARY KEY,
  project_id       TEXT NOT NULL REFERENCES projects(id),
  manifest_digest  TEXT NOT NULL,
  file_count       INTEGER NOT NULL,
  total_bytes      BIGINT NOT NULL,
  meta             TEXT NOT NULL,
  created_at       TIMESTAMPTZ NOT NULL,
  created_by       TEXT NOT NULL,
  deployment_id    TEXT
);

CREATE TABLE deployments (
  id               TEXT PRIMARY KEY,
  project_id       TEXT NOT NULL REFERENCES projects(id),
  manifest_digest  TEXT NOT NULL,
  file_count       INTEGER NOT NULL,
  total_bytes      BIGINT NOT NULL,
  meta             TEXT NOT NULL,
  created_at       TIMESTAMPTZ NOT NULL,
  created_by       TEXT NOT NULL
);
CREATE INDEX deployments_project ON deployments (project_id, created_at);

CREATE TABLE environments (
  id              TEXT PRIMARY KEY,
  project_id      TEXT NOT NULL REFERENCES projects(id),
  name            TEXT NOT NULL,
  deployment_id   TEXT REFERENCES deployments(id),
  release_id      TEXT,
  release_number  INTEGER NOT NULL DEFAULT 0,
  pinned_by       TEXT,
  pinned_at       TIMESTAMPTZ,
  pinned_reason   TEXT,
  locked_by       TEXT,
  locked_at       TIMESTAMPTZ,
  locked_reason   TEXT,
  locked_until    TIMESTAMPTZ,
  created_at      TIMESTAMPTZ NOT NULL,
  UNIQUE (project_id, name)
);
CREATE INDEX environments_deployment ON environments (deployment_id);

CREATE TABLE releases (
  id                      TEXT PRIMARY KEY,
  project_id              TEXT NOT NULL REFERENCES projects(id),
  environment_id          TEXT NOT NULL REFERENCES environments(id),
  number                  INTEGER NOT NULL,
  kind                    TEXT NOT NULL CHECK (kind IN ('promote', 'rollback')),
  state                   TEXT NOT NULL,
  deployment_id           TEXT NOT NULL REFERENCES deployments(id),
  previous_deployment_id  TEXT REFERENCES deployments(id),
  replaces_release_id     TEXT REFERENCES releases(id),
  reason                  TEXT,
  forced                  INTEGER NOT NULL DEFAULT 0,
  created_at              TIMESTAMPTZ NOT NULL,
  created_by              TEXT NOT NULL,
  UNIQUE (environment_id, number)
);

CREATE TABLE domains (
  hostname     TEXT PRIMARY KEY,
  project_id   TEXT NOT NULL REFERENCES projects(id),
  environment  TEXT NOT NULL,
  created_at   TIMESTAMPTZ NOT NULL,
  created_by   TEXT NOT NULL
);

CREATE TABLE events (
  id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at           TIMESTAMPTZ NOT NULL,
  actor        TEXT NOT NULL,
  action       TEXT NOT NULL,
  project_id   TEXT,
  environment  TEXT,
  target       TEXT,
  reason       TEXT,
  before       TEXT,
  after        TEXT
);
CREATE INDEX events_project ON events (project_id, id);

-- The audit log is append-only, whatever code runs against this database.
CREATE FUNCTION slipway_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'events are append-only';
END;
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION slipway_events_append_only();
