import { GateCode, PASS, type Gate } from './types.ts';

/** A pin stops automation only; a person's promotion passes (and the service clears the pin). */
export const pinGate: Gate = (candidate, _policy, facts) => {
  const env = facts.environment;
  if (env.pinnedBy === null || candidate.trigger === 'user') return PASS;
  return {
    status: 'wait',
    reason: {
      gate: 'pin',
      code: GateCode.ENVIRONMENT_PINNED,
      message: `${env.name} was pinned by ${env.pinnedBy}: automation waits until someone promotes explicitly`,
      details: { pinnedBy: env.pinnedBy },
    },
  };
};
