import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import { ErrorCode, isSlipwayError, SlipwayError } from '../../core/errors.ts';
import type { Actor } from '../../core/release-planner.ts';
import type { WebhookDeliveryRow } from '../../store/store.ts';
import { enqueueJob } from '../jobs/enqueue.ts';
import type { JobContext } from '../jobs/job-queue.ts';
import type { ServiceDeps } from '../services/deps.ts';
import { deliveryJobKey } from './deliveries.ts';
import { recordPush, staleReason, type PushTrigger, type StaleUpdate } from '../services/pushes.ts';

/** What became of one pending delivery: recorded, failed for good, or taken by another worker. */
export type DeliveryOutcome = 'done' | 'failed' | 'taken';

const WEBHOOK_TRIGGERS: readonly string[] = ['github', 'gitlab', 'generic'] satisfies PushTrigger[];

function isWebhookTrigger(trigger: string): trigger is PushTrigger {
  return WEBHOOK_TRIGGERS.includes(trigger);
}

/** Deliveries one run of a project's job records at most before it makes way for other jobs. */
export const DELIVERIES_PER_RUN = 50;

/**
 * The `webhook.deliver` job of a project: records its pending deliveries one at a time in seq
 * order, so its pushes land in the order they arrived, and queues itself again when more wait
 * than one run takes.
 *
 * The job's attempts are the attempts of the delivery it starts with: an unexpected error there
 * fails the run, and the job retries it after its backoff (nothing of the project overtakes it
 * meanwhile); on the last attempt it is failed with an INTERNAL error instead, so it cannot hold
 * its project up for ever. An unexpected error on a later delivery ends the run as it is and
 * queues a fresh job that starts with that delivery, so every delivery gets all its attempts.
 */
export async function deliverNext(deps: ServiceDeps, projectId: string, ctx: JobContext): Promise<void> {
  const again = () => enqueueJob(deps.store, deps.clock, 'webhook.deliver', { projectId }, { key: deliveryJobKey(projectId) });
  for (let recorded = 0; !ctx.signal.aborted; recorded++) {
    const next = await deps.store.findNextPendingDelivery(projectId);
    if (!next) return;
    if (recorded === DELIVERIES_PER_RUN) {
      await again();
      return;
    }
    try {
      await processDelivery(deps, next, ctx.log, recorded === 0 ? { lastTry: ctx.lastAttempt, tries: ctx.job.attempts } : {});
    } catch (err) {
      if (recorded === 0) throw err;
      ctx.log.warn({ err, delivery: next.deliveryId }, 'recording a webhook push failed; a fresh job starts with it');
      await again();
      return;
    }
    // Requests waiting on the event loop go first: SQLite answers every query synchronously, so
    // a run would otherwise record push after push without letting an ack in.
    await nextTurn();
  }
}

/**
 * Records one pending delivery's push in one transaction with its mark: the mark comes first
 * (`… WHERE state = 'pending'`), so of several replicas reaching for it one marks it and the
 * others find nothing (on PostgreSQL they wait on the row until the first commits or rolls
 * back). A SlipwayError from recording the push (its project is gone, say) rolls that back and
 * marks the delivery failed with the message; any other error is thrown and leaves it pending
 * for its job to retry, unless this is its `lastTry` (the `tries`th), which fails it with an
 * INTERNAL error instead. A push whose every update was refused by the branch's compare-and-set
 * (a replay, or overtaken) ends `stale`, with what the branch was at as its error.
 */
export async function processDelivery(
  deps: ServiceDeps,
  delivery: WebhookDeliveryRow,
  log: Logger,
  options: { lastTry?: boolean; tries?: number } = {},
): Promise<DeliveryOutcome> {
  try {
    const builds = await deps.store.transaction(async (tx) => {
      const claimed = await tx.claimWebhookDelivery(delivery.seq, deps.clock.now().toISOString());
      if (!claimed) return undefined;
      const { builds: queued, stale } = await recordDeliveredPush({ ...deps, store: tx }, claimed);
      await tx.setWebhookDeliveryBuilds(claimed.seq, queued);
      // Every update it carries was refused by the branch's compare-and-set: it moved nothing.
      if (stale.length > 0 && stale.length === claimed.push?.updates.length) await tx.markWebhookDeliveryStale(claimed.seq, staleReason(stale));
      return queued;
    });
    if (builds === undefined) return 'taken';
    if (builds.length > 0) deps.buildsQueued.notify();
    return 'done';
  } catch (err) {
    if (!isSlipwayError(err) && !options.lastTry) throw err;
    const error = isSlipwayError(err)
      ? `${err.code}: ${err.message}`
      : `${ErrorCode.INTERNAL}: gave up after ${options.tries ?? 1} tries: ${err instanceof Error ? err.message : String(err)}`;
    log.warn({ provider: delivery.provider, delivery: delivery.deliveryId, error }, 'webhook delivery failed');
    return (await deps.store.failWebhookDelivery(delivery.seq, error, deps.clock.now().toISOString())) ? 'failed' : 'taken';
  }
}

/** The push of a claimed delivery, recorded for its project as it is now: the build ids, and the updates that were stale. */
async function recordDeliveredPush(deps: ServiceDeps, delivery: WebhookDeliveryRow): Promise<{ builds: string[]; stale: StaleUpdate[] }> {
  // By id: a project renamed since the delivery arrived still gets its push; a deleted one cannot.
  const project = await deps.store.findProjectById(delivery.projectId);
  if (!project || project.deletedAt) {
    throw new SlipwayError(ErrorCode.PROJECT_NOT_FOUND, `project ${delivery.projectId} was deleted before its push was recorded`, {
      projectId: delivery.projectId,
    });
  }
  const { push } = delivery;
  if (push === null || !isWebhookTrigger(push.trigger)) {
    throw new SlipwayError(ErrorCode.INVALID_REQUEST, `delivery ${delivery.deliveryId} carries no push to record`);
  }
  const actor: Actor = { name: push.actor, role: 'deployer', trigger: 'automation' };
  const result = await recordPush(deps, actor, project.name, {
    updates: push.updates,
    trigger: push.trigger,
    sourceUrl: push.sourceUrl,
    author: push.author ?? undefined,
    message: push.message ?? undefined,
  });
  return { builds: result.builds.map((build) => build.id), stale: result.stale };
}
