import { ErrorCode, SlipwayError } from './errors.ts';
import type { Role } from './glossary.ts';

/**
 * Pure planning of pointer moves and locks: given what the environment looks like now and who
 * asks, decide what to write or refuse with a code. Services read the state, call a planner,
 * then apply its plan with a compare-and-set write, so nothing is written for a refused plan.
 */

export interface Actor {
  /**
   * Who this is, for ownership (a lock belongs to an id): the user's id for a person (whichever
   * token or session they came with), the token's id for a service token. Names are labels;
   * Slipway's own automation has no id.
   */
  id?: string | undefined;
  name: string;
  /**
   * Who may do what. viewer < deployer < approver < admin each include the one before; on a
   * request about one project it is the role on that project (the higher of the global role and
   * a membership). `runner` stands apart: it may only claim builds and drive the ones it holds a
   * lease on, and nothing a viewer may (a build machine's token reads no project, no log, no token).
   */
  role: Role;
  /** The person behind it: set for a user's token or session, absent for service tokens and automation. */
  userId?: string | undefined;
  /** A project-scoped token reaches this project (id) only. */
  projectScope?: string | undefined;
  /** The agent an `agent` token speaks for (its own environment only). */
  agentId?: string | undefined;
  /** `user` for a person or script acting explicitly; `automation` for Slipway's own triggers. */
  trigger: 'user' | 'automation';
}

export interface EnvironmentState {
  deploymentId: string | null;
  releaseId: string | null;
  releaseNumber: number;
  pinnedBy: string | null;
  lockedBy: string | null;
  lockedById: string | null;
  lockedAt: string | null;
  lockedReason: string | null;
  lockedUntil: string | null;
}

export interface MoveRequest {
  expectRelease?: number | undefined;
  force?: boolean | undefined;
  reason?: string | undefined;
}

export interface MovePlan {
  number: number;
  expectedReleaseNumber: number;
  previousDeploymentId: string | null;
  replacesReleaseId: string | null;
  /** True when an admin broke through a lock; the release and an event record it. */
  forced: boolean;
}

export function isLocked(env: Pick<EnvironmentState, 'lockedAt' | 'lockedUntil'>, now: Date): boolean {
  if (env.lockedAt === null) return false;
  return env.lockedUntil === null || Date.parse(env.lockedUntil) > now.getTime();
}

/** Admin break-glass: refused unless the actor is an admin and gives a reason. */
function checkForce(actor: Actor, request: MoveRequest): void {
  if (!request.force) return;
  if (actor.role !== 'admin') throw new SlipwayError(ErrorCode.FORBIDDEN, 'only an admin may force past a lock', { actor: actor.name });
  if (!request.reason) throw new SlipwayError(ErrorCode.REASON_REQUIRED, 'forcing past a lock needs a reason');
}

function checkLock(env: EnvironmentState, actor: Actor, request: MoveRequest, now: Date): boolean {
  checkForce(actor, request);
  if (!isLocked(env, now)) return false;
  if (request.force) return true;
  throw new SlipwayError(
    ErrorCode.ENVIRONMENT_LOCKED,
    `environment is locked by ${env.lockedBy ?? 'someone'}: ${env.lockedReason ?? ''}`.trim(),
    { lockedBy: env.lockedBy, reason: env.lockedReason, until: env.lockedUntil },
  );
}

function checkExpected(env: EnvironmentState, request: MoveRequest): void {
  if (request.expectRelease !== undefined && request.expectRelease !== env.releaseNumber) {
    throw new SlipwayError(
      ErrorCode.RELEASE_CONFLICT,
      `expected the environment at v${request.expectRelease}, but it is at v${env.releaseNumber}`,
      { expected: request.expectRelease, actual: env.releaseNumber },
    );
  }
}

function plan(env: EnvironmentState, forced: boolean): MovePlan {
  return {
    number: env.releaseNumber + 1,
    expectedReleaseNumber: env.releaseNumber,
    previousDeploymentId: env.deploymentId,
    replacesReleaseId: env.releaseId,
    forced,
  };
}

/**
 * An explicit promotion. It clears a pin; automation may not move a pinned environment.
 */
export function planPromotion(env: EnvironmentState, deploymentId: string, actor: Actor, request: MoveRequest, now: Date): MovePlan {
  const forced = checkLock(env, actor, request, now);
  checkExpected(env, request);
  if (env.pinnedBy !== null && actor.trigger === 'automation') {
    throw new SlipwayError(ErrorCode.ENVIRONMENT_PINNED, `environment was pinned by ${env.pinnedBy}; promote explicitly to unpin it`, {
      pinnedBy: env.pinnedBy,
    });
  }
  if (env.deploymentId === deploymentId && env.pinnedBy === null) {
    throw new SlipwayError(ErrorCode.ALREADY_LIVE, `${deploymentId} is already live here`, { deployment: deploymentId });
  }
  return plan(env, forced);
}

/**
 * A rollback to `targetDeploymentId`, which the service resolved from the release history.
 * `changes`: the service found that it changes what runs even on the same deployment (a
 * service's earlier config); otherwise the same deployment is already live.
 */
export function planRollback(env: EnvironmentState, targetDeploymentId: string, actor: Actor, request: MoveRequest, now: Date, changes = false): MovePlan {
  const forced = checkLock(env, actor, request, now);
  checkExpected(env, request);
  if (env.deploymentId === targetDeploymentId && !changes) {
    throw new SlipwayError(ErrorCode.ALREADY_LIVE, `${targetDeploymentId} is already live here`, { deployment: targetDeploymentId });
  }
  return plan(env, forced);
}

export interface LockPlan {
  lockedBy: string;
  lockedById: string | null;
  lockedAt: string;
  lockedReason: string;
  lockedUntil: string | null;
  /** The lock this one replaces (admin break-glass over someone else's lock). */
  replaces: { by: string | null; reason: string | null } | null;
}

export function planLock(
  env: EnvironmentState,
  actor: Actor,
  request: { reason: string; until: Date | null; force?: boolean | undefined },
  now: Date,
): LockPlan {
  checkForce(actor, request);
  const locked = isLocked(env, now);
  if (locked && !request.force) {
    throw new SlipwayError(ErrorCode.ENVIRONMENT_LOCKED, `environment is already locked by ${env.lockedBy ?? 'someone'}`, {
      lockedBy: env.lockedBy,
      reason: env.lockedReason,
      until: env.lockedUntil,
    });
  }
  if (request.until !== null && request.until.getTime() <= now.getTime()) {
    throw new SlipwayError(ErrorCode.INVALID_DURATION, 'a lock must end in the future');
  }
  return {
    lockedBy: actor.name,
    lockedById: actor.id ?? null,
    lockedAt: now.toISOString(),
    lockedReason: request.reason,
    lockedUntil: request.until?.toISOString() ?? null,
    replaces: locked ? { by: env.lockedBy, reason: env.lockedReason } : null,
  };
}

/**
 * Whether `actor` holds the lock: the same id. A name proves nothing (any admin may name a
 * token `admin`); only an actor without an id (Slipway's automation) is matched by name, and
 * only to a lock that has no id either.
 */
export function holdsLock(env: Pick<EnvironmentState, 'lockedBy' | 'lockedById'>, actor: Actor): boolean {
  if (env.lockedById !== null) return actor.id !== undefined && env.lockedById === actor.id;
  return actor.id === undefined && env.lockedBy === actor.name;
}

/** Unlocking someone else's lock is a write past that lock: admins only, with a reason. */
export function planUnlock(env: EnvironmentState, actor: Actor, request: { force?: boolean | undefined; reason?: string | undefined }, now: Date): { forced: boolean } {
  if (!isLocked(env, now)) throw new SlipwayError(ErrorCode.ENVIRONMENT_NOT_LOCKED, 'environment is not locked');
  if (holdsLock(env, actor)) return { forced: false };
  if (!request.force) {
    throw new SlipwayError(ErrorCode.ENVIRONMENT_LOCKED, `the lock belongs to ${env.lockedBy ?? 'someone'}; an admin may --force with a reason`, {
      lockedBy: env.lockedBy,
    });
  }
  checkForce(actor, request);
  return { forced: true };
}
