-- Hotfixes: a release of a build of a hotfix/* branch is expedited — no soak, no place in the
-- queue, and through deploy windows whose policy says `expedite: allow` (core/hotfix.ts). The
-- release keeps the flag it was made with, so what let it through stays visible.

ALTER TABLE releases ADD COLUMN expedited INTEGER NOT NULL DEFAULT 0;
