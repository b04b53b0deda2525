import { sql, type Expression, type ExpressionBuilder, type Kysely, type Selectable, type SqlBool } from 'kysely';
import type { JobState } from '../../core/glossary.ts';
import type { Database } from '../schema.ts';
import { inTransaction, type FamilyContext, type Page } from './family-context.ts';

/**
 * The job queue's rows: one durable queue for all background work (graphile-worker's model).
 *
 * States: queued (due at run_at) → running (under a lease: locked_by, locked_until) → done, or
 * back to queued after a failed attempt (run_at pushed back), or dead after the last one. A
 * running job whose lease ran out (its worker died) is claimed again as it is. An admin moves
 * a dead job back to queued.
 *
 * A key makes a job "this work, once": at most one queued job per key, and a job of a key is
 * not claimed while another of that key runs under a live lease, so the work of one key is
 * never done twice at once. A job queued again (a retry, a reschedule, an admin's retry)
 * absorbs the queued job of its key: same key, same work.
 */
export interface JobRow {
  id: number;
  kind: string;
  key: string | null;
  /** Parsed JSON; each kind checks its own shape. */
  payload: unknown;
  state: JobState;
  runAt: string;
  /** Claims so far (a claim is an attempt, whether it ends in success, a throw or a lost lease). */
  attempts: number;
  maxAttempts: number;
  /** The claim that holds it: the worker's name and a token unique to that claim. */
  lockedBy: string | null;
  lockedUntil: string | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  doneAt: string | null;
}

export interface NewJob {
  kind: string;
  key: string | null;
  payload: unknown;
  runAt: string;
  maxAttempts: number;
  createdAt: string;
}

/** What proves a worker still holds a running job: the job and the claim's `lockedBy`. */
export type JobLease = Pick<JobRow, 'id' | 'lockedBy'>;

export interface JobClaim {
  /** Unique per claim (`<worker>#<token>`), so a claim's late completion cannot touch a later claim of the same job. */
  lockedBy: string;
  /** Only jobs of these kinds: a process never claims work it has no handler for. */
  kinds: readonly string[];
  now: string;
  lockedUntil: string;
}

export interface JobFailure {
  error: string;
  now: string;
  /** When it runs again, unless this was its last attempt. */
  retryAt: string;
  /** No attempt can succeed (its payload is malformed): dead at once. */
  final?: boolean;
}

export interface JobStore {
  /**
   * Queues a job, in the caller's transaction (so it exists exactly when what made it
   * necessary does). With a key, a queued job of that key is reused and returned: its run_at
   * becomes the earlier of the two, unless it waits out a backoff after a failure (a new
   * enqueue does not cut that short); its payload stays. `onJobsEnqueued` listeners hear of
   * it once it is committed.
   */
  enqueueJob(job: NewJob): Promise<JobRow>;
  /**
   * Leases the oldest due job of `kinds` (queued with run_at ≤ now, or running with its lease
   * run out) to `lockedBy`, one more attempt; undefined when none is due. A running job whose
   * lease ran out on its last attempt becomes dead here instead.
   */
  claimJob(claim: JobClaim): Promise<JobRow | undefined>;
  /** Extends a lease; false when it is not current (the job was taken over, or ended). */
  renewJobLease(lease: JobLease, lockedUntil: string, now: string): Promise<boolean>;
  /**
   * Ends a job held under `lease` as done — or, with `rescheduleAt` (a recurring job), queues
   * the same row again for then with its attempts reset. False when the lease is not current.
   */
  completeJob(lease: JobLease, now: string, rescheduleAt?: string): Promise<boolean>;
  /** Records a failed attempt: queued again at `retryAt`, or dead after its last attempt. Undefined when the lease is not current. */
  failJob(lease: JobLease, failure: JobFailure): Promise<'queued' | 'dead' | undefined>;
  findJob(id: number): Promise<JobRow | undefined>;
  /** Jobs newest first (`page.before` is a job id). */
  listJobs(filter: { state?: JobState | undefined; kind?: string | undefined }, page: Page): Promise<JobRow[]>;
  countJobs(state: JobState): Promise<number>;
  /** A dead job queued again now, with all its attempts ahead of it; undefined when it is not dead. */
  retryDeadJob(id: number, now: string): Promise<JobRow | undefined>;
  /**
   * When a job of `kinds` may next be claimable: the earliest run_at of a queued job not
   * waiting behind a running one of its key, or the end of a running job's lease.
   */
  findNextJobTime(kinds: readonly string[], now: string): Promise<string | undefined>;
  /** Deletes done jobs that ended before `doneBefore`; returns how many. */
  deleteDoneJobs(doneBefore: string): Promise<number>;
  /**
   * Calls `listener` after each commit that enqueued a job through this store (at once outside
   * a transaction; never for a rollback). In-process only: other replicas find their jobs by
   * reading. Returns the unsubscribe.
   */
  onJobsEnqueued(listener: () => void): () => void;
}

/** The Kysely implementation of `JobStore`, the same queries on SQLite and PostgreSQL. */
export function createJobStore(ctx: FamilyContext): JobStore {
  const { db } = ctx;
  const tellEnqueued = () =>
    ctx.afterCommit(() => {
      for (const listener of [...ctx.jobsEnqueued]) listener();
    });
  /**
   * Runs a job's move back to queued in a transaction of its own when there is none. On
   * PostgreSQL a job of its key queued by a transaction still open is invisible to the move and
   * then collides with it in the key's unique index once that commits; tried again, the move
   * sees (and takes in) that job.
   */
  const requeue = async <T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T> => {
    for (let tries = 1; ; tries++) {
      try {
        return await inTransaction(db, fn);
      } catch (err) {
        if (db.isTransaction || tries >= 3 || !ctx.dialect.isUniqueViolation(err)) throw err;
      }
    }
  };
  return {
    async enqueueJob(job: NewJob): Promise<JobRow> {
      // DO UPDATE, not DO NOTHING, even when nothing changes: it locks the key's queued row until
      // the caller's transaction ends, so no worker claims that job (claims skip locked rows) and
      // runs it before what this enqueue is about is committed and visible to it.
      const row = await db
        .insertInto('jobs')
        .values({
          kind: job.kind,
          key: job.key,
          payload: JSON.stringify(job.payload),
          state: 'queued',
          run_at: job.runAt,
          attempts: 0,
          max_attempts: job.maxAttempts,
          created_at: job.createdAt,
          updated_at: job.createdAt,
        })
        .onConflict((oc) =>
          oc
            .column('key')
            // A literal, not a parameter: SQLite matches the partial index's predicate by its text.
            .where('state', '=', sql.lit('queued'))
            .doUpdateSet((eb) => ({
              run_at: eb
                .case()
                .when(eb.and([eb('jobs.attempts', '=', 0), eb('excluded.run_at', '<', eb.ref('jobs.run_at'))]))
                .then(eb.ref('excluded.run_at'))
                .else(eb.ref('jobs.run_at'))
                .end(),
              updated_at: eb.ref('excluded.updated_at'),
            })),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      tellEnqueued();
      return toJob(row);
    },

    async claimJob(claim: JobClaim): Promise<JobRow | undefined> {
      if (claim.kinds.length === 0) return undefined;
      const { now } = claim;
      // A lease that ran out on the last attempt: its worker died holding it, and no attempt is left.
      await db
        .updateTable('jobs')
        .set((eb) => ({
          state: 'dead',
          last_error: sql<string>`'the lease of its last attempt (' || CAST(${eb.ref('attempts')} AS TEXT) || ') ran out: its worker stopped'`,
          locked_by: null,
          locked_until: null,
          updated_at: now,
        }))
        .where('state', '=', 'running')
        .where('locked_until', '<=', now)
        .where((eb) => eb('attempts', '>=', eb.ref('max_attempts')))
        .execute();
      let candidate = db
        .selectFrom('jobs as j')
        .select('j.id')
        .where(dueAt(now))
        .where('j.kind', 'in', claim.kinds)
        .where((eb) => notBehindItsKey(eb, now))
        .orderBy('j.run_at')
        .orderBy('j.id')
        .limit(1);
      // Claimers on other connections pass over the row one of them holds instead of queuing on it.
      if (ctx.dialect.capabilities.skipLocked) candidate = candidate.forUpdate().skipLocked();
      // One statement: on SQLite (one writer) the UPDATE is the compare-and-set; on PostgreSQL the
      // row lock taken by the sub-select holds until it commits.
      const row = await db
        .updateTable('jobs')
        .set((eb) => ({
          state: 'running',
          attempts: eb('attempts', '+', 1),
          locked_by: claim.lockedBy,
          locked_until: claim.lockedUntil,
          last_error: eb
            .case()
            .when('state', '=', 'running')
            .then(sql<string>`'the lease of attempt ' || CAST(${eb.ref('attempts')} AS TEXT) || ' ran out: its worker stopped'`)
            .else(eb.ref('last_error'))
            .end(),
          updated_at: now,
        }))
        .where('id', '=', candidate)
        .where(dueAt(now))
        .returningAll()
        .executeTakeFirst();
      return row && toJob(row);
    },

    async renewJobLease(lease: JobLease, lockedUntil: string, now: string): Promise<boolean> {
      const updated = await db
        .updateTable('jobs')
        .set({ locked_until: lockedUntil, updated_at: now })
        .where('id', '=', lease.id)
        .where('state', '=', 'running')
        .where('locked_by', '=', lease.lockedBy)
        .executeTakeFirst();
      return Number(updated.numUpdatedRows) === 1;
    },

    async completeJob(lease: JobLease, now: string, rescheduleAt?: string): Promise<boolean> {
      if (rescheduleAt === undefined) {
        const updated = await db
          .updateTable('jobs')
          .set({ state: 'done', locked_by: null, locked_until: null, done_at: now, updated_at: now })
          .where('id', '=', lease.id)
          .where('state', '=', 'running')
          .where('locked_by', '=', lease.lockedBy)
          .executeTakeFirst();
        return Number(updated.numUpdatedRows) === 1;
      }
      return requeue(async (db) => {
        const released = await release(db, lease, now);
        if (!released) return false;
        const runAt = await absorbQueued(db, released, rescheduleAt);
        await db
          .updateTable('jobs')
          .set({ state: 'queued', run_at: runAt, attempts: 0, last_error: null })
          .where('id', '=', lease.id)
          .execute();
        return true;
      });
    },

    async failJob(lease: JobLease, failure: JobFailure): Promise<'queued' | 'dead' | undefined> {
      return requeue(async (db) => {
        const released = await release(db, lease, failure.now);
        if (!released) return undefined;
        if (failure.final === true || released.attempts >= released.max_attempts) {
          await db.updateTable('jobs').set({ state: 'dead', last_error: failure.error }).where('id', '=', lease.id).execute();
          return 'dead';
        }
        // The backoff holds even over work of its key queued meanwhile: it waits behind this one.
        await absorbQueued(db, released, undefined);
        await db
          .updateTable('jobs')
          .set({ state: 'queued', run_at: failure.retryAt, last_error: failure.error })
          .where('id', '=', lease.id)
          .execute();
        return 'queued';
      });
    },

    async findJob(id: number): Promise<JobRow | undefined> {
      const row = await db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toJob(row);
    },

    async listJobs(filter: { state?: JobState | undefined; kind?: string | undefined }, page: Page): Promise<JobRow[]> {
      const rows = await db
        .selectFrom('jobs')
        .selectAll()
        .$if(filter.state !== undefined, (q) => q.where('state', '=', filter.state as JobState))
        .$if(filter.kind !== undefined, (q) => q.where('kind', '=', filter.kind as string))
        .$if(page.before !== undefined, (q) => q.where('id', '<', page.before as number))
        .orderBy('id', 'desc')
        .limit(page.limit)
        .execute();
      return rows.map(toJob);
    },

    async countJobs(state: JobState): Promise<number> {
      const row = await db
        .selectFrom('jobs')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('state', '=', state)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async retryDeadJob(id: number, now: string): Promise<JobRow | undefined> {
      const retried = await requeue(async (db) => {
        const dead = await db.selectFrom('jobs').select(['id', 'key']).where('id', '=', id).where('state', '=', 'dead').executeTakeFirst();
        if (!dead) return undefined;
        await absorbQueued(db, dead, now);
        const row = await db
          .updateTable('jobs')
          .set({ state: 'queued', run_at: now, attempts: 0, updated_at: now, done_at: null })
          .where('id', '=', id)
          .where('state', '=', 'dead')
          .returningAll()
          .executeTakeFirst();
        return row && toJob(row);
      });
      if (retried) {
        tellEnqueued();
      }
      return retried;
    },

    async findNextJobTime(kinds: readonly string[], now: string): Promise<string | undefined> {
      if (kinds.length === 0) return undefined;
      const queued = await db
        .selectFrom('jobs as j')
        .select((eb) => eb.fn.min('j.run_at').as('at'))
        .where('j.state', '=', 'queued')
        .where('j.kind', 'in', kinds)
        .where((eb) => notBehindItsKey(eb, now))
        .executeTakeFirst();
      const running = await db
        .selectFrom('jobs')
        .select((eb) => eb.fn.min('locked_until').as('at'))
        .where('state', '=', 'running')
        .where('kind', 'in', kinds)
        .executeTakeFirst();
      const times = [queued?.at, running?.at].filter((t): t is string => typeof t === 'string');
      return times.sort()[0];
    },

    async deleteDoneJobs(doneBefore: string): Promise<number> {
      const deleted = await db.deleteFrom('jobs').where('state', '=', 'done').where('done_at', '<', doneBefore).executeTakeFirst();
      return Number(deleted.numDeletedRows);
    },

    onJobsEnqueued(listener: () => void): () => void {
      // A distinct function per subscription, so subscribing the same listener twice needs two unsubscribes.
      const entry = () => listener();
      ctx.jobsEnqueued.add(entry);
      return () => ctx.jobsEnqueued.delete(entry);
    },
  };
}

/**
 * Due now: queued with its time come, or running with its lease run out. Unqualified columns,
 * so it reads the jobs row of whichever statement it is in.
 */
function dueAt(now: string): Expression<SqlBool> {
  return sql<SqlBool>`((state = 'queued' AND run_at <= ${now}) OR (state = 'running' AND locked_until <= ${now}))`;
}

/** No other job of its key is running under a live lease (jobs without a key never wait). */
function notBehindItsKey(eb: ExpressionBuilder<Database & { j: Database['jobs'] }, 'j'>, now: string): Expression<SqlBool> {
  return eb.or([
    eb('j.key', 'is', null),
    eb.not(
      eb.exists(
        eb
          .selectFrom('jobs as r')
          .select('r.id')
          .whereRef('r.key', '=', 'j.key')
          .whereRef('r.id', '<>', 'j.id')
          .where('r.state', '=', 'running')
          .where('r.locked_until', '>', now),
      ),
    ),
  ]);
}

/**
 * Takes a running job from the claim `lease` (compare-and-set on locked_by): nobody can complete,
 * renew or take it over afterwards, and it is not claimable while the caller's transaction
 * decides its next state. Undefined when the lease is not current.
 */
async function release(db: Kysely<Database>, lease: JobLease, now: string): Promise<Pick<Selectable<Database['jobs']>, 'key' | 'attempts' | 'max_attempts'> | undefined> {
  return db
    .updateTable('jobs')
    .set({ locked_by: null, locked_until: null, updated_at: now })
    .where('id', '=', lease.id)
    .where('state', '=', 'running')
    .where('locked_by', '=', lease.lockedBy)
    .returning(['key', 'attempts', 'max_attempts'])
    .executeTakeFirst();
}

/**
 * Before a job of a key goes back to queued: the queued job of that key (same key, same work)
 * is deleted, so the key keeps one queued job. With `runAt`, returns the earlier of it and the
 * absorbed job's time — work queued for now is not put off by a reschedule.
 */
async function absorbQueued(db: Kysely<Database>, job: { key: string | null }, runAt: string): Promise<string>;
async function absorbQueued(db: Kysely<Database>, job: { key: string | null }, runAt: undefined): Promise<undefined>;
async function absorbQueued(db: Kysely<Database>, job: { key: string | null }, runAt: string | undefined): Promise<string | undefined> {
  if (job.key === null) return runAt;
  const absorbed = await db.deleteFrom('jobs').where('key', '=', job.key).where('state', '=', 'queued').returning('run_at').executeTakeFirst();
  if (runAt === undefined || !absorbed) return runAt;
  return absorbed.run_at < runAt ? absorbed.run_at : runAt;
}

function toJob(row: Selectable<Database['jobs']>): JobRow {
  return {
    id: Number(row.id),
    kind: row.kind,
    key: row.key,
    payload: JSON.parse(row.payload) as unknown,
    state: row.state as JobState,
    runAt: row.run_at,
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    lockedBy: row.locked_by,
    lockedUntil: row.locked_until,
    lastError: row.last_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    doneAt: row.done_at,
  };
}
