import { formatUntil } from './lock.ts';
import { GateCode, PASS, type Freeze, type Gate } from './types.ts';

/** The freezes in force at `now` (from ≤ now < until), latest-ending first. */
export function activeFreezes(freezes: readonly Freeze[], now: Date): Freeze[] {
  const t = now.getTime();
  return freezes.filter((f) => Date.parse(f.from) <= t && t < Date.parse(f.until)).sort((a, b) => Date.parse(b.until) - Date.parse(a.until));
}

/**
 * A freeze denies: while one is in force nothing goes live but an admin's forced release. The
 * release is looked at again when the freeze ends — the latest end of those in force, or, when
 * freezes overlap end to end, when the chain of them ends.
 */
export const freezeGate: Gate = (candidate, _policy, facts, now) => {
  if (candidate.forced) return PASS;
  const active = activeFreezes(facts.freezes, now);
  const first = active[0];
  if (!first) return PASS;
  let until = Date.parse(first.until);
  for (let extended = true; extended; ) {
    extended = false;
    for (const f of facts.freezes) {
      if (Date.parse(f.from) <= until && Date.parse(f.until) > until) {
        until = Date.parse(f.until);
        extended = true;
      }
    }
  }
  const end = new Date(until).toISOString();
  return {
    status: 'wait',
    reason: {
      gate: 'freeze',
      code: GateCode.FROZEN,
      message: `${facts.environment.name} is frozen until ${formatUntil(end, now)} by ${first.createdBy}: ${first.reason} (${first.id})`,
      details: { freeze: first.id, reason: first.reason, by: first.createdBy, from: first.from, until: end },
    },
    recheckAt: end,
  };
};
