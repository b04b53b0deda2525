-- Runners get their own role, and the runner that claims a build holds a lease token on it.
--
-- SQLite cannot change a CHECK constraint in place, so tokens is rebuilt with every column of
-- 001 and the wider role list. builds only grows a column: the sha256 of the current lease
-- token (the token itself is shown once, to the runner that claimed the build).

CREATE TABLE tokens_new (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('admin', 'deployer', 'viewer', 'runner')),
  hash          TEXT NOT NULL UNIQUE,
  created_at    TEXT NOT NULL,
  created_by    TEXT NOT NULL,
  last_used_at  TEXT,
  revoked_at    TEXT
);
INSERT INTO tokens_new (id, name, role, hash, created_at, created_by, last_used_at, revoked_at)
SELECT id, name, role, hash, created_at, created_by, last_used_at, revoked_at FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_new RENAME TO tokens;

ALTER TABLE builds ADD COLUMN lease_token_hash TEXT;
