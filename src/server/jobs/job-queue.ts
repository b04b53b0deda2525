import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isSlipwayError } from '../../core/errors.ts';
import { redactUrl } from '../../core/repo-url.ts';
import type { JobLease, JobRow } from '../../store/kysely/jobs.ts';
import type { ServiceDeps } from '../services/deps.ts';
import { Signal } from '../services/signal.ts';
import { enqueueJob } from './enqueue.ts';
import { everyMsOf, isJobKind, JOB_KINDS, type JobKind, type JobPayload } from './kinds.ts';

/** What a handler gets besides its payload. */
export interface JobContext {
  job: JobRow;
  /** If this attempt throws, the job is dead: a handler may record a failure of its own instead. */
  lastAttempt: boolean;
  /**
   * Aborted when the lease is lost (a renewal was refused: another worker took the job over).
   * Whatever the handler does afterwards is not the job's outcome; it should stop soon.
   */
  signal: AbortSignal;
  log: Logger;
}

export type JobHandler<K extends JobKind> = (deps: ServiceDeps, payload: JobPayload<K>, ctx: JobContext) => Promise<void>;

/** The handler of each kind this process runs; kinds left out are never claimed here. */
export type JobHandlers = { [K in JobKind]?: JobHandler<K> };

export interface JobWorkerOptions {
  deps: ServiceDeps;
  handlers: JobHandlers;
  log: Logger;
  /** Names this process in the jobs' locked_by; default `<host>/<pid>`. */
  name?: string;
  /** Jobs run at once at most; default 2. */
  concurrency?: number;
  /** A claim's lease; default 60 s. A job whose worker stops renewing it is claimed again after this. */
  leaseMs?: number;
  /** How often a running job's lease is extended; default a third of the lease. */
  heartbeatMs?: number;
  /** How often the queue is read again for jobs other processes enqueued; default 2 s. */
  pollMs?: number;
  /** The wait before attempt `attempts + 1` after a failed attempt `attempts`; default 2^attempts s, at most 10 min. */
  backoffMs?: (attempts: number) => number;
}

export interface JobWorker {
  /** Queues the recurring kinds (once per kind) and starts claiming. */
  start(): Promise<void>;
  /** Claims nothing more and waits for the jobs in flight to end. */
  stop(): Promise<void>;
}

export const JOB_LEASE_MS = 60_000;
export const JOB_POLL_MS = 2_000;
const MAX_BACKOFF_MS = 10 * 60_000;
/** The shortest idle wait, when a job looks due but could not be claimed (another claimer holds it right now). */
const MIN_IDLE_MS = 50;

export function defaultBackoffMs(attempts: number): number {
  return Math.min(2 ** attempts * 1000, MAX_BACKOFF_MS);
}

/**
 * The worker of the job queue: one loop that claims due jobs and runs their handlers.
 *
 * States: new → running → stopping → stopped. While running, the loop is either
 * - claiming: it claims due jobs of the kinds it has handlers for until `concurrency` of them
 *   run or none is due. Each job runs on its own (the loop does not wait for it) and wakes the
 *   loop when it ends, since a job of the same key may wait behind it; or
 * - idle: it waits for the first of: a wake-up (a job enqueued in this process, once its
 *   transaction commits; a job of this process ending), the next run_at or lease end (one
 *   timer), or `pollMs`. The last is the only polling: it finds jobs enqueued by other
 *   replicas (or any other process on the database), whose enqueues this process cannot hear.
 *   A failed read of the queue also waits `pollMs` before the next try.
 * A job, once claimed, is running: its lease is renewed every `heartbeatMs`; when it ends it is
 * done (or, recurring, queued for its next time), or queued again after `backoffMs`, or dead
 * after its last attempt. A refused renewal means another worker took it over: the handler's
 * signal aborts, and its outcome is not recorded, since the lease is checked on every write.
 * `stop()` claims nothing more and waits for the jobs in flight.
 *
 * The build queue is not on it: builds are claimed by runners over HTTP under leases of their
 * own (services/builds.ts), a durable leased queue already; `builds.reap` here returns the
 * builds whose runner went silent.
 */
export function createJobWorker(options: JobWorkerOptions): JobWorker {
  const { deps, handlers, log } = options;
  const { store, clock } = deps;
  const name = options.name ?? `${hostname()}/${process.pid}`;
  const concurrency = options.concurrency ?? 2;
  const leaseMs = options.leaseMs ?? JOB_LEASE_MS;
  const heartbeatMs = options.heartbeatMs ?? Math.floor(leaseMs / 3);
  const pollMs = options.pollMs ?? JOB_POLL_MS;
  const backoffMs = options.backoffMs ?? defaultBackoffMs;
  const kinds = Object.keys(handlers).filter((kind): kind is JobKind => isJobKind(kind) && handlers[kind] !== undefined);

  let state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  const wake = new Signal();
  /** Set by a wake-up that came while the loop was not waiting, so it does not sleep through it. */
  let woken = false;
  const idle = new AbortController();
  const inFlight = new Set<Promise<void>>();
  let loop: Promise<void> = Promise.resolve();
  let unsubscribe: () => void = () => undefined;

  const notify = (): void => {
    woken = true;
    wake.notify();
  };

  const isoIn = (ms: number): string => new Date(clock.now().getTime() + ms).toISOString();

  async function run(job: JobRow): Promise<void> {
    const lease: JobLease = { id: job.id, lockedBy: job.lockedBy };
    const kind = job.kind as JobKind;
    const jobLog = log.child({ job: job.id, kind: job.kind, attempt: job.attempts });
    const lost = new AbortController();
    let renewing: Promise<void> = Promise.resolve();
    const heartbeat = setInterval(() => {
      renewing = store.renewJobLease(lease, isoIn(leaseMs), clock.now().toISOString()).then(
        (held) => {
          if (held || lost.signal.aborted) return;
          jobLog.warn('the lease of this job was taken over by another worker; its outcome here is not recorded');
          lost.abort();
        },
        (err: unknown) => jobLog.warn({ err }, 'renewing the lease of a job failed; trying again at the next heartbeat'),
      );
    }, heartbeatMs);
    let outcome: { ok: true } | { ok: false; error: string; final: boolean };
    try {
      const parsed = JOB_KINDS[kind].payload.safeParse(job.payload);
      const handler: JobHandler<JobKind> | undefined = handlers[kind];
      if (!parsed.success || !handler) {
        outcome = { ok: false, error: `INVALID_REQUEST: the payload of this ${job.kind} job is not one it can run: ${parsed.error?.message ?? 'no handler'}`, final: true };
      } else {
        await handler(deps, parsed.data, { job, lastAttempt: job.attempts >= job.maxAttempts, signal: lost.signal, log: jobLog });
        outcome = { ok: true };
      }
    } catch (err) {
      outcome = { ok: false, error: describe(err), final: false };
    } finally {
      clearInterval(heartbeat);
      await renewing;
    }
    const every = everyMsOf(kind);
    try {
      if (outcome.ok) {
        const recorded = await store.completeJob(lease, clock.now().toISOString(), every === undefined ? undefined : isoIn(every));
        if (!recorded) jobLog.warn('this job ended after its lease was taken over; the run that holds it now decides its outcome');
        return;
      }
      const { error, final } = outcome;
      const ended = await store.failJob(lease, { error, now: clock.now().toISOString(), retryAt: isoIn(backoffMs(job.attempts)), final });
      // A recurring job that died still runs at its next time (and at every start).
      if (ended === 'dead' && every !== undefined) await enqueueJob(store, clock, kind, {}, { key: kind, runAt: new Date(clock.now().getTime() + every) });
      if (ended === 'dead') jobLog.error({ error }, 'job failed on its last attempt; it is dead until an admin retries it (slipway jobs retry)');
      else if (ended === 'queued') jobLog.warn({ error }, 'job failed; it is retried later');
      else jobLog.warn({ error }, 'job failed after its lease was taken over; the run that holds it now decides its outcome');
    } catch (err) {
      // The lease runs out and the job is claimed again: nothing is lost, it is only later.
      jobLog.error({ err }, 'recording the outcome of a job failed');
    }
  }

  function launch(job: JobRow): void {
    const running = run(job).finally(() => {
      inFlight.delete(running);
      notify();
    });
    inFlight.add(running);
  }

  async function claimDue(): Promise<void> {
    while (state === 'running' && inFlight.size < concurrency) {
      // Requests waiting on the event loop go before each claim (SQLite answers synchronously).
      await nextTurn();
      if (state !== 'running') return;
      const job = await store.claimJob({
        lockedBy: `${name}#${randomBytes(6).toString('base64url')}`,
        kinds,
        now: clock.now().toISOString(),
        lockedUntil: isoIn(leaseMs),
      });
      if (!job) return;
      launch(job);
    }
  }

  /** How long to sleep when nothing more can be claimed now. */
  async function idleMs(): Promise<number> {
    if (inFlight.size >= concurrency) return pollMs;
    const next = await store.findNextJobTime(kinds, clock.now().toISOString());
    if (next === undefined) return pollMs;
    return Math.min(pollMs, Math.max(MIN_IDLE_MS, Date.parse(next) - clock.now().getTime()));
  }

  async function work(): Promise<void> {
    while (state === 'running') {
      woken = false;
      let sleepMs: number;
      try {
        await claimDue();
        sleepMs = await idleMs();
      } catch (err) {
        log.error({ err }, 'reading the job queue failed; trying again shortly');
        sleepMs = pollMs;
      }
      if (state !== 'running') break;
      if (!woken) await wake.wait(sleepMs, idle.signal);
    }
  }

  return {
    async start() {
      if (state !== 'new') return;
      for (const kind of kinds) {
        if (everyMsOf(kind) !== undefined) await enqueueJob(store, clock, kind, {}, { key: kind });
      }
      state = 'running';
      unsubscribe = store.onJobsEnqueued(notify);
      loop = work();
    },
    async stop() {
      if (state === 'new') state = 'stopped';
      if (state !== 'running') return;
      state = 'stopping';
      unsubscribe();
      idle.abort();
      wake.close();
      await loop;
      while (inFlight.size > 0) await Promise.all([...inFlight]);
      state = 'stopped';
    },
  };
}

/**
 * The error a failed attempt leaves on its job: a SlipwayError's code and message, else the
 * message; without credentials a URL in it may carry (admins read it over the API).
 */
function describe(err: unknown): string {
  if (isSlipwayError(err)) return redactUrl(`${err.code}: ${err.message}`);
  return redactUrl(err instanceof Error ? err.message : String(err));
}
