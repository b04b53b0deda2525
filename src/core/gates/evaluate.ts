import { approvalsGate } from './approvals.ts';
import { checksGate } from './checks.ts';
import { freezeGate } from './freeze.ts';
import { lineageGate } from './lineage.ts';
import { lockGate } from './lock.ts';
import { maxCommitsGate } from './max-commits.ts';
import { pinGate } from './pin.ts';
import { queueGate } from './queue.ts';
import { requiresGate } from './requires.ts';
import { soakGate } from './soak.ts';
import { windowGate } from './window.ts';
import type { Candidate, EnvironmentPolicy, Gate, GateCheck, GateFacts, GateKind, GateReason, GateVerdict } from './types.ts';

/** Every gate, in the order their reasons are listed. */
export const GATES: readonly (readonly [GateKind, Gate])[] = [
  ['lock', lockGate],
  ['freeze', freezeGate],
  ['window', windowGate],
  ['pin', pinGate],
  ['lineage', lineageGate],
  ['soak', soakGate],
  ['checks', checksGate],
  ['max_commits', maxCommitsGate],
  ['requires', requiresGate],
  ['approvals', approvalsGate],
  ['queue', queueGate],
];

/**
 * The gates a `config` release (the live deployment again, with new config vars) passes. Like a
 * rollback it brings no new code, so lineage, soak, checks, batch size, requirements, approvals,
 * deploy windows and the queue have nothing to say; a pin does not hold it either (it keeps the
 * pin). A lock and a freeze hold it, as they hold anything that restarts the environment.
 */
export const CONFIG_GATES: readonly GateKind[] = ['lock', 'freeze'];

/**
 * One verdict from all gates: the first fail wins (a release that can never pass is not kept
 * waiting); otherwise every wait is listed so a person sees all that holds the release at once,
 * with the earliest time any of them should be looked at again.
 */
export function evaluate(candidate: Candidate, policy: EnvironmentPolicy, facts: GateFacts, now: Date): GateVerdict {
  const gates = candidate.kind === 'config' ? GATES.filter(([kind]) => CONFIG_GATES.includes(kind)) : GATES;
  return combine(gates.map(([, gate]) => gate(candidate, policy, facts, now)));
}

/** The verdict of several gate checks, in the order given. */
export function combine(checks: readonly GateCheck[]): GateVerdict {
  const reasons: GateReason[] = [];
  let recheckAt: string | undefined;
  for (const check of checks) {
    if (check.status === 'fail') return { outcome: 'fail', reason: check.reason };
    if (check.status === 'pass') continue;
    reasons.push(check.reason);
    if (check.recheckAt !== undefined && isEarlier(check.recheckAt, recheckAt)) recheckAt = check.recheckAt;
  }
  if (reasons.length === 0) return { outcome: 'pass' };
  return recheckAt === undefined ? { outcome: 'wait', reasons } : { outcome: 'wait', reasons, recheckAt };
}

/** By time, not by text (`+01:00` and `Z` stamps mix); an unreadable time never wins. */
function isEarlier(candidate: string, current: string | undefined): boolean {
  const at = Date.parse(candidate);
  if (Number.isNaN(at)) return false;
  if (current === undefined) return true;
  return at < Date.parse(current);
}
