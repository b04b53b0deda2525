import { GateCode, PASS, type Gate } from './types.ts';

/** Infra before app: each required project's release must be live first; the wait names each one. */
export const requiresGate: Gate = (_candidate, _policy, facts) => {
  const pending = facts.requires.filter((entry) => !entry.satisfied);
  if (pending.length === 0) return PASS;
  const named = pending.map((entry) => `${entry.needs ?? entry.project} in ${entry.environment}`);
  return {
    status: 'wait',
    reason: {
      gate: 'requires',
      code: GateCode.REQUIRES_PENDING,
      message: `waiting for ${named.join(' and ')}`,
      details: { pending: pending.map(({ project, environment, needs }) => ({ project, environment, needs })) },
    },
  };
};
