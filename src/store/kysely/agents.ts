import type { Selectable, Updateable } from 'kysely';
import type { AgentState, RolloutState, Rotation } from '../../core/glossary.ts';
import type { RolloutStep } from '../../core/rollout-planner.ts';
import type { Database } from '../schema.ts';
import { inTransaction, parseJson, type FamilyContext } from './family-context.ts';

/** A one-time token that enrolls one agent into one environment; the store keeps its sha256 only. */
export interface EnrollmentRow {
  id: string;
  projectId: string;
  environmentId: string;
  tokenHash: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  /** When an agent traded it for its credential; a used token never works again. */
  usedAt: string | null;
  agentId: string | null;
}

/** What an agent should have current and running (the protocol's AgentRun). */
export interface AgentRunAssignment {
  releaseId: string;
  releaseNumber: number;
  deploymentId: string;
}

/** What an agent should download and lay out without switching to it. */
export interface AgentPrepareAssignment {
  deploymentId: string;
}

/** The release command an agent should run once (the release phase) and report on. */
export interface AgentReleasePhaseAssignment {
  releaseId: string;
  deploymentId: string;
  command: string;
}

/** What the server asks of an agent; a key left out stays as it is, null clears it. */
export interface AgentAssignment {
  run?: AgentRunAssignment | null;
  prepare?: AgentPrepareAssignment | null;
  releasePhase?: AgentReleasePhaseAssignment | null;
}

/**
 * A host agent: one instance of its environment's service. The server writes run, prepare and
 * releasePhase (each change bumps rev) and rotation; the agent's reports write the rest.
 */
export interface AgentRow {
  id: string;
  projectId: string;
  environmentId: string;
  name: string;
  address: string;
  port: number;
  version: string;
  /** Its credential (a token of the role `agent`); revoked when the agent is retired. */
  tokenId: string;
  state: AgentState;
  currentReleaseId: string | null;
  currentDeploymentId: string | null;
  /** Deployment ids complete on its disk. */
  prepared: string[];
  healthy: boolean;
  pid: number | null;
  error: string | null;
  rotation: Rotation;
  drainingSince: string | null;
  rev: number;
  run: AgentRunAssignment | null;
  prepare: AgentPrepareAssignment | null;
  releasePhase: AgentReleasePhaseAssignment | null;
  lastSeenAt: string;
  /** Set when it missed two heartbeats; cleared when it is heard from again. */
  lostAt: string | null;
  enrolledAt: string;
  retiredAt: string | null;
}

/** What an agent's report sets: its own state, as it says it is. */
export type AgentReportFields = Pick<AgentRow, 'state' | 'currentReleaseId' | 'currentDeploymentId' | 'prepared' | 'healthy' | 'pid' | 'error' | 'version'> &
  Partial<Pick<AgentRow, 'address' | 'port'>>;

/** What a look at a rollout writes to its agents (AgentStore.setAgentChanges), by agent id. */
export interface AgentChanges {
  rotations?: ReadonlyMap<string, { rotation: Rotation; since: string | null }>;
  assignments?: ReadonlyMap<string, AgentAssignment>;
}

export type { RolloutStep } from '../../core/rollout-planner.ts';

/** A release rolling out onto its environment's agents; all of its progress is in this row. */
export interface RolloutRow {
  id: string;
  releaseId: string;
  projectId: string;
  environmentId: string;
  deploymentId: string;
  previousDeploymentId: string | null;
  previousReleaseId: string | null;
  state: RolloutState;
  /** Instances switched at once: a count, or a percentage of them (`"25%"`). */
  maxUnavailable: number | string;
  drainMs: number;
  healthTimeoutMs: number;
  releasePhaseAgentId: string | null;
  releasePhaseState: string | null;
  releasePhaseExitCode: number | null;
  releasePhaseLog: string | null;
  reason: string | null;
  startedAt: string;
  updatedAt: string;
  endedAt: string | null;
  steps: RolloutStep[];
}

export type RolloutChanges = Partial<Omit<RolloutRow, 'id' | 'releaseId' | 'projectId' | 'environmentId' | 'startedAt'>>;

export interface AgentStore {
  insertEnrollment(row: EnrollmentRow): Promise<void>;
  findEnrollmentByHash(tokenHash: string): Promise<EnrollmentRow | undefined>;
  /** Marks it used by `agentId` unless it was used already or has expired by `at`; false then (another enroll won). */
  useEnrollment(id: string, agentId: string, at: string): Promise<boolean>;

  insertAgent(row: AgentRow): Promise<void>;
  findAgent(id: string): Promise<AgentRow | undefined>;
  /** The agents of one environment that are not retired, lost ones included, oldest first. */
  listAgents(environmentId: string): Promise<AgentRow[]>;
  /** A project's agents, oldest first; retired ones only when asked. */
  listProjectAgents(projectId: string, options?: { retired?: boolean }): Promise<AgentRow[]>;
  /** What the edge may send requests to: healthy, rotation `in`, neither lost nor retired. */
  listRoutableAgents(environmentId: string): Promise<AgentRow[]>;
  /**
   * Sets what the agent should run, prepare, or run once, bumping rev; a key left out stays.
   * The new rev, or undefined for an agent that is gone or retired. Long-polls hear of it after
   * the commit (`onAgentsChanged`).
   */
  setAgentAssignment(agentId: string, assignment: AgentAssignment): Promise<number | undefined>;
  /** Sets its rotation (and when its draining began; null unless draining). */
  setAgentRotation(agentId: string, rotation: Rotation, drainingSince: string | null): Promise<void>;
  /**
   * A rollout's writes to its agents at once: the rotations, then the assignments, as
   * setAgentRotation and setAgentAssignment one by one would write them, in one statement per
   * distinct value (a batch of up to 500 agents each). Where rows are locked (PostgreSQL) all of
   * them are locked first, in id order, as touchAgents locks them, so the two never deadlock.
   * The new revs of the agents assigned (retired ones left out); long-polls hear of them after
   * the commit, in one call.
   */
  setAgentChanges(changes: AgentChanges): Promise<Map<string, number>>;
  /** An agent's report: its state as it says it is; it is seen now, and found again if it was lost. */
  recordAgentReport(agentId: string, fields: AgentReportFields, at: string): Promise<AgentRow | undefined>;
  /** A poll: the agent is seen now, and found again if it was lost. */
  touchAgent(agentId: string, at: string): Promise<void>;
  /**
   * Many polls at once: each agent is seen now (found again if it was lost); their rows as they
   * are then, in one statement per 500 agents. Retired and unknown agents are left out.
   */
  touchAgents(agentIds: readonly string[], at: string): Promise<AgentRow[]>;
  /**
   * Marks lost every agent not seen since `seenBefore` (not retired, not lost already): rotation
   * `out`. Returns them, so their environments' rollouts can look again.
   */
  markLostAgents(seenBefore: string, at: string): Promise<AgentRow[]>;
  /** Retires it (rotation out, bumps rev); false when it was retired already. */
  retireAgent(agentId: string, at: string): Promise<boolean>;

  insertRollout(row: RolloutRow): Promise<void>;
  findRollout(id: string): Promise<RolloutRow | undefined>;
  findRolloutByRelease(releaseId: string): Promise<RolloutRow | undefined>;
  /** The rollout of an environment that has not ended, if any (one at a time: releases queue). */
  findOpenRollout(environmentId: string): Promise<RolloutRow | undefined>;
  /** Rollouts not ended, oldest first (a restarted server resumes them). */
  listOpenRollouts(): Promise<RolloutRow[]>;
  /** Compare-and-set: applies `changes` only while the rollout is still in `fromState`; false when it moved. */
  updateRollout(id: string, fromState: RolloutState, changes: RolloutChanges): Promise<boolean>;

  /**
   * Calls `listener` with the agent's id after each commit that changed an agent's assignment
   * or retired one (at once outside a transaction; never for a rollback). In-process only:
   * agents polling other replicas find changes by reading again. Returns the unsubscribe.
   */
  onAgentsChanged(listener: (agentIds: readonly string[]) => void): () => void;
}

type AgentRecord = Selectable<Database['agents']>;
type RolloutRecord = Selectable<Database['rollouts']>;

function toEnrollment(row: Selectable<Database['agent_enrollments']>): EnrollmentRow {
  return {
    id: row.id,
    projectId: row.project_id,
    environmentId: row.environment_id,
    tokenHash: row.token_hash,
    createdBy: row.created_by,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    usedAt: row.used_at,
    agentId: row.agent_id,
  };
}

function jsonOrNull<T>(text: string | null): T | null {
  return text === null ? null : parseJson<T>(text);
}

function toAgent(row: AgentRecord): AgentRow {
  return {
    id: row.id,
    projectId: row.project_id,
    environmentId: row.environment_id,
    name: row.name,
    address: row.address,
    port: Number(row.port),
    version: row.version,
    tokenId: row.token_id,
    state: row.state as AgentState,
    currentReleaseId: row.current_release_id,
    currentDeploymentId: row.current_deployment_id,
    prepared: parseJson<string[]>(row.prepared),
    healthy: Number(row.healthy) === 1,
    pid: row.pid === null ? null : Number(row.pid),
    error: row.error,
    rotation: row.rotation as Rotation,
    drainingSince: row.draining_since,
    rev: Number(row.rev),
    run: jsonOrNull<AgentRunAssignment>(row.run),
    prepare: jsonOrNull<AgentPrepareAssignment>(row.prepare),
    releasePhase: jsonOrNull<AgentReleasePhaseAssignment>(row.release_phase),
    lastSeenAt: row.last_seen_at,
    lostAt: row.lost_at,
    enrolledAt: row.enrolled_at,
    retiredAt: row.retired_at,
  };
}

function maxUnavailableOf(text: string): number | string {
  return /^\d+$/.test(text) ? Number(text) : text;
}

function toRollout(row: RolloutRecord): RolloutRow {
  return {
    id: row.id,
    releaseId: row.release_id,
    projectId: row.project_id,
    environmentId: row.environment_id,
    deploymentId: row.deployment_id,
    previousDeploymentId: row.previous_deployment_id,
    previousReleaseId: row.previous_release_id,
    state: row.state as RolloutState,
    maxUnavailable: maxUnavailableOf(row.max_unavailable),
    drainMs: Number(row.drain_ms),
    healthTimeoutMs: Number(row.health_timeout_ms),
    releasePhaseAgentId: row.release_phase_agent_id,
    releasePhaseState: row.release_phase_state,
    releasePhaseExitCode: row.release_phase_exit_code === null ? null : Number(row.release_phase_exit_code),
    releasePhaseLog: row.release_phase_log,
    reason: row.reason,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
    endedAt: row.ended_at,
    steps: parseJson<RolloutStep[]>(row.steps),
  };
}

function rolloutColumns(changes: RolloutChanges): Updateable<Database['rollouts']> {
  const out: Updateable<Database['rollouts']> = {};
  if (changes.deploymentId !== undefined) out.deployment_id = changes.deploymentId;
  if (changes.previousDeploymentId !== undefined) out.previous_deployment_id = changes.previousDeploymentId;
  if (changes.previousReleaseId !== undefined) out.previous_release_id = changes.previousReleaseId;
  if (changes.state !== undefined) out.state = changes.state;
  if (changes.maxUnavailable !== undefined) out.max_unavailable = String(changes.maxUnavailable);
  if (changes.drainMs !== undefined) out.drain_ms = changes.drainMs;
  if (changes.healthTimeoutMs !== undefined) out.health_timeout_ms = changes.healthTimeoutMs;
  if (changes.releasePhaseAgentId !== undefined) out.release_phase_agent_id = changes.releasePhaseAgentId;
  if (changes.releasePhaseState !== undefined) out.release_phase_state = changes.releasePhaseState;
  if (changes.releasePhaseExitCode !== undefined) out.release_phase_exit_code = changes.releasePhaseExitCode;
  if (changes.releasePhaseLog !== undefined) out.release_phase_log = changes.releasePhaseLog;
  if (changes.reason !== undefined) out.reason = changes.reason;
  if (changes.updatedAt !== undefined) out.updated_at = changes.updatedAt;
  if (changes.endedAt !== undefined) out.ended_at = changes.endedAt;
  if (changes.steps !== undefined) out.steps = JSON.stringify(changes.steps);
  return out;
}

/** Agents named in one statement, at most. */
const ID_BATCH = 500;

/**
 * `ids` in batches of at most ID_BATCH, each padded (with its last id repeated, which changes
 * nothing in an `IN` list) to a power of two: SQLite keeps its statements prepared by SQL text,
 * and a few list lengths keep a few texts.
 */
function idBatches(ids: readonly string[]): string[][] {
  const unique = [...new Set(ids)].sort();
  const batches: string[][] = [];
  for (let i = 0; i < unique.length; i += ID_BATCH) {
    const batch = unique.slice(i, i + ID_BATCH);
    let size = 1;
    while (size < batch.length) size *= 2;
    const last = batch[batch.length - 1] as string;
    while (batch.length < size) batch.push(last);
    batches.push(batch);
  }
  return batches;
}

/** Groups ids by a key of what is written to them (one statement per group). */
function groupBy<T>(entries: Iterable<[string, T]>, keyOf: (value: T) => string): Map<string, { value: T; ids: string[] }> {
  const groups = new Map<string, { value: T; ids: string[] }>();
  for (const [id, value] of entries) {
    const key = keyOf(value);
    const group = groups.get(key);
    if (group) group.ids.push(id);
    else groups.set(key, { value, ids: [id] });
  }
  return groups;
}

function assignmentColumns(assignment: AgentAssignment): Updateable<Database['agents']> {
  const changes: Updateable<Database['agents']> = {};
  if (assignment.run !== undefined) changes.run = assignment.run === null ? null : JSON.stringify(assignment.run);
  if (assignment.prepare !== undefined) changes.prepare = assignment.prepare === null ? null : JSON.stringify(assignment.prepare);
  if (assignment.releasePhase !== undefined) changes.release_phase = assignment.releasePhase === null ? null : JSON.stringify(assignment.releasePhase);
  return changes;
}

/** The agents family over Kysely: enrollments, agents and rollouts; the same statements on SQLite and PostgreSQL. */
export function createAgentStore(ctx: FamilyContext): AgentStore {
  const { db } = ctx;
  const tellChanged = (agentIds: readonly string[]) =>
    ctx.afterCommit(() => {
      for (const listener of [...ctx.agentsChanged]) listener(agentIds);
    });
  const rowLocks = ctx.dialect.capabilities.skipLocked;
  /** Locks the rows of `ids` in id order, where rows are locked; in the caller's transaction. */
  const lockInOrder = async (tx: typeof db, ids: readonly string[]) => {
    if (!rowLocks) return;
    for (const batch of idBatches(ids)) await tx.selectFrom('agents').select('id').where('id', 'in', batch).orderBy('id').forUpdate().execute();
  };
  const live = () => db.selectFrom('agents').selectAll().where('retired_at', 'is', null);
  return {
    async insertEnrollment(row) {
      await db
        .insertInto('agent_enrollments')
        .values({
          id: row.id,
          project_id: row.projectId,
          environment_id: row.environmentId,
          token_hash: row.tokenHash,
          created_by: row.createdBy,
          created_at: row.createdAt,
          expires_at: row.expiresAt,
          used_at: row.usedAt,
          agent_id: row.agentId,
        })
        .execute();
    },

    async findEnrollmentByHash(tokenHash) {
      const row = await db.selectFrom('agent_enrollments').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
      return row && toEnrollment(row);
    },

    async useEnrollment(id, agentId, at) {
      const result = await db
        .updateTable('agent_enrollments')
        .set({ used_at: at, agent_id: agentId })
        .where('id', '=', id)
        .where('used_at', 'is', null)
        .where('expires_at', '>', at)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async insertAgent(row) {
      await db
        .insertInto('agents')
        .values({
          id: row.id,
          project_id: row.projectId,
          environment_id: row.environmentId,
          name: row.name,
          address: row.address,
          port: row.port,
          version: row.version,
          token_id: row.tokenId,
          state: row.state,
          current_release_id: row.currentReleaseId,
          current_deployment_id: row.currentDeploymentId,
          prepared: JSON.stringify(row.prepared),
          healthy: row.healthy ? 1 : 0,
          pid: row.pid,
          error: row.error,
          rotation: row.rotation,
          draining_since: row.drainingSince,
          rev: row.rev,
          run: row.run === null ? null : JSON.stringify(row.run),
          prepare: row.prepare === null ? null : JSON.stringify(row.prepare),
          release_phase: row.releasePhase === null ? null : JSON.stringify(row.releasePhase),
          last_seen_at: row.lastSeenAt,
          lost_at: row.lostAt,
          enrolled_at: row.enrolledAt,
          retired_at: row.retiredAt,
        })
        .execute();
      if (row.run !== null || row.prepare !== null || row.releasePhase !== null) tellChanged([row.id]);
    },

    async findAgent(id) {
      const row = await db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toAgent(row);
    },

    async listAgents(environmentId) {
      const rows = await live().where('environment_id', '=', environmentId).orderBy('enrolled_at').orderBy('id').execute();
      return rows.map(toAgent);
    },

    async listProjectAgents(projectId, options = {}) {
      let query = db.selectFrom('agents').selectAll().where('project_id', '=', projectId);
      if (options.retired !== true) query = query.where('retired_at', 'is', null);
      return (await query.orderBy('enrolled_at').orderBy('id').execute()).map(toAgent);
    },

    async listRoutableAgents(environmentId) {
      const rows = await live()
        .where('environment_id', '=', environmentId)
        .where('rotation', '=', 'in')
        .where('healthy', '=', 1)
        .where('lost_at', 'is', null)
        .orderBy('enrolled_at')
        .orderBy('id')
        .execute();
      return rows.map(toAgent);
    },

    async setAgentAssignment(agentId, assignment) {
      const changes = assignmentColumns(assignment);
      const row = await db
        .updateTable('agents')
        .set((eb) => ({ ...changes, rev: eb('rev', '+', 1) }))
        .where('id', '=', agentId)
        .where('retired_at', 'is', null)
        .returning('rev')
        .executeTakeFirst();
      if (!row) return undefined;
      tellChanged([agentId]);
      return Number(row.rev);
    },

    async setAgentChanges(changes) {
      const rotations = changes.rotations ?? new Map<string, { rotation: Rotation; since: string | null }>();
      const assignments = changes.assignments ?? new Map<string, AgentAssignment>();
      if (rotations.size === 0 && assignments.size === 0) return new Map();
      const revs = await inTransaction(db, async (tx) => {
        await lockInOrder(tx, [...rotations.keys(), ...assignments.keys()]);
        for (const { value, ids } of groupBy(rotations, (r) => `${r.rotation} ${r.since ?? ''}`).values()) {
          for (const batch of idBatches(ids)) {
            await tx.updateTable('agents').set({ rotation: value.rotation, draining_since: value.since }).where('id', 'in', batch).execute();
          }
        }
        const out = new Map<string, number>();
        for (const { value, ids } of groupBy(assignments, (a) => JSON.stringify(assignmentColumns(a))).values()) {
          const columns = assignmentColumns(value);
          for (const batch of idBatches(ids)) {
            const rows = await tx
              .updateTable('agents')
              .set((eb) => ({ ...columns, rev: eb('rev', '+', 1) }))
              .where('id', 'in', batch)
              .where('retired_at', 'is', null)
              .returning(['id', 'rev'])
              .execute();
            for (const row of rows) out.set(row.id, Number(row.rev));
          }
        }
        return out;
      });
      // After the commit of the caller's transaction, or of the one above.
      if (revs.size > 0) tellChanged([...revs.keys()]);
      return revs;
    },

    async setAgentRotation(agentId, rotation, drainingSince) {
      await db.updateTable('agents').set({ rotation, draining_since: drainingSince }).where('id', '=', agentId).execute();
    },

    async recordAgentReport(agentId, fields, at) {
      const row = await db
        .updateTable('agents')
        .set({
          state: fields.state,
          current_release_id: fields.currentReleaseId,
          current_deployment_id: fields.currentDeploymentId,
          prepared: JSON.stringify(fields.prepared),
          healthy: fields.healthy ? 1 : 0,
          pid: fields.pid,
          error: fields.error,
          version: fields.version,
          ...(fields.address === undefined ? {} : { address: fields.address }),
          ...(fields.port === undefined ? {} : { port: fields.port }),
          last_seen_at: at,
          lost_at: null,
        })
        .where('id', '=', agentId)
        .where('retired_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      return row && toAgent(row);
    },

    async touchAgent(agentId, at) {
      await db.updateTable('agents').set({ last_seen_at: at, lost_at: null }).where('id', '=', agentId).where('retired_at', 'is', null).execute();
    },

    async touchAgents(agentIds, at) {
      const out: AgentRow[] = [];
      for (const batch of idBatches(agentIds)) {
        const touch = (tx: typeof db) => tx.updateTable('agents').set({ last_seen_at: at, lost_at: null }).where('id', 'in', batch).where('retired_at', 'is', null).returningAll().execute();
        // One statement is atomic where rows are not locked; elsewhere the locks are taken in id order first.
        const rows = rowLocks ? await inTransaction(db, async (tx) => (await lockInOrder(tx, batch), touch(tx))) : await touch(db);
        for (const row of rows) out.push(toAgent(row));
      }
      return out;
    },

    async markLostAgents(seenBefore, at) {
      const rows = await db
        .updateTable('agents')
        .set({ lost_at: at, rotation: 'out', draining_since: null })
        .where('retired_at', 'is', null)
        .where('lost_at', 'is', null)
        .where('last_seen_at', '<', seenBefore)
        .returningAll()
        .execute();
      return rows.map(toAgent);
    },

    async retireAgent(agentId, at) {
      const result = await db
        .updateTable('agents')
        .set((eb) => ({ retired_at: at, rotation: 'out', draining_since: null, rev: eb('rev', '+', 1) }))
        .where('id', '=', agentId)
        .where('retired_at', 'is', null)
        .executeTakeFirst();
      const retired = Number(result.numUpdatedRows) === 1;
      if (retired) tellChanged([agentId]);
      return retired;
    },

    async insertRollout(row) {
      await db
        .insertInto('rollouts')
        .values({
          id: row.id,
          release_id: row.releaseId,
          project_id: row.projectId,
          environment_id: row.environmentId,
          deployment_id: row.deploymentId,
          previous_deployment_id: row.previousDeploymentId,
          previous_release_id: row.previousReleaseId,
          state: row.state,
          max_unavailable: String(row.maxUnavailable),
          drain_ms: row.drainMs,
          health_timeout_ms: row.healthTimeoutMs,
          release_phase_agent_id: row.releasePhaseAgentId,
          release_phase_state: row.releasePhaseState,
          release_phase_exit_code: row.releasePhaseExitCode,
          release_phase_log: row.releasePhaseLog,
          reason: row.reason,
          started_at: row.startedAt,
          updated_at: row.updatedAt,
          ended_at: row.endedAt,
          steps: JSON.stringify(row.steps),
        })
        .execute();
    },

    async findRollout(id) {
      const row = await db.selectFrom('rollouts').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toRollout(row);
    },

    async findRolloutByRelease(releaseId) {
      const row = await db.selectFrom('rollouts').selectAll().where('release_id', '=', releaseId).executeTakeFirst();
      return row && toRollout(row);
    },

    async findOpenRollout(environmentId) {
      const row = await db
        .selectFrom('rollouts')
        .selectAll()
        .where('environment_id', '=', environmentId)
        .where('ended_at', 'is', null)
        .orderBy('started_at')
        .orderBy('id')
        .executeTakeFirst();
      return row && toRollout(row);
    },

    async listOpenRollouts() {
      const rows = await db.selectFrom('rollouts').selectAll().where('ended_at', 'is', null).orderBy('started_at').orderBy('id').execute();
      return rows.map(toRollout);
    },

    async updateRollout(id, fromState, changes) {
      const columns = rolloutColumns(changes);
      if (Object.keys(columns).length === 0) {
        const row = await db.selectFrom('rollouts').select('id').where('id', '=', id).where('state', '=', fromState).executeTakeFirst();
        return row !== undefined;
      }
      const result = await db.updateTable('rollouts').set(columns).where('id', '=', id).where('state', '=', fromState).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    onAgentsChanged(listener) {
      const entry = (agentIds: readonly string[]) => listener(agentIds);
      ctx.agentsChanged.add(entry);
      return () => ctx.agentsChanged.delete(entry);
    },
  };
}
