-- Config vars: an environment's variables, handed to its service's instances (agents) as
-- environment variables. Each change writes a new version: a snapshot of every variable of
-- the environment, sealed with the secret box (store/secret-box.ts) as one JSON document
-- bound to its environment and version, so a snapshot copied to another row does not open.
-- Keys are not secret (audit events name them); values are, and exist nowhere else in the
-- database. A release records the version it runs with (releases.config_version, null: none):
-- a promotion the environment's latest, a rollback its target's, a `config` release (a change
-- of the variables of a service environment, same deployment) the new one.

CREATE TABLE config_versions (
  environment_id  TEXT NOT NULL REFERENCES environments(id),
  version         INTEGER NOT NULL CHECK (version > 0),
  vars_sealed     TEXT NOT NULL,
  created_at      TIMESTAMPTZ NOT NULL,
  created_by      TEXT NOT NULL,
  PRIMARY KEY (environment_id, version)
);

ALTER TABLE releases ADD COLUMN config_version INTEGER;
ALTER TABLE releases DROP CONSTRAINT releases_kind_check;
ALTER TABLE releases ADD CONSTRAINT releases_kind_check CHECK (kind IN ('promote', 'rollback', 'config'));
