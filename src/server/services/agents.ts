import { randomBytes } from 'node:crypto';
import { parseDuration } from '../../core/duration.ts';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { Actor } from '../../core/release-planner.ts';
import type { ServiceSpec } from '../../core/service-spec.ts';
import { controlUrl } from '../../core/urls.ts';
import type { AgentReport, AgentView, Assignment, Enrollment, EnrollRequest, Instance } from '../../protocol/agents.ts';
import type { AgentRow, EnvironmentRow, ProjectRow, ReleaseRow, Store } from '../../store/store.ts';
import { newEnvironmentRow } from '../../store/store.ts';
import { assertName } from '../../core/names.ts';
import { FreshLookup } from '../../edge/fresh-lookup.ts';
import { requireRole } from './access.ts';
import { getManifest } from './deployments.ts';
import type { ServiceDeps } from './deps.ts';
import { recordEvent } from './events.ts';
import { newId } from './ids.ts';
import { getProject } from './projects.ts';
import { wakeRollout, wakeRolloutsOf } from './rollouts.ts';
import { hashToken, newSecret } from './tokens.ts';

/**
 * Host agents, seen from the server: enrollment (a one-time token traded for the agent's own
 * credential), the assignment long-poll, reports, the files an agent may fetch, the `agents.sweep`
 * job that marks silent agents lost, and the management views (agents, instances).
 *
 * An agent's life: enrolled (run = the environment's live release, if it is a service) →
 * polling and reporting; lost when two heartbeats pass without a word (rotation out), found
 * again by its next poll or report → retired by an admin (its credential revoked). What it
 * should run is written by this file at enrollment and by rollouts (services/rollouts.ts).
 */

/** Report at least this often; two missed and the agent is lost. */
export const AGENT_HEARTBEAT_MS = 15_000;
/** Releases an agent keeps on disk. */
export const AGENT_KEEP = 5;
export const DEFAULT_ENROLLMENT_MS = 60 * 60_000;
export const MAX_ENROLLMENT_MS = 7 * 24 * 60 * 60_000;
/** Seconds a long-poll may wait, at most. */
export const MAX_POLL_WAIT_SECONDS = 30;

const ENROLLMENT_PREFIX = 'slw_enr_';

export function heartbeatMsOf(deps: ServiceDeps): number {
  return deps.agentHeartbeatMs ?? AGENT_HEARTBEAT_MS;
}

function enrollmentInvalid(): SlipwayError {
  // One answer for unknown, expired and used: the token's fate is not told to whoever holds it.
  return new SlipwayError(ErrorCode.ENROLLMENT_INVALID, 'the enrollment token is unknown, expired or used: make a new one with `slipway agents enroll`');
}

async function projectEnvironment(deps: ServiceDeps, projectName: string, envName: string, create: boolean): Promise<{ project: ProjectRow; environment: EnvironmentRow }> {
  const project = await getProject(deps, projectName);
  let environment = await deps.store.findEnvironment(project.id, envName);
  if (!environment && create) {
    assertName('environment', envName);
    environment = await deps.store.ensureEnvironment(newEnvironmentRow({ id: newId('env'), projectId: project.id, name: envName, createdAt: deps.clock.now().toISOString() }));
  }
  if (!environment || environment.retiredAt !== null) {
    throw new SlipwayError(ErrorCode.ENVIRONMENT_NOT_FOUND, `no environment "${envName}" in ${projectName}`, { environment: envName });
  }
  return { project, environment };
}

/**
 * An admin's one-time token for enrolling one agent into one environment (made if it does not
 * exist yet: hosts are often set up before the first deploy). Only its sha256 is stored.
 */
export async function createEnrollment(deps: ServiceDeps, actor: Actor, projectName: string, envName: string, input: { expiresIn?: string | undefined }): Promise<Enrollment> {
  requireRole(actor, 'admin');
  const lifetime = input.expiresIn === undefined ? DEFAULT_ENROLLMENT_MS : parseDuration(input.expiresIn);
  if (lifetime > MAX_ENROLLMENT_MS) {
    throw new SlipwayError(ErrorCode.INVALID_DURATION, 'an enrollment token lives at most 7d', { duration: input.expiresIn ?? null });
  }
  const { project, environment } = await projectEnvironment(deps, projectName, envName, true);
  const now = deps.clock.now();
  const token = ENROLLMENT_PREFIX + randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + lifetime).toISOString();
  const id = newId('enr');
  await deps.store.transaction(async (tx) => {
    await tx.insertEnrollment({
      id,
      projectId: project.id,
      environmentId: environment.id,
      tokenHash: hashToken(token),
      createdBy: actor.name,
      createdAt: now.toISOString(),
      expiresAt,
      usedAt: null,
      agentId: null,
    });
    await recordEvent(tx, now, actor, 'agent.enrollment', { projectId: project.id, environment: environment.name, target: id, after: { expiresAt } });
  });
  const server = controlUrl(deps.urls);
  return { token, expiresAt, command: `slipway agent --server ${server} --token ${token} --dir /srv/${project.name}` };
}

/**
 * Trades an enrollment token for an agent and its credential, once: two hosts racing with one
 * token get one agent. A new agent of an environment whose live release is a service is asked
 * to run it at once.
 */
export async function enrollAgent(deps: ServiceDeps, input: EnrollRequest): Promise<{ agent: AgentRow; project: ProjectRow; environment: EnvironmentRow; credential: string }> {
  const enrollment = await deps.store.findEnrollmentByHash(hashToken(input.token));
  const now = deps.clock.now();
  const at = now.toISOString();
  if (!enrollment || enrollment.usedAt !== null || Date.parse(enrollment.expiresAt) <= now.getTime()) throw enrollmentInvalid();
  const project = await deps.store.findProjectById(enrollment.projectId);
  const environment = await deps.store.findEnvironmentById(enrollment.environmentId);
  if (!project || project.deletedAt !== null || !environment || environment.retiredAt !== null) throw enrollmentInvalid();
  const credential = newSecret();
  const agentId = newId('agt');
  const tokenId = newId('tok');
  const agent = await deps.store.transaction(async (tx) => {
    await tx.insertToken({
      id: tokenId,
      name: `agent ${input.name}`,
      role: 'agent',
      hash: hashToken(credential),
      createdAt: at,
      createdBy: `enrollment ${enrollment.id}`,
      lastUsedAt: null,
      revokedAt: null,
      userId: null,
      projectId: project.id,
      expiresAt: null,
      agentId,
    });
    const row: AgentRow = {
      id: agentId,
      projectId: project.id,
      environmentId: environment.id,
      name: input.name,
      address: input.address,
      port: input.port,
      version: input.version,
      tokenId,
      state: 'idle',
      currentReleaseId: null,
      currentDeploymentId: null,
      prepared: [],
      healthy: false,
      pid: null,
      error: null,
      rotation: 'out',
      drainingSince: null,
      rev: 1,
      run: await steadyRun(tx, environment.id),
      prepare: null,
      releasePhase: null,
      lastSeenAt: at,
      lostAt: null,
      enrolledAt: at,
      retiredAt: null,
    };
    await tx.insertAgent(row);
    // Last, as the enrollment names the agent: a rival enroll with the same token waits here and finds it used.
    if (!(await tx.useEnrollment(enrollment.id, agentId, at))) throw enrollmentInvalid();
    const actor: Actor = { id: tokenId, name: `agent ${input.name}`, role: 'agent', trigger: 'automation', agentId };
    await recordEvent(tx, now, actor, 'agent.enroll', {
      projectId: project.id,
      environment: environment.name,
      target: agentId,
      after: { name: row.name, address: row.address, port: row.port, version: row.version, enrollment: enrollment.id },
    });
    return row;
  });
  return { agent, project, environment, credential };
}

/** What a new agent of an environment should run: its live release, when that is a service. */
async function steadyRun(store: Store, environmentId: string): Promise<AgentRow['run']> {
  const env = await store.findEnvironmentById(environmentId);
  if (!env?.releaseId || !env.deploymentId) return null;
  const deployment = await store.findDeployment(env.deploymentId);
  if (!deployment?.meta.service) return null;
  return { releaseId: env.releaseId, releaseNumber: env.releaseNumber, deploymentId: env.deploymentId };
}

/** The agent an agent's credential speaks for; AGENT_RETIRED once it was removed. */
export async function requireAgent(deps: ServiceDeps, actor: Actor): Promise<AgentRow> {
  requireRole(actor, 'agent');
  const agent = actor.agentId === undefined ? undefined : await deps.store.findAgent(actor.agentId);
  if (!agent) throw new SlipwayError(ErrorCode.AGENT_NOT_FOUND, 'this credential names no agent');
  if (agent.retiredAt !== null) throw new SlipwayError(ErrorCode.AGENT_RETIRED, `agent ${agent.id} was removed; enroll it again`, { agent: agent.id });
  return agent;
}

/**
 * The long-poll: answers at once when the agent's rev is above `after`, else when a commit of
 * this process changes its assignment (deps.agentsChanged, keyed by agent), else
 * when `wait` runs out, with the assignment as it is then. Another replica's change is seen by
 * the re-read at the timeout. The poll counts as a heartbeat, at its start and at its answer.
 * Undefined when the agent hung up, or the server stops.
 *
 * A change of many agents at once (a promotion asks every agent of the environment to prepare)
 * wakes all their polls in one turn: they share their reads and writes (`pollReads`), so a
 * thousand answers cost a few statements rather than a few thousand.
 */
export async function pollAssignment(deps: ServiceDeps, actor: Actor, query: { after: number; wait: number }, abort?: AbortSignal): Promise<Assignment | undefined> {
  let agent = await seenAgent(deps, actor);
  const deadline = Date.now() + Math.min(query.wait, MAX_POLL_WAIT_SECONDS) * 1000;
  while (agent.rev <= query.after && Date.now() < deadline && !abort?.aborted && !deps.agentsChanged.closed) {
    // Woken for this agent's changes only (the store names the agents a commit changed).
    await deps.agentsChanged.wait(deadline - Date.now(), abort, agent.id);
    // A server that stops cuts its connections: nothing more is read for an answer nobody gets.
    if (abort?.aborted || deps.agentsChanged.closed) return undefined;
    agent = await seenAgent(deps, actor);
  }
  return assignmentOf(deps, agent);
}

/**
 * Reads shared by the polls of one process. Each starts after whoever wants it asked (never a
 * read from before a poll woke), collecting everyone who asks in the same event-loop turn: the
 * agents' heartbeats and rows (one statement for the agents woken together), their projects and
 * environments (one read each per turn). Nothing is kept once a read is answered.
 */
interface PollReads {
  seen: TurnBatch<AgentRow>;
  project: FreshLookup<string, ProjectRow | undefined>;
  environment: FreshLookup<string, EnvironmentRow | undefined>;
}

const pollReadsOf = new WeakMap<ServiceDeps, PollReads>();

function pollReads(deps: ServiceDeps): PollReads {
  let reads = pollReadsOf.get(deps);
  if (reads === undefined) {
    reads = {
      seen: new TurnBatch(async (ids) => new Map((await deps.store.touchAgents(ids, deps.clock.now().toISOString())).map((a) => [a.id, a]))),
      project: new FreshLookup((id) => deps.store.findProjectById(id)),
      environment: new FreshLookup((id) => deps.store.findEnvironmentById(id)),
    };
    pollReadsOf.set(deps, reads);
  }
  return reads;
}

/** A poll's heartbeat: the agent is seen now (found again if it was lost); its row as it is then. */
async function seenAgent(deps: ServiceDeps, actor: Actor): Promise<AgentRow> {
  requireRole(actor, 'agent');
  const { agentId } = actor;
  // A stopping server reads at once, before its store closes, rather than on the next turn.
  if (agentId !== undefined && !deps.agentsChanged.closed) {
    // Retired or unknown: requireAgent says which.
    return (await pollReads(deps).seen.get(agentId)) ?? requireAgent(deps, actor);
  }
  const agent = await requireAgent(deps, actor);
  await deps.store.touchAgent(agent.id, deps.clock.now().toISOString());
  return agent;
}

/**
 * Collects the keys asked for during one event-loop turn and reads them together on the next
 * (setImmediate); keys asked for while a read runs go to the next read.
 */
class TurnBatch<V> {
  readonly #read: (keys: string[]) => Promise<Map<string, V>>;
  #pending: Map<string, { resolve: (value: V | undefined) => void; reject: (err: unknown) => void }[]> | undefined;

  constructor(read: (keys: string[]) => Promise<Map<string, V>>) {
    this.#read = read;
  }

  get(key: string): Promise<V | undefined> {
    if (this.#pending === undefined) {
      const pending = new Map<string, { resolve: (value: V | undefined) => void; reject: (err: unknown) => void }[]>();
      this.#pending = pending;
      setImmediate(() => {
        if (this.#pending === pending) this.#pending = undefined;
        this.#read([...pending.keys()]).then(
          (values) => {
            for (const [k, waiters] of pending) for (const w of waiters) w.resolve(values.get(k));
          },
          (err: unknown) => {
            for (const waiters of pending.values()) for (const w of waiters) w.reject(err);
          },
        );
      });
    }
    const pending = this.#pending;
    return new Promise((resolve, reject) => {
      const waiters = pending.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else pending.set(key, [{ resolve, reject }]);
    });
  }
}

/**
 * Service specs of deployments, read once: a deployment never changes, and a rollout wakes every
 * agent of it at once (they share the one read in flight).
 */
const serviceCache = new Map<string, Promise<ServiceSpec | null>>();
const SERVICE_CACHE_SIZE = 64;

function serviceSpecOf(deps: ServiceDeps, deploymentId: string): Promise<ServiceSpec | null> {
  const cached = serviceCache.get(deploymentId);
  if (cached !== undefined) return cached;
  const read = deps.store.findDeployment(deploymentId).then(
    (deployment) => {
      // A deployment not found yet is not remembered as having no service.
      if (deployment === undefined) serviceCache.delete(deploymentId);
      return deployment?.meta.service ?? null;
    },
    (err: unknown) => {
      serviceCache.delete(deploymentId);
      throw err;
    },
  );
  if (serviceCache.size >= SERVICE_CACHE_SIZE) serviceCache.delete(serviceCache.keys().next().value ?? '');
  serviceCache.set(deploymentId, read);
  return read;
}

export async function assignmentOf(deps: ServiceDeps, agent: AgentRow): Promise<Assignment> {
  const reads = pollReads(deps);
  const [project, environment] = await Promise.all([reads.project.get(agent.projectId), reads.environment.get(agent.environmentId)]);
  const serviceOf = agent.run?.deploymentId ?? agent.prepare?.deploymentId ?? agent.releasePhase?.deploymentId;
  const service = serviceOf === undefined ? null : await serviceSpecOf(deps, serviceOf);
  return {
    rev: agent.rev,
    agent: { id: agent.id, name: agent.name },
    project: project?.name ?? '',
    environment: environment?.name ?? '',
    run: agent.run,
    prepare: agent.prepare,
    releasePhase: agent.releasePhase,
    service,
    keep: AGENT_KEEP,
    heartbeatMs: heartbeatMsOf(deps),
    agentVersion: (await deps.agentVersion?.()) ?? null,
  };
}

/**
 * An agent's report of what it does. Stored as it says (it is seen now, and found again if it
 * was lost); the release phase's outcome goes to its rollout; the open rollout of its
 * environment is woken. With no rollout open, rotation follows health: an instance healthy on
 * what it should run joins the edge's rotation, an unhealthy one leaves it.
 */
export async function reportAgent(deps: ServiceDeps, actor: Actor, report: AgentReport): Promise<{ rev: number }> {
  const agent = await requireAgent(deps, actor);
  if (report.current !== null) {
    const release = await deps.store.findRelease(report.current.releaseId);
    if (!release || release.environmentId !== agent.environmentId || release.deploymentId !== report.current.deploymentId) {
      throw new SlipwayError(ErrorCode.RELEASE_NOT_FOUND, `no release ${report.current.releaseId} of deployment ${report.current.deploymentId} in this agent's environment`, {
        release: report.current.releaseId,
      });
    }
  }
  const now = deps.clock.now();
  let changed = false;
  const answer = await deps.store.transaction(async (tx) => {
    const updated = await tx.recordAgentReport(
      agent.id,
      {
        state: report.state,
        currentReleaseId: report.current?.releaseId ?? null,
        currentDeploymentId: report.current?.deploymentId ?? null,
        prepared: report.prepared,
        healthy: report.healthy,
        pid: report.pid,
        error: report.error ?? null,
        version: report.version,
        address: report.address,
        port: report.port,
      },
      now.toISOString(),
    );
    if (!updated) throw new SlipwayError(ErrorCode.AGENT_RETIRED, `agent ${agent.id} was removed; enroll it again`, { agent: agent.id });
    changed = reportChanged(agent, updated);
    if (report.releasePhase !== undefined) await recordReleasePhaseOutcome(tx, deps, updated, report.releasePhase);
    const rollout = await tx.findOpenRollout(updated.environmentId);
    if (rollout) {
      await wakeRollout(tx, deps.clock, rollout.releaseId);
    } else {
      const runsWhatItShould = updated.run !== null && updated.currentDeploymentId === updated.run.deploymentId && updated.state !== 'failed';
      if (updated.rotation === 'out' && updated.healthy && runsWhatItShould) await tx.setAgentRotation(updated.id, 'in', null);
      else if (updated.rotation === 'in' && !updated.healthy) await tx.setAgentRotation(updated.id, 'out', null);
    }
    return { rev: updated.rev };
  });
  // Dashboards hear of what a report changed, not of every heartbeat.
  if (changed) deps.changes?.touch(agent.projectId, ['agents', 'environments']);
  return answer;
}

/** Whether a report changed what a dashboard shows of the agent (its last-seen time aside). */
function reportChanged(before: AgentRow, after: AgentRow): boolean {
  const shown = (a: AgentRow) => [a.state, a.healthy, a.currentDeploymentId, a.error, a.version, a.lostAt === null, a.rotation];
  return JSON.stringify(shown(before)) !== JSON.stringify(shown(after));
}

/**
 * The release phase's outcome, recorded on the rollout whose release it was when this agent
 * still holds its lease (a late report of a lease given to another agent counts for nothing).
 */
async function recordReleasePhaseOutcome(tx: Store, deps: ServiceDeps, agent: AgentRow, result: NonNullable<AgentReport['releasePhase']>): Promise<void> {
  const rollout = await tx.findRolloutByRelease(result.releaseId);
  if (!rollout || rollout.environmentId !== agent.environmentId || rollout.state !== 'release_phase') return;
  if (rollout.releasePhaseAgentId !== agent.id || rollout.releasePhaseState !== 'running') return;
  await tx.updateRollout(rollout.id, 'release_phase', {
    releasePhaseState: result.ok ? 'succeeded' : 'failed',
    releasePhaseExitCode: result.exitCode,
    releasePhaseLog: result.log.slice(-64 * 1024),
    updatedAt: deps.clock.now().toISOString(),
  });
}

/**
 * Whether an agent may read a deployment: one of its project's that its environment has had a
 * release of, or that it is asked to run, prepare or run the release phase of. Another
 * environment's deployments (a preview's, say) stay out of its reach.
 */
async function agentMayRead(deps: ServiceDeps, agent: AgentRow, deploymentId: string): Promise<boolean> {
  const assigned = [agent.run?.deploymentId, agent.prepare?.deploymentId, agent.releasePhase?.deploymentId];
  if (assigned.includes(deploymentId)) return true;
  return (await deps.store.findLatestReleaseOfDeployment(agent.environmentId, deploymentId)) !== undefined;
}

async function agentDeployment(deps: ServiceDeps, agent: AgentRow, deploymentId: string) {
  const deployment = await deps.store.findDeployment(deploymentId);
  if (!deployment || deployment.projectId !== agent.projectId || !(await agentMayRead(deps, agent, deploymentId))) {
    throw new SlipwayError(ErrorCode.DEPLOYMENT_NOT_FOUND, `no deployment ${deploymentId} for this agent`, { deployment: deploymentId });
  }
  return deployment;
}

/** Manifests of deployments agents fetch from, parsed once: deployments never change. */
const manifestCache = new Map<string, Map<string, number>>();
const MANIFEST_CACHE_SIZE = 16;

async function sizesOf(deps: ServiceDeps, deployment: Awaited<ReturnType<typeof agentDeployment>>): Promise<Map<string, number>> {
  const cached = manifestCache.get(deployment.manifestDigest);
  if (cached) return cached;
  const sizes = new Map((await getManifest(deps, deployment)).map((f) => [f.sha256, f.size]));
  if (manifestCache.size >= MANIFEST_CACHE_SIZE) manifestCache.delete(manifestCache.keys().next().value ?? '');
  manifestCache.set(deployment.manifestDigest, sizes);
  return sizes;
}

/** A deployment as its agent fetches it: its files and how to run it. */
export async function getAgentDeployment(deps: ServiceDeps, actor: Actor, deploymentId: string) {
  const agent = await requireAgent(deps, actor);
  const deployment = await agentDeployment(deps, agent, deploymentId);
  return { id: deployment.id, manifestDigest: deployment.manifestDigest, service: deployment.meta.service ?? null, files: await getManifest(deps, deployment) };
}

/** A blob an agent may fetch: listed by the manifest of a deployment it may read. Its size, for Content-Length. */
export async function getAgentBlob(deps: ServiceDeps, actor: Actor, digest: string, deploymentId: string): Promise<{ digest: string; size: number }> {
  const agent = await requireAgent(deps, actor);
  const notFound = () => new SlipwayError(ErrorCode.BLOB_NOT_FOUND, `no blob ${digest} in deployment ${deploymentId}`, { digest, deployment: deploymentId });
  let deployment;
  try {
    deployment = await agentDeployment(deps, agent, deploymentId);
  } catch (err) {
    if (err instanceof SlipwayError && err.code === ErrorCode.DEPLOYMENT_NOT_FOUND) throw notFound();
    throw err;
  }
  const size = (await sizesOf(deps, deployment)).get(digest);
  if (size === undefined) throw notFound();
  return { digest, size };
}

/** Marks lost every agent silent for two heartbeats, and wakes the open rollouts of their environments. */
export async function sweepAgents(deps: ServiceDeps): Promise<AgentRow[]> {
  const now = deps.clock.now();
  // Nobody could report while this server was down: an agent is lost only after two heartbeats
  // missed while it was up (a restart mid-rollout would otherwise skip every instance switching).
  if (deps.startedAt !== undefined && now.getTime() - deps.startedAt.getTime() < 2 * heartbeatMsOf(deps)) return [];
  const seenBefore = new Date(now.getTime() - 2 * heartbeatMsOf(deps)).toISOString();
  return deps.store.transaction(async (tx) => {
    const lost = await tx.markLostAgents(seenBefore, now.toISOString());
    for (const environmentId of new Set(lost.map((a) => a.environmentId))) await wakeRolloutsOf(tx, deps.clock, environmentId);
    for (const agent of lost) {
      await recordEvent(tx, now, { name: 'slipway', role: 'deployer', trigger: 'automation' }, 'agent.lost', {
        projectId: agent.projectId,
        target: agent.id,
        before: { lastSeenAt: agent.lastSeenAt },
      });
    }
    return lost;
  });
}

/** A project's agents (retired ones left out), each with the environment and release it runs. */
export async function listAgents(deps: ServiceDeps, projectName: string): Promise<AgentView[]> {
  const project = await getProject(deps, projectName);
  return presentAgents(deps, project, await deps.store.listProjectAgents(project.id));
}

/** Retires an agent: out of rotation, its credential revoked, its long-poll answered. */
export async function removeAgent(deps: ServiceDeps, actor: Actor, projectName: string, agentId: string): Promise<AgentView> {
  requireRole(actor, 'admin');
  const project = await getProject(deps, projectName);
  const agent = await deps.store.findAgent(agentId);
  if (!agent || agent.projectId !== project.id) throw new SlipwayError(ErrorCode.AGENT_NOT_FOUND, `no agent ${agentId} in ${projectName}`, { agent: agentId });
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    if (!(await tx.retireAgent(agent.id, now.toISOString()))) return;
    await tx.revokeToken(agent.tokenId, now.toISOString());
    const environment = await tx.findEnvironmentById(agent.environmentId);
    await recordEvent(tx, now, actor, 'agent.remove', { projectId: project.id, environment: environment?.name ?? null, target: agent.id, before: { name: agent.name, address: agent.address, port: agent.port } });
    await wakeRolloutsOf(tx, deps.clock, agent.environmentId);
  });
  const [view] = await presentAgents(deps, project, [(await deps.store.findAgent(agent.id)) ?? agent]);
  if (!view) throw new Error(`agent ${agent.id} vanished`);
  return view;
}

/** The instances of a project's services (one per agent not retired), maybe of one environment. */
export async function listInstances(deps: ServiceDeps, projectName: string, envName?: string): Promise<Instance[]> {
  const project = await getProject(deps, projectName);
  let agents: AgentRow[];
  if (envName === undefined) {
    agents = await deps.store.listProjectAgents(project.id);
  } else {
    const { environment } = await projectEnvironment(deps, projectName, envName, false);
    agents = await deps.store.listAgents(environment.id);
  }
  return (await presentAgents(deps, project, agents)).map((a) => ({
    agent: a.id,
    name: a.name,
    environment: a.environment,
    address: a.address,
    port: a.port,
    current: a.current,
    healthy: a.healthy,
    rotation: a.rotation,
    lost: a.lost,
    lastSeenAt: a.lastSeenAt,
  }));
}

async function presentAgents(deps: ServiceDeps, project: ProjectRow, agents: AgentRow[]): Promise<AgentView[]> {
  const environments = new Map((await deps.store.listEnvironments(project.id)).map((e) => [e.id, e.name]));
  const releaseIds = [...new Set(agents.flatMap((a) => (a.currentReleaseId === null ? [] : [a.currentReleaseId])))];
  const releases = new Map<string, ReleaseRow>((await deps.store.findReleases(releaseIds)).map((r) => [r.id, r]));
  return agents.map((a) => ({
    id: a.id,
    name: a.name,
    environment: environments.get(a.environmentId) ?? '',
    address: a.address,
    port: a.port,
    version: a.version,
    state: a.state,
    current:
      a.currentReleaseId === null || a.currentDeploymentId === null
        ? null
        : { releaseId: a.currentReleaseId, releaseNumber: releases.get(a.currentReleaseId)?.number ?? null, deploymentId: a.currentDeploymentId },
    healthy: a.healthy,
    rotation: a.rotation,
    lost: a.lostAt !== null,
    lastSeenAt: a.lastSeenAt,
    enrolledAt: a.enrolledAt,
    retiredAt: a.retiredAt,
    error: a.error,
  }));
}
