import { parseDuration } from '../../core/duration.ts';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import { isHotfixBranch } from '../../core/hotfix.ts';
import { freezeGate, hasApprovals, NO_APPROVAL_FACTS, windowGate, type GateFacts, type GateReason, type Lineage } from '../../core/gates/index.ts';
import { assertName } from '../../core/names.ts';
import {
  planLock,
  planPromotion,
  planRollback as planRollbackMove,
  planUnlock,
  type Actor,
  type MoveRequest,
} from '../../core/release-planner.ts';
import { newEnvironmentRow, type DeploymentRow, type EnvironmentRow, type Page, type ProjectRow, type ReleaseRow } from '../../store/store.ts';
import { requireRole } from './access.ts';
import { getDeployment } from './deployments.ts';
import type { ServiceDeps } from './deps.ts';
import { recordEvent } from './events.ts';
import { newId } from './ids.ts';
import { freezesOf, lineageOf, policyOf, proposeRelease } from './pipeline.ts';
import { wakePipeline } from './pipeline-wake.ts';
import { getReleaseView, type ReleaseView } from './pipeline-view.ts';
import { getProject } from './projects.ts';

export async function getEnvironment(deps: ServiceDeps, projectName: string, name: string): Promise<{ project: ProjectRow; environment: EnvironmentRow }> {
  const project = await getProject(deps, projectName);
  const environment = await deps.store.findEnvironment(project.id, name);
  if (!environment) {
    throw new SlipwayError(ErrorCode.ENVIRONMENT_NOT_FOUND, `no environment "${name}" in ${projectName}`, { environment: name });
  }
  return { project, environment };
}

export async function listEnvironments(deps: ServiceDeps, projectName: string): Promise<EnvironmentRow[]> {
  const project = await getProject(deps, projectName);
  return deps.store.listEnvironments(project.id);
}

export async function listReleases(deps: ServiceDeps, projectName: string, name: string, page: Page): Promise<ReleaseRow[]> {
  const { environment } = await getEnvironment(deps, projectName, name);
  return deps.store.listReleases(environment.id, page);
}

/**
 * The newest `perEnvironment` releases of every environment of a project that is not retired
 * (environments by name, releases newest first): what the dashboard's pipeline shows of each
 * environment, in two reads however many environments there are.
 */
export async function listRecentReleases(deps: ServiceDeps, projectName: string, perEnvironment: number): Promise<{ environment: EnvironmentRow; releases: ReleaseRow[] }[]> {
  const project = await getProject(deps, projectName);
  const [environments, releases] = await Promise.all([deps.store.listEnvironments(project.id), deps.store.listRecentReleasesOfProject(project.id, perEnvironment)]);
  const byEnvironment = new Map<string, ReleaseRow[]>();
  for (const release of releases) {
    const list = byEnvironment.get(release.environmentId);
    if (list) list.push(release);
    else byEnvironment.set(release.environmentId, [release]);
  }
  return environments.filter((e) => e.retiredAt === null).map((environment) => ({ environment, releases: byEnvironment.get(environment.id) ?? [] }));
}

/** Environments are created by their first use (promote or lock), like Vercel's custom environments. */
async function ensureEnvironment(deps: ServiceDeps, project: ProjectRow, name: string): Promise<EnvironmentRow> {
  assertName('environment', name);
  return deps.store.ensureEnvironment(newEnvironmentRow({ id: newId('env'), projectId: project.id, name, createdAt: deps.clock.now().toISOString() }));
}

/** A release just made, with the pin it cleared (a promote moves a pinned environment on and unpins it). */
export type MovedRelease = ReleaseRow & { clearedPin: { by: string; at: string; reason: string | null } | null };

function clearedPinOf(env: EnvironmentRow, release: ReleaseRow): MovedRelease['clearedPin'] {
  if (release.kind !== 'promote' || release.state !== 'live' || env.pinnedBy === null) return null;
  return { by: env.pinnedBy, at: env.pinnedAt ?? '', reason: env.pinnedReason };
}

/**
 * A person's (or a script's) promotion: refused at once for a lock (unless an admin breaks
 * glass), a stale `expectRelease`, a deployment already live, or lineage (`from:` names an
 * environment that has not run it); otherwise a release is made and its gates looked at — it is
 * live when they pass, `waiting` while checks or requirements are pending, and refused with
 * CHECK_FAILED when a required check is red (nothing is written then).
 */
type PromoteInput = MoveRequest & { deployment?: string | undefined; commit?: string | undefined };

export async function promote(deps: ServiceDeps, actor: Actor, projectName: string, envName: string, input: PromoteInput): Promise<MovedRelease> {
  const { project, deployment } = await promotionOf(deps, actor, projectName, envName, input);
  await ensureEnvironment(deps, project, envName);
  return deps.store.transaction(async (tx) => (await promoteWithin({ ...deps, store: tx }, actor, project, envName, deployment, input)).release);
}

/**
 * What `promote` would do, nothing written: the same promotion made in a transaction that is
 * then rolled back, so the plan is what the promotion does (its gates, its batch, its refusals
 * with the same error codes) rather than a second reading of the rules.
 */
export async function planPromote(deps: ServiceDeps, actor: Actor, projectName: string, envName: string, input: PromoteInput): Promise<MovePlanView> {
  const { project, deployment } = await promotionOf(deps, actor, projectName, envName, input);
  const existed = (await deps.store.findEnvironment(project.id, envName)) !== undefined;
  return dryRun(deps, async (scoped) => {
    await ensureEnvironment(scoped, project, envName);
    const { env, release } = await promoteWithin(scoped, actor, project, envName, deployment, input);
    return planOf(scoped, projectName, env, release, !existed);
  });
}

async function promotionOf(deps: ServiceDeps, actor: Actor, projectName: string, envName: string, input: PromoteInput): Promise<{ project: ProjectRow; deployment: DeploymentRow }> {
  requireRole(actor, 'deployer');
  const project = await getProject(deps, projectName);
  assertName('environment', envName);
  const deploymentId = input.commit !== undefined ? await deploymentOfCommit(deps, project, input.commit) : input.deployment;
  if (deploymentId === undefined) throw new SlipwayError(ErrorCode.INVALID_REQUEST, 'give a deployment or a commit to promote');
  return { project, deployment: await getDeployment(deps, projectName, deploymentId) };
}

/** A promotion in the transaction `scoped` runs in; answers the environment as it was read before it, and the release made. */
async function promoteWithin(
  scoped: ServiceDeps,
  actor: Actor,
  project: ProjectRow,
  envName: string,
  deployment: DeploymentRow,
  input: PromoteInput,
): Promise<{ env: EnvironmentRow; release: MovedRelease }> {
  const tx = scoped.store;
  // Read after taking the pipeline, so concurrent promotions judge what the one before them did.
  await tx.lockPipeline(project.id);
  const env = await tx.findEnvironment(project.id, envName);
  if (!env) throw new SlipwayError(ErrorCode.ENVIRONMENT_NOT_FOUND, `no environment "${envName}" in ${project.name}`, { environment: envName });
  const now = scoped.clock.now();
  const plan = planPromotion(env, deployment.id, actor, input, now);
  const lineageForced = await checkLineage(scoped, actor, project, env, deployment.id, input);
  const timeForced = await checkDeployTime(scoped, env, input, now, isHotfixBranch(deployment.meta.branch));
  // Approvals wait for people, never refuse: an admin's break-glass goes past them, audited.
  const approvals = policyOf(env).approvals;
  const approvalsForced = input.force === true && actor.role === 'admin' && Boolean(input.reason) && hasApprovals(approvals);
  const release = await proposeRelease(scoped, actor, project, env, {
    deploymentId: deployment.id,
    kind: 'promote',
    reason: input.reason ?? null,
    force: plan.forced || lineageForced || timeForced.length > 0 || approvalsForced,
  });
  if (!release) throw new Error('a promotion made no release');
  if (release.state === 'failed') {
    throw new SlipwayError(ErrorCode.CHECK_FAILED, `${envName} refuses ${deployment.id}: ${release.stateReason ?? 'its gates failed'}`, {
      deployment: deployment.id,
      gates: release.gates,
    });
  }
  const common = { projectId: project.id, environment: env.name, target: release.id, reason: input.reason ?? null };
  if (plan.forced) await recordEvent(tx, now, actor, 'lock.break_glass', { ...common, before: { lockedBy: env.lockedBy, reason: env.lockedReason } });
  if (lineageForced) await recordEvent(tx, now, actor, 'lineage.break_glass', { ...common, before: { from: policyOf(env).from, deployment: deployment.id } });
  for (const held of timeForced) await recordEvent(tx, now, actor, `${held.gate}.break_glass`, { ...common, before: held.details ?? null });
  if (approvalsForced) await recordEvent(tx, now, actor, 'approvals.break_glass', { ...common, before: { approvals } });
  return { env, release: { ...release, clearedPin: clearedPinOf(env, release) } };
}

/** What a promotion or rollback would do: the environment before it, the release it makes (with its batch), the pin it clears or sets. */
export interface MovePlanView {
  environment: string;
  from: { release: number; deployment: string | null };
  createsEnvironment: boolean;
  release: ReleaseView;
  clearsPin: MovedRelease['clearedPin'];
  pins: boolean;
  authors: string[];
  forced: boolean;
}

async function planOf(scoped: ServiceDeps, projectName: string, env: EnvironmentRow, release: MovedRelease, createsEnvironment: boolean): Promise<MovePlanView> {
  const view = await getReleaseView(scoped, projectName, release.id);
  const authors = [...new Set((view.batch?.commits ?? []).flatMap((c) => c.authorName ?? c.authorEmail ?? []))];
  return {
    environment: env.name,
    from: { release: env.releaseNumber, deployment: env.deploymentId },
    createsEnvironment,
    release: view,
    // A person's promotion unpins when it goes live, now or once its gates pass.
    clearsPin: release.kind === 'promote' && release.trigger === 'user' && env.pinnedBy !== null ? { by: env.pinnedBy, at: env.pinnedAt ?? '', reason: env.pinnedReason } : null,
    pins: release.kind === 'rollback' && release.state === 'live',
    authors,
    forced: release.forced,
  };
}

/** Thrown to roll a dry run's transaction back once its plan is read. */
class DryRunDone extends Error {}

/** Runs `fn` in a transaction that is always rolled back, and answers what it returned. */
async function dryRun<T>(deps: ServiceDeps, fn: (scoped: ServiceDeps) => Promise<T>): Promise<T> {
  let planned: { value: T } | undefined;
  try {
    await deps.store.transaction(async (tx) => {
      planned = { value: await fn({ ...deps, store: tx }) };
      throw new DryRunDone('dry run: rolled back');
    });
  } catch (err) {
    if (!(err instanceof DryRunDone)) throw err;
  }
  if (planned === undefined) throw new Error('a dry run planned nothing');
  return planned.value;
}

/** The deployment a commit's successful build made (a full sha, or an unambiguous prefix of 7 or more). */
export async function deploymentOfCommit(deps: ServiceDeps, project: ProjectRow, commit: string): Promise<string> {
  const found = await deps.store.findBuiltCommits(project.id, commit.toLowerCase());
  const commits = new Set(found.map((f) => f.commit));
  if (found[0] === undefined) throw new SlipwayError(ErrorCode.COMMIT_NOT_FOUND, await whyNotBuilt(deps, project, commit), { commit });
  if (commits.size > 1) {
    throw new SlipwayError(ErrorCode.COMMIT_NOT_FOUND, `${commit} is ambiguous in ${project.name}: ${[...commits].map((c) => c.slice(0, 12)).join(', ')}`, { commit });
  }
  return found[0].deploymentId;
}

/**
 * Why a commit has no deployment to promote, with what to do about it: its build failed, is
 * still running, or it was never built (a promotion never builds, so it must reach a branch first).
 */
async function whyNotBuilt(deps: ServiceDeps, project: ProjectRow, commit: string): Promise<string> {
  const build = /^[0-9a-f]{40}$/.test(commit) ? await deps.store.findBuildByCommit(project.id, commit) : undefined;
  const short = commit.slice(0, 7);
  if (build?.state === 'failed' || build?.state === 'canceled') {
    return `the build of ${short} ${build.state === 'failed' ? 'failed' : 'was canceled'} (${build.id}), so it has no deployment to promote: push a fix to a branch, or retry it (slipway builds retry ${build.id})`;
  }
  if (build !== undefined && build.state !== 'succeeded') return `${short} is still building (${build.id}, ${build.state}): promote it once its build succeeded`;
  return `${project.name} has no successful build of ${commit}: push it to a branch first (git push slipway ${short}:refs/heads/<branch>), then promote it once it is built`;
}

/**
 * Lineage on a promotion: with `from: staging`, the deployment must have been live in staging
 * and not rolled back there. Refused with LINEAGE_VIOLATION; an admin may force it with a
 * reason (returns true then, and the caller audits it).
 */
async function checkLineage(deps: ServiceDeps, actor: Actor, project: ProjectRow, env: EnvironmentRow, deploymentId: string, input: MoveRequest): Promise<boolean> {
  const { from } = policyOf(env);
  if (from === null) return false;
  const lineage = await lineageOf(deps.store, project, from, deploymentId);
  if (lineage === 'live' || lineage === 'was_live') return false;
  if (input.force && actor.role === 'admin' && input.reason) return true;
  const deployment = await deps.store.findDeployment(deploymentId);
  throw lineageRefusal(env, { id: deploymentId, commit: deployment?.meta.commit ?? null }, lineage) ?? new Error('lineage refused nothing');
}

/** LINEAGE_VIOLATION for a deployment whose lineage in the environment's `from` does not let it in; null when it does (pure). */
export function lineageRefusal(env: EnvironmentRow, deployment: { id: string; commit: string | null }, lineage: Lineage): SlipwayError | null {
  const { from } = policyOf(env);
  if (from === null || lineage === 'live' || lineage === 'was_live') return null;
  const label = deployment.commit ? deployment.commit.slice(0, 7) : deployment.id;
  const message =
    lineage === 'rolled_back'
      ? `${from} rolled ${label} back; ${env.name} only takes what ${from} ran without a rollback`
      : `${from} has not run ${label}; ${env.name} only takes what ${from} ran`;
  return new SlipwayError(ErrorCode.LINEAGE_VIOLATION, message, { environment: from, deployment: deployment.id, lineage });
}

/**
 * Freezes and deploy windows on a person's promotion: during a freeze (FROZEN) or outside every
 * window (WINDOW_CLOSED) it is refused at once rather than left waiting; an admin may force it
 * with a reason. Returns the reasons forced past, which the caller audits as break-glass.
 */
async function checkDeployTime(deps: ServiceDeps, env: EnvironmentRow, input: MoveRequest, now: Date, expedited = false): Promise<GateReason[]> {
  const held = deployTimeHolds(env, await freezesOf(deps.store, env, now), now, expedited);
  const refusal = deployTimeRefusal(env, held);
  if (refusal === null || input.force) return held;
  throw refusal;
}

/** What of freezes and deploy windows holds a person's promotion into `env` at `now` (pure: the allowed actions ask it too). */
export function deployTimeHolds(env: EnvironmentRow, freezes: GateFacts['freezes'], now: Date, expedited: boolean): GateReason[] {
  const policy = policyOf(env);
  const facts: Pick<GateFacts, 'environment' | 'freezes'> = { environment: { ...env }, freezes };
  const candidate = { deploymentId: '', commit: null, branch: null, trigger: 'user' as const, forced: false, expedited, batch: { count: 0, truncated: false } };
  const held: GateReason[] = [];
  for (const gate of [freezeGate, windowGate]) {
    const check = gate(candidate, policy, { upstream: null, checks: {}, requires: [], queueAhead: null, approvals: NO_APPROVAL_FACTS, ...facts }, now);
    if (check.status !== 'pass') held.push(check.reason);
  }
  return held;
}

/** The refusal (FROZEN, WINDOW_CLOSED) of a promotion without force that `held` makes; null when nothing holds it. */
export function deployTimeRefusal(env: EnvironmentRow, held: readonly GateReason[]): SlipwayError | null {
  const first = held[0];
  if (!first) return null;
  const code = first.gate === 'freeze' ? ErrorCode.FROZEN : ErrorCode.WINDOW_CLOSED;
  return new SlipwayError(code, `${env.name} refuses the promotion: ${first.message}; an admin may force it (--force --reason)`, {
    ...first.details,
    code: first.code,
  });
}

/**
 * Resolves `--to`: a release number `vN`, a deployment id once live here, or (absent) the
 * deployment live before the current one — with the config version that release ran with
 * (Heroku's rollbacks restore config too): a deployment's, its last release here.
 */
export async function rollbackTarget(
  deps: ServiceDeps,
  projectName: string,
  env: EnvironmentRow,
  to: string | undefined,
  /** The environment's current release and deployment when the caller read them already (a page of environments, in one query each). */
  known?: { release: ReleaseRow | undefined; deployment: DeploymentRow | undefined },
): Promise<RollbackTarget> {
  if (env.releaseNumber === 0) throw new SlipwayError(ErrorCode.NO_PREVIOUS_RELEASE, `${env.name} has no release yet`);
  const current = known ? known.release : env.releaseId === null ? undefined : await deps.store.findRelease(env.releaseId);
  const running = known ? known.deployment : env.deploymentId === null ? undefined : await deps.store.findDeployment(env.deploymentId);
  const service = env.deploymentId !== null && running?.meta.service !== undefined;
  // A service runs its deployment with its config: going back to the same deployment with the
  // config it had before a config change is a rollback too (Heroku's rollbacks restore config).
  const differs = (release: { deploymentId: string; configVersion: number | null }) =>
    release.deploymentId !== env.deploymentId || (service && (release.configVersion ?? 0) !== (current?.configVersion ?? 0));
  const target = (release: { deploymentId: string; configVersion: number | null }): RollbackTarget => ({
    deploymentId: release.deploymentId,
    configVersion: release.configVersion,
    changes: differs(release),
  });
  if (to === undefined) {
    if (service) {
      const earlier = await deps.store.listReleases(env.id, { limit: 200, before: env.releaseNumber });
      const previous = earlier.find((r) => r.liveAt !== null && differs(r));
      if (!previous) throw new SlipwayError(ErrorCode.NO_PREVIOUS_RELEASE, `${env.name} has no earlier release to roll back to`);
      return target(previous);
    }
    const previous = await deps.store.findPreviousDeploymentRelease(env.id, env.deploymentId);
    if (!previous) throw new SlipwayError(ErrorCode.NO_PREVIOUS_RELEASE, `${env.name} has no earlier deployment to roll back to`);
    return target(previous);
  }
  const number = /^v(\d+)$/.exec(to);
  if (number) {
    const release = await deps.store.findReleaseByNumber(env.id, Number(number[1]));
    if (!release) throw new SlipwayError(ErrorCode.RELEASE_NOT_FOUND, `${env.name} has no release ${to}`, { release: to });
    if (release.liveAt === null) {
      throw new SlipwayError(ErrorCode.ROLLBACK_TARGET_INVALID, `${to} never went live in ${env.name} (it is ${release.state}); a rollback returns to what ran here`, {
        release: to,
        state: release.state,
      });
    }
    return target(release);
  }
  const deployment = await getDeployment(deps, projectName, to);
  const last = await deps.store.findLatestReleaseOfDeployment(env.id, deployment.id);
  if (!last) {
    throw new SlipwayError(
      ErrorCode.ROLLBACK_TARGET_INVALID,
      `${to} was never live in ${env.name}; a rollback returns to an earlier release (use promote for anything else)`,
      { deployment: to },
    );
  }
  return target({ deploymentId: deployment.id, configVersion: last.configVersion });
}

export interface RollbackTarget {
  deploymentId: string;
  configVersion: number | null;
  /** Whether it changes what runs: another deployment, or (a service) the same one with other config. */
  changes: boolean;
}

type RollbackInput = MoveRequest & { to?: string | undefined };

export async function rollback(deps: ServiceDeps, actor: Actor, projectName: string, envName: string, input: RollbackInput): Promise<MovedRelease> {
  const { project, seen, target } = await rollbackOf(deps, actor, projectName, envName, input);
  return deps.store.transaction(async (tx) => (await rollbackWithin({ ...deps, store: tx }, actor, project, seen, target, input)).release);
}

/** What `rollback` would do, nothing written (see planPromote). */
export async function planRollback(deps: ServiceDeps, actor: Actor, projectName: string, envName: string, input: RollbackInput): Promise<MovePlanView> {
  const { project, seen, target } = await rollbackOf(deps, actor, projectName, envName, input);
  return dryRun(deps, async (scoped) => {
    const { env, release } = await rollbackWithin(scoped, actor, project, seen, target, input);
    return planOf(scoped, projectName, env, release, false);
  });
}

async function rollbackOf(
  deps: ServiceDeps,
  actor: Actor,
  projectName: string,
  envName: string,
  input: RollbackInput,
): Promise<{ project: ProjectRow; seen: EnvironmentRow; target: RollbackTarget }> {
  requireRole(actor, 'deployer');
  const { project, environment: seen } = await getEnvironment(deps, projectName, envName);
  return { project, seen, target: await rollbackTarget(deps, projectName, seen, input.to) };
}

async function rollbackWithin(
  scoped: ServiceDeps,
  actor: Actor,
  project: ProjectRow,
  seen: EnvironmentRow,
  target: RollbackTarget,
  input: RollbackInput,
): Promise<{ env: EnvironmentRow; release: MovedRelease }> {
  const tx = scoped.store;
  await tx.lockPipeline(project.id);
  const env = (await tx.findEnvironment(project.id, seen.name)) ?? seen;
  const now = scoped.clock.now();
  const plan = planRollbackMove(env, target.deploymentId, actor, input, now, target.changes);
  if (input.expectRelease === undefined && env.releaseNumber !== seen.releaseNumber) {
    throw new SlipwayError(ErrorCode.RELEASE_CONFLICT, `${seen.name} moved while the rollback was being made; look again and retry`, {
      expected: seen.releaseNumber,
      actual: env.releaseNumber,
    });
  }
  const release = await proposeRelease(scoped, actor, project, env, {
    deploymentId: target.deploymentId,
    kind: 'rollback',
    reason: input.reason ?? null,
    force: plan.forced,
    configVersion: target.configVersion,
  });
  if (!release) throw new Error('a rollback made no release');
  if (plan.forced) {
    await recordEvent(tx, now, actor, 'lock.break_glass', {
      projectId: project.id,
      environment: env.name,
      target: release.id,
      reason: input.reason ?? null,
      before: { lockedBy: env.lockedBy, reason: env.lockedReason },
    });
  }
  return { env, release: { ...release, clearedPin: null } };
}

function parseUntil(until: string | undefined, now: Date): Date | null {
  if (until === undefined) return null;
  if (/^\d/.test(until) && !until.includes('-')) return new Date(now.getTime() + parseDuration(until));
  const at = Date.parse(until);
  if (Number.isNaN(at)) {
    throw new SlipwayError(ErrorCode.INVALID_DURATION, `"${until}" is neither a duration (2h, 30m) nor an ISO time`, { until });
  }
  return new Date(at);
}

function lockConflict(): SlipwayError {
  return new SlipwayError(ErrorCode.LOCK_CONFLICT, 'the lock changed while this request ran; look again and retry');
}

export async function lock(
  deps: ServiceDeps,
  actor: Actor,
  projectName: string,
  envName: string,
  input: { reason: string; until?: string | undefined; force?: boolean | undefined },
): Promise<EnvironmentRow> {
  requireRole(actor, 'deployer');
  const project = await getProject(deps, projectName);
  const now = deps.clock.now();
  const until = parseUntil(input.until, now);
  const env = await ensureEnvironment(deps, project, envName);
  const plan = planLock(env, actor, { reason: input.reason, until, force: input.force }, now);
  const fields = { lockedBy: plan.lockedBy, lockedById: plan.lockedById, lockedAt: plan.lockedAt, lockedReason: plan.lockedReason, lockedUntil: plan.lockedUntil };
  await deps.store.transaction(async (tx) => {
    if (!(await tx.updateLock(env.id, env.lockedAt, fields))) throw lockConflict();
    const common = { projectId: project.id, environment: env.name, reason: input.reason, target: env.name };
    await recordEvent(tx, now, actor, 'environment.lock', { ...common, before: plan.replaces, after: { until: plan.lockedUntil } });
    if (plan.replaces) await recordEvent(tx, now, actor, 'lock.break_glass', { ...common, before: plan.replaces });
  });
  return { ...env, ...fields };
}

export async function unlock(
  deps: ServiceDeps,
  actor: Actor,
  projectName: string,
  envName: string,
  input: { reason?: string | undefined; force?: boolean | undefined },
): Promise<EnvironmentRow> {
  requireRole(actor, 'deployer');
  const { project, environment: env } = await getEnvironment(deps, projectName, envName);
  const now = deps.clock.now();
  const plan = planUnlock(env, actor, input, now);
  const fields = { lockedBy: null, lockedById: null, lockedAt: null, lockedReason: null, lockedUntil: null };
  await deps.store.transaction(async (tx) => {
    if (!(await tx.updateLock(env.id, env.lockedAt, fields))) throw lockConflict();
    const common = { projectId: project.id, environment: env.name, reason: input.reason ?? null, target: env.name };
    const before = { lockedBy: env.lockedBy, reason: env.lockedReason, until: env.lockedUntil };
    await recordEvent(tx, now, actor, 'environment.unlock', { ...common, before });
    // Releases the lock held wait no more.
    await wakePipeline(tx, deps.clock, project.id, `${env.name} unlocked`);
    if (plan.forced) await recordEvent(tx, now, actor, 'lock.break_glass', { ...common, before });
  });
  return { ...env, ...fields };
}
