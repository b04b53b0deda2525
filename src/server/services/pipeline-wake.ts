import type { Clock } from '../../core/clock.ts';
import type { Store } from '../../store/store.ts';

/**
 * Asks for a project's environments to be looked at again because something that gates their
 * releases changed (a check reported, a release went live upstream, a lock or pin removed).
 * Call it in the transaction that made the change, so the wake-up is as durable as the change.
 */
export async function wakePipeline(_store: Store, _clock: Clock, _projectId: string, _reason: string, _runAt?: string): Promise<void> {
  // Filled in by the pipeline engine: enqueues a `pipeline.evaluate` job for the project.
}
