import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import { ErrorCode, isSlipwayError, SlipwayError } from '../../core/errors.ts';
import type { Actor } from '../../core/release-planner.ts';
import type { WebhookDeliveryRow } from '../../store/store.ts';
import type { ServiceDeps } from '../services/deps.ts';
import { recordPush, staleReason, type PushTrigger, type StaleUpdate } from '../services/pushes.ts';

/** How often the queue looks for deliveries other replicas recorded, and the pause after an unexpected error. */
export const DELIVERY_POLL_MS = 2_000;
/** Unexpected errors one delivery may meet before it is failed, so it cannot hold the queue up for ever. */
export const MAX_DELIVERY_TRIES = 5;

export interface DeliveryQueue {
  /** Starts working: first what was recorded before (a crash, a restart), then whatever arrives. */
  start(): void;
  /** Asks for pending deliveries to be processed soon; call it after queuing one. Never waits, never throws. */
  kick(): void;
  /** Takes no new work and waits for the delivery in flight. */
  stop(): Promise<void>;
}

/** What became of one pending delivery: recorded, failed for good, taken by another replica, or to retry. */
export type DeliveryOutcome = 'done' | 'failed' | 'taken' | 'retry';

const WEBHOOK_TRIGGERS: readonly string[] = ['github', 'gitlab', 'generic'] satisfies PushTrigger[];

function isWebhookTrigger(trigger: string): trigger is PushTrigger {
  return WEBHOOK_TRIGGERS.includes(trigger);
}

/**
 * The worker of the delivery queue: it records the push of each pending delivery, one at a
 * time in seq order, so a project's pushes land in the order they arrived.
 *
 * States: new → running → stopped. While running it is idle or draining: a kick while idle
 * starts a drain; a kick while draining makes the drain look once more when it runs dry, so a
 * delivery queued just after its last read is not left for the timer. The timer kicks every
 * `pollMs` for deliveries recorded by other replicas. An unexpected error ends the drain and
 * ignores kicks until `pollMs` has passed; the same delivery is then first again, so nothing
 * overtakes it. Each delivery waits for the event loop's next turn, so acks arriving during a
 * drain are answered before more work is done. `stop()` lets the delivery in flight finish and
 * starts nothing new.
 */
export function createDeliveryQueue(deps: ServiceDeps, log: Logger, pollMs = DELIVERY_POLL_MS): DeliveryQueue {
  let state: 'new' | 'running' | 'stopped' = 'new';
  let busy = false;
  let draining: Promise<void> = Promise.resolve();
  let again = false;
  let pausedUntil = 0;
  let timer: NodeJS.Timeout | undefined;
  /** Unexpected errors per delivery seq, in this process. */
  const tries = new Map<number, number>();

  const kick = (): void => {
    if (state !== 'running' || Date.now() < pausedUntil) return;
    again = true;
    if (busy) return;
    busy = true;
    draining = drainWhileKicked();
  };

  async function drainWhileKicked(): Promise<void> {
    try {
      while (again && state === 'running') {
        again = false;
        if ((await drain()) === 'retry') {
          pausedUntil = Date.now() + pollMs;
          return;
        }
      }
    } catch (err) {
      log.error({ err }, 'reading the webhook delivery queue failed; trying again shortly');
      pausedUntil = Date.now() + pollMs;
    } finally {
      // Cleared in the same turn as the loop's last check, so no kick falls in between.
      busy = false;
    }
  }

  async function drain(): Promise<'empty' | 'retry' | 'stopping'> {
    while (state === 'running') {
      // Requests waiting on the event loop go first. SQLite answers every query synchronously, so
      // without this a drain would record push after push without letting a request in; this
      // way at most one push is recorded between two turns of I/O.
      await nextTurn();
      if (state !== 'running') break;
      const next = await deps.store.findNextPendingDelivery();
      if (!next) return 'empty';
      const attempt = (tries.get(next.seq) ?? 0) + 1;
      const outcome = await processDelivery(deps, next, log, { lastTry: attempt >= MAX_DELIVERY_TRIES });
      if (outcome === 'retry') {
        tries.set(next.seq, attempt);
        return 'retry';
      }
      tries.delete(next.seq);
    }
    return 'stopping';
  }

  return {
    start() {
      if (state !== 'new') return;
      state = 'running';
      timer = setInterval(kick, pollMs);
      timer.unref();
      kick();
    },
    kick,
    async stop() {
      state = 'stopped';
      clearInterval(timer);
      await draining;
    },
  };
}

/**
 * Records one pending delivery's push in one transaction with its mark: the mark comes first
 * (`… WHERE state = 'pending'`), so of several replicas reaching for it one marks it and the
 * others find nothing (on PostgreSQL they wait on the row until the first commits or rolls
 * back). A SlipwayError from recording the push (its project is gone, say) rolls that back and
 * marks the delivery failed with the message; any other error leaves it pending to retry,
 * unless this is its `lastTry`, which fails it with an INTERNAL error instead. A push whose
 * every update was refused by the branch's compare-and-set (a replay, or overtaken) ends
 * `stale`, with what the branch was at as its error.
 */
export async function processDelivery(
  deps: ServiceDeps,
  delivery: WebhookDeliveryRow,
  log: Logger,
  options: { lastTry?: boolean } = {},
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
    if (!isSlipwayError(err) && !options.lastTry) {
      log.error({ err, provider: delivery.provider, delivery: delivery.deliveryId }, 'recording a webhook push failed; it stays queued');
      return 'retry';
    }
    const error = isSlipwayError(err)
      ? `${err.code}: ${err.message}`
      : `${ErrorCode.INTERNAL}: gave up after ${MAX_DELIVERY_TRIES} tries: ${err instanceof Error ? err.message : String(err)}`;
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
