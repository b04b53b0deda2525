import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyBaseLogger } from 'fastify';
import type { Actor } from '../../core/release-planner.ts';
import type { ProjectRow } from '../../store/store.ts';
import type { ServiceDeps } from '../services/deps.ts';
import { recordPush, ZERO_SHA, type RefUpdate } from '../services/pushes.ts';
import { recordPushedCommits } from './pushed-commits.ts';
import { peelToCommit, refTarget, repoPath } from './repos.ts';

const run = promisify(execFile);

/** Who records a push found at start: Slipway itself, on behalf of the pusher it never heard of. */
const RECONCILER: Actor = { name: 'slipway', role: 'deployer', trigger: 'automation' };

/**
 * Records pushes that reached a repository but never the store: git moves the refs first and
 * runs the post-receive hook after, so a server that dies in between (or a hook that could not
 * reach it) leaves refs nobody built. At start, each project's repository is compared with
 * its recorded branches, and what it has that the store lacks becomes one push, recorded as
 * the hook would have: a new branch, a branch that moved forward (its recorded head is an
 * ancestor of the repository's), a tag whose commit never built.
 *
 * It only ever adds: a branch that moved sideways (a force-push) or is gone from the
 * repository is left as recorded, because a repository that is behind the store — another
 * replica's, or one restored from a backup — must never move environments back or retire
 * previews. Only projects without a repository URL are compared: the others get branches from
 * their git host's webhooks.
 */
export async function reconcileRepos(deps: ServiceDeps, reposDir: string, log: FastifyBaseLogger): Promise<{ project: string; updates: RefUpdate[] }[]> {
  const found: { project: string; updates: RefUpdate[] }[] = [];
  for (const project of await deps.store.listProjects()) {
    if (project.repoUrl !== null) continue;
    const repo = repoPath(reposDir, project.name);
    if (!(await isRepo(repo))) continue;
    try {
      const updates = await unrecorded(deps, project, repo);
      if (updates.length === 0) continue;
      await recordPushedCommits(deps, project.id, repo, updates, log);
      await recordPush(deps, RECONCILER, project.name, { updates, trigger: 'git-push', sourceUrl: null });
      found.push({ project: project.name, updates });
      log.warn({ project: project.name, updates }, 'recorded a push the server had not heard of (it stopped while the push ran)');
    } catch (err) {
      log.error({ err, project: project.name }, 'comparing the repository with its recorded branches failed');
    }
  }
  if (found.length > 0) deps.buildsQueued.notify();
  return found;
}

/** The ref updates that would bring the recorded branches (and built tags) up to the repository. */
async function unrecorded(deps: ServiceDeps, project: ProjectRow, repo: string): Promise<RefUpdate[]> {
  const refs = await listRefs(repo);
  const recorded = new Map((await deps.store.listBranches(project.id)).map((b) => [b.name, b.head]));
  const updates: RefUpdate[] = [];
  for (const [ref, { sha, commit: tagged }] of refs) {
    if (ref.startsWith('refs/heads/')) {
      const before = recorded.get(ref.slice('refs/heads/'.length));
      if (before === undefined) updates.push({ ref, before: ZERO_SHA, after: sha });
      else if (before !== sha && (await isAncestor(repo, before, sha))) updates.push({ ref, before, after: sha });
    } else {
      // for-each-ref peels a tag once; only a tag of a tag needs git again.
      const commit = tagged === null ? await peelToCommit(repo, sha) : tagged;
      if (commit !== undefined && !(await deps.store.findBuildByCommit(project.id, commit))) updates.push({ ref, before: ZERO_SHA, after: commit });
    }
  }
  return updates;
}

/** Whether `older` is an ancestor of `newer` in the repository (false when it does not have `older`). */
async function isAncestor(repo: string, older: string, newer: string): Promise<boolean> {
  try {
    await run('git', ['--git-dir', repo, 'merge-base', '--is-ancestor', older, newer]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Branches and tags with what they point at, in one git call. `commit` is the commit a ref
 * names — itself, or what an annotated tag tags — or null when git must peel further (a tag
 * of a tag); a tag of a tree or blob gets undefined, as it has nothing to build.
 */
async function listRefs(repo: string): Promise<Map<string, { sha: string; commit: string | null | undefined }>> {
  const format = '%(objectname) %(objecttype) %(*objectname) %(*objecttype) %(refname)';
  const { stdout } = await run('git', ['--git-dir', repo, 'for-each-ref', `--format=${format}`, 'refs/heads/', 'refs/tags/']);
  const refs = new Map<string, { sha: string; commit: string | null | undefined }>();
  for (const line of stdout.split('\n')) {
    // Five fields; the two peeled ones are empty for anything but an annotated tag.
    const [sha, type, peeled, peeledType, ref] = line.split(' ');
    if (!sha || !ref) continue;
    refs.set(ref, { sha, commit: commitOf(sha, type, peeled, peeledType) });
  }
  return refs;
}

function commitOf(sha: string, type?: string, peeled?: string, peeledType?: string): string | null | undefined {
  if (type === 'commit') return sha;
  if (type !== 'tag') return undefined;
  if (peeledType === 'commit') return peeled;
  return peeledType === 'tag' ? null : undefined;
}

async function isRepo(path: string): Promise<boolean> {
  try {
    await stat(join(path, 'HEAD'));
    return true;
  } catch {
    return false;
  }
}

/**
 * The hook's branch updates, checked against the repository: Slipway's own repository is the
 * truth of its branches, because git moved each ref under its own lock before the hook ran.
 * When the recorded head is not an update's `before` (a hook before this one never reached
 * the server), the update is still the truth if the repository's branch is at its `after`
 * now, and it moves from the recorded head instead. One the repository has moved past since (a
 * later push, whose own hook records it) keeps its `before` and is stale: a hook running
 * late never moves a branch back.
 */
export async function alignWithRepository(deps: ServiceDeps, projectId: string, repo: string, updates: RefUpdate[]): Promise<RefUpdate[]> {
  const aligned: RefUpdate[] = [];
  for (const update of updates) {
    if (!update.ref.startsWith('refs/heads/')) {
      aligned.push(update);
      continue;
    }
    const recorded = (await deps.store.findBranchHead(projectId, update.ref.slice('refs/heads/'.length))) ?? update.before;
    const current = (await refTarget(repo, update.ref)) ?? ZERO_SHA;
    aligned.push(recorded !== update.before && current === update.after ? { ...update, before: recorded } : update);
  }
  return aligned;
}
