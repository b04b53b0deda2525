import type { Clock } from '../../core/clock.ts';
import type { Actor } from '../../core/release-planner.ts';
import type { DeliveryPush, NewWebhookDelivery, Page, ProjectRow, Store, WebhookDeliveryRow } from '../../store/store.ts';
import { enqueueJob } from '../jobs/enqueue.ts';
import type { ServiceDeps } from '../services/deps.ts';
import { getProject } from '../services/projects.ts';
import type { PushTrigger, RefUpdate } from '../services/pushes.ts';

/** A verified push delivery, ready to queue. */
export interface PushDelivery {
  provider: 'github' | 'gitlab' | 'generic';
  /** The provider's idempotency key of the event. */
  deliveryId: string;
  actor: Actor;
  trigger: PushTrigger;
  /** Every project the delivery is for (several projects may build one repository). */
  projects: ProjectRow[];
  updates: RefUpdate[];
  author: string | undefined;
  message: string | undefined;
}

export interface QueuedDelivery {
  /** Projects this delivery is new for: their push now waits in the queue. */
  queuedFor: string[];
  /** Projects that had recorded this delivery before (all of them: a pure repeat). */
  duplicateFor: string[];
}

/**
 * Queues a push delivery once per project, with the job that records it, and nothing else:
 * the ack stays two short writes however busy the database is, and the job records the push
 * afterwards.
 *
 * The key is (provider, project, delivery id). GitHub gives every webhook that one event
 * triggers the same `X-GitHub-Delivery` (two hooks on a repository, a repository and an
 * organization hook), so a provider-wide key would let the first hook swallow the second
 * project's push; per project, each project records each event once. A repeat — a provider's
 * retry, at once or an hour later, or two copies racing — hits the key and changes nothing, so it
 * can never move a branch back to an old head; a crash before the insert commits leaves no
 * trace, and the provider's retry queues it.
 */
export async function queuePushDelivery(deps: ServiceDeps, delivery: PushDelivery): Promise<QueuedDelivery> {
  const receivedAt = deps.clock.now().toISOString();
  const fresh = await queueDeliveries(
    deps.store,
    deps.clock,
    delivery.projects.map((project) => ({
      provider: delivery.provider,
      projectId: project.id,
      deliveryId: delivery.deliveryId,
      receivedAt,
      push: pushOf(delivery, project),
    })),
  );
  const freshIds = new Set(fresh.map((row) => row.projectId));
  const named = (isFresh: boolean) => delivery.projects.filter((p) => freshIds.has(p.id) === isFresh).map((p) => p.name);
  return { queuedFor: named(true), duplicateFor: named(false) };
}

/** What the job needs to record the push later, by value: the project's repository as it is now included. */
function pushOf(delivery: PushDelivery, project: ProjectRow): DeliveryPush {
  return {
    updates: delivery.updates,
    trigger: delivery.trigger,
    actor: delivery.actor.name,
    sourceUrl: project.repoUrl,
    author: delivery.author ?? null,
    message: delivery.message ?? null,
  };
}

/** The job that records a project's pending deliveries: one per project, so each project's pushes land in the order they arrived. */
export function deliveryJobKey(projectId: string): string {
  return `webhook.deliver:${projectId}`;
}

/**
 * Records deliveries, pending, then queues the `webhook.deliver` job of each project one is new
 * for. Returns the deliveries that are new (a repeat of a known delivery gets none).
 *
 * Two statements, each committed on its own, in this order — not one transaction: the ack stays
 * two short writes that hold no lock (a burst of acks for one project would otherwise queue up
 * on the row of that project's job). The order keeps it correct: a delivery is visible before
 * its job is queued, so whichever run of the project's job comes after the enqueue sees it. A
 * crash between the two leaves a pending delivery without a job; `queueAllPendingDeliveries`
 * at start queues it.
 */
export async function queueDeliveries(store: Store, clock: Clock, rows: NewWebhookDelivery[]): Promise<WebhookDeliveryRow[]> {
  const fresh = await store.insertWebhookDeliveries(rows);
  for (const projectId of new Set(fresh.map((row) => row.projectId))) {
    await enqueueJob(store, clock, 'webhook.deliver', { projectId }, { key: deliveryJobKey(projectId) });
  }
  return fresh;
}

/** Queues the job of every project with pending deliveries (at start: what a crash left without one). */
export async function queueAllPendingDeliveries(store: Store, clock: Clock): Promise<void> {
  for (const projectId of await store.listProjectsWithPendingDeliveries()) {
    await enqueueJob(store, clock, 'webhook.deliver', { projectId }, { key: deliveryJobKey(projectId) });
  }
}

/** A project's webhook deliveries, newest first: what arrived, and what became of each. */
export async function listDeliveries(deps: ServiceDeps, projectName: string, page: Page): Promise<WebhookDeliveryRow[]> {
  const project = await getProject(deps, projectName);
  return deps.store.listWebhookDeliveries(project.id, page);
}
