import { GateCode, PASS, type Gate } from './types.ts';

/** Automation takes an environment's releases first in, first out; a person, and a hotfix (expedited), jump the queue. */
export const queueGate: Gate = (candidate, _policy, facts) => {
  const ahead = facts.queueAhead;
  if (ahead === null || candidate.trigger === 'user' || candidate.expedited === true) return PASS;
  return {
    status: 'wait',
    reason: { gate: 'queue', code: GateCode.QUEUED, message: `queued behind v${ahead.number}`, details: { behind: ahead.number } },
  };
};
