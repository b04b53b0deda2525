import type { Release } from '../../protocol/api.ts';
import type { Pipeline, PipelineStage, Policy } from '../../protocol/pipelines.ts';
import { connect, requireProject } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatDuration } from '../../core/duration.ts';
import { formatTime } from '../output.ts';
import type { Output } from '../output.ts';

export interface PipelineOptions {
  project?: string | undefined;
  json?: boolean | undefined;
}

/**
 * `slipway pipeline`: each environment in the order of `from:`, what it runs, and what waits
 * to enter it with exactly which gate holds each waiting release and when it is looked at again.
 */
export const pipeline: Command<PipelineOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const client = await connect(ctx);
  const view = await client.getPipeline(project);
  if (options.json) ctx.out.json(view);
  else printPipeline(ctx.out, view);
  return ExitCode.OK;
};

export function describePolicy(policy: Policy): string {
  const parts: string[] = [];
  if (policy.follows) parts.push(`follows ${policy.follows}`);
  if (policy.from) parts.push(`from ${policy.from}`);
  parts.push(policy.auto ? 'auto' : 'manual');
  if (policy.checks.length > 0) parts.push(`checks ${policy.checks.join(', ')} (${policy.mode})`);
  if (policy.requires.length > 0) parts.push(`requires ${policy.requires.join(', ')}`);
  if (policy.soakMs > 0) parts.push(`soak ${formatDuration(policy.soakMs)}`);
  if (policy.auto && policy.maxCommits !== 8) parts.push(`max ${policy.maxCommits} commits`);
  if (policy.windows.length > 0) parts.push(`windows ${policy.windows.join(', ')}${policy.expedite === 'allow' ? ' (hotfixes any time)' : ''}`);
  const approvals = describeApprovals(policy.approvals);
  if (approvals !== null) parts.push(approvals);
  const rollout = policy.rollout;
  const deadlines = rollout.prepareTimeoutMs !== 600_000 || rollout.releaseTimeoutMs !== 1_800_000;
  if (rollout.maxUnavailable !== 1 || rollout.drainMs !== 10_000 || rollout.healthTimeoutMs !== 60_000 || deadlines) {
    const phases = deadlines ? `, prepare ${formatDuration(rollout.prepareTimeoutMs)}, release phase ${formatDuration(rollout.releaseTimeoutMs)}` : '';
    parts.push(`rollout ${rollout.maxUnavailable} at a time, drain ${formatDuration(rollout.drainMs)}, health ${formatDuration(rollout.healthTimeoutMs)}${phases}`);
  }
  return parts.join(' · ');
}

/** `approvals 2 (approver) + all authors`; null when none are asked. */
export function describeApprovals(approvals: Policy['approvals']): string | null {
  const parts: string[] = [];
  if (approvals.count > 0) parts.push(`${approvals.count} (${approvals.roles.join(', ')})`);
  if (approvals.authors === 'all') parts.push('all authors');
  return parts.length === 0 ? null : `approvals ${parts.join(' + ')}`;
}

/** What holds a waiting release, one line per gate, with when it is looked at again. */
export function describeWait(release: Release): string[] {
  const gates = release.gates;
  if (gates === null) return [release.state === 'pending' ? 'not looked at yet' : (release.stateReason ?? release.state)];
  if (gates.outcome === 'wait') {
    const lines = gates.reasons.map((r) => `${r.gate}: ${r.message}`);
    if (gates.recheckAt) lines.push(`looked at again at ${formatTime(gates.recheckAt)}`);
    else lines.push('looked at again when this changes');
    return lines;
  }
  if (gates.outcome === 'fail') return [`${gates.reason.gate}: ${gates.reason.message}`];
  return ['gates passed'];
}

function printStage(out: Output, stage: PipelineStage): void {
  const runs = stage.runs;
  const what = runs
    ? `v${runs.release} ${runs.deployment}${runs.commit ? ` ${runs.branch ?? ''}@${runs.commit.slice(0, 7)}` : ''}${runs.since ? ` since ${formatTime(runs.since)}` : ''}`
    : 'runs nothing yet';
  out.line(`${stage.name}  ${what}`);
  out.line(`  ${describePolicy(stage.policy)}`);
  if (stage.lock) out.line(`  LOCKED by ${stage.lock.by}${stage.lock.until ? ` until ${formatTime(stage.lock.until)}` : ''}: ${stage.lock.reason}`);
  if (stage.pin) out.line(`  PINNED by ${stage.pin.by}${stage.pin.reason ? `: ${stage.pin.reason}` : ''}`);
  for (const warning of stage.warnings) out.line(`  WARNING: ${warning}`);
  if (stage.waiting.length === 0) out.line('  nothing waiting');
  for (const release of stage.waiting) {
    const commit = release.commit ? ` ${release.branch ?? ''}@${release.commit.slice(0, 7)}` : '';
    out.line(`  v${release.number} ${release.deployment}${commit} ${release.state} (${release.trigger}${release.expedited ? ', hotfix' : ''}, ${release.id})`);
    for (const line of describeWait(release)) out.line(`    ${line}`);
  }
}

export function printPipeline(out: Output, view: Pipeline): void {
  out.line(`${view.project} (default branch ${view.defaultBranch})`);
  if (view.stages.length === 0) {
    out.line('No environments yet: declare them in slipway.yaml (environments:) or with `slipway env set`.');
    return;
  }
  for (const stage of view.stages) {
    out.line();
    printStage(out, stage);
  }
}
