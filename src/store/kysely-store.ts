import { sql, type Kysely, type Selectable } from 'kysely';
import { ErrorCode, SlipwayError } from '../core/errors.ts';
import type { Connection } from './connection.ts';
import type { Database } from './schema.ts';
import type {
  BranchRow,
  BuildLogRow,
  BuildRow,
  DeploymentRow,
  DomainRow,
  EnvironmentRow,
  EventRow,
  LockFields,
  NewEvent,
  NewWebhookDelivery,
  Page,
  PointerMove,
  ProjectRow,
  ReleaseRow,
  Role,
  Store,
  StoreCapabilities,
  TokenRow,
  UploadRow,
  WebhookDeliveryRow,
} from './store.ts';

/** The head of a deleted branch's tombstone: git's zero sha, "no commit". */
const DELETED_HEAD = '0000000000000000000000000000000000000000';

type Dialect = Pick<Connection, 'isUniqueViolation' | 'capabilities' | 'close'>;

/** The Store over Kysely; the same queries run on SQLite and PostgreSQL. */
export class KyselyStore implements Store {
  readonly capabilities: StoreCapabilities;
  readonly #db: Kysely<Database>;
  readonly #dialect: Dialect;

  constructor(db: Kysely<Database>, dialect: Dialect) {
    this.#db = db;
    this.#dialect = dialect;
    this.capabilities = dialect.capabilities;
  }

  async transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    if (this.#db.isTransaction) return fn(this);
    return this.#db.transaction().execute((trx) => fn(new KyselyStore(trx, this.#dialect)));
  }

  async close(): Promise<void> {
    await this.#dialect.close();
  }

  // projects

  async insertProject(row: ProjectRow): Promise<void> {
    try {
      await this.#db
        .insertInto('projects')
        .values({
          id: row.id,
          name: row.name,
          created_at: row.createdAt,
          created_by: row.createdBy,
          repo_url: row.repoUrl,
          webhook_secret: row.webhookSecret,
        })
        .execute();
    } catch (err) {
      if (this.#dialect.isUniqueViolation(err)) {
        throw new SlipwayError(ErrorCode.PROJECT_EXISTS, `project "${row.name}" already exists`, { project: row.name });
      }
      throw err;
    }
  }

  async findProjectByName(name: string): Promise<ProjectRow | undefined> {
    const row = await this.#db.selectFrom('projects').selectAll().where('name', '=', name).where('deleted_at', 'is', null).executeTakeFirst();
    return row && toProject(row);
  }

  async findProjectById(id: string): Promise<ProjectRow | undefined> {
    const row = await this.#db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toProject(row);
  }

  async listProjects(): Promise<ProjectRow[]> {
    return (await this.#db.selectFrom('projects').selectAll().where('deleted_at', 'is', null).orderBy('name').execute()).map(toProject);
  }

  async markProjectDeleted(id: string, at: string): Promise<boolean> {
    const updated = await this.#db
      .updateTable('projects')
      .set((eb) => ({ deleted_name: eb.ref('name'), name: sql<string>`${'~'} || ${eb.ref('id')}`, deleted_at: at }))
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(updated.numUpdatedRows) === 1;
  }

  async listUnpurgedProjects(): Promise<ProjectRow[]> {
    const rows = await this.#db
      .selectFrom('projects')
      .selectAll()
      .where('deleted_at', 'is not', null)
      .where('purged_at', 'is', null)
      .orderBy('deleted_at')
      .execute();
    return rows.map(toProject);
  }

  async markProjectPurged(id: string, at: string): Promise<void> {
    await this.#db.updateTable('projects').set({ purged_at: at }).where('id', '=', id).execute();
  }

  async listProjectManifests(projectId: string): Promise<string[]> {
    const rows = await this.#db
      .selectFrom('deployments')
      .select('manifest_digest')
      .where('project_id', '=', projectId)
      .union(this.#db.selectFrom('uploads').select('manifest_digest').where('project_id', '=', projectId))
      .execute();
    return rows.map((r) => r.manifest_digest);
  }

  async listLiveManifests(): Promise<string[]> {
    const live = this.#db.selectFrom('projects').select('id').where('deleted_at', 'is', null);
    const rows = await this.#db
      .selectFrom('deployments')
      .select('manifest_digest')
      .where('project_id', 'in', live)
      .union(this.#db.selectFrom('uploads').select('manifest_digest').where('project_id', 'in', live))
      .execute();
    return rows.map((r) => r.manifest_digest);
  }

  async cancelProjectBuilds(projectId: string, at: string): Promise<string[]> {
    return this.transaction(async (tx) => {
      const db = (tx as KyselyStore).#db;
      const open = await db.selectFrom('builds').select('id').where('project_id', '=', projectId).where('state', 'in', ['queued', 'running']).execute();
      await db
        .updateTable('builds')
        .set({ state: 'canceled', finished_at: at, cancel_requested_at: at, error: 'the project was deleted' })
        .where('project_id', '=', projectId)
        .where('state', '=', 'queued')
        .execute();
      await db
        .updateTable('builds')
        .set({ cancel_requested_at: at })
        .where('project_id', '=', projectId)
        .where('state', '=', 'running')
        .where('cancel_requested_at', 'is', null)
        .execute();
      return open.map((r) => r.id);
    });
  }

  // tokens

  async insertToken(row: TokenRow): Promise<void> {
    await this.#db
      .insertInto('tokens')
      .values({
        id: row.id,
        name: row.name,
        role: row.role,
        hash: row.hash,
        created_at: row.createdAt,
        created_by: row.createdBy,
        last_used_at: row.lastUsedAt,
        revoked_at: row.revokedAt,
      })
      .execute();
  }

  async findTokenByHash(hash: string): Promise<TokenRow | undefined> {
    const row = await this.#db.selectFrom('tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
    return row && toToken(row);
  }

  async findTokenById(id: string): Promise<TokenRow | undefined> {
    const row = await this.#db.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toToken(row);
  }

  async listTokens(): Promise<TokenRow[]> {
    return (await this.#db.selectFrom('tokens').selectAll().orderBy('created_at').execute()).map(toToken);
  }

  async countTokens(): Promise<number> {
    const row = await this.#db.selectFrom('tokens').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async touchToken(id: string, at: string): Promise<void> {
    await this.#db.updateTable('tokens').set({ last_used_at: at }).where('id', '=', id).execute();
  }

  async revokeToken(id: string, at: string): Promise<void> {
    await this.#db.updateTable('tokens').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
  }

  // uploads and deployments

  async insertUpload(row: UploadRow): Promise<void> {
    await this.#db
      .insertInto('uploads')
      .values({
        id: row.id,
        project_id: row.projectId,
        manifest_digest: row.manifestDigest,
        file_count: row.fileCount,
        total_bytes: row.totalBytes,
        meta: JSON.stringify(row.meta),
        created_at: row.createdAt,
        created_by: row.createdBy,
        deployment_id: row.deploymentId,
      })
      .execute();
  }

  async deleteStaleUploads(createdBefore: string): Promise<number> {
    const result = await this.#db.deleteFrom('uploads').where('deployment_id', 'is', null).where('created_at', '<', createdBefore).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async findUpload(id: string): Promise<UploadRow | undefined> {
    const row = await this.#db.selectFrom('uploads').selectAll().where('id', '=', id).executeTakeFirst();
    return (
      row && {
        id: row.id,
        projectId: row.project_id,
        manifestDigest: row.manifest_digest,
        fileCount: Number(row.file_count),
        totalBytes: Number(row.total_bytes),
        meta: JSON.parse(row.meta) as UploadRow['meta'],
        createdAt: row.created_at,
        createdBy: row.created_by,
        deploymentId: row.deployment_id,
      }
    );
  }

  async insertDeployment(row: DeploymentRow, fromUploadId?: string): Promise<void> {
    await this.transaction(async (tx) => {
      const db = (tx as KyselyStore).#db;
      if (fromUploadId !== undefined) {
        const marked = await db
          .updateTable('uploads')
          .set({ deployment_id: row.id })
          .where('id', '=', fromUploadId)
          .where('deployment_id', 'is', null)
          .executeTakeFirst();
        if (Number(marked.numUpdatedRows) !== 1) {
          throw new SlipwayError(ErrorCode.UPLOAD_CONFLICT, `upload ${fromUploadId} was finalized meanwhile`, { upload: fromUploadId });
        }
      }
      await db
        .insertInto('deployments')
        .values({
          id: row.id,
          project_id: row.projectId,
          manifest_digest: row.manifestDigest,
          file_count: row.fileCount,
          total_bytes: row.totalBytes,
          meta: JSON.stringify(row.meta),
          created_at: row.createdAt,
          created_by: row.createdBy,
          build_id: row.meta.build ?? null,
        })
        .execute();
    });
  }

  async findDeployment(id: string): Promise<DeploymentRow | undefined> {
    const row = await this.#db.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toDeployment(row);
  }

  async listDeployments(projectId: string, page: Page): Promise<DeploymentRow[]> {
    const rows = await this.#db
      .selectFrom('deployments')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(page.limit)
      .execute();
    return rows.map(toDeployment);
  }

  // environments and releases

  async ensureEnvironment(row: EnvironmentRow): Promise<EnvironmentRow> {
    await this.#db
      .insertInto('environments')
      .values(fromEnvironment(row))
      .onConflict((oc) => oc.columns(['project_id', 'name']).doNothing())
      .execute();
    const found = await this.findEnvironment(row.projectId, row.name);
    if (!found) throw new Error(`environment ${row.name} vanished after insert`);
    return found;
  }

  async findEnvironment(projectId: string, name: string): Promise<EnvironmentRow | undefined> {
    const row = await this.#db
      .selectFrom('environments')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row && toEnvironment(row);
  }

  async listEnvironments(projectId: string): Promise<EnvironmentRow[]> {
    const rows = await this.#db.selectFrom('environments').selectAll().where('project_id', '=', projectId).orderBy('name').execute();
    return rows.map(toEnvironment);
  }

  async findLiveDeploymentId(projectName: string, environment: string): Promise<string | null | undefined> {
    const row = await this.#db
      .selectFrom('environments')
      .innerJoin('projects', 'projects.id', 'environments.project_id')
      .select('environments.deployment_id')
      .where('projects.name', '=', projectName)
      .where('environments.name', '=', environment)
      .where('environments.retired_at', 'is', null)
      .executeTakeFirst();
    return row === undefined ? undefined : row.deployment_id;
  }

  async listEnvironmentsOfDeployment(deploymentId: string): Promise<EnvironmentRow[]> {
    const rows = await this.#db.selectFrom('environments').selectAll().where('deployment_id', '=', deploymentId).orderBy('name').execute();
    return rows.map(toEnvironment);
  }

  async moveEnvironmentPointer(environmentId: string, move: PointerMove): Promise<void> {
    const conflict = () =>
      new SlipwayError(ErrorCode.RELEASE_CONFLICT, 'the environment moved while this release was being made; look again and retry', {
        expected: move.expectedReleaseNumber,
      });
    await this.transaction(async (tx) => {
      const db = (tx as KyselyStore).#db;
      const { release } = move;
      // The compare-and-set: only the writer that saw the current release number moves the pointer.
      const updated = await db
        .updateTable('environments')
        .set({
          deployment_id: release.deploymentId,
          release_id: release.id,
          release_number: release.number,
          pinned_by: move.pin?.by ?? null,
          pinned_at: move.pin?.at ?? null,
          pinned_reason: move.pin?.reason ?? null,
        })
        .where('id', '=', environmentId)
        .where('release_number', '=', move.expectedReleaseNumber)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) throw conflict();
      if (release.replacesReleaseId !== null) {
        await db.updateTable('releases').set({ state: move.replacedState }).where('id', '=', release.replacesReleaseId).execute();
      }
      try {
        await db.insertInto('releases').values(fromRelease(release)).execute();
      } catch (err) {
        if (this.#dialect.isUniqueViolation(err)) throw conflict();
        throw err;
      }
    });
  }

  async updateLock(environmentId: string, expectedLockedAt: string | null, fields: LockFields): Promise<boolean> {
    let query = this.#db
      .updateTable('environments')
      .set({
        locked_by: fields.lockedBy,
        locked_by_id: fields.lockedById,
        locked_at: fields.lockedAt,
        locked_reason: fields.lockedReason,
        locked_until: fields.lockedUntil,
      })
      .where('id', '=', environmentId);
    query = expectedLockedAt === null ? query.where('locked_at', 'is', null) : query.where('locked_at', '=', expectedLockedAt);
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async findRelease(id: string): Promise<ReleaseRow | undefined> {
    const row = await this.#db.selectFrom('releases').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toRelease(row);
  }

  async findReleaseByNumber(environmentId: string, number: number): Promise<ReleaseRow | undefined> {
    const row = await this.#db
      .selectFrom('releases')
      .selectAll()
      .where('environment_id', '=', environmentId)
      .where('number', '=', number)
      .executeTakeFirst();
    return row && toRelease(row);
  }

  async findLatestReleaseOfDeployment(environmentId: string, deploymentId: string): Promise<ReleaseRow | undefined> {
    const row = await this.#db
      .selectFrom('releases')
      .selectAll()
      .where('environment_id', '=', environmentId)
      .where('deployment_id', '=', deploymentId)
      .orderBy('number', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && toRelease(row);
  }

  async findPreviousDeploymentRelease(environmentId: string, currentDeploymentId: string | null): Promise<ReleaseRow | undefined> {
    let query = this.#db.selectFrom('releases').selectAll().where('environment_id', '=', environmentId);
    if (currentDeploymentId !== null) query = query.where('deployment_id', '!=', currentDeploymentId);
    const row = await query.orderBy('number', 'desc').limit(1).executeTakeFirst();
    return row && toRelease(row);
  }

  async listReleases(environmentId: string, page: Page): Promise<ReleaseRow[]> {
    let query = this.#db.selectFrom('releases').selectAll().where('environment_id', '=', environmentId);
    if (page.before !== undefined) query = query.where('number', '<', page.before);
    const rows = await query.orderBy('number', 'desc').limit(page.limit).execute();
    return rows.map(toRelease);
  }

  // domains

  async insertDomain(row: DomainRow): Promise<void> {
    try {
      await this.#db
        .insertInto('domains')
        .values({
          hostname: row.hostname,
          project_id: row.projectId,
          environment: row.environment,
          created_at: row.createdAt,
          created_by: row.createdBy,
        })
        .execute();
    } catch (err) {
      if (this.#dialect.isUniqueViolation(err)) {
        throw new SlipwayError(ErrorCode.DOMAIN_EXISTS, `domain ${row.hostname} is already mapped`, { hostname: row.hostname });
      }
      throw err;
    }
  }

  async findDomain(hostname: string): Promise<DomainRow | undefined> {
    const row = await this.#db.selectFrom('domains').selectAll().where('hostname', '=', hostname).executeTakeFirst();
    return row && toDomain(row);
  }

  async listDomains(projectId: string): Promise<DomainRow[]> {
    return (await this.#db.selectFrom('domains').selectAll().where('project_id', '=', projectId).orderBy('hostname').execute()).map(toDomain);
  }

  async deleteDomain(hostname: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('domains').where('hostname', '=', hostname).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  // git: branches, builds, logs, webhook deliveries

  async moveBranch(projectId: string, name: string, before: string, after: string, at: string): Promise<boolean> {
    // The zero sha is a head too: a deleted branch keeps its row as a tombstone (see 005).
    const updated = await this.#db
      .updateTable('branches')
      .set({ head: after, updated_at: at })
      .where('project_id', '=', projectId)
      .where('name', '=', name)
      .where('head', '=', before)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 1) return true;
    // A branch never recorded has no head to compare with: the first push seen of it records it.
    const inserted = await this.#db
      .insertInto('branches')
      .values({ project_id: projectId, name, head: after, updated_at: at })
      .onConflict((oc) => oc.columns(['project_id', 'name']).doNothing())
      .executeTakeFirst();
    return Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  async findBranch(projectId: string, name: string): Promise<BranchRow | undefined> {
    const row = await this.#db
      .selectFrom('branches')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('name', '=', name)
      .where('head', '!=', DELETED_HEAD)
      .executeTakeFirst();
    return row && toBranch(row);
  }

  async findBranchHead(projectId: string, name: string): Promise<string | undefined> {
    const row = await this.#db.selectFrom('branches').select('head').where('project_id', '=', projectId).where('name', '=', name).executeTakeFirst();
    return row?.head;
  }

  async listBranchesAt(projectId: string, commit: string): Promise<BranchRow[]> {
    const rows = await this.#db.selectFrom('branches').selectAll().where('project_id', '=', projectId).where('head', '=', commit).orderBy('name').execute();
    return rows.filter((row) => row.head !== DELETED_HEAD).map(toBranch);
  }

  async listBranches(projectId: string): Promise<BranchRow[]> {
    const rows = await this.#db
      .selectFrom('branches')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('head', '!=', DELETED_HEAD)
      .orderBy('name')
      .execute();
    return rows.map(toBranch);
  }

  async insertBuildOnce(row: BuildRow): Promise<{ build: BuildRow; created: boolean }> {
    const inserted = await this.#db
      .insertInto('builds')
      .values(fromBuild(row))
      .onConflict((oc) => oc.columns(['project_id', 'commit_sha', 'retry_number']).doNothing())
      .executeTakeFirst();
    const created = Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1;
    const build = await this.findBuildByCommit(row.projectId, row.commitSha);
    if (!build) throw new Error(`build of ${row.commitSha} vanished after insert`);
    return { build, created };
  }

  async findBuild(id: string): Promise<BuildRow | undefined> {
    const row = await this.#db.selectFrom('builds').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toBuild(row);
  }

  async insertBuildRetry(row: BuildRow): Promise<void> {
    try {
      await this.#db.insertInto('builds').values(fromBuild(row)).execute();
    } catch (err) {
      if (this.#dialect.isUniqueViolation(err)) {
        throw new SlipwayError(ErrorCode.BUILD_ALREADY_RETRIED, `build ${row.retryOf ?? ''} was retried already`, { build: row.retryOf });
      }
      throw err;
    }
  }

  async findBuildByCommit(projectId: string, commit: string): Promise<BuildRow | undefined> {
    const row = await this.#db
      .selectFrom('builds')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('commit_sha', '=', commit)
      .orderBy('retry_number', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && toBuild(row);
  }

  async findBuildRetry(buildId: string): Promise<BuildRow | undefined> {
    const row = await this.#db.selectFrom('builds').selectAll().where('retry_of', '=', buildId).executeTakeFirst();
    return row && toBuild(row);
  }

  async listBuilds(projectId: string, page: Page): Promise<BuildRow[]> {
    const rows = await this.#db
      .selectFrom('builds')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(page.limit)
      .execute();
    return rows.map(toBuild);
  }

  async claimBuild(runner: string, now: string, leaseExpiresAt: string, leaseHash: string): Promise<BuildRow | undefined> {
    return this.transaction(async (tx) => {
      const db = (tx as KyselyStore).#db;
      let next = db.selectFrom('builds').select('id').where('state', '=', 'queued').orderBy('created_at').orderBy('id').limit(1);
      // Several servers may claim at once on PostgreSQL: skip rows another claimer holds.
      if (this.capabilities.concurrentWriters) next = next.forUpdate().skipLocked();
      const candidate = await next.executeTakeFirst();
      if (!candidate) return undefined;
      const updated = await db
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
      return tx.findBuild(candidate.id);
    });
  }

  async renewBuildLease(id: string, leaseHash: string, leaseExpiresAt: string): Promise<BuildRow | undefined> {
    const updated = await this.#db
      .updateTable('builds')
      .set({ lease_expires_at: leaseExpiresAt })
      .where('id', '=', id)
      .where('lease_token_hash', '=', leaseHash)
      .where('state', '=', 'running')
      .executeTakeFirst();
    return Number(updated.numUpdatedRows) === 1 ? this.findBuild(id) : undefined;
  }

  async findBuildByLease(leaseHash: string): Promise<BuildRow | undefined> {
    const row = await this.#db.selectFrom('builds').selectAll().where('state', '=', 'running').where('lease_token_hash', '=', leaseHash).executeTakeFirst();
    return row ? toBuild(row) : undefined;
  }

  async requestBuildCancel(id: string, at: string): Promise<BuildRow | undefined> {
    await this.transaction(async (tx) => {
      const db = (tx as KyselyStore).#db;
      await db
        .updateTable('builds')
        .set({ state: 'canceled', finished_at: at, cancel_requested_at: at, error: 'canceled before it started' })
        .where('id', '=', id)
        .where('state', '=', 'queued')
        .execute();
      await db.updateTable('builds').set({ cancel_requested_at: at }).where('id', '=', id).where('state', '=', 'running').execute();
    });
    return this.findBuild(id);
  }

  async finishBuild(
    id: string,
    leaseHash: string,
    fields: Pick<BuildRow, 'state' | 'finishedAt' | 'error' | 'deploymentId'> & Partial<Pick<BuildRow, 'author' | 'message'>>,
  ): Promise<boolean> {
    const updated = await this.#db
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
  }

  async reapExpiredBuilds(now: string, maxAttempts: number): Promise<BuildRow[]> {
    return this.transaction(async (tx) => {
      const db = (tx as KyselyStore).#db;
      const expired = await db.selectFrom('builds').selectAll().where('state', '=', 'running').where('lease_expires_at', '<', now).execute();
      for (const row of expired) {
        const retry = Number(row.attempt) < maxAttempts && row.cancel_requested_at === null;
        await db
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
      return (await db.selectFrom('builds').selectAll().where('id', 'in', ids).execute()).map(toBuild);
    });
  }

  async appendBuildLogs(buildId: string, lines: Omit<BuildLogRow, 'buildId' | 'seq'>[]): Promise<number> {
    if (lines.length === 0) return 0;
    return this.transaction(async (tx) => {
      const db = (tx as KyselyStore).#db;
      // Reserve a block of sequence numbers on the build row; the row lock orders writers.
      const reserved = await db
        .updateTable('builds')
        .set((eb) => ({ log_seq: eb('log_seq', '+', lines.length) }))
        .where('id', '=', buildId)
        .returning('log_seq')
        .executeTakeFirst();
      if (!reserved) throw new SlipwayError(ErrorCode.BUILD_NOT_FOUND, `no build ${buildId}`, { build: buildId });
      const first = Number(reserved.log_seq) - lines.length + 1;
      for (let i = 0; i < lines.length; i += 500) {
        await db
          .insertInto('build_logs')
          .values(lines.slice(i, i + 500).map((line, j) => ({ build_id: buildId, seq: first + i + j, at: line.at, stream: line.stream, text: line.text })))
          .execute();
      }
      return lines.length;
    });
  }

  async listBuildLogs(buildId: string, after: number, limit: number): Promise<BuildLogRow[]> {
    const rows = await this.#db
      .selectFrom('build_logs')
      .selectAll()
      .where('build_id', '=', buildId)
      .where('seq', '>', after)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((row) => ({ buildId: row.build_id, seq: Number(row.seq), at: row.at, stream: row.stream as BuildLogRow['stream'], text: row.text }));
  }

  async insertWebhookDeliveries(rows: NewWebhookDelivery[]): Promise<WebhookDeliveryRow[]> {
    if (rows.length === 0) return [];
    const inserted = await this.#db
      .insertInto('webhook_deliveries')
      .values(
        rows.map((row) => ({
          provider: row.provider,
          project_id: row.projectId,
          delivery_id: row.deliveryId,
          push: JSON.stringify(row.push),
          state: 'pending',
          received_at: row.receivedAt,
          processed_at: null,
          builds: '[]',
          error: null,
        })),
      )
      .onConflict((oc) => oc.columns(['provider', 'project_id', 'delivery_id']).doNothing())
      .returningAll()
      .execute();
    return inserted.map(toWebhookDelivery);
  }

  async findNextPendingDelivery(): Promise<WebhookDeliveryRow | undefined> {
    // A literal, not a parameter, so that SQLite can use the partial index of pending rows.
    const row = await this.#db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('state', '=', sql.lit('pending'))
      .orderBy('seq')
      .limit(1)
      .executeTakeFirst();
    return row && toWebhookDelivery(row);
  }

  async claimWebhookDelivery(seq: number, processedAt: string): Promise<WebhookDeliveryRow | undefined> {
    const row = await this.#db
      .updateTable('webhook_deliveries')
      .set({ state: 'done', processed_at: processedAt })
      .where('seq', '=', seq)
      .where('state', '=', 'pending')
      .returningAll()
      .executeTakeFirst();
    return row && toWebhookDelivery(row);
  }

  async setWebhookDeliveryBuilds(seq: number, builds: string[]): Promise<void> {
    await this.#db.updateTable('webhook_deliveries').set({ builds: JSON.stringify(builds) }).where('seq', '=', seq).execute();
  }

  async failWebhookDelivery(seq: number, error: string, processedAt: string): Promise<boolean> {
    const updated = await this.#db
      .updateTable('webhook_deliveries')
      .set({ state: 'failed', error, processed_at: processedAt })
      .where('seq', '=', seq)
      .where('state', '=', 'pending')
      .executeTakeFirst();
    return Number(updated.numUpdatedRows) === 1;
  }

  async markWebhookDeliveryStale(seq: number, reason: string): Promise<void> {
    await this.#db.updateTable('webhook_deliveries').set({ state: 'stale', error: reason }).where('seq', '=', seq).where('state', '=', 'done').execute();
  }

  async listWebhookDeliveries(projectId: string, page: Page): Promise<WebhookDeliveryRow[]> {
    let query = this.#db.selectFrom('webhook_deliveries').selectAll().where('project_id', '=', projectId);
    if (page.before !== undefined) query = query.where('seq', '<', page.before);
    const rows = await query.orderBy('seq', 'desc').limit(page.limit).execute();
    return rows.map(toWebhookDelivery);
  }

  async setEnvironmentFollow(environmentId: string, follows: string | null, preview: boolean): Promise<void> {
    await this.#db.updateTable('environments').set({ follows, preview: preview ? 1 : 0 }).where('id', '=', environmentId).execute();
  }

  async retireEnvironment(environmentId: string, at: string | null): Promise<void> {
    await this.#db.updateTable('environments').set({ retired_at: at }).where('id', '=', environmentId).execute();
  }

  async listEnvironmentsFollowing(projectId: string, branch: string): Promise<EnvironmentRow[]> {
    const rows = await this.#db
      .selectFrom('environments')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('follows', '=', branch)
      .orderBy('name')
      .execute();
    return rows.map(toEnvironment);
  }

  async findProjectsByRepoUrls(urls: string[]): Promise<ProjectRow[]> {
    if (urls.length === 0) return [];
    return (await this.#db.selectFrom('projects').selectAll().where('repo_url', 'in', urls).where('deleted_at', 'is', null).orderBy('name').execute()).map(
      toProject,
    );
  }

  // events

  async appendEvent(event: NewEvent): Promise<number> {
    const row = await this.#db
      .insertInto('events')
      .values({
        at: event.at,
        actor: event.actor,
        action: event.action,
        project_id: event.projectId,
        environment: event.environment,
        target: event.target,
        reason: event.reason,
        before: event.before === null || event.before === undefined ? null : JSON.stringify(event.before),
        after: event.after === null || event.after === undefined ? null : JSON.stringify(event.after),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async listEvents(filter: { projectId?: string | undefined; environment?: string | undefined }, page: Page): Promise<EventRow[]> {
    let query = this.#db.selectFrom('events').selectAll();
    if (filter.projectId !== undefined) query = query.where('project_id', '=', filter.projectId);
    if (filter.environment !== undefined) query = query.where('environment', '=', filter.environment);
    if (page.before !== undefined) query = query.where('id', '<', page.before);
    const rows = await query.orderBy('id', 'desc').limit(page.limit).execute();
    return rows.map((row) => ({
      id: Number(row.id),
      at: row.at,
      actor: row.actor,
      action: row.action,
      projectId: row.project_id,
      environment: row.environment,
      target: row.target,
      reason: row.reason,
      before: row.before === null ? null : (JSON.parse(row.before) as unknown),
      after: row.after === null ? null : (JSON.parse(row.after) as unknown),
    }));
  }
}

function toProject(row: Selectable<Database['projects']>): ProjectRow {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    createdBy: row.created_by,
    repoUrl: row.repo_url,
    webhookSecret: row.webhook_secret,
    deletedAt: row.deleted_at,
    deletedName: row.deleted_name,
    purgedAt: row.purged_at,
  };
}

function toToken(row: Selectable<Database['tokens']>): TokenRow {
  return {
    id: row.id,
    name: row.name,
    role: row.role as Role,
    hash: row.hash,
    createdAt: row.created_at,
    createdBy: row.created_by,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

function toDeployment(row: Selectable<Database['deployments']>): DeploymentRow {
  return {
    id: row.id,
    projectId: row.project_id,
    manifestDigest: row.manifest_digest,
    fileCount: Number(row.file_count),
    totalBytes: Number(row.total_bytes),
    meta: JSON.parse(row.meta) as DeploymentRow['meta'],
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}

function toEnvironment(row: Selectable<Database['environments']>): EnvironmentRow {
  return {
    id: row.id,
    projectId: row.project_id,
    name: row.name,
    deploymentId: row.deployment_id,
    releaseId: row.release_id,
    releaseNumber: Number(row.release_number),
    pinnedBy: row.pinned_by,
    pinnedAt: row.pinned_at,
    pinnedReason: row.pinned_reason,
    lockedBy: row.locked_by,
    lockedById: row.locked_by_id,
    lockedAt: row.locked_at,
    lockedReason: row.locked_reason,
    lockedUntil: row.locked_until,
    follows: row.follows,
    preview: Number(row.preview) === 1,
    retiredAt: row.retired_at,
    createdAt: row.created_at,
  };
}

function fromEnvironment(row: EnvironmentRow): Database['environments'] {
  return {
    id: row.id,
    project_id: row.projectId,
    name: row.name,
    deployment_id: row.deploymentId,
    release_id: row.releaseId,
    release_number: row.releaseNumber,
    pinned_by: row.pinnedBy,
    pinned_at: row.pinnedAt,
    pinned_reason: row.pinnedReason,
    locked_by: row.lockedBy,
    locked_by_id: row.lockedById,
    locked_at: row.lockedAt,
    locked_reason: row.lockedReason,
    locked_until: row.lockedUntil,
    follows: row.follows,
    preview: row.preview ? 1 : 0,
    retired_at: row.retiredAt,
    created_at: row.createdAt,
  };
}

function toRelease(row: Selectable<Database['releases']>): ReleaseRow {
  return {
    id: row.id,
    projectId: row.project_id,
    environmentId: row.environment_id,
    number: Number(row.number),
    kind: row.kind as ReleaseRow['kind'],
    state: row.state as ReleaseRow['state'],
    deploymentId: row.deployment_id,
    previousDeploymentId: row.previous_deployment_id,
    replacesReleaseId: row.replaces_release_id,
    reason: row.reason,
    forced: Number(row.forced) === 1,
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}

function fromRelease(row: ReleaseRow): Database['releases'] {
  return {
    id: row.id,
    project_id: row.projectId,
    environment_id: row.environmentId,
    number: row.number,
    kind: row.kind,
    state: row.state,
    deployment_id: row.deploymentId,
    previous_deployment_id: row.previousDeploymentId,
    replaces_release_id: row.replacesReleaseId,
    reason: row.reason,
    forced: row.forced ? 1 : 0,
    created_at: row.createdAt,
    created_by: row.createdBy,
  };
}

function toBranch(row: Selectable<Database['branches']>): BranchRow {
  return { projectId: row.project_id, name: row.name, head: row.head, updatedAt: row.updated_at };
}

function toBuild(row: Selectable<Database['builds']>): BuildRow {
  return {
    id: row.id,
    projectId: row.project_id,
    commitSha: row.commit_sha,
    ref: row.ref,
    branch: row.branch,
    state: row.state as BuildRow['state'],
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

function toDomain(row: Selectable<Database['domains']>): DomainRow {
  return {
    hostname: row.hostname,
    projectId: row.project_id,
    environment: row.environment,
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}

function toWebhookDelivery(row: Selectable<Database['webhook_deliveries']>): WebhookDeliveryRow {
  return {
    seq: Number(row.seq),
    provider: row.provider,
    projectId: row.project_id,
    deliveryId: row.delivery_id,
    push: row.push === null ? null : (JSON.parse(row.push) as WebhookDeliveryRow['push']),
    state: row.state as WebhookDeliveryRow['state'],
    receivedAt: row.received_at,
    processedAt: row.processed_at,
    builds: JSON.parse(row.builds) as string[],
    error: row.error,
  };
}
