import { candidateLabel, GateCode, PASS, type Gate } from './types.ts';

/**
 * With `from:`, a deployment enters only after it was live upstream and was not rolled back
 * there. A forced release passes. The service refuses a user's promotion at once on any
 * non-pass here; for automation, `never` waits for the upstream to run it.
 */
export const lineageGate: Gate = (candidate, policy, facts) => {
  if (policy.from === null || candidate.forced) return PASS;
  const upstream = facts.upstream?.name ?? policy.from;
  const lineage = facts.upstream?.lineage ?? 'never';
  const label = candidateLabel(candidate);
  const details = { upstream, lineage, deployment: candidate.deploymentId, commit: candidate.commit };
  switch (lineage) {
    case 'live':
    case 'was_live':
      return PASS;
    case 'rolled_back':
      return {
        status: 'fail',
        reason: { gate: 'lineage', code: GateCode.LINEAGE_VIOLATION, message: `${label} was rolled back in ${upstream}`, details },
      };
    case 'never':
      return {
        status: 'wait',
        reason: { gate: 'lineage', code: GateCode.LINEAGE_VIOLATION, message: `${upstream} has not run ${label}`, details },
      };
  }
};
