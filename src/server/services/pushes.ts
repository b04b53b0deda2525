import type { Actor } from '../../core/release-planner.ts';
import { previewEnvironmentName } from '../../core/urls.ts';
import { newEnvironmentRow, newQueuedBuildRow, type BuildRow, type ProjectRow } from '../../store/store.ts';
import type { ServiceDeps } from './deps.ts';
import { recordEvent } from './events.ts';
import { newId } from './ids.ts';
import { proposeForBranch } from './pipeline.ts';
import { getProject } from './projects.ts';

export const ZERO_SHA = '0000000000000000000000000000000000000000';

/** One ref moved by a push: `before`/`after` are 40-hex commits, ZERO_SHA for create/delete. */
export interface RefUpdate {
  ref: string;
  before: string;
  after: string;
}

export type PushTrigger = 'git-push' | 'github' | 'gitlab' | 'generic';

export interface PushInput {
  updates: RefUpdate[];
  trigger: PushTrigger;
  /** Repository to fetch the commits from; null = Slipway's own repository of the project. */
  sourceUrl: string | null;
  /** Best-effort commit metadata from a webhook payload (the runner fills it in otherwise). */
  author?: string | undefined;
  message?: string | undefined;
}

export interface PushResult {
  /** One build per new commit (an existing build of the same commit is returned, not repeated). */
  builds: BuildRow[];
  /** Preview environments retired because their branch was deleted. */
  retired: string[];
  /** Branch updates that moved nothing because their `before` was not the recorded head. */
  stale: StaleUpdate[];
}

/** A branch update refused by the compare-and-set: a replay, or a push a newer one overtook. */
export interface StaleUpdate extends RefUpdate {
  /** The branch's recorded head: ZERO_SHA for a deleted branch. */
  recorded: string;
}

/** Slipway's own moves (following a branch) act with this identity: they respect pins and locks. */
export const FOLLOWER: Actor = { name: 'slipway', role: 'deployer', trigger: 'automation' };

const COMMIT = /^[0-9a-f]{40}$/;

/**
 * Records what a push changed: branch heads move (or are deleted, retiring their previews),
 * and every commit that is new to the project gets exactly one queued build. A branch moved
 * to a commit that already built moves its following environments at once.
 *
 * A branch moves only from the head Slipway recorded (compare-and-set on `before`): a delivery
 * replayed later, or one a newer push overtook, finds another head and is stale — it queues no
 * build, creates no preview and moves no environment. Everything a push records lands in one
 * transaction.
 */
export async function recordPush(deps: ServiceDeps, actor: Actor, projectName: string, input: PushInput): Promise<PushResult> {
  const project = await getProject(deps, projectName);
  return deps.store.transaction((tx) => recordPushIn({ ...deps, store: tx }, actor, project, input));
}

export async function recordPushIn(deps: ServiceDeps, actor: Actor, project: ProjectRow, input: PushInput): Promise<PushResult> {
  const now = deps.clock.now().toISOString();
  const builds: BuildRow[] = [];
  const retired: string[] = [];
  const stale: StaleUpdate[] = [];
  for (const update of input.updates) {
    const branch = update.ref.startsWith('refs/heads/') ? update.ref.slice('refs/heads/'.length) : null;
    const isTag = update.ref.startsWith('refs/tags/');
    if (branch === null && !isTag) continue;
    const deleted = update.after === ZERO_SHA;
    if (!deleted && !COMMIT.test(update.after)) continue;
    if (branch !== null && !(await deps.store.moveBranch(project.id, branch, update.before, update.after, now))) {
      stale.push({ ...update, recorded: (await deps.store.findBranchHead(project.id, branch)) ?? ZERO_SHA });
      continue;
    }
    if (deleted) {
      if (branch !== null) retired.push(...(await retirePreviewsOf(deps, actor, project, branch)));
      continue;
    }
    const { build } = await deps.store.insertBuildOnce(
      newQueuedBuildRow({
        id: newId('bld'),
        projectId: project.id,
        commitSha: update.after,
        ref: update.ref,
        branch,
        sourceUrl: input.sourceUrl,
        trigger: input.trigger,
        createdAt: now,
        createdBy: actor.name,
        author: input.author ?? null,
        message: input.message ?? null,
      }),
    );
    if (!builds.some((b) => b.id === build.id)) builds.push(build);
    if (branch !== null) {
      await ensurePreview(deps, project, branch);
      if (build.state === 'succeeded') await proposeForBranch(deps, project, branch, build);
    }
  }
  await recordEvent(deps.store, deps.clock.now(), actor, 'git.push', {
    projectId: project.id,
    target: input.trigger,
    reason: stale.length > 0 ? staleReason(stale) : null,
    after: { updates: input.updates, builds: builds.map((b) => b.id), ...(stale.length > 0 ? { stale } : {}) },
  });
  return { builds, retired, stale };
}

/** Why stale updates moved nothing, in one line: what each branch was at instead. */
export function staleReason(stale: StaleUpdate[]): string {
  const at = (sha: string) => (sha === ZERO_SHA ? 'absent' : `at ${sha.slice(0, 7)}`);
  return stale.map((u) => `stale: ${u.ref} is ${at(u.recorded)}, not ${at(u.before)} as the push says`).join('; ');
}

/** A deleted branch's previews are retired. */
async function retirePreviewsOf(deps: ServiceDeps, actor: Actor, project: ProjectRow, branch: string): Promise<string[]> {
  const retired: string[] = [];
  const now = deps.clock.now();
  for (const env of await deps.store.listEnvironmentsFollowing(project.id, branch)) {
    if (!env.preview || env.retiredAt !== null) continue;
    await deps.store.retireEnvironment(env.id, now.toISOString());
    await recordEvent(deps.store, now, actor, 'environment.retire', {
      projectId: project.id,
      environment: env.name,
      target: env.deploymentId,
      reason: `branch ${branch} was deleted`,
    });
    retired.push(env.name);
  }
  return retired;
}

/** Every branch gets a preview environment following it; a branch pushed again revives its retired preview. */
async function ensurePreview(deps: ServiceDeps, project: ProjectRow, branch: string): Promise<void> {
  const name = previewEnvironmentName(branch);
  const env = await deps.store.ensureEnvironment(
    newEnvironmentRow({ id: newId('env'), projectId: project.id, name, createdAt: deps.clock.now().toISOString(), follows: branch, preview: true }),
  );
  if (env.follows !== branch || !env.preview) await deps.store.setEnvironmentFollow(env.id, branch, true);
  if (env.retiredAt !== null) await deps.store.retireEnvironment(env.id, null);
}
