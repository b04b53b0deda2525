import { formatDuration } from '../duration.ts';
import { formatUntil } from './lock.ts';
import { candidateLabel, GateCode, PASS, type Gate } from './types.ts';

/**
 * `soak: 10m` with `from:` — the candidate must have been live upstream, without interruption,
 * at least that long (Kargo's continuous residency; not GitHub's timer from the job's start).
 * Still live upstream and not long enough: wait, looked at again the moment it will be. Replaced
 * upstream before it soaked: it never will, so it fails. A forced release (admin break-glass)
 * and an expedited one (a hotfix) pass; lineage itself is the lineage gate's.
 */
export const soakGate: Gate = (candidate, policy, facts, now) => {
  if (policy.soakMs <= 0 || policy.from === null || candidate.forced || candidate.expedited === true) return PASS;
  const upstream = facts.upstream;
  if (upstream === null || (upstream.lineage !== 'live' && upstream.lineage !== 'was_live')) return PASS;
  const liveAt = upstream.liveAt == null ? Number.NaN : Date.parse(upstream.liveAt);
  // A release from before live times were kept: nothing to measure, so nothing to hold it by.
  if (Number.isNaN(liveAt)) return PASS;
  const soaked = liveAt + policy.soakMs;
  const label = candidateLabel(candidate);
  const details = { upstream: upstream.name, soakMs: policy.soakMs, liveAt: upstream.liveAt };
  if (upstream.lineage === 'was_live') {
    const endedAt = upstream.endedAt == null ? Number.NaN : Date.parse(upstream.endedAt);
    if (Number.isNaN(endedAt) || endedAt >= soaked) return PASS;
    return {
      status: 'fail',
      reason: {
        gate: 'soak',
        code: GateCode.SOAK_INCOMPLETE,
        message: `${label} was live in ${upstream.name} only ${formatDuration(endedAt - liveAt)} of the ${formatDuration(policy.soakMs)} soak`,
        details,
      },
    };
  }
  if (now.getTime() >= soaked) return PASS;
  const at = new Date(soaked).toISOString();
  return {
    status: 'wait',
    reason: {
      gate: 'soak',
      code: GateCode.SOAKING,
      message: `soaking in ${upstream.name}: ${formatDuration(soaked - now.getTime())} of ${formatDuration(policy.soakMs)} left (until ${formatUntil(at, now)})`,
      details: { ...details, until: at },
    },
    recheckAt: at,
  };
};
