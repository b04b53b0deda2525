import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { Role } from '../../core/glossary.ts';
import type { Actor } from '../../core/release-planner.ts';

/** viewer < deployer < approver < admin; runner is outside the ladder (see Actor.role). */
const RANK: Record<Exclude<Role, 'runner'>, number> = { viewer: 0, deployer: 1, approver: 2, admin: 3 };

/**
 * Throws FORBIDDEN unless `actor` may act with `minimum`. A runner token passes only where a
 * runner is asked for, and only a runner passes there: no admin or deployer drives a build.
 */
export function requireRole(actor: Actor, minimum: Role): void {
  const allowed = minimum === 'runner' || actor.role === 'runner' ? actor.role === minimum : RANK[actor.role] >= RANK[minimum];
  if (!allowed) {
    throw new SlipwayError(ErrorCode.FORBIDDEN, `this needs the ${minimum} role; ${actor.name} is ${actor.role}`, {
      required: minimum,
      role: actor.role,
    });
  }
}
