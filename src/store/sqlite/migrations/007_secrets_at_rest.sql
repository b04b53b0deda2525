-- Secrets at rest: webhook secrets and repository credentials are sealed (AES-256-GCM) by the
-- store. Credentials move out of repo_url into their own column. Values stored before this
-- migration are marked `plain:` here and sealed in code at the first start with a key, together
-- with the credentials still inside repo_url, builds, queued deliveries and audit events.

ALTER TABLE projects ADD COLUMN repo_credentials TEXT;

-- One sealed check value: a start with another key fails at once (SECRET_KEY_MISMATCH).
CREATE TABLE secret_key_checks (
  id          TEXT PRIMARY KEY,
  value       TEXT NOT NULL,
  created_at  TEXT NOT NULL
);

-- One-time data upgrades that run in code after the migrations, each removed once done.
CREATE TABLE slipway_upgrades (
  name  TEXT PRIMARY KEY
);

UPDATE projects SET webhook_secret = 'plain:' || webhook_secret WHERE webhook_secret IS NOT NULL;
INSERT INTO slipway_upgrades (name) VALUES ('seal-secrets');
