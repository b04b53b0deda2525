import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { JobState } from '../../core/glossary.ts';
import type { Actor } from '../../core/release-planner.ts';
import type { JobRow } from '../../store/kysely/jobs.ts';
import type { Page } from '../../store/store.ts';
import { requireRole } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { recordEvent } from './events.ts';

/** The job queue's jobs, newest first (admin): what background work waits, runs, ended or died, and why. */
export async function listJobs(deps: ServiceDeps, actor: Actor, filter: { state?: JobState | undefined; kind?: string | undefined }, page: Page): Promise<JobRow[]> {
  requireRole(actor, 'admin');
  return deps.store.listJobs(filter, page);
}

/** Queues a dead job again, with all its attempts ahead of it (admin; audited as `job.retry`). */
export async function retryJob(deps: ServiceDeps, actor: Actor, id: string): Promise<JobRow> {
  requireRole(actor, 'admin');
  const jobId = /^[1-9]\d{0,15}$/.test(id) ? Number(id) : undefined;
  const job = jobId === undefined ? undefined : await deps.store.findJob(jobId);
  if (!job) throw new SlipwayError(ErrorCode.JOB_NOT_FOUND, `no job ${id}`, { job: id });
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const retried = await tx.retryDeadJob(job.id, now.toISOString());
    if (!retried) {
      const state = (await tx.findJob(job.id))?.state ?? job.state;
      throw new SlipwayError(ErrorCode.JOB_NOT_DEAD, `job ${job.id} is ${state}: only a dead job can be retried`, { job: job.id, state });
    }
    await recordEvent(tx, now, actor, 'job.retry', {
      target: `${job.kind} #${job.id}`,
      before: { state: job.state, attempts: job.attempts, lastError: job.lastError },
      after: { state: retried.state, runAt: retried.runAt },
    });
    return retried;
  });
}
