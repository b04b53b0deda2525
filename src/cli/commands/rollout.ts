import { setTimeout as sleep } from 'node:timers/promises';
import type { Rollout } from '../../protocol/rollouts.ts';
import { isRetryable } from '../../publish/upload.ts';
import { connect, requireProject, usage } from '../context.ts';
import type { Command, Context } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatTime } from '../output.ts';

export interface RolloutOptions {
  project?: string | undefined;
  env?: string | undefined;
  watch?: boolean | undefined;
  json?: boolean | undefined;
  abort?: boolean | undefined;
  reason?: string | undefined;
}

const POLL_MS = 500;
/** Consecutive failed polls (network, 5xx) a watch rides out before giving up. */
const MAX_POLL_FAILURES = 20;

const isOpen = (rollout: Rollout): boolean => ['preparing', 'release_phase', 'switching', 'rolling_back'].includes(rollout.state);

/**
 * `slipway rollout <release>`: a service release's rollout, instance by instance. With
 * `--watch` it prints the rollout again whenever it changes until it ends, and exits 0 only
 * when it is done (9 when it failed or was rolled back), so a script can wait on it. `--json`
 * prints the rollout; with `--watch`, one JSON object per change (NDJSON). `--abort --reason …`
 * stops a running rollout first (switched instances go back); with `--watch`, until they are.
 */
export const rollout: Command<RolloutOptions & { release: string }> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  if (options.reason !== undefined && !options.abort) throw usage('--reason goes with --abort');
  if (options.abort && (options.reason === undefined || options.reason.trim() === '')) throw usage('--abort needs --reason "why"');
  const client = await connect(ctx);
  let current = options.abort
    ? await client.abortRollout(project, options.release, { ...(options.env === undefined ? {} : { environment: options.env }), reason: options.reason })
    : await client.getRollout(project, options.release, options.env);
  const show = (r: Rollout): void => {
    if (options.json && options.watch) ctx.out.stdout.write(`${JSON.stringify(r)}\n`);
    else if (options.json) ctx.out.json(r);
    else printRollout(ctx, r);
  };
  show(current);
  if (!options.watch) return ExitCode.OK;
  // States: watching (poll, print on change) → ended (the rollout is done, failed or rolled back).
  let failures = 0;
  let seen = fingerprint(current);
  while (isOpen(current)) {
    await sleep(POLL_MS);
    try {
      current = await client.getRollout(project, current.release.id);
      failures = 0;
    } catch (err) {
      failures += 1;
      if (!isRetryable(err) || failures >= MAX_POLL_FAILURES) throw err;
      continue;
    }
    const now = fingerprint(current);
    if (now === seen) continue;
    seen = now;
    if (!options.json) ctx.out.line('');
    show(current);
  }
  // An abort watched to its end succeeded when its instances went back (or none had switched).
  if (options.abort) return current.state === 'rolled_back' || current.state === 'failed' ? ExitCode.OK : ExitCode.ROLLOUT_FAILED;
  return current.state === 'done' ? ExitCode.OK : ExitCode.ROLLOUT_FAILED;
};

/** What a watcher is shown again for: anything but the time the row was last looked at. */
function fingerprint(r: Rollout): string {
  return JSON.stringify({ ...r, updatedAt: null });
}

export function printRollout(ctx: Context, r: Rollout): void {
  const { release } = r;
  ctx.out.line(`${release.environment} v${release.number} rollout: ${r.state} — ${r.phase}`);
  ctx.out.line(`  ${release.kind} of ${release.deployment}${r.previous ? ` over ${r.previous.deployment}` : ''}; release ${release.state}`);
  ctx.out.line(`  max unavailable ${r.maxUnavailable}, drain ${seconds(r.drainMs)}, health deadline ${seconds(r.healthTimeoutMs)}; started ${formatTime(r.startedAt)}${r.endedAt ? `, ended ${formatTime(r.endedAt)}` : ''}`);
  if (r.releasePhase) {
    const exit = r.releasePhase.exitCode === null ? '' : ` (exit ${r.releasePhase.exitCode})`;
    ctx.out.line(`  release phase on ${r.releasePhase.name ?? r.releasePhase.agent ?? '?'}: ${r.releasePhase.state ?? 'waiting'}${exit}`);
    if (r.releasePhase.state === 'failed' && r.releasePhase.log) {
      for (const line of r.releasePhase.log.trimEnd().split('\n').slice(-20)) ctx.out.line(`    | ${line}`);
    }
  }
  if (r.reason) ctx.out.line(`  ${r.reason}`);
  if (r.instances.length > 0) {
    ctx.out.table(
      ['INSTANCE', 'FROM', 'STEP', 'HEALTHY', 'ROTATION', 'ERROR'],
      r.instances.map((i) => [
        `${i.name}${i.lost ? ' (lost)' : ''}`,
        i.from?.deployment ?? '-',
        i.step,
        i.healthy ? 'yes' : 'no',
        i.rotation,
        i.error ?? '',
      ]),
    );
  }
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
