import type { Actor } from '../../core/release-planner.ts';
import type { ProjectRow } from '../../store/store.ts';
import type { ServiceDeps } from '../services/deps.ts';
import { recordPush, type PushTrigger, type RefUpdate } from '../services/pushes.ts';

/** A verified push delivery, ready to record. */
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

export interface DeliveryOutcome {
  /** Projects that had recorded this delivery before (all of them: a pure repeat). */
  duplicateFor: string[];
  builds: { project: string; id: string; commit: string }[];
}

/**
 * The key a delivery is remembered by, per project. GitHub gives every webhook that one event
 * triggers the same `X-GitHub-Delivery` (two hooks on a repository, a repository and an
 * organization hook), so a provider-wide key would let the first hook swallow the second
 * project's push; scoped to the project, each project records each event once.
 */
export function deliveryKey(project: ProjectRow, deliveryId: string): string {
  return `${project.id}/${deliveryId}`;
}

/**
 * Records a push delivery once per project: each project's delivery key and the push it
 * causes are written in one transaction, so a repeated delivery (a provider's retry, at once
 * or an hour later) finds the key and changes nothing — in particular it cannot move a branch
 * back to an old head — and a crash in between leaves neither, so the provider's retry
 * records it. Only rows are written here; the runner fetches and builds from the queue.
 */
export async function acceptPushDelivery(deps: ServiceDeps, delivery: PushDelivery): Promise<DeliveryOutcome> {
  return deps.store.transaction(async (tx) => {
    const scoped: ServiceDeps = { ...deps, store: tx };
    const outcome: DeliveryOutcome = { duplicateFor: [], builds: [] };
    const receivedAt = deps.clock.now().toISOString();
    for (const project of delivery.projects) {
      const fresh = await tx.insertWebhookDelivery({
        provider: delivery.provider,
        deliveryId: deliveryKey(project, delivery.deliveryId),
        projectId: project.id,
        receivedAt,
      });
      if (!fresh) {
        outcome.duplicateFor.push(project.name);
        continue;
      }
      const result = await recordPush(scoped, delivery.actor, project.name, {
        updates: delivery.updates,
        trigger: delivery.trigger,
        sourceUrl: project.repoUrl,
        author: delivery.author,
        message: delivery.message,
      });
      outcome.builds.push(...result.builds.map((b) => ({ project: project.name, id: b.id, commit: b.commitSha })));
    }
    return outcome;
  });
}
