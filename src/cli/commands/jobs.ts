import type { JobState } from '../../core/glossary.ts';
import type { Job } from '../../protocol/api.ts';
import { connect, parsePositiveInt } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatTime } from '../output.ts';

export interface JobsOptions {
  /** One of JOB_STATES (the option's choices). */
  state?: JobState | undefined;
  kind?: string | undefined;
  limit?: string | undefined;
  before?: string | undefined;
  json?: boolean | undefined;
}

/** The server's background jobs, newest first (admin); `--state dead` shows what failed for good and why. */
export const listJobs: Command<JobsOptions> = async (options, ctx) => {
  const query: { state?: JobState; kind?: string; limit?: number; before?: number } = {};
  if (options.state !== undefined) query.state = options.state;
  if (options.kind !== undefined) query.kind = options.kind;
  const limit = parsePositiveInt('--limit', options.limit);
  if (limit !== undefined) query.limit = limit;
  const before = parsePositiveInt('--before', options.before);
  if (before !== undefined) query.before = before;
  const client = await connect(ctx);
  const result = await client.listJobs(query);
  if (options.json) {
    ctx.out.json(result);
    return ExitCode.OK;
  }
  if (result.jobs.length === 0) {
    ctx.out.line(query.state === undefined ? 'No jobs.' : `No ${query.state} jobs.`);
    return ExitCode.OK;
  }
  ctx.out.table(
    ['ID', 'KIND', 'KEY', 'STATE', 'ATTEMPTS', 'RUN AT', 'LAST ERROR'],
    result.jobs.map((job) => [String(job.id), job.kind, job.key ?? '-', job.state, `${job.attempts}/${job.maxAttempts}`, formatTime(job.runAt), lastErrorOf(job)]),
  );
  if (result.jobs.some((job) => job.state === 'dead')) {
    ctx.out.line();
    ctx.out.line('A dead job runs again after `slipway jobs retry <id>`.');
  }
  return ExitCode.OK;
};

export interface RetryJobOptions {
  id: string;
  json?: boolean | undefined;
}

/** Queues a dead job again (admin). */
export const retryJob: Command<RetryJobOptions> = async (options, ctx) => {
  const client = await connect(ctx);
  const job = await client.retryJob(options.id);
  if (options.json) {
    ctx.out.json(job);
    return ExitCode.OK;
  }
  ctx.out.line(`Job ${job.id} (${job.kind}) is queued again: ${job.maxAttempts} attempts, the first at ${formatTime(job.runAt)}.`);
  return ExitCode.OK;
};

function lastErrorOf(job: Job): string {
  const line = job.lastError?.split('\n')[0] ?? '';
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}
