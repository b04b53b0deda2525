import { z } from 'zod';

/** Every few seconds: a build whose runner went silent goes back to the queue even when no runner is claiming. */
export const REAP_EVERY_MS = 10_000;
/** Uploads a day old that were never finalized go every ten minutes. */
export const EXPIRE_UPLOADS_EVERY_MS = 10 * 60_000;
/** Done jobs are kept a day, then deleted by `jobs.cleanup`, so the table stays small. */
export const DONE_JOBS_KEPT_MS = 24 * 60 * 60_000;
export const CLEANUP_EVERY_MS = 60 * 60_000;
/** Agents silent for two heartbeats are marked lost this often. */
export const SWEEP_AGENTS_EVERY_MS = 5_000;

const ProjectPayload = z.object({ projectId: z.string().min(1) });
const NoPayload = z.object({});

interface JobKindDefinition {
  /** The payload's shape, checked when the job runs; a payload that does not fit makes the job dead at once. */
  payload: z.ZodType;
  /** Attempts before the job is dead (a throw, or a lease that ran out, is one). */
  maxAttempts: number;
  /**
   * A recurring job: one queued per kind (its key is its kind), queued at every start and
   * queued again this long after each run that succeeds or dies.
   */
  everyMs?: number;
}

/**
 * The kinds of background work, with their payloads. A kind is run by the handler registered
 * for it in handlers.ts; jobs of a kind without a handler wait, unclaimed.
 */
export const JOB_KINDS = {
  /** Records a project's oldest pending webhook delivery, then queues itself again while more wait. Key: per project. */
  'webhook.deliver': { payload: ProjectPayload, maxAttempts: 5 },
  'builds.reap': { payload: NoPayload, maxAttempts: 3, everyMs: REAP_EVERY_MS },
  'uploads.expire': { payload: NoPayload, maxAttempts: 3, everyMs: EXPIRE_UPLOADS_EVERY_MS },
  /** Removes a deleted project's repository and unshared blobs. Key: per project. */
  'project.purge': { payload: ProjectPayload, maxAttempts: 10 },
  /** Looks at a project's pipeline again (pipeline-wake.ts queues it). Key: per project. */
  'pipeline.evaluate': { payload: ProjectPayload.extend({ reason: z.string() }), maxAttempts: 5 },
  /** Sends one notification delivery, `{ deliveryId }` (services/notification-job.ts checks it). Key: per delivery. */
  'notification.send': { payload: z.record(z.string(), z.unknown()), maxAttempts: 5 },
  'jobs.cleanup': { payload: NoPayload, maxAttempts: 3, everyMs: CLEANUP_EVERY_MS },
  /** Marks agents lost that missed two heartbeats, and wakes their environments' rollouts (services/agents.ts). */
  'agents.sweep': { payload: NoPayload, maxAttempts: 3, everyMs: SWEEP_AGENTS_EVERY_MS },
  /**
   * Looks at a release's rollout again (services/rollouts.ts): queued by its start, by every
   * report of an agent of its environment, and for its drain and health deadlines. Key: `rollout:<releaseId>`.
   */
  'rollout.advance': { payload: z.object({ releaseId: z.string().min(1) }), maxAttempts: 10 },
} as const satisfies Record<string, JobKindDefinition>;

export type JobKind = keyof typeof JOB_KINDS;
export type JobPayload<K extends JobKind> = z.infer<(typeof JOB_KINDS)[K]['payload']>;

export function isJobKind(kind: string): kind is JobKind {
  return Object.hasOwn(JOB_KINDS, kind);
}

/** The recurring interval of a kind, if it recurs. */
export function everyMsOf(kind: JobKind): number | undefined {
  const definition: JobKindDefinition = JOB_KINDS[kind];
  return definition.everyMs;
}
