import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { Actor, ActorRole } from '../../core/release-planner.ts';

const RANK: Record<ActorRole, number> = { viewer: 0, deployer: 1, admin: 2 };

export function requireRole(actor: Actor, minimum: ActorRole): void {
  if (RANK[actor.role] < RANK[minimum]) {
    throw new SlipwayError(ErrorCode.FORBIDDEN, `this needs the ${minimum} role; ${actor.name} is ${actor.role}`, {
      required: minimum,
      role: actor.role,
    });
  }
}
