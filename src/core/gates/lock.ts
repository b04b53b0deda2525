import { isLocked } from '../release-planner.ts';
import { GateCode, PASS, type Gate } from './types.ts';

/** A lock holds every release until it is lifted or expires; an admin's forced release goes through. */
export const lockGate: Gate = (candidate, _policy, facts, now) => {
  const env = facts.environment;
  if (candidate.forced || !isLocked(env, now)) return PASS;
  const by = env.lockedBy ? ` by ${env.lockedBy}` : '';
  const until = env.lockedUntil ? ` until ${formatUntil(env.lockedUntil, now)}` : '';
  const why = env.lockedReason ? `: ${env.lockedReason}` : '';
  return {
    status: 'wait',
    reason: {
      gate: 'lock',
      code: GateCode.ENVIRONMENT_LOCKED,
      message: `${env.name} is locked${by}${until}${why}`,
      details: { lockedBy: env.lockedBy, reason: env.lockedReason, lockedAt: env.lockedAt, until: env.lockedUntil },
    },
    ...(env.lockedUntil ? { recheckAt: env.lockedUntil } : {}),
  };
};

/** `14:00 UTC` on the same (UTC) day, `2026-03-02 14:00 UTC` otherwise: times are stored in UTC. */
export function formatUntil(iso: string, now: Date): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const [day, rest = ''] = at.toISOString().split('T');
  const time = rest.slice(0, 5);
  return day === now.toISOString().slice(0, 10) ? `${time} UTC` : `${day} ${time} UTC`;
}
