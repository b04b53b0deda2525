import { sql } from 'kysely';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { GateVerdict } from '../../core/gates/index.ts';
import { OPEN_RELEASE_STATES } from '../../core/release-lifecycle.ts';
import type { ReleaseState } from '../../core/glossary.ts';
import { fromRelease, toEnvironment, toRelease, type EnvironmentRow, type ReleaseRow, type StoredPolicy } from './environments.ts';
import type { FamilyContext } from './family-context.ts';

/** What a release's move to live writes on its environment. */
export interface PointerTarget {
  deploymentId: string;
  releaseId: string;
  releaseNumber: number;
  pin: { by: string; at: string; reason: string | null } | null;
}

/** Release fields a transition may change besides the state. */
export type ReleaseChanges = Partial<
  Pick<ReleaseRow, 'state' | 'stateReason' | 'supersededBy' | 'gates' | 'recheckAt' | 'evaluatedAt' | 'liveAt' | 'endedAt'>
>;

/**
 * Pipelines: environment policies and the release lifecycle. Every state change is a
 * compare-and-set from the state the caller read; the pointer moves by compare-and-set on the
 * environment's release number.
 */
export interface PipelineStore {
  /**
   * Takes the project's pipeline for the rest of the caller's transaction: promotions,
   * rollbacks and evaluations of one project take turns instead of deadlocking on each other's
   * release rows. Take it before anything else the transaction writes for the project (a job
   * it enqueues is locked too). PostgreSQL locks the project's row — FOR NO KEY UPDATE, so rows
   * that merely reference the project (checks, events) are still written meanwhile; SQLite has
   * one writer already.
   */
  lockPipeline(projectId: string): Promise<void>;
  findEnvironmentById(id: string): Promise<EnvironmentRow | undefined>;
  /** Replaces the policy (null: none), its source, and the projects its `requires:` names. */
  setEnvironmentPolicy(environmentId: string, policy: StoredPolicy | null, source: string, at: string, requiredProjectIds: string[]): Promise<void>;
  /** Ids of projects with an environment whose `requires:` names `projectId`. */
  listProjectsRequiring(projectId: string): Promise<string[]>;
  /** The next release number of an environment (waiting releases take numbers too). */
  nextReleaseNumber(environmentId: string): Promise<number>;
  /** Inserts a new release; RELEASE_CONFLICT when its number was taken meanwhile. */
  insertRelease(row: ReleaseRow): Promise<void>;
  /** Moves a release from `from` (the state read) with its changes; false when it was not in `from` anymore. */
  transitionRelease(id: string, from: ReleaseState, changes: ReleaseChanges): Promise<boolean>;
  /** Records what the gates said of a release still in `state`; false when it moved meanwhile. */
  updateReleaseGates(id: string, state: ReleaseState, gates: GateVerdict, evaluatedAt: string, recheckAt: string | null, stateReason: string): Promise<boolean>;
  /** Compare-and-set of the pointer: moves only while the environment's release number is `expectedReleaseNumber`. */
  moveEnvironmentTo(environmentId: string, expectedReleaseNumber: number, target: PointerTarget): Promise<boolean>;
  /** Pins an environment where it is (its pointer stays), by compare-and-set on its release number; false when it moved meanwhile. */
  pinEnvironment(environmentId: string, expectedReleaseNumber: number, pin: { by: string; at: string; reason: string | null }): Promise<boolean>;
  /** What a release replaced, known only when it goes live. */
  setReleaseReplacement(id: string, previousDeploymentId: string | null, replacesReleaseId: string | null): Promise<void>;
  /** The release that was live in an environment at time `at`: the last to go live at or before it. */
  findReleaseLiveAt(environmentId: string, at: string): Promise<ReleaseRow | undefined>;
  /** The newest release of `deploymentId` in an environment, in any state. */
  findNewestReleaseOfDeployment(environmentId: string, deploymentId: string): Promise<ReleaseRow | undefined>;
  /** Open releases (pending, waiting, rolling out) of an environment, oldest first. */
  listOpenReleases(environmentId: string): Promise<ReleaseRow[]>;
  listOpenReleasesOfProject(projectId: string): Promise<ReleaseRow[]>;
  /** Projects with an open release: at start, each gets a look, so nothing waits without a job. */
  listProjectsWithOpenReleases(): Promise<string[]>;
  setProjectDefaultBranch(projectId: string, branch: string): Promise<void>;
  /** Succeeded builds (with their deployment) whose commit starts with `prefix` (hex only), newest first. */
  findBuiltCommits(projectId: string, prefix: string): Promise<{ commit: string; deploymentId: string; buildId: string }[]>;
}

/**
 * `state IN ('pending', 'waiting', 'rolling_out')` written with literals, in the order of the
 * partial indexes of migration 010: SQLite uses a partial index only when the query's terms
 * match its WHERE clause, and a bound parameter never does (it scanned every release instead).
 */
const isOpen = sql<boolean>`state in (${sql.join(OPEN_RELEASE_STATES.map((state) => sql.lit(state)))})`;

export function createPipelineStore({ db, dialect }: FamilyContext): PipelineStore {
  const json = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));
  return {
    async lockPipeline(projectId) {
      if (!dialect.capabilities.concurrentWriters) return;
      await db.selectFrom('projects').select('id').where('id', '=', projectId).forNoKeyUpdate().execute();
    },

    async findEnvironmentById(id) {
      const row = await db.selectFrom('environments').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toEnvironment(row);
    },

    async setEnvironmentPolicy(environmentId, policy, source, at, requiredProjectIds) {
      await db.updateTable('environments').set({ policy: json(policy), policy_source: source, policy_updated_at: at }).where('id', '=', environmentId).execute();
      await db.deleteFrom('environment_requirements').where('environment_id', '=', environmentId).execute();
      if (requiredProjectIds.length > 0) {
        await db
          .insertInto('environment_requirements')
          .values([...new Set(requiredProjectIds)].map((id) => ({ environment_id: environmentId, required_project_id: id })))
          .execute();
      }
    },

    async listProjectsRequiring(projectId) {
      const rows = await db
        .selectFrom('environment_requirements')
        .innerJoin('environments', 'environments.id', 'environment_requirements.environment_id')
        .select('environments.project_id')
        .distinct()
        .where('environment_requirements.required_project_id', '=', projectId)
        .execute();
      return rows.map((r) => r.project_id);
    },

    async nextReleaseNumber(environmentId) {
      const row = await db
        .selectFrom('releases')
        .select(sql<number | null>`max(number)`.as('max'))
        .where('environment_id', '=', environmentId)
        .executeTakeFirst();
      return Number(row?.max ?? 0) + 1;
    },

    async insertRelease(row) {
      try {
        await db.insertInto('releases').values(fromRelease(row)).execute();
      } catch (err) {
        if (dialect.isUniqueViolation(err)) {
          throw new SlipwayError(ErrorCode.RELEASE_CONFLICT, 'another release of this environment was made at the same moment; look again and retry', {
            number: row.number,
          });
        }
        throw err;
      }
    },

    async transitionRelease(id, from, changes) {
      const set: Record<string, unknown> = {};
      if (changes.state !== undefined) set.state = changes.state;
      if (changes.stateReason !== undefined) set.state_reason = changes.stateReason;
      if (changes.supersededBy !== undefined) set.superseded_by = changes.supersededBy;
      if (changes.gates !== undefined) set.gates = json(changes.gates);
      if (changes.recheckAt !== undefined) set.recheck_at = changes.recheckAt;
      if (changes.evaluatedAt !== undefined) set.evaluated_at = changes.evaluatedAt;
      if (changes.liveAt !== undefined) set.live_at = changes.liveAt;
      if (changes.endedAt !== undefined) set.ended_at = changes.endedAt;
      const result = await db.updateTable('releases').set(set).where('id', '=', id).where('state', '=', from).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async updateReleaseGates(id, state, gates, evaluatedAt, recheckAt, stateReason) {
      const result = await db
        .updateTable('releases')
        .set({ gates: json(gates), evaluated_at: evaluatedAt, recheck_at: recheckAt, state_reason: stateReason })
        .where('id', '=', id)
        .where('state', '=', state)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async moveEnvironmentTo(environmentId, expectedReleaseNumber, target) {
      const result = await db
        .updateTable('environments')
        .set({
          deployment_id: target.deploymentId,
          release_id: target.releaseId,
          release_number: target.releaseNumber,
          pinned_by: target.pin?.by ?? null,
          pinned_at: target.pin?.at ?? null,
          pinned_reason: target.pin?.reason ?? null,
        })
        .where('id', '=', environmentId)
        .where('release_number', '=', expectedReleaseNumber)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async pinEnvironment(environmentId, expectedReleaseNumber, pin) {
      const result = await db
        .updateTable('environments')
        .set({ pinned_by: pin.by, pinned_at: pin.at, pinned_reason: pin.reason })
        .where('id', '=', environmentId)
        .where('release_number', '=', expectedReleaseNumber)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async setReleaseReplacement(id, previousDeploymentId, replacesReleaseId) {
      await db.updateTable('releases').set({ previous_deployment_id: previousDeploymentId, replaces_release_id: replacesReleaseId }).where('id', '=', id).execute();
    },

    async findReleaseLiveAt(environmentId, at) {
      const row = await db
        .selectFrom('releases')
        .selectAll()
        .where('environment_id', '=', environmentId)
        .where('live_at', 'is not', null)
        .where('live_at', '<=', at)
        .orderBy('live_at', 'desc')
        .orderBy('number', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row && toRelease(row);
    },

    async findNewestReleaseOfDeployment(environmentId, deploymentId) {
      const row = await db
        .selectFrom('releases')
        .selectAll()
        .where('environment_id', '=', environmentId)
        .where('deployment_id', '=', deploymentId)
        .orderBy('number', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row && toRelease(row);
    },

    async listOpenReleases(environmentId) {
      const rows = await db.selectFrom('releases').selectAll().where('environment_id', '=', environmentId).where(isOpen).orderBy('number').execute();
      return rows.map(toRelease);
    },

    async listOpenReleasesOfProject(projectId) {
      const rows = await db.selectFrom('releases').selectAll().where('project_id', '=', projectId).where(isOpen).orderBy('number').execute();
      return rows.map(toRelease);
    },

    async listProjectsWithOpenReleases() {
      const rows = await db.selectFrom('releases').select('project_id').distinct().where(isOpen).execute();
      return rows.map((r) => r.project_id);
    },

    async findBuiltCommits(projectId, prefix) {
      if (!/^[0-9a-f]{1,40}$/.test(prefix)) return [];
      const rows = await db
        .selectFrom('builds')
        .select(['commit_sha', 'deployment_id', 'id'])
        .where('project_id', '=', projectId)
        .where('state', '=', 'succeeded')
        .where('deployment_id', 'is not', null)
        .where('commit_sha', 'like', `${prefix}%`)
        .orderBy('created_at', 'desc')
        .limit(20)
        .execute();
      return rows.map((r) => ({ commit: r.commit_sha, deploymentId: r.deployment_id ?? '', buildId: r.id }));
    },

    async setProjectDefaultBranch(projectId, branch) {
      await db.updateTable('projects').set({ default_branch: branch }).where('id', '=', projectId).execute();
    },
  };
}
