-- People: users with a global role, the emails their commits carry, per-project memberships that
-- raise that role on one project, dashboard sessions, and tokens that belong to a user or are
-- service tokens scoped to one project, with an optional expiry.

CREATE TABLE users (
  id                    TEXT PRIMARY KEY,
  name                  TEXT NOT NULL UNIQUE,
  role                  TEXT NOT NULL CHECK (role IN ('admin', 'approver', 'deployer', 'viewer')),
  -- scrypt$N$r$p$salt$hash; NULL: no password (signs in with a personal token only)
  password_hash         TEXT,
  password_changed_at   TIMESTAMPTZ,
  failed_sign_ins       INTEGER NOT NULL DEFAULT 0,
  sign_in_blocked_until TIMESTAMPTZ,
  created_at            TIMESTAMPTZ NOT NULL,
  created_by            TEXT NOT NULL,
  disabled_at           TIMESTAMPTZ
);

-- Lowercased; one email belongs to one user (commit authors are mapped by it).
CREATE TABLE user_emails (
  email       TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES users(id),
  created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX user_emails_user ON user_emails (user_id);

CREATE TABLE memberships (
  project_id  TEXT NOT NULL REFERENCES projects(id),
  user_id     TEXT NOT NULL REFERENCES users(id),
  role        TEXT NOT NULL CHECK (role IN ('admin', 'approver', 'deployer', 'viewer')),
  created_at  TIMESTAMPTZ NOT NULL,
  created_by  TEXT NOT NULL,
  PRIMARY KEY (project_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

-- A signed-in browser: the cookie holds the secret, the row its sha256.
CREATE TABLE sessions (
  id            TEXT PRIMARY KEY,
  hash          TEXT NOT NULL UNIQUE,
  user_id       TEXT NOT NULL REFERENCES users(id),
  created_at    TIMESTAMPTZ NOT NULL,
  expires_at    TIMESTAMPTZ NOT NULL,
  last_seen_at  TIMESTAMPTZ NOT NULL,
  revoked_at    TIMESTAMPTZ
);
CREATE INDEX sessions_user ON sessions (user_id);

ALTER TABLE tokens DROP CONSTRAINT tokens_role_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_role_check CHECK (role IN ('admin', 'approver', 'deployer', 'viewer', 'runner'));
ALTER TABLE tokens ADD COLUMN user_id TEXT REFERENCES users(id);
ALTER TABLE tokens ADD COLUMN project_id TEXT REFERENCES projects(id);
ALTER TABLE tokens ADD COLUMN expires_at TIMESTAMPTZ;
CREATE INDEX tokens_user ON tokens (user_id);
