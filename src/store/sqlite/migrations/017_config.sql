-- slipway: foreign keys off
-- Config vars: an environment's variables, handed to its service's instances (agents) as
-- environment variables. Each change writes a new version: a snapshot of every variable of
-- the environment, sealed with the secret box (store/secret-box.ts) as one JSON document
-- bound to its environment and version, so a snapshot copied to another row does not open.
-- Keys are not secret (audit events name them); values are, and exist nowhere else in the
-- database. A release records the version it runs with (releases.config_version, null: none):
-- a promotion the environment's latest, a rollback its target's, a `config` release (a change
-- of the variables of a service environment, same deployment) the new one.
--
-- SQLite cannot change a CHECK in place: releases is rebuilt the documented way (new table,
-- copy, drop, rename), which the first line asks migrate.ts to run with foreign keys off and
-- checked before the commit (every table that references releases keeps pointing at it).

CREATE TABLE config_versions (
  environment_id  TEXT NOT NULL REFERENCES environments(id),
  version         INTEGER NOT NULL CHECK (version > 0),
  vars_sealed     TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  created_by      TEXT NOT NULL,
  PRIMARY KEY (environment_id, version)
);

CREATE TABLE releases_017 (
  id                      TEXT PRIMARY KEY,
  project_id              TEXT NOT NULL REFERENCES projects(id),
  environment_id          TEXT NOT NULL REFERENCES environments(id),
  number                  INTEGER NOT NULL,
  kind                    TEXT NOT NULL CHECK (kind IN ('promote', 'rollback', 'config')),
  state                   TEXT NOT NULL,
  deployment_id           TEXT NOT NULL REFERENCES deployments(id),
  previous_deployment_id  TEXT REFERENCES deployments(id),
  replaces_release_id     TEXT REFERENCES releases(id),
  reason                  TEXT,
  forced                  INTEGER NOT NULL DEFAULT 0,
  created_at              TEXT NOT NULL,
  created_by              TEXT NOT NULL,
  trigger                 TEXT NOT NULL DEFAULT 'user' CHECK (trigger IN ('user', 'automation')),
  commit_sha              TEXT,
  branch                  TEXT,
  gates                   TEXT,
  evaluated_at            TEXT,
  recheck_at              TEXT,
  superseded_by           TEXT REFERENCES releases(id),
  state_reason            TEXT,
  live_at                 TEXT,
  ended_at                TEXT,
  batch                   TEXT,
  created_by_id           TEXT,
  expedited               INTEGER NOT NULL DEFAULT 0,
  config_version          INTEGER,
  UNIQUE (environment_id, number)
);

INSERT INTO releases_017 (
  id, project_id, environment_id, number, kind, state, deployment_id, previous_deployment_id, replaces_release_id, reason, forced,
  created_at, created_by, trigger, commit_sha, branch, gates, evaluated_at, recheck_at, superseded_by, state_reason, live_at, ended_at,
  batch, created_by_id, expedited
)
SELECT
  id, project_id, environment_id, number, kind, state, deployment_id, previous_deployment_id, replaces_release_id, reason, forced,
  created_at, created_by, trigger, commit_sha, branch, gates, evaluated_at, recheck_at, superseded_by, state_reason, live_at, ended_at,
  batch, created_by_id, expedited
FROM releases;

DROP TABLE releases;
ALTER TABLE releases_017 RENAME TO releases;

CREATE INDEX releases_open ON releases (environment_id, number) WHERE state IN ('pending', 'waiting', 'rolling_out');
CREATE INDEX releases_open_all ON releases (project_id) WHERE state IN ('pending', 'waiting', 'rolling_out');
CREATE INDEX releases_deployment ON releases (environment_id, deployment_id);
