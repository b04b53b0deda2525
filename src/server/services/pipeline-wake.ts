import type { Clock } from '../../core/clock.ts';
import type { Store } from '../../store/store.ts';
import { enqueueJob } from '../jobs/enqueue.ts';

/** One evaluation of a project's pipeline queued at a time: wake-ups before it runs share it. */
export function pipelineJobKey(projectId: string): string {
  return `pipeline.evaluate:${projectId}`;
}

/**
 * Asks for a project's environments to be looked at again because something that gates their
 * releases changed (a check reported, a release went live upstream, a lock or pin removed).
 * Call it in the transaction that made the change, so the wake-up is as durable as the change:
 * it queues a `pipeline.evaluate` job for the project, which this process's worker runs as soon
 * as that transaction commits — or at `runAt` (a recheck time), when given. Wake-ups while one
 * is queued join it (the earlier time wins; its reason stays the first's); one that comes while
 * an evaluation runs queues the next, which waits for it.
 */
export async function wakePipeline(store: Store, clock: Clock, projectId: string, reason: string, runAt?: string): Promise<void> {
  await enqueueJob(store, clock, 'pipeline.evaluate', { projectId, reason }, { key: pipelineJobKey(projectId), runAt: runAt === undefined ? undefined : new Date(runAt) });
}
