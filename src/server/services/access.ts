import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import { PERSON_ROLES, type PersonRole, type Role } from '../../core/glossary.ts';
import type { Actor } from '../../core/release-planner.ts';

/** viewer < deployer < approver < admin; runner and agent are outside the ladder (see Actor.role). */
const RANK: Record<PersonRole, number> = { viewer: 0, deployer: 1, approver: 2, admin: 3 };

/** Whether a role is on the ladder (a person's or a service token's), not a machine's (runner, agent). */
export function isPersonRole(role: Role): role is PersonRole {
  return (PERSON_ROLES as readonly Role[]).includes(role);
}

/** Whether `role` includes `minimum` on the ladder (a runner or an agent includes nothing but itself). */
export function roleReaches(role: Role, minimum: Role): boolean {
  if (!isPersonRole(minimum) || !isPersonRole(role)) return role === minimum;
  return RANK[role] >= RANK[minimum];
}

/** The higher of two roles of the ladder. */
export function higherRole<R extends PersonRole>(a: R, b: R | undefined): R {
  return b !== undefined && RANK[b] > RANK[a] ? b : a;
}

/**
 * Throws FORBIDDEN unless `actor` may act with `minimum`. A runner token passes only where a
 * runner is asked for, and only a runner passes there: no admin or deployer drives a build.
 */
export function requireRole(actor: Actor, minimum: Role): void {
  if (!roleReaches(actor.role, minimum)) {
    throw new SlipwayError(ErrorCode.FORBIDDEN, `this needs the ${minimum} role; ${actor.name} is ${actor.role}`, {
      required: minimum,
      role: actor.role,
    });
  }
}

/**
 * Who a request comes from, before it is known which project it is about: the actor with its
 * global role, the roles memberships raise on single projects, and a token's project scope.
 */
export interface Principal {
  actor: Actor;
  /** Project id → role of the user's membership there (empty for service tokens). */
  projectRoles: ReadonlyMap<string, PersonRole>;
  /** A project-scoped token reaches this project (id) and nothing else. */
  scope: string | null;
  /** How it proved itself: a bearer token, or a dashboard session (whose writes need the CSRF token). */
  via: 'token' | 'session';
  /** The token's sha256, or the session's id. */
  credentialId: string;
}

/** The role a principal has on one project; null: it does not reach that project at all. */
export function roleOn(principal: Principal, projectId: string): Role | null {
  if (principal.scope !== null && principal.scope !== projectId) return null;
  const global = principal.actor.role;
  if (!isPersonRole(global)) return global;
  return higherRole(global, principal.projectRoles.get(projectId));
}

/** The actor as it acts on one project (its role there); null when it does not reach it. */
export function actorOn(principal: Principal, projectId: string): Actor | null {
  const role = roleOn(principal, projectId);
  return role === null ? null : { ...principal.actor, role };
}

/** Whether an actor may see a project at all (its scope; every actor reaches every project with its global role). */
export function reaches(actor: Actor, projectId: string): boolean {
  return actor.projectScope === undefined || actor.projectScope === projectId;
}
