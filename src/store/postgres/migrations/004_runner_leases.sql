-- Runners get their own role, and the runner that claims a build holds a lease token on it:
-- builds keeps the sha256 of the current lease token (the token itself is shown once, to the
-- runner that claimed the build).

ALTER TABLE tokens DROP CONSTRAINT tokens_role_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_role_check CHECK (role IN ('admin', 'deployer', 'viewer', 'runner'));

ALTER TABLE builds ADD COLUMN lease_token_hash TEXT;
