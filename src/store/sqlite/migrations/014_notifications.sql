-- Outgoing notifications. A target is a URL a project's release state changes are POSTed to,
-- signed with its own secret (sealed, like webhook secrets), in Slipway's JSON or Slack's
-- shape, for the events it names (a JSON array of `release.<state>`). Removing a target keeps
-- its row (removed_at) so its deliveries keep saying where they went.
--
-- A delivery is one event for one target: its body is fixed when the state change commits
-- (every attempt sends the same bytes) and a `notification.send` job sends it. States:
-- pending → delivered | failed | canceled (core/notifications.ts). Only a short excerpt of a
-- receiver's answer is kept.

CREATE TABLE notify_targets (
  id             TEXT PRIMARY KEY,
  project_id     TEXT NOT NULL REFERENCES projects(id),
  -- Sealed: a webhook URL is often a credential itself. url_origin is what non-admins see.
  url            TEXT NOT NULL,
  url_origin     TEXT NOT NULL,
  format         TEXT NOT NULL CHECK (format IN ('json', 'slack')),
  events         TEXT NOT NULL,
  secret         TEXT NOT NULL,
  allow_private  INTEGER NOT NULL DEFAULT 0,
  created_at     TEXT NOT NULL,
  created_by     TEXT NOT NULL,
  removed_at     TEXT,
  removed_by     TEXT
);
CREATE INDEX notify_targets_project ON notify_targets (project_id) WHERE removed_at IS NULL;

CREATE TABLE notify_deliveries (
  id               TEXT PRIMARY KEY,
  target_id        TEXT NOT NULL REFERENCES notify_targets(id),
  project_id       TEXT NOT NULL REFERENCES projects(id),
  event            TEXT NOT NULL,
  release_id       TEXT REFERENCES releases(id),
  body             TEXT NOT NULL,
  state            TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed', 'canceled')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  status_code      INTEGER,
  error            TEXT,
  response_excerpt TEXT,
  created_at       TEXT NOT NULL,
  last_attempt_at  TEXT,
  next_attempt_at  TEXT,
  ended_at         TEXT
);
CREATE INDEX notify_deliveries_project ON notify_deliveries (project_id, created_at);
CREATE INDEX notify_deliveries_target ON notify_deliveries (target_id, created_at);
