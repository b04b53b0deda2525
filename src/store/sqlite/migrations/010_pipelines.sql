-- Pipelines: environments carry a policy, releases a lifecycle.
--
-- A release is created `pending` and moves through the states of core/release-lifecycle.ts;
-- only its move to `live` moves the environment's pointer. The columns below say what the
-- gates said when it was last looked at (gates, recheck_at), what it carries (commit_sha,
-- branch, batch), who asked (trigger) and how it ended (superseded_by, state_reason, ended_at).
--
-- environments.policy is the EnvironmentPolicy in force as JSON (from, auto, checks, mode,
-- max_commits, requires); policy_source names the commit or the person that set it.
-- environment_requirements indexes `requires:` so a release going live in one project wakes
-- the projects that wait for it. projects.default_branch is the branch whose builds set policy.

ALTER TABLE projects ADD COLUMN default_branch TEXT NOT NULL DEFAULT 'main';

ALTER TABLE environments ADD COLUMN policy TEXT;
ALTER TABLE environments ADD COLUMN policy_source TEXT;
ALTER TABLE environments ADD COLUMN policy_updated_at TEXT;

ALTER TABLE releases ADD COLUMN trigger TEXT NOT NULL DEFAULT 'user' CHECK (trigger IN ('user', 'automation'));
ALTER TABLE releases ADD COLUMN commit_sha TEXT;
ALTER TABLE releases ADD COLUMN branch TEXT;
ALTER TABLE releases ADD COLUMN gates TEXT;
ALTER TABLE releases ADD COLUMN evaluated_at TEXT;
ALTER TABLE releases ADD COLUMN recheck_at TEXT;
ALTER TABLE releases ADD COLUMN superseded_by TEXT REFERENCES releases(id);
ALTER TABLE releases ADD COLUMN state_reason TEXT;
ALTER TABLE releases ADD COLUMN live_at TEXT;
ALTER TABLE releases ADD COLUMN ended_at TEXT;
ALTER TABLE releases ADD COLUMN batch TEXT;
-- Releases made before lifecycles were live the moment they were made.
UPDATE releases SET live_at = created_at;
CREATE INDEX releases_open ON releases (environment_id, number) WHERE state IN ('pending', 'waiting', 'rolling_out');
CREATE INDEX releases_open_all ON releases (project_id) WHERE state IN ('pending', 'waiting', 'rolling_out');
CREATE INDEX releases_deployment ON releases (environment_id, deployment_id);

CREATE TABLE environment_requirements (
  environment_id       TEXT NOT NULL REFERENCES environments(id),
  required_project_id  TEXT NOT NULL REFERENCES projects(id),
  PRIMARY KEY (environment_id, required_project_id)
);
CREATE INDEX environment_requirements_required ON environment_requirements (required_project_id);
