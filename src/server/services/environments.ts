import { parseDuration } from '../../core/duration.ts';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import { assertName } from '../../core/names.ts';
import {
  planLock,
  planPromotion,
  planRollback,
  planUnlock,
  type Actor,
  type MovePlan,
  type MoveRequest,
} from '../../core/release-planner.ts';
import { newEnvironmentRow, type EnvironmentRow, type Page, type ProjectRow, type ReleaseKind, type ReleaseRow } from '../../store/store.ts';
import { requireRole } from './access.ts';
import { getDeployment } from './deployments.ts';
import type { ServiceDeps } from './deps.ts';
import { recordEvent } from './events.ts';
import { newId } from './ids.ts';
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

/** Environments are created by their first use (promote or lock), like Vercel's custom environments. */
async function ensureEnvironment(deps: ServiceDeps, project: ProjectRow, name: string): Promise<EnvironmentRow> {
  assertName('environment', name);
  return deps.store.ensureEnvironment(newEnvironmentRow({ id: newId('env'), projectId: project.id, name, createdAt: deps.clock.now().toISOString() }));
}

function pointerState(env: EnvironmentRow) {
  return { deployment: env.deploymentId, release: env.releaseNumber === 0 ? null : `v${env.releaseNumber}` };
}

/** A release just made, with the pin it cleared (a promote moves a pinned environment on and unpins it). */
export type MovedRelease = ReleaseRow & { clearedPin: { by: string; at: string; reason: string | null } | null };

/** Writes a planned release: the compare-and-set move plus its audit events, in one transaction. */
async function applyMove(
  deps: ServiceDeps,
  actor: Actor,
  project: ProjectRow,
  env: EnvironmentRow,
  kind: ReleaseKind,
  deploymentId: string,
  plan: MovePlan,
  reason: string | null,
): Promise<MovedRelease> {
  const now = deps.clock.now();
  const release: ReleaseRow = {
    id: newId('rel'),
    projectId: project.id,
    environmentId: env.id,
    number: plan.number,
    kind,
    state: 'live',
    deploymentId,
    previousDeploymentId: plan.previousDeploymentId,
    replacesReleaseId: plan.replacesReleaseId,
    reason,
    forced: plan.forced,
    createdAt: now.toISOString(),
    createdBy: actor.name,
  };
  const pin = kind === 'rollback' ? { by: actor.name, at: now.toISOString(), reason } : null;
  await deps.store.transaction(async (tx) => {
    await tx.moveEnvironmentPointer(env.id, {
      release,
      expectedReleaseNumber: plan.expectedReleaseNumber,
      replacedState: kind === 'rollback' ? 'rolled_back' : 'superseded',
      pin,
    });
    const common = { projectId: project.id, environment: env.name, reason };
    await recordEvent(tx, now, actor, `release.${kind}`, {
      ...common,
      target: release.id,
      before: pointerState(env),
      after: { deployment: deploymentId, release: `v${release.number}`, forced: plan.forced },
    });
    if (plan.forced) {
      await recordEvent(tx, now, actor, 'lock.break_glass', {
        ...common,
        target: release.id,
        before: { lockedBy: env.lockedBy, reason: env.lockedReason },
      });
    }
    if (pin) {
      await recordEvent(tx, now, actor, 'environment.pin', { ...common, target: deploymentId, before: { pinnedBy: env.pinnedBy }, after: pin });
    } else if (env.pinnedBy !== null) {
      await recordEvent(tx, now, actor, 'environment.unpin', {
        ...common,
        target: deploymentId,
        before: { pinnedBy: env.pinnedBy, reason: env.pinnedReason },
      });
    }
  });
  const clearedPin = pin === null && env.pinnedBy !== null ? { by: env.pinnedBy, at: env.pinnedAt ?? '', reason: env.pinnedReason } : null;
  return { ...release, clearedPin };
}

export async function promote(
  deps: ServiceDeps,
  actor: Actor,
  projectName: string,
  envName: string,
  input: MoveRequest & { deployment: string },
): Promise<MovedRelease> {
  requireRole(actor, 'deployer');
  const project = await getProject(deps, projectName);
  assertName('environment', envName);
  const deployment = await getDeployment(deps, projectName, input.deployment);
  const env = await ensureEnvironment(deps, project, envName);
  const plan = planPromotion(env, deployment.id, actor, input, deps.clock.now());
  return applyMove(deps, actor, project, env, 'promote', deployment.id, plan, input.reason ?? null);
}

/** Resolves `--to`: a release number `vN`, a deployment id once live here, or (absent) the deployment live before the current one. */
async function rollbackTarget(deps: ServiceDeps, projectName: string, env: EnvironmentRow, to: string | undefined): Promise<string> {
  if (to === undefined) {
    const previous = await deps.store.findPreviousDeploymentRelease(env.id, env.deploymentId);
    if (!previous) throw new SlipwayError(ErrorCode.NO_PREVIOUS_RELEASE, `${env.name} has no earlier deployment to roll back to`);
    return previous.deploymentId;
  }
  const number = /^v(\d+)$/.exec(to);
  if (number) {
    const release = await deps.store.findReleaseByNumber(env.id, Number(number[1]));
    if (!release) throw new SlipwayError(ErrorCode.RELEASE_NOT_FOUND, `${env.name} has no release ${to}`, { release: to });
    return release.deploymentId;
  }
  const deployment = await getDeployment(deps, projectName, to);
  if (!(await deps.store.findLatestReleaseOfDeployment(env.id, deployment.id))) {
    throw new SlipwayError(
      ErrorCode.ROLLBACK_TARGET_INVALID,
      `${to} was never live in ${env.name}; a rollback returns to an earlier release (use promote for anything else)`,
      { deployment: to },
    );
  }
  return deployment.id;
}

export async function rollback(
  deps: ServiceDeps,
  actor: Actor,
  projectName: string,
  envName: string,
  input: MoveRequest & { to?: string | undefined },
): Promise<MovedRelease> {
  requireRole(actor, 'deployer');
  const { project, environment: env } = await getEnvironment(deps, projectName, envName);
  if (env.releaseNumber === 0) throw new SlipwayError(ErrorCode.NO_PREVIOUS_RELEASE, `${envName} has no release yet`);
  const target = await rollbackTarget(deps, projectName, env, input.to);
  const plan = planRollback(env, target, actor, input, deps.clock.now());
  return applyMove(deps, actor, project, env, 'rollback', target, plan, input.reason ?? null);
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
    if (plan.forced) await recordEvent(tx, now, actor, 'lock.break_glass', { ...common, before });
  });
  return { ...env, ...fields };
}
