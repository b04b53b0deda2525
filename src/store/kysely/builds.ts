import type { Kysely, Selectable } from 'kysely';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { BuildState } from '../../core/glossary.ts';
import type { Database } from '../schema.ts';
import { inTransaction, type FamilyContext, type Page } from './family-context.ts';

export interface BuildRow {
  id: string;
  projectId: string;
  commitSha: string;
  ref: string;
  branch: string | null;
  state: BuildState;
  sourceUrl: string | null;
  trigger: string;
  createdAt: string;
  createdBy: string;
  startedAt: string | null;
  finishedAt: string | null;
  attempt: number;
  runner: string | null;
  leaseExpiresAt: string | null;
  cancelRequestedAt: string | null;
  deploymentId: string | null;
  error: string | null;
  author: string | null;
  message: string | null;
  /** 0 for the first build of a commit; a retry has the number of the build it retries + 1. */
  retryNumber?: number | undefined;
  /** The build this one retries. */
  retryOf?: string | null | undefined;
}

/** A build row as queued: the commit and who asked for it given, nothing started yet. */
export function newQueuedBuildRow(
  fields: Pick<BuildRow, 'id' | 'projectId' | 'commitSha' | 'ref' | 'branch' | 'sourceUrl' | 'trigger' | 'createdAt' | 'createdBy' | 'author' | 'message'> &
    Partial<Pick<BuildRow, 'retryNumber' | 'retryOf'>>,
): BuildRow {
  return {
    ...fields,
    state: 'queued',
    startedAt: null,
    finishedAt: null,
    attempt: 0,
    runner: null,
    leaseExpiresAt: null,
    cancelRequestedAt: null,
    deploymentId: null,
    error: null,
  };
}

export interface BuildLogRow {
  buildId: string;
  seq: number;
  at: string;
  stream: 'stdout' | 'stderr' | 'system';
  text: string;
}

/** Builds of commits, leased to runners, and the lines of their logs. */
export interface BuildStore {
  /** Inserts a build unless the project already has one for that commit; returns the newest one that exists now. */
  insertBuildOnce(row: BuildRow): Promise<{ build: BuildRow; created: boolean }>;
  /** Inserts a retry (retryOf and retryNumber set); throws BUILD_ALREADY_RETRIED when that build has one already. */
  insertBuildRetry(row: BuildRow): Promise<void>;
  findBuild(id: string): Promise<BuildRow | undefined>;
  /** The newest build (highest retry number) of a commit. */
  findBuildByCommit(projectId: string, commit: string): Promise<BuildRow | undefined>;
  /** The build that retries `buildId`, if any. */
  findBuildRetry(buildId: string): Promise<BuildRow | undefined>;
  listBuilds(projectId: string, page: Page): Promise<BuildRow[]>;
  /**
   * Leases the oldest queued build to `runner` (running, attempt + 1) under the lease token whose
   * sha256 is `leaseHash`; undefined when none is queued.
   */
  claimBuild(runner: string, now: string, leaseExpiresAt: string, leaseHash: string): Promise<BuildRow | undefined>;
  /** Extends the lease of a running build held under `leaseHash`; undefined when that lease is not current. */
  renewBuildLease(id: string, leaseHash: string, leaseExpiresAt: string): Promise<BuildRow | undefined>;
  /** The running build whose current lease is `leaseHash`. */
  findBuildByLease(leaseHash: string): Promise<BuildRow | undefined>;
  /** A queued build is canceled at once; a running one is marked for its runner to stop. */
  requestBuildCancel(id: string, at: string): Promise<BuildRow | undefined>;
  /** Cancels the project's queued builds at once and asks its running ones to stop; returns their ids. */
  cancelProjectBuilds(projectId: string, at: string): Promise<string[]>;
  /** Ends a running build held under `leaseHash`; false when that lease is not current. */
  finishBuild(
    id: string,
    leaseHash: string,
    fields: Pick<BuildRow, 'state' | 'finishedAt' | 'error' | 'deploymentId'> & Partial<Pick<BuildRow, 'author' | 'message'>>,
  ): Promise<boolean>;
  /** Running builds whose lease ran out go back to the queue (their lease token dead), or fail after `maxAttempts`. */
  reapExpiredBuilds(now: string, maxAttempts: number): Promise<BuildRow[]>;
  appendBuildLogs(buildId: string, lines: Omit<BuildLogRow, 'buildId' | 'seq'>[]): Promise<number>;
  listBuildLogs(buildId: string, after: number, limit: number): Promise<BuildLogRow[]>;
}

export function createBuildStore({ db, dialect }: FamilyContext): BuildStore {
  const findBuildByCommit = async (projectId: string, commit: string): Promise<BuildRow | undefined> => {
    const row = await db
      .selectFrom('builds')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('commit_sha', '=', commit)
      .orderBy('retry_number', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && toBuild(row);
  };

  return {
    findBuildByCommit,

    async insertBuildOnce(row) {
      const inserted = await db
        .insertInto('builds')
        .values(fromBuild(row))
        .onConflict((oc) => oc.columns(['project_id', 'commit_sha', 'retry_number']).doNothing())
        .executeTakeFirst();
      const created = Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1;
      const build = await findBuildByCommit(row.projectId, row.commitSha);
      if (!build) throw new Error(`build of ${row.commitSha} vanished after insert`);
      return { build, created };
    },

    async insertBuildRetry(row) {
      try {
        await db.insertInto('builds').values(fromBuild(row)).execute();
      } catch (err) {
        if (dialect.isUniqueViolation(err)) {
          throw new SlipwayError(ErrorCode.BUILD_ALREADY_RETRIED, `build ${row.retryOf ?? ''} was retried already`, { build: row.retryOf });
        }
        throw err;
      }
    },

    findBuild: (id) => findBuild(db, id),

    async findBuildRetry(buildId) {
      const row = await db.selectFrom('builds').selectAll().where('retry_of', '=', buildId).executeTakeFirst();
      return row && toBuild(row);
    },

    async listBuilds(projectId, page) {
      const rows = await db
        .selectFrom('builds')
        .selectAll()
        .where('project_id', '=', projectId)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(page.limit)
        .execute();
      return rows.map(toBuild);
    },

    async claimBuild(runner, now, leaseExpiresAt, leaseHash) {
      return inTransaction(db, async (tx) => {
        let next = tx.selectFrom('builds').select('id').where('state', '=', 'queued').orderBy('created_at').orderBy('id').limit(1);
        // Several servers may claim at once on PostgreSQL: skip rows another claimer holds.
        if (dialect.capabilities.skipLocked) next = next.forUpdate().skipLocked();
        const candidate = await next.executeTakeFirst();
        if (!candidate) return undefined;
        const updated = await tx
          .updateTable('builds')
          .set((eb) => ({
            state: 'running',
            runner,
            started_at: now,
            lease_expires_at: leaseExpiresAt,
            lease_token_hash: leaseHash,
            attempt: eb('attempt', '+', 1),
          }))
          .where('id', '=', candidate.id)
          .where('state', '=', 'queued')
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) !== 1) return undefined;
        return findBuild(tx, candidate.id);
      });
    },

    async renewBuildLease(id, leaseHash, leaseExpiresAt) {
      const updated = await db
        .updateTable('builds')
        .set({ lease_expires_at: leaseExpiresAt })
        .where('id', '=', id)
        .where('lease_token_hash', '=', leaseHash)
        .where('state', '=', 'running')
        .executeTakeFirst();
      return Number(updated.numUpdatedRows) === 1 ? findBuild(db, id) : undefined;
    },

    async findBuildByLease(leaseHash) {
      const row = await db.selectFrom('builds').selectAll().where('state', '=', 'running').where('lease_token_hash', '=', leaseHash).executeTakeFirst();
      return row ? toBuild(row) : undefined;
    },

    async requestBuildCancel(id, at) {
      await inTransaction(db, async (tx) => {
        await tx
          .updateTable('builds')
          .set({ state: 'canceled', finished_at: at, cancel_requested_at: at, error: 'canceled before it started' })
          .where('id', '=', id)
          .where('state', '=', 'queued')
          .execute();
        await tx.updateTable('builds').set({ cancel_requested_at: at }).where('id', '=', id).where('state', '=', 'running').execute();
      });
      return findBuild(db, id);
    },

    async cancelProjectBuilds(projectId, at) {
      return inTransaction(db, async (tx) => {
        const open = await tx.selectFrom('builds').select('id').where('project_id', '=', projectId).where('state', 'in', ['queued', 'running']).execute();
        await tx
          .updateTable('builds')
          .set({ state: 'canceled', finished_at: at, cancel_requested_at: at, error: 'the project was deleted' })
          .where('project_id', '=', projectId)
          .where('state', '=', 'queued')
          .execute();
        await tx
          .updateTable('builds')
          .set({ cancel_requested_at: at })
          .where('project_id', '=', projectId)
          .where('state', '=', 'running')
          .where('cancel_requested_at', 'is', null)
          .execute();
        return open.map((r) => r.id);
      });
    },

    async finishBuild(id, leaseHash, fields) {
      const updated = await db
        .updateTable('builds')
        .set({
          state: fields.state,
          finished_at: fields.finishedAt,
          error: fields.error,
          deployment_id: fields.deploymentId,
          lease_expires_at: null,
          lease_token_hash: null,
          ...(fields.author === undefined ? {} : { author: fields.author }),
          ...(fields.message === undefined ? {} : { message: fields.message }),
        })
        .where('id', '=', id)
        .where('lease_token_hash', '=', leaseHash)
        .where('state', '=', 'running')
        .executeTakeFirst();
      return Number(updated.numUpdatedRows) === 1;
    },

    async reapExpiredBuilds(now, maxAttempts) {
      return inTransaction(db, async (tx) => {
        const expired = await tx.selectFrom('builds').selectAll().where('state', '=', 'running').where('lease_expires_at', '<', now).execute();
        for (const row of expired) {
          const retry = Number(row.attempt) < maxAttempts && row.cancel_requested_at === null;
          await tx
            .updateTable('builds')
            .set(
              retry
                ? { state: 'queued', runner: null, lease_expires_at: null, lease_token_hash: null }
                : {
                    state: row.cancel_requested_at === null ? 'failed' : 'canceled',
                    finished_at: now,
                    lease_expires_at: null,
                    lease_token_hash: null,
                    error: 'the runner stopped answering',
                  },
            )
            .where('id', '=', row.id)
            .where('state', '=', 'running')
            .execute();
        }
        const ids = expired.map((r) => r.id);
        if (ids.length === 0) return [];
        return (await tx.selectFrom('builds').selectAll().where('id', 'in', ids).execute()).map(toBuild);
      });
    },

    async appendBuildLogs(buildId, lines) {
      if (lines.length === 0) return 0;
      return inTransaction(db, async (tx) => {
        // Reserve a block of sequence numbers on the build row; the row lock orders writers.
        const reserved = await tx
          .updateTable('builds')
          .set((eb) => ({ log_seq: eb('log_seq', '+', lines.length) }))
          .where('id', '=', buildId)
          .returning('log_seq')
          .executeTakeFirst();
        if (!reserved) throw new SlipwayError(ErrorCode.BUILD_NOT_FOUND, `no build ${buildId}`, { build: buildId });
        const first = Number(reserved.log_seq) - lines.length + 1;
        for (let i = 0; i < lines.length; i += 500) {
          await tx
            .insertInto('build_logs')
            .values(lines.slice(i, i + 500).map((line, j) => ({ build_id: buildId, seq: first + i + j, at: line.at, stream: line.stream, text: line.text })))
            .execute();
        }
        return lines.length;
      });
    },

    async listBuildLogs(buildId, after, limit) {
      const rows = await db
        .selectFrom('build_logs')
        .selectAll()
        .where('build_id', '=', buildId)
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map((row) => ({ buildId: row.build_id, seq: Number(row.seq), at: row.at, stream: row.stream as BuildLogRow['stream'], text: row.text }));
    },
  };
}

async function findBuild(db: Kysely<Database>, id: string): Promise<BuildRow | undefined> {
  const row = await db.selectFrom('builds').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toBuild(row);
}

function toBuild(row: Selectable<Database['builds']>): BuildRow {
  return {
    id: row.id,
    projectId: row.project_id,
    commitSha: row.commit_sha,
    ref: row.ref,
    branch: row.branch,
    state: row.state as BuildState,
    sourceUrl: row.source_url,
    trigger: row.trigger_kind,
    createdAt: row.created_at,
    createdBy: row.created_by,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    attempt: Number(row.attempt),
    runner: row.runner,
    leaseExpiresAt: row.lease_expires_at,
    cancelRequestedAt: row.cancel_requested_at,
    deploymentId: row.deployment_id,
    error: row.error,
    author: row.author,
    message: row.message,
    retryNumber: Number(row.retry_number),
    retryOf: row.retry_of,
  };
}

function fromBuild(row: BuildRow): Database['builds'] {
  return {
    id: row.id,
    project_id: row.projectId,
    commit_sha: row.commitSha,
    ref: row.ref,
    branch: row.branch,
    state: row.state,
    source_url: row.sourceUrl,
    trigger_kind: row.trigger,
    created_at: row.createdAt,
    created_by: row.createdBy,
    started_at: row.startedAt,
    finished_at: row.finishedAt,
    attempt: row.attempt,
    runner: row.runner,
    lease_expires_at: row.leaseExpiresAt,
    // A lease exists only from a claim on (claimBuild); a row is never inserted holding one.
    lease_token_hash: null,
    cancel_requested_at: row.cancelRequestedAt,
    deployment_id: row.deploymentId,
    error: row.error,
    author: row.author,
    message: row.message,
    log_seq: 0,
    retry_number: row.retryNumber ?? 0,
    retry_of: row.retryOf ?? null,
  };
}
