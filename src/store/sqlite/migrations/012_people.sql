-- People: users with a global role, the emails their commits carry, per-project memberships that
-- raise that role on one project, dashboard sessions, and tokens that belong to a user or are
-- service tokens scoped to one project, with an optional expiry.
--
-- SQLite cannot change a CHECK constraint in place, so tokens is rebuilt with every column it had
-- and the wider role list (approver), plus user_id, project_id and expires_at.

CREATE TABLE users (
  id                    TEXT PRIMARY KEY,
  name                  TEXT NOT NULL UNIQUE,
  role                  TEXT NOT NULL CHECK (role IN ('admin', 'approver', 'deployer', 'viewer')),
  -- scrypt$N$r$p$salt$hash; NULL: no password (signs in with a personal token only)
  password_hash         TEXT,
  password_changed_at   TEXT,
  failed_sign_ins       INTEGER NOT NULL DEFAULT 0,
  sign_in_blocked_until TEXT,
  created_at            TEXT NOT NULL,
  created_by            TEXT NOT NULL,
  disabled_at           TEXT
);

-- Lowercased; one email belongs to one user (commit authors are mapped by it).
CREATE TABLE user_emails (
  email       TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES users(id),
  created_at  TEXT NOT NULL
);
CREATE INDEX user_emails_user ON user_emails (user_id);

CREATE TABLE memberships (
  project_id  TEXT NOT NULL REFERENCES projects(id),
  user_id     TEXT NOT NULL REFERENCES users(id),
  role        TEXT NOT NULL CHECK (role IN ('admin', 'approver', 'deployer', 'viewer')),
  created_at  TEXT NOT NULL,
  created_by  TEXT NOT NULL,
  PRIMARY KEY (project_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

-- A signed-in browser: the cookie holds the secret, the row its sha256.
CREATE TABLE sessions (
  id            TEXT PRIMARY KEY,
  hash          TEXT NOT NULL UNIQUE,
  user_id       TEXT NOT NULL REFERENCES users(id),
  created_at    TEXT NOT NULL,
  expires_at    TEXT NOT NULL,
  last_seen_at  TEXT NOT NULL,
  revoked_at    TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE tokens_new (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('admin', 'approver', 'deployer', 'viewer', 'runner')),
  hash          TEXT NOT NULL UNIQUE,
  created_at    TEXT NOT NULL,
  created_by    TEXT NOT NULL,
  last_used_at  TEXT,
  revoked_at    TEXT,
  user_id       TEXT REFERENCES users(id),
  project_id    TEXT REFERENCES projects(id),
  expires_at    TEXT
);
INSERT INTO tokens_new (id, name, role, hash, created_at, created_by, last_used_at, revoked_at)
SELECT id, name, role, hash, created_at, created_by, last_used_at, revoked_at FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_new RENAME TO tokens;
CREATE INDEX tokens_user ON tokens (user_id);
