import { GateCode, PASS, type Gate } from './types.ts';

/**
 * Automation takes batches up to `max_commits`; a larger one, or one whose size is not known
 * (history cut short), waits for a person. A user's promotion passes: they chose the batch.
 */
export const maxCommitsGate: Gate = (candidate, policy) => {
  const { count, truncated } = candidate.batch;
  if (candidate.trigger === 'user' || (count <= policy.maxCommits && !truncated)) return PASS;
  const message = truncated
    ? `Slipway cannot count the commits this release brings (its history is incomplete; ${count} found, max_commits ${policy.maxCommits}): promote it yourself`
    : `${count} commits is more than max_commits ${policy.maxCommits}: promote it yourself`;
  return {
    status: 'wait',
    reason: { gate: 'max_commits', code: GateCode.MAX_COMMITS, message, details: { count, truncated, maxCommits: policy.maxCommits } },
  };
};
