-- Approvals: a person's sign-off on one release (or its rejection). A row binds to its release
-- and is never carried to another; a superseded release keeps its own. One decision per
-- (release, user, for_email): for_email is the author email an approver signed for on behalf of
-- an author with no user ('' for one's own decision). The role is the approver's effective role
-- on the project when they decided: what counted then still counts.

CREATE TABLE approvals (
  id          TEXT PRIMARY KEY,
  project_id  TEXT NOT NULL REFERENCES projects(id),
  release_id  TEXT NOT NULL REFERENCES releases(id),
  user_id     TEXT NOT NULL,
  user_name   TEXT NOT NULL,
  role        TEXT NOT NULL,
  for_email   TEXT NOT NULL DEFAULT '',
  decision    TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
  reason      TEXT,
  created_at  TIMESTAMPTZ NOT NULL,
  UNIQUE (release_id, user_id, for_email)
);

-- Who proposed a release, by id (a user's id, a token's id; null for automation): four eyes
-- keeps the person who promoted a release out of its approval count. The name stays in created_by.
ALTER TABLE releases ADD COLUMN created_by_id TEXT;
