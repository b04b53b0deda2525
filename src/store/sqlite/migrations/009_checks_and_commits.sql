-- Checks on commits and the commit graph Slipway knows.
--
-- check_reports keeps every report as it arrived (append-only); checks holds the current state
-- of each (project, commit, name): the report with the highest seq. A report upserts its check
-- only while report_seq is lower than its own, so concurrent reporters leave the check at the
-- last report in check_reports order whichever transaction commits first.
--
-- delivery: the webhook delivery a report came from (`github:<id>`), so a redelivery records
-- nothing twice. No foreign key to builds: CI may report on a commit before Slipway builds it.
--
-- commits: parents space-separated (none for a root); message is the subject line. Filled by
-- the runner (the built commit's recent history) and by pushes to Slipway's own repository.

CREATE TABLE check_reports (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  project_id   TEXT NOT NULL REFERENCES projects(id),
  commit_sha   TEXT NOT NULL,
  name         TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('pending', 'success', 'failure')),
  url          TEXT,
  description  TEXT,
  source       TEXT NOT NULL,
  delivery     TEXT,
  reported_at  TEXT NOT NULL,
  reported_by  TEXT NOT NULL
);
CREATE INDEX check_reports_commit ON check_reports (project_id, commit_sha, name, seq);
CREATE UNIQUE INDEX check_reports_delivery ON check_reports (project_id, delivery, name) WHERE delivery IS NOT NULL;

CREATE TABLE checks (
  project_id   TEXT NOT NULL REFERENCES projects(id),
  commit_sha   TEXT NOT NULL,
  name         TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('pending', 'success', 'failure')),
  url          TEXT,
  description  TEXT,
  source       TEXT NOT NULL,
  reported_at  TEXT NOT NULL,
  reported_by  TEXT NOT NULL,
  report_seq   INTEGER NOT NULL,
  PRIMARY KEY (project_id, commit_sha, name)
);

CREATE TABLE commits (
  project_id    TEXT NOT NULL REFERENCES projects(id),
  sha           TEXT NOT NULL,
  parents       TEXT NOT NULL,
  author_name   TEXT NOT NULL,
  author_email  TEXT NOT NULL,
  message       TEXT NOT NULL,
  committed_at  TEXT NOT NULL,
  recorded_at   TEXT NOT NULL,
  PRIMARY KEY (project_id, sha)
);
CREATE INDEX commits_recent ON commits (project_id, committed_at);
