-- Agents: a process on a host of the user's, enrolled into one project + environment, that runs
-- one instance of the project's service. An enrollment token is single-use and expires; it is
-- traded for the agent's own credential (a token of the role `agent`, tokens.agent_id naming
-- the agent it speaks for). The server writes what an agent should do (run, prepare,
-- release_phase; rev counts those changes, so a long-poll knows what it has seen); the agent
-- reports what it does (state, current_*, prepared, healthy, pid, error). rotation says whether
-- the edge sends it requests: out → in (healthy on its release) → draining → out. lost_at is
-- set when it misses two heartbeats; retired_at when an admin removes it (its token is revoked).
--
-- A rollout moves a service environment's agents to one release (services/rollouts.ts):
-- preparing → release_phase → switching → done, or → failed (release phase failed, nobody
-- switched) or → rolling_back → rolled_back. All its progress lives in its row, so a restarted
-- server resumes it.

CREATE TABLE tokens_new (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('admin', 'approver', 'deployer', 'viewer', 'runner', 'agent')),
  hash          TEXT NOT NULL UNIQUE,
  created_at    TEXT NOT NULL,
  created_by    TEXT NOT NULL,
  last_used_at  TEXT,
  revoked_at    TEXT,
  user_id       TEXT REFERENCES users(id),
  project_id    TEXT REFERENCES projects(id),
  expires_at    TEXT,
  -- The agent an `agent` token speaks for (no foreign key: agents.token_id points back).
  agent_id      TEXT
);
INSERT INTO tokens_new (id, name, role, hash, created_at, created_by, last_used_at, revoked_at, user_id, project_id, expires_at)
SELECT id, name, role, hash, created_at, created_by, last_used_at, revoked_at, user_id, project_id, expires_at FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_new RENAME TO tokens;
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE agents (
  id                     TEXT PRIMARY KEY,
  project_id             TEXT NOT NULL REFERENCES projects(id),
  environment_id         TEXT NOT NULL REFERENCES environments(id),
  name                   TEXT NOT NULL,
  address                TEXT NOT NULL,
  port                   INTEGER NOT NULL,
  version                TEXT NOT NULL,
  token_id               TEXT NOT NULL REFERENCES tokens(id),
  state                  TEXT NOT NULL DEFAULT 'idle',
  current_release_id     TEXT,
  current_deployment_id  TEXT,
  -- JSON array of deployment ids complete on the agent's disk.
  prepared               TEXT NOT NULL DEFAULT '[]',
  healthy                INTEGER NOT NULL DEFAULT 0,
  pid                    INTEGER,
  error                  TEXT,
  rotation               TEXT NOT NULL DEFAULT 'out' CHECK (rotation IN ('out', 'in', 'draining')),
  draining_since         TEXT,
  rev                    INTEGER NOT NULL DEFAULT 1,
  -- JSON of what the agent should run, prepare, and run once (the release phase); null: nothing.
  run                    TEXT,
  prepare                TEXT,
  release_phase          TEXT,
  last_seen_at           TEXT NOT NULL,
  lost_at                TEXT,
  enrolled_at            TEXT NOT NULL,
  retired_at             TEXT
);
CREATE INDEX agents_environment ON agents (environment_id) WHERE retired_at IS NULL;
CREATE INDEX agents_project ON agents (project_id);

CREATE TABLE agent_enrollments (
  id              TEXT PRIMARY KEY,
  project_id      TEXT NOT NULL REFERENCES projects(id),
  environment_id  TEXT NOT NULL REFERENCES environments(id),
  token_hash      TEXT NOT NULL UNIQUE,
  created_by      TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  expires_at      TEXT NOT NULL,
  used_at         TEXT,
  agent_id        TEXT REFERENCES agents(id)
);

CREATE TABLE rollouts (
  id                       TEXT PRIMARY KEY,
  release_id               TEXT NOT NULL UNIQUE REFERENCES releases(id),
  project_id               TEXT NOT NULL REFERENCES projects(id),
  environment_id           TEXT NOT NULL REFERENCES environments(id),
  deployment_id            TEXT NOT NULL,
  previous_deployment_id   TEXT,
  previous_release_id      TEXT,
  state                    TEXT NOT NULL CHECK (state IN ('preparing', 'release_phase', 'switching', 'rolling_back', 'done', 'failed', 'rolled_back')),
  -- A count ("1") or a percentage of the instances ("25%").
  max_unavailable          TEXT NOT NULL,
  drain_ms                 INTEGER NOT NULL,
  health_timeout_ms        INTEGER NOT NULL,
  release_phase_agent_id   TEXT,
  release_phase_state      TEXT,
  release_phase_exit_code  INTEGER,
  release_phase_log        TEXT,
  reason                   TEXT,
  started_at               TEXT NOT NULL,
  updated_at               TEXT NOT NULL,
  ended_at                 TEXT,
  -- JSON array of RolloutStep: where each instance is in the rollout.
  steps                    TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX rollouts_open ON rollouts (environment_id) WHERE ended_at IS NULL;
