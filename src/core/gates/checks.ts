import { GateCode, PASS, type EnvironmentPolicy, type Gate, type GateFacts } from './types.ts';

/**
 * Required checks of the candidate's commit. In `gate` mode a release waits for every required
 * check to be green and fails on a red one; `parallel` mode goes live at once (unless a required
 * check is red already) and leaves checks that turn red later to `redRequiredCheck`, which rolls
 * the environment back. Forcing never skips checks.
 */
export const checksGate: Gate = (candidate, policy, facts) => {
  const required = requiredChecks(policy);
  if (required.length === 0) return PASS;
  if (policy.mode === 'parallel') {
    // Goes live before its checks are in; but one already known red is not published only to be rolled back.
    const red = redRequiredCheck(policy, facts.checks);
    if (red === null) return PASS;
    return { status: 'fail', reason: { gate: 'checks', code: GateCode.CHECK_FAILED, message: failedMessage([red]), details: { commit: candidate.commit, failed: [red] } } };
  }
  if (candidate.commit === null) {
    return {
      status: 'fail',
      reason: {
        gate: 'checks',
        code: GateCode.CHECKS_UNAVAILABLE,
        message: 'deployment has no commit, so its checks can never pass',
        details: { deployment: candidate.deploymentId, required },
      },
    };
  }
  const failed = required.flatMap((name) => {
    const check = facts.checks[name];
    return check?.state === 'failure' ? [{ name, url: check.url }] : [];
  });
  if (failed.length > 0) {
    return {
      status: 'fail',
      reason: { gate: 'checks', code: GateCode.CHECK_FAILED, message: failedMessage(failed), details: { commit: candidate.commit, failed } },
    };
  }
  const waiting = required.flatMap((name) => {
    const state = facts.checks[name]?.state;
    if (state === 'success') return [];
    return [{ name, state: state ?? 'missing' }];
  });
  if (waiting.length === 0) return PASS;
  return {
    status: 'wait',
    reason: {
      gate: 'checks',
      code: GateCode.CHECKS_PENDING,
      message: `waiting for checks: ${waiting.map((check) => `${check.name} ${check.state}`).join(', ')}`,
      details: { commit: candidate.commit, waiting },
    },
  };
};

/**
 * Parallel mode: the first required check (in policy order) that is red, so the service rolls
 * the environment back and records which check and URL caused it; null while none is red.
 */
export function redRequiredCheck(policy: EnvironmentPolicy, checks: GateFacts['checks']): { name: string; url: string | null } | null {
  for (const name of requiredChecks(policy)) {
    const check = checks[name];
    if (check?.state === 'failure') return { name, url: check.url };
  }
  return null;
}

function requiredChecks(policy: EnvironmentPolicy): string[] {
  return [...new Set(policy.checks)];
}

function failedMessage(failed: { name: string; url: string | null }[]): string {
  const [only] = failed;
  if (failed.length === 1 && only) return `check ${only.name} failed${only.url ? `: ${only.url}` : ''}`;
  return `checks failed: ${failed.map((check) => (check.url ? `${check.name} (${check.url})` : check.name)).join(', ')}`;
}
