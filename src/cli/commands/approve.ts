import type { ApprovalState, Decision } from '../../protocol/approvals.ts';
import { connect, requireProject } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import type { Output } from '../output.ts';

export interface ApproveOptions {
  project?: string | undefined;
  env?: string | undefined;
  reason?: string | undefined;
  for?: string | undefined;
  json?: boolean | undefined;
}

/**
 * `slipway approve <release> [--reason …] [--for email --reason …]`: a person's approval of one
 * waiting release (its id, or `vN` with `--env`). Prints what it did and who still has to
 * approve, or that the release went live with it.
 */
export const approve: Command<ApproveOptions & { release: string }> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const client = await connect(ctx);
  const decision = await client.approve(project, options.release, {
    ...(options.env === undefined ? {} : { environment: options.env }),
    ...(options.reason === undefined ? {} : { reason: options.reason }),
    ...(options.for === undefined ? {} : { forEmail: options.for }),
  });
  if (options.json) ctx.out.json(decision);
  else printDecision(ctx.out, decision);
  return ExitCode.OK;
};

/** Who still has to approve a release, one line each ("2 more of approver", "dev2 <dev2@…>", …). */
export function describeApprovalState(state: ApprovalState): string[] {
  const lines: string[] = [];
  if (state.missingCount > 0) {
    lines.push(`${state.missingCount} more of ${state.required} with ${state.role} or above (not an author, not who promoted it)${state.approvedBy.length > 0 ? `; counted: ${state.approvedBy.join(', ')}` : ''}`);
  }
  for (const author of state.missingAuthors) lines.push(`author ${author.user ?? author.email} <${author.email}>`);
  for (const author of state.unmapped) lines.push(`author ${author.email} has no user: someone with ${state.role} may sign for it (slipway approve --for ${author.email} --reason …)`);
  if (state.unknownCommits > 0) lines.push(`authors of ${state.unknownCommits} commit(s) are not known to Slipway: an admin may promote with --force`);
  return lines;
}

export function printDecision(out: Output, decision: Decision): void {
  const { release, approval } = decision;
  const what = approval.decision === 'reject' ? 'rejected' : approval.forEmail ? `approved for ${approval.forEmail}` : 'approved';
  out.line(`${approval.user} ${what} ${release.environment} v${release.number} (${release.id})`);
  if (release.state === 'live') out.line(`${release.environment} v${release.number} is live`);
  else if (release.state !== 'waiting') out.line(`${release.environment} v${release.number} is ${release.state}${release.stateReason ? `: ${release.stateReason}` : ''}`);
  else if (decision.approvals && !decision.approvals.satisfied) {
    out.line('still to approve:');
    for (const line of describeApprovalState(decision.approvals)) out.line(`  ${line}`);
  } else {
    out.line(`${release.environment} v${release.number} waits for other gates: slipway releases show ${release.id}`);
  }
}
