import type { Selectable } from 'kysely';
import type { EnvironmentPolicy, GateVerdict } from '../../core/gates/index.ts';
import type { ReleaseKind, ReleaseState } from '../../core/glossary.ts';
import type { Database } from '../schema.ts';
import { parseJson, type FamilyContext, type Page } from './family-context.ts';

export interface EnvironmentRow {
  id: string;
  projectId: string;
  name: string;
  deploymentId: string | null;
  releaseId: string | null;
  /** Number of the current release; 0 before the first. Compare-and-set pointer moves check it. */
  releaseNumber: number;
  pinnedBy: string | null;
  pinnedAt: string | null;
  pinnedReason: string | null;
  lockedBy: string | null;
  /** Id of the actor holding the lock (a token's id); unlocking compares it, never the name. */
  lockedById: string | null;
  lockedAt: string | null;
  lockedReason: string | null;
  lockedUntil: string | null;
  /** Branch whose successful builds this environment moves to (a preview, or `follows:` in slipway.yaml). */
  follows: string | null;
  preview: boolean;
  retiredAt: string | null;
  createdAt: string;
  /** The policy in force (from, auto, checks, mode, max commits, requires); null when none was ever set. */
  policy: StoredPolicy | null;
  /** `commit <sha>` (slipway.yaml of the default branch) or `user <name>` (CLI/API). */
  policySource: string | null;
  policyUpdatedAt: string | null;
}

/** An environment's policy as stored: everything but `follows`, which has its own column. */
export type StoredPolicy = Omit<EnvironmentPolicy, 'follows'>;

/** The commits a release carries over what its environment ran: newest first, `base` excluded. */
export interface ReleaseBatch {
  base: string | null;
  commits: string[];
  /** History beyond what Slipway knows, or beyond the walk's limit. */
  truncated: boolean;
}

/** An environment that points nowhere yet, unpinned and unlocked. */
export function newEnvironmentRow(
  fields: Pick<EnvironmentRow, 'id' | 'projectId' | 'name' | 'createdAt'> & Partial<Pick<EnvironmentRow, 'follows' | 'preview'>>,
): EnvironmentRow {
  return {
    follows: null,
    preview: false,
    retiredAt: null,
    ...fields,
    deploymentId: null,
    releaseId: null,
    releaseNumber: 0,
    pinnedBy: null,
    pinnedAt: null,
    pinnedReason: null,
    lockedBy: null,
    lockedById: null,
    lockedAt: null,
    lockedReason: null,
    lockedUntil: null,
    policy: null,
    policySource: null,
    policyUpdatedAt: null,
  };
}

export interface ReleaseRow {
  id: string;
  projectId: string;
  environmentId: string;
  number: number;
  kind: ReleaseKind;
  state: ReleaseState;
  deploymentId: string;
  previousDeploymentId: string | null;
  replacesReleaseId: string | null;
  reason: string | null;
  forced: boolean;
  createdAt: string;
  createdBy: string;
  /** Id of who proposed it (a user's id, or a token's); null for automation and releases from before it was kept. */
  createdById: string | null;
  trigger: 'user' | 'automation';
  commitSha: string | null;
  branch: string | null;
  gates: GateVerdict | null;
  evaluatedAt: string | null;
  recheckAt: string | null;
  supersededBy: string | null;
  stateReason: string | null;
  liveAt: string | null;
  endedAt: string | null;
  batch: ReleaseBatch | null;
  /** A hotfix's release: no soak, no place in the queue, windows only where `expedite: allow` lets it (core/hotfix.ts). */
  expedited: boolean;
  /** The version of the environment's config vars it runs with; null: none. */
  configVersion: number | null;
}

/** A release with the lifecycle fields at their start (made by a person, nothing known of its commit or gates yet). */
export function newReleaseRow(
  fields: Pick<ReleaseRow, 'id' | 'projectId' | 'environmentId' | 'number' | 'kind' | 'state' | 'deploymentId' | 'createdAt' | 'createdBy'> & Partial<ReleaseRow>,
): ReleaseRow {
  return {
    previousDeploymentId: null,
    replacesReleaseId: null,
    reason: null,
    forced: false,
    createdById: null,
    trigger: 'user',
    commitSha: null,
    branch: null,
    gates: null,
    evaluatedAt: null,
    recheckAt: null,
    supersededBy: null,
    stateReason: null,
    liveAt: fields.state === 'live' ? fields.createdAt : null,
    endedAt: null,
    batch: null,
    expedited: false,
    configVersion: null,
    ...fields,
  };
}

export interface LockFields {
  lockedBy: string | null;
  lockedById: string | null;
  lockedAt: string | null;
  lockedReason: string | null;
  lockedUntil: string | null;
}

/** Environments (pointers at deployments) and the releases that moved them. */
export interface EnvironmentStore {
  /** Returns the environment, creating it (idempotently, race-safe) when absent. */
  ensureEnvironment(row: EnvironmentRow): Promise<EnvironmentRow>;
  findEnvironment(projectId: string, name: string): Promise<EnvironmentRow | undefined>;
  listEnvironments(projectId: string): Promise<EnvironmentRow[]>;
  /**
   * The edge's per-request lookup, in one query: the deployment an environment of a project
   * (by names) points at; null when the environment exists but points nowhere, undefined when
   * the project or environment does not exist.
   */
  findLiveDeploymentId(projectName: string, environment: string): Promise<string | null | undefined>;
  /** Environments currently pointing at a deployment. */
  listEnvironmentsOfDeployment(deploymentId: string): Promise<EnvironmentRow[]>;
  listEnvironmentsFollowing(projectId: string, branch: string): Promise<EnvironmentRow[]>;
  setEnvironmentFollow(environmentId: string, follows: string | null, preview: boolean): Promise<void>;
  retireEnvironment(environmentId: string, at: string | null): Promise<void>;
  /** Compare-and-set on the lock columns; returns false when the lock changed meanwhile. */
  updateLock(environmentId: string, expectedLockedAt: string | null, fields: LockFields): Promise<boolean>;
  findRelease(id: string): Promise<ReleaseRow | undefined>;
  /** The releases among `ids` that exist, in one query (a page of environments reads theirs at once). */
  findReleases(ids: readonly string[]): Promise<ReleaseRow[]>;
  findReleaseByNumber(environmentId: string, number: number): Promise<ReleaseRow | undefined>;
  listReleases(environmentId: string, page: Page): Promise<ReleaseRow[]>;
  /**
   * The newest `perEnvironment` releases of each environment of a project that is not retired,
   * newest first within each, in one query (each environment's walk uses its own index range).
   */
  listRecentReleasesOfProject(projectId: string, perEnvironment: number): Promise<ReleaseRow[]>;
  /** The newest release of this environment that put `deploymentId` live, if any. */
  findLatestReleaseOfDeployment(environmentId: string, deploymentId: string): Promise<ReleaseRow | undefined>;
  /** findLatestReleaseOfDeployment for many deployments at once (a page of releases judged together): by deployment id, absent when none went live here. */
  findLatestReleasesOfDeployments(environmentId: string, deploymentIds: readonly string[]): Promise<Map<string, ReleaseRow>>;
  /** The newest release of this environment that went live with another deployment than the current one (the default rollback target). */
  findPreviousDeploymentRelease(environmentId: string, currentDeploymentId: string | null): Promise<ReleaseRow | undefined>;
}

/** Ids per IN list: well under SQLite's and PostgreSQL's limits on bound parameters. */
const IN_CHUNK = 500;

export function createEnvironmentStore({ db }: FamilyContext): EnvironmentStore {
  const findEnvironment = async (projectId: string, name: string): Promise<EnvironmentRow | undefined> => {
    const row = await db.selectFrom('environments').selectAll().where('project_id', '=', projectId).where('name', '=', name).executeTakeFirst();
    return row && toEnvironment(row);
  };

  return {
    findEnvironment,

    async ensureEnvironment(row) {
      await db
        .insertInto('environments')
        .values(fromEnvironment(row))
        .onConflict((oc) => oc.columns(['project_id', 'name']).doNothing())
        .execute();
      const found = await findEnvironment(row.projectId, row.name);
      if (!found) throw new Error(`environment ${row.name} vanished after insert`);
      return found;
    },

    async listEnvironments(projectId) {
      const rows = await db.selectFrom('environments').selectAll().where('project_id', '=', projectId).orderBy('name').execute();
      return rows.map(toEnvironment);
    },

    async findLiveDeploymentId(projectName, environment) {
      const row = await db
        .selectFrom('environments')
        .innerJoin('projects', 'projects.id', 'environments.project_id')
        .select('environments.deployment_id')
        .where('projects.name', '=', projectName)
        .where('environments.name', '=', environment)
        .where('environments.retired_at', 'is', null)
        .executeTakeFirst();
      return row === undefined ? undefined : row.deployment_id;
    },

    async listEnvironmentsOfDeployment(deploymentId) {
      const rows = await db.selectFrom('environments').selectAll().where('deployment_id', '=', deploymentId).orderBy('name').execute();
      return rows.map(toEnvironment);
    },

    async listEnvironmentsFollowing(projectId, branch) {
      const rows = await db
        .selectFrom('environments')
        .selectAll()
        .where('project_id', '=', projectId)
        .where('follows', '=', branch)
        .orderBy('name')
        .execute();
      return rows.map(toEnvironment);
    },

    async setEnvironmentFollow(environmentId, follows, preview) {
      await db.updateTable('environments').set({ follows, preview: preview ? 1 : 0 }).where('id', '=', environmentId).execute();
    },

    async retireEnvironment(environmentId, at) {
      await db.updateTable('environments').set({ retired_at: at }).where('id', '=', environmentId).execute();
    },

    async updateLock(environmentId, expectedLockedAt, fields) {
      let query = db
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
    },

    async findRelease(id) {
      const row = await db.selectFrom('releases').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toRelease(row);
    },

    async findReleases(ids) {
      if (ids.length === 0) return [];
      const rows = await db.selectFrom('releases').selectAll().where('id', 'in', [...new Set(ids)]).execute();
      return rows.map(toRelease);
    },

    async findReleaseByNumber(environmentId, number) {
      const row = await db.selectFrom('releases').selectAll().where('environment_id', '=', environmentId).where('number', '=', number).executeTakeFirst();
      return row && toRelease(row);
    },

    async findLatestReleaseOfDeployment(environmentId, deploymentId) {
      const row = await db
        .selectFrom('releases')
        .selectAll()
        .where('environment_id', '=', environmentId)
        .where('deployment_id', '=', deploymentId)
        .where('live_at', 'is not', null)
        .orderBy('live_at', 'desc')
        .orderBy('number', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row && toRelease(row);
    },

    async findLatestReleasesOfDeployments(environmentId, deploymentIds) {
      const unique = [...new Set(deploymentIds)];
      const out = new Map<string, ReleaseRow>();
      for (let i = 0; i < unique.length; i += IN_CHUNK) {
        const rows = await db
          .selectFrom('releases')
          .selectAll()
          .where('environment_id', '=', environmentId)
          .where('deployment_id', 'in', unique.slice(i, i + IN_CHUNK))
          .where('live_at', 'is not', null)
          .orderBy('live_at', 'desc')
          .orderBy('number', 'desc')
          .execute();
        // Newest first: the first row of each deployment is its latest.
        for (const row of rows) if (!out.has(row.deployment_id)) out.set(row.deployment_id, toRelease(row));
      }
      return out;
    },

    async findPreviousDeploymentRelease(environmentId, currentDeploymentId) {
      // Only what went live here: a release that waited or failed never ran, so a rollback cannot return to it.
      let query = db.selectFrom('releases').selectAll().where('environment_id', '=', environmentId).where('live_at', 'is not', null);
      if (currentDeploymentId !== null) query = query.where('deployment_id', '!=', currentDeploymentId);
      const row = await query.orderBy('number', 'desc').limit(1).executeTakeFirst();
      return row && toRelease(row);
    },

    async listReleases(environmentId, page) {
      let query = db.selectFrom('releases').selectAll().where('environment_id', '=', environmentId);
      if (page.before !== undefined) query = query.where('number', '<', page.before);
      const rows = await query.orderBy('number', 'desc').limit(page.limit).execute();
      return rows.map(toRelease);
    },

    async listRecentReleasesOfProject(projectId, perEnvironment) {
      const rows = await db
        .selectFrom('environments as e')
        .innerJoin('releases as r', 'r.environment_id', 'e.id')
        .selectAll('r')
        .where('e.project_id', '=', projectId)
        .where('e.retired_at', 'is', null)
        // The number of the environment's perEnvironment-th newest release (none: all of them).
        .where((eb) =>
          eb(
            'r.number',
            '>=',
            eb.fn.coalesce(
              eb.selectFrom('releases as k').select('k.number').whereRef('k.environment_id', '=', 'e.id').orderBy('k.number', 'desc').limit(1).offset(perEnvironment - 1),
              eb.lit(0),
            ),
          ),
        )
        .orderBy('e.name')
        .orderBy('r.number', 'desc')
        .execute();
      return rows.map(toRelease);
    },
  };
}

export function toEnvironment(row: Selectable<Database['environments']>): EnvironmentRow {
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
    policy: row.policy === null ? null : parseJson<StoredPolicy>(row.policy),
    policySource: row.policy_source,
    policyUpdatedAt: row.policy_updated_at,
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
    policy: row.policy === null ? null : JSON.stringify(row.policy),
    policy_source: row.policySource,
    policy_updated_at: row.policyUpdatedAt,
  };
}

export function toRelease(row: Selectable<Database['releases']>): ReleaseRow {
  return {
    id: row.id,
    projectId: row.project_id,
    environmentId: row.environment_id,
    number: Number(row.number),
    kind: row.kind as ReleaseKind,
    state: row.state as ReleaseState,
    deploymentId: row.deployment_id,
    previousDeploymentId: row.previous_deployment_id,
    replacesReleaseId: row.replaces_release_id,
    reason: row.reason,
    forced: Number(row.forced) === 1,
    createdAt: row.created_at,
    createdBy: row.created_by,
    createdById: row.created_by_id ?? null,
    trigger: row.trigger === 'automation' ? 'automation' : 'user',
    commitSha: row.commit_sha,
    branch: row.branch,
    gates: row.gates === null ? null : parseJson<GateVerdict>(row.gates),
    evaluatedAt: row.evaluated_at,
    recheckAt: row.recheck_at,
    supersededBy: row.superseded_by,
    stateReason: row.state_reason,
    liveAt: row.live_at,
    endedAt: row.ended_at,
    batch: row.batch === null ? null : parseJson<ReleaseBatch>(row.batch),
    expedited: Number(row.expedited) === 1,
    configVersion: row.config_version === null || row.config_version === undefined ? null : Number(row.config_version),
  };
}

export function fromRelease(row: ReleaseRow): Database['releases'] {
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
    created_by_id: row.createdById,
    trigger: row.trigger,
    commit_sha: row.commitSha,
    branch: row.branch,
    gates: row.gates === null ? null : JSON.stringify(row.gates),
    evaluated_at: row.evaluatedAt,
    recheck_at: row.recheckAt,
    superseded_by: row.supersededBy,
    state_reason: row.stateReason,
    live_at: row.liveAt,
    ended_at: row.endedAt,
    batch: row.batch === null ? null : JSON.stringify(row.batch),
    expedited: row.expedited ? 1 : 0,
    config_version: row.configVersion,
  };
}
