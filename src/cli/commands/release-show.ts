import { connect, requireProject } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatTime, plural } from '../output.ts';
import { describeApprovalState } from './approve.ts';
import { describeWait } from './pipeline.ts';

export interface ReleaseShowOptions {
  project?: string | undefined;
  env?: string | undefined;
  json?: boolean | undefined;
}

/**
 * `slipway releases show <release>`: one release (its id, or `vN` with `--env`) with its
 * state, what its gates say, and the batch of commits it carries with their authors and checks.
 */
export const releaseShow: Command<ReleaseShowOptions & { release: string }> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const client = await connect(ctx);
  const release = await client.getRelease(project, options.release, options.env);
  if (options.json) {
    ctx.out.json(release);
    return ExitCode.OK;
  }
  const commit = release.commit ? ` ${release.branch ?? ''}@${release.commit.slice(0, 7)}` : '';
  ctx.out.line(`${release.environment} v${release.number}  ${release.state}  ${release.id}`);
  ctx.out.line(`  ${release.kind} of ${release.deployment}${commit}${release.previousDeployment ? ` over ${release.previousDeployment}` : ''}`);
  if (release.configVersion !== null) ctx.out.line(`  config v${release.configVersion}${release.kind === 'rollback' ? ' (what the release it returns to ran with)' : ''}`);
  if (release.expedited) ctx.out.line('  hotfix: expedited (no soak, no place in the queue; windows only where expedite: allow)');
  ctx.out.line(`  by ${release.createdBy} (${release.trigger}) at ${formatTime(release.createdAt)}${release.reason ? `: ${release.reason}` : ''}`);
  if (release.liveAt) ctx.out.line(`  live since ${formatTime(release.liveAt)}`);
  if (release.supersededBy) ctx.out.line(`  superseded by ${release.supersededBy}`);
  if (['pending', 'waiting', 'failed'].includes(release.state)) {
    ctx.out.line('  gates:');
    for (const line of describeWait(release)) ctx.out.line(`    ${line}`);
  } else if (release.stateReason) {
    ctx.out.line(`  ${release.stateReason}`);
  }
  if (release.approvalState && !release.approvalState.satisfied) {
    ctx.out.line('  still to approve:');
    for (const line of describeApprovalState(release.approvalState)) ctx.out.line(`    ${line}`);
  }
  for (const a of release.approvals) {
    const what = a.decision === 'reject' ? 'rejected' : a.forEmail ? `approved for ${a.forEmail}` : 'approved';
    ctx.out.line(`  ${what} by ${a.user} (${a.role}) at ${formatTime(a.at)}${a.reason ? `: ${a.reason}` : ''}`);
  }
  const batch = release.batch;
  if (batch) {
    const authors = new Set(batch.commits.map((c) => c.email ?? c.author ?? '?'));
    const count = batch.commits.length;
    ctx.out.line(`  batch: ${plural(count, 'commit')} by ${plural(authors.size, 'author')}${batch.truncated ? ' (more not shown: history beyond what Slipway knows)' : ''}${batch.base ? ` since ${batch.base.slice(0, 7)}` : ''}`);
    ctx.out.table(
      ['COMMIT', 'AUTHOR', 'MESSAGE', 'CHECKS'],
      batch.commits.map((c) => [
        c.sha.slice(0, 7),
        c.author ?? '-',
        (c.message ?? '').slice(0, 60),
        c.checks.length === 0 ? '-' : c.checks.map((k) => `${k.name} ${k.state}`).join(', '),
      ]),
    );
  }
  return ExitCode.OK;
};
