import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, isSlipwayError, SlipwayError } from '../../core/errors.ts';
import { parseCanonicalManifest } from '../../core/manifest.ts';
import type { Actor } from '../../core/release-planner.ts';
import type { ProjectRow } from '../../store/store.ts';
import { repoPath } from '../git/repos.ts';
import { enqueueJob } from '../jobs/enqueue.ts';
import { requireRole } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { recordEvent } from './events.ts';
import { getProject } from './projects.ts';

/** Whom the clean-up after a deletion acts as in the audit log. */
const SYSTEM: Actor = { name: 'slipway', role: 'admin', trigger: 'automation' };

export interface ProjectDeletion {
  project: ProjectRow;
  /** Builds canceled (queued) or asked to stop (running). */
  builds: string[];
  /** Custom domains that stopped being served, free for another project now. */
  domains: string[];
  /** Blobs deleted because no other project uses them; null when the clean-up failed and waits for a retry. */
  blobsCollected: number | null;
  /** Why the clean-up failed (its project.purge job retries it). */
  cleanupError: string | null;
}

/**
 * Deletes a project (admin; `confirm` must repeat its name). In one transaction the project is
 * renamed `~<id>` — so the edge, which finds environments by project name, stops serving them
 * at once, and the name is free for a new project — its custom domains are removed, its queued
 * builds canceled and its running ones asked to stop, its config vars deleted, and
 * `project.delete` is recorded. Other rows stay: the audit log, builds and deployments keep
 * naming it.
 *
 * What it left outside the database (its git repository, blobs no other project uses) is
 * removed afterwards by `purgeProject`; should that fail or a crash cut it short, its
 * `project.purge` job, queued in the deletion's transaction, finishes it (retried with backoff).
 */
export async function deleteProject(deps: ServiceDeps, actor: Actor, name: string, confirm: string): Promise<ProjectDeletion> {
  requireRole(actor, 'admin');
  const project = await getProject(deps, name);
  if (confirm !== project.name) {
    throw new SlipwayError(ErrorCode.CONFIRMATION_MISMATCH, `type the project's name to delete it: --confirm ${project.name}`, { project: project.name });
  }
  const now = deps.clock.now();
  const { builds, domains } = await deps.store.transaction(async (tx) => {
    if (!(await tx.markProjectDeleted(project.id, now.toISOString()))) {
      throw new SlipwayError(ErrorCode.PROJECT_NOT_FOUND, `no project named "${name}"`, { project: name });
    }
    const mapped = await tx.listDomains(project.id);
    for (const domain of mapped) await tx.deleteDomain(domain.hostname);
    const canceled = await tx.cancelProjectBuilds(project.id, now.toISOString());
    // Its config vars are secrets nobody may read any more: gone with it, not kept like its history.
    const configVersions = await tx.deleteProjectConfig(project.id);
    // The clean-up below runs in this request; the job is its retry, should it fail or this process stop.
    await enqueueJob(tx, deps.clock, 'project.purge', { projectId: project.id }, { key: purgeJobKey(project.id), runAt: new Date(now.getTime() + PURGE_RETRY_DELAY_MS) });
    await recordEvent(tx, now, actor, 'project.delete', {
      projectId: project.id,
      target: project.name,
      before: { name: project.name, repo: project.repoUrl, domains: mapped.map((d) => ({ hostname: d.hostname, environment: d.environment })) },
      after: { name: `~${project.id}`, buildsCanceled: canceled, ...(configVersions > 0 ? { configVersionsDeleted: configVersions } : {}) },
    });
    return { builds: canceled, domains: mapped.map((d) => d.hostname) };
  });
  deps.forgetProject?.(project.id);
  const deleted: ProjectRow = { ...project, name: `~${project.id}`, deletedName: project.name, deletedAt: now.toISOString() };
  try {
    const { blobsCollected } = await purgeProject(deps, deleted);
    return { project: deleted, builds, domains, blobsCollected, cleanupError: null };
  } catch (err) {
    // The deletion stands; its project.purge job tries the clean-up again.
    if (!(err instanceof Error)) throw err;
    return { project: deleted, builds, domains, blobsCollected: null, cleanupError: err.message };
  }
}

/** A deletion's clean-up is tried again this long after it, by its job, unless it was done by then. */
export const PURGE_RETRY_DELAY_MS = 60_000;

/** One purge per project queued at a time. */
export function purgeJobKey(projectId: string): string {
  return `project.purge:${projectId}`;
}

/** Clean-ups run one at a time per blob store: two collections must not re-check each other's half-done work. */
const purging = new WeakMap<object, Promise<unknown>>();

/**
 * Removes what a deleted project left outside the database: its git repository, then the
 * blobs no live project uses (`collectProjectBlobs`), and marks it purged. Idempotent: run
 * again after a crash it picks up where the last run stopped.
 */
export function purgeProject(deps: ServiceDeps, project: ProjectRow): Promise<{ blobsCollected: number }> {
  const previous = purging.get(deps.blobs) ?? Promise.resolve();
  const run = previous.then(
    () => purgeNow(deps, project),
    () => purgeNow(deps, project),
  );
  purging.set(deps.blobs, run);
  return run;
}

async function purgeNow(deps: ServiceDeps, project: ProjectRow): Promise<{ blobsCollected: number }> {
  const current = await deps.store.findProjectById(project.id);
  if (!current?.deletedAt || current.purgedAt) return { blobsCollected: 0 };
  await removeRepository(deps, current);
  await removeBuildCache(deps, current);
  const blobsCollected = await collectProjectBlobs(deps, current.id);
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    await tx.markProjectPurged(current.id, now.toISOString());
    await recordEvent(tx, now, SYSTEM, 'project.purge', { projectId: current.id, target: current.deletedName ?? current.name, after: { blobsCollected } });
  });
  return { blobsCollected };
}

/**
 * The repositories of deleted projects whose clean-up was cut short leave their names at once,
 * before the server takes requests: a new project of the same name must not find the old
 * repository there (and start-up reconciliation must not read it as the new project's). The
 * rest of their clean-up is queued to run now, even where a purge job died before: every start
 * tries each unfinished deletion again.
 */
export async function removeDeletedRepositories(deps: ServiceDeps): Promise<void> {
  for (const project of await deps.store.listUnpurgedProjects()) {
    await removeRepository(deps, project);
    await removeBuildCache(deps, project);
    await enqueueJob(deps.store, deps.clock, 'project.purge', { projectId: project.id }, { key: purgeJobKey(project.id) });
  }
}

/**
 * The in-process runner keeps each project's build cache (the builds' HOME) in
 * `<data>/builds/cache/<project>` (runner/run-build.ts). A new project of the same name must
 * not start with what the deleted one's builds left there.
 */
async function removeBuildCache(deps: ServiceDeps, project: ProjectRow): Promise<void> {
  if (!project.deletedName) return;
  await rm(join(deps.dataDir, 'builds', 'cache', project.deletedName), { recursive: true, force: true, maxRetries: 3 });
}

/** The `project.purge` job: finishes the clean-up of a deleted project, unless it is done already. */
export async function purgeDeletedProject(deps: ServiceDeps, projectId: string): Promise<void> {
  const project = await deps.store.findProjectById(projectId);
  if (!project?.deletedAt || project.purgedAt) return;
  await purgeProject(deps, project);
}

/**
 * The repository moves to `~<id>.git` first — a name no project can have, so a new project of
 * the same name starts empty even if the removal below is cut short — then goes.
 */
async function removeRepository(deps: ServiceDeps, project: ProjectRow): Promise<void> {
  const reposDir = join(deps.dataDir, 'repos');
  const aside = repoPath(reposDir, `~${project.id}`);
  if (project.deletedName) {
    try {
      await rename(repoPath(reposDir, project.deletedName), aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  await rm(aside, { recursive: true, force: true });
}

/**
 * Deletes the blobs a deleted project's deployments and uploads used that no live project
 * uses. Safe against uploads running meanwhile, without stopping them:
 *
 * 1. candidates = what the project referenced, minus what every live deployment and upload
 *    references now;
 * 2. the candidates are moved aside (`Blobs.collect`): from here on `has`/`missing` report
 *    them missing, so an upload that checks after this sends them again;
 * 3. references are read again, and whatever a live project uses now is put back. An upload
 *    records its row (with its manifest digest) before it asks which blobs are missing, and
 *    stores its manifest before that, so an upload that saw a candidate as present in step 1
 *    or 2 is visible here, and its manifest readable (a manifest that was itself a candidate
 *    is put back first);
 * 4. the rest is deleted.
 *
 * A crash before step 4 puts every candidate back at the next start (FsBlobs.recover), and the
 * purge runs again; one during step 4 completes it.
 */
export async function collectProjectBlobs(deps: ServiceDeps, projectId: string): Promise<number> {
  const own = await deps.store.listProjectManifests(projectId);
  const live = new Set(await deps.store.listLiveManifests());
  const candidates = new Set<string>();
  for (const manifest of own) {
    if (!live.has(manifest)) candidates.add(manifest);
    for (const digest of await filesOf(deps, manifest)) candidates.add(digest);
  }
  for (const manifest of live) {
    if (candidates.size === 0) break;
    for (const digest of await filesOf(deps, manifest)) candidates.delete(digest);
  }
  if (candidates.size === 0) return 0;
  const collection = await deps.blobs.collect([...candidates]);
  const moved = new Set(collection.moved);
  if (moved.size > 0) {
    const liveNow = await deps.store.listLiveManifests();
    await collection.restore(liveNow.filter((m) => moved.has(m)));
    const used: string[] = [];
    for (const manifest of liveNow) {
      for (const digest of await filesOf(deps, manifest)) if (moved.has(digest)) used.push(digest);
    }
    await collection.restore(used);
  }
  return (await collection.finish()).length;
}

/** The file digests a manifest lists; none when the manifest is not stored (an upload that has not sent it yet). */
async function filesOf(deps: ServiceDeps, manifestDigest: string): Promise<string[]> {
  let text: string;
  try {
    text = (await deps.blobs.read(manifestDigest)).toString('utf8');
  } catch (err) {
    if (isSlipwayError(err, ErrorCode.NOT_FOUND)) return [];
    throw err;
  }
  return parseCanonicalManifest(text).map((e) => e.sha256);
}
