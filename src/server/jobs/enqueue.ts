import type { Clock } from '../../core/clock.ts';
import type { JobRow, JobStore } from '../../store/kysely/jobs.ts';
import { JOB_KINDS, type JobKind, type JobPayload } from './kinds.ts';

export interface EnqueueOptions {
  /** Dedupe key: a queued job of the same key is reused (see JobStore.enqueueJob). */
  key?: string | undefined;
  /** Not before this time; default now. */
  runAt?: Date | undefined;
  /** Default: the kind's. */
  maxAttempts?: number | undefined;
}

/**
 * Queues background work. Call it with the transaction's store that makes the work necessary,
 * so both commit together; this process's worker is woken once that commit is done.
 */
export function enqueueJob<K extends JobKind>(store: JobStore, clock: Clock, kind: K, payload: JobPayload<K>, options: EnqueueOptions = {}): Promise<JobRow> {
  const now = clock.now();
  return store.enqueueJob({
    kind,
    key: options.key ?? null,
    payload,
    runAt: (options.runAt ?? now).toISOString(),
    maxAttempts: options.maxAttempts ?? JOB_KINDS[kind].maxAttempts,
    createdAt: now.toISOString(),
  });
}
