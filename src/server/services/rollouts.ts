import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { RolloutPolicy } from '../../core/gates/index.ts';
import { isOpenRollout, MIN_DRAIN_MS, planRollout, TOLD_DRAIN_MS, type AgentFacts, type ReleasePhaseState, type ReleaseRef, type RolloutFacts } from '../../core/rollout-planner.ts';
import type { AgentRow, EnvironmentRow, ProjectRow, ReleaseRow, RolloutChanges, RolloutRow, Store } from '../../store/store.ts';
import type { Clock } from '../../core/clock.ts';
import { enqueueJob } from '../jobs/enqueue.ts';
import type { Actor } from '../../core/release-planner.ts';
import { requireRole } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { recordEvent } from './events.ts';
import { newId } from './ids.ts';
import { AUTOMATION, advanceEnvironment, completeGoLive, endRollingOut, policyOf } from './pipeline.ts';
import { getProject } from './projects.ts';
import { resolveRelease } from './release-ref.ts';

/**
 * Rollouts: a service's release goes out instance by instance (core/rollout-planner.ts has the
 * steps). `holdsForRollout` starts one where the pipeline would move the pointer; the
 * `rollout.advance` job (`advanceRollout`) looks at it again whenever an agent of its
 * environment reports, an agent is found lost, or a drain or health deadline passes, and
 * applies what the planner says in one transaction under the project's pipeline lock. All a
 * rollout knows is in its row, so a restarted server resumes it where it was. A person's abort
 * (`abortRollout`) is one such look that also stops it.
 */

/** How an abort's reason begins: the end of the rollout says who stopped it, not that it failed. */
const ABORTED_BY = 'aborted by ';

export function rolloutJobKey(releaseId: string): string {
  return `rollout:${releaseId}`;
}

/** Asks for a look at a release's rollout, now or at `runAt`; in the caller's transaction. */
export async function wakeRollout(store: Store, clock: Clock, releaseId: string, runAt?: string): Promise<void> {
  await enqueueJob(store, clock, 'rollout.advance', { releaseId }, { key: rolloutJobKey(releaseId), runAt: runAt === undefined ? undefined : new Date(runAt) });
}

/** A look at the open rollout of an environment, if any (an agent of it reported, or was found lost). */
export async function wakeRolloutsOf(store: Store, clock: Clock, environmentId: string): Promise<void> {
  const rollout = await store.findOpenRollout(environmentId);
  if (rollout) await wakeRollout(store, clock, rollout.releaseId);
}

function parseMaxUnavailable(stored: number | string): RolloutPolicy['maxUnavailable'] {
  if (typeof stored === 'number') return stored;
  return stored.endsWith('%') ? (stored as `${number}%`) : Number(stored);
}

/**
 * Called by the pipeline as a release enters `rolling_out`: a service's release (its
 * deployment's meta has `service`) in an environment with agents gets a rollout, which holds it
 * rolling_out until its instances run it; true then. False when it goes live at once: a static
 * site, or a service nobody runs yet. Runs in the caller's transaction (pipeline lock held).
 */
export async function holdsForRollout(deps: ServiceDeps, project: ProjectRow, env: EnvironmentRow, release: ReleaseRow): Promise<boolean> {
  const existing = await deps.store.findRolloutByRelease(release.id);
  if (existing) return existing.state !== 'done';
  const deployment = await deps.store.findDeployment(release.deploymentId);
  if (!deployment?.meta.service) return false;
  const agents = await deps.store.listAgents(env.id);
  if (agents.length === 0) return false;
  const other = await deps.store.findOpenRollout(env.id);
  if (other && other.releaseId !== release.id) {
    const running = await deps.store.findRelease(other.releaseId);
    throw new SlipwayError(
      ErrorCode.RELEASE_CONFLICT,
      `${env.name} is rolling out v${running?.number ?? '?'}; wait for it to end (slipway rollout v${running?.number ?? '?'} --env ${env.name} --watch), or abort it (--abort --reason …: switched instances go back), then retry`,
      { rollout: other.releaseId },
    );
  }
  const policy = policyOf(env).rollout;
  const now = deps.clock.now().toISOString();
  const row: RolloutRow = {
    id: newId('rol'),
    releaseId: release.id,
    projectId: project.id,
    environmentId: env.id,
    deploymentId: release.deploymentId,
    previousDeploymentId: env.deploymentId,
    previousReleaseId: env.releaseId,
    state: 'preparing',
    maxUnavailable: policy.maxUnavailable,
    drainMs: policy.drainMs,
    healthTimeoutMs: policy.healthTimeoutMs,
    releasePhaseAgentId: null,
    releasePhaseState: null,
    releasePhaseExitCode: null,
    releasePhaseLog: null,
    reason: null,
    startedAt: now,
    updatedAt: now,
    endedAt: null,
    steps: [],
  };
  await deps.store.insertRollout(row);
  await wakeRollout(deps.store, deps.clock, release.id);
  return true;
}

function factsOfAgent(agent: AgentRow): AgentFacts {
  return {
    id: agent.id,
    name: agent.name,
    lost: agent.lostAt !== null,
    state: agent.state,
    healthy: agent.healthy,
    error: agent.error,
    rotation: agent.rotation,
    current: agent.currentReleaseId !== null && agent.currentDeploymentId !== null ? { releaseId: agent.currentReleaseId, deploymentId: agent.currentDeploymentId } : null,
    prepared: agent.prepared,
    run: agent.run,
    prepare: agent.prepare,
    releasePhase: agent.releasePhase,
  };
}

export function phaseStateOf(state: string | null): ReleasePhaseState | null {
  return state === 'running' || state === 'succeeded' || state === 'failed' ? state : null;
}

function refOf(release: ReleaseRow): ReleaseRef {
  return { releaseId: release.id, releaseNumber: release.number, deploymentId: release.deploymentId };
}

/** The last line of a log worth showing in a reason. */
function lastLine(log: string | null): string | null {
  const line = (log ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .at(-1);
  return line === undefined ? null : line.slice(0, 200);
}

/**
 * The `rollout.advance` job: one look at a release's rollout. Idempotent: a look that finds
 * nothing new writes nothing. Agents are woken (the store's `onAgentsChanged`) once its
 * transaction commits.
 */
export async function advanceRollout(deps: ServiceDeps, releaseId: string, abort?: { actor: Actor; reason: string }): Promise<void> {
  const first = await deps.store.findRolloutByRelease(releaseId);
  if (!first || !isOpenRollout(first.state)) {
    if (abort && first) throw notRunning(first);
    return;
  }
  const rotated = await deps.store.transaction(async (tx) => {
    const scoped: ServiceDeps = { ...deps, store: tx };
    await tx.lockPipeline(first.projectId);
    const rollout = await tx.findRolloutByRelease(releaseId);
    if (abort && rollout && (!isOpenRollout(rollout.state) || rollout.state === 'rolling_back')) throw notRunning(rollout);
    if (!rollout || !isOpenRollout(rollout.state)) return false;
    const project = await tx.findProjectById(rollout.projectId);
    const env = await tx.findEnvironmentById(rollout.environmentId);
    const release = await tx.findRelease(rollout.releaseId);
    if (!project || !env || !release) return false;
    const deployment = await tx.findDeployment(rollout.deploymentId);
    const previous = rollout.previousReleaseId === null ? undefined : await tx.findRelease(rollout.previousReleaseId);
    const agents = await tx.listAgents(env.id);
    const command = release.kind === 'promote' ? (deployment?.meta.service?.release ?? null) : null;
    const facts: RolloutFacts = {
      state: rollout.state,
      release: refOf(release),
      previous: previous ? refOf(previous) : null,
      releaseCommand: command,
      // The phase deadlines are the environment's as they are now (the row keeps the rest).
      policy: { ...policyOf(env).rollout, maxUnavailable: parseMaxUnavailable(rollout.maxUnavailable), drainMs: rollout.drainMs, healthTimeoutMs: rollout.healthTimeoutMs },
      releasePhase: { agentId: rollout.releasePhaseAgentId, state: phaseStateOf(rollout.releasePhaseState), exitCode: rollout.releasePhaseExitCode },
      steps: rollout.steps,
      reason: rollout.reason,
      // Only a lease given (or the phase begun) writes the row during the release phase.
      phaseSince: rollout.state === 'release_phase' ? rollout.updatedAt : rollout.startedAt,
    };
    const now = deps.clock.now();
    const inFlight = deps.instanceLoad ? (agentId: string) => deps.instanceLoad?.inFlight(agentId) ?? 0 : undefined;
    // An instance leaves rotation in one look and switches in a later one, after this process's edge was told (below).
    const minDrainMs = deps.soleEdge === true && deps.routesChanged !== undefined ? TOLD_DRAIN_MS : MIN_DRAIN_MS;
    const stop = abort === undefined ? undefined : `${ABORTED_BY}${abort.actor.name}: ${abort.reason}`;
    const plan = planRollout({ rollout: facts, agents: agents.map(factsOfAgent), now, inFlight, minDrainMs, resumedAt: deps.startedAt, abort: stop });

    // A few statements for all agents (a promotion asks every agent to prepare at once).
    await tx.setAgentChanges({ rotations: plan.rotations, assignments: plan.assignments });
    const ended = !isOpenRollout(plan.state);
    // Only what this look changed is written: an agent's report of its release phase may have
    // landed since the read (it writes the release phase's outcome, and nothing else).
    const changes: RolloutChanges = {};
    if (plan.state !== rollout.state) changes.state = plan.state;
    if (JSON.stringify(plan.steps) !== JSON.stringify(rollout.steps)) changes.steps = plan.steps;
    if (plan.reason !== rollout.reason) changes.reason = plan.reason;
    if (plan.releasePhase.agentId !== rollout.releasePhaseAgentId) changes.releasePhaseAgentId = plan.releasePhase.agentId;
    if (plan.releasePhase.state !== rollout.releasePhaseState) changes.releasePhaseState = plan.releasePhase.state;
    if (ended) changes.endedAt = now.toISOString();
    if (Object.keys(changes).length > 0) {
      changes.updatedAt = now.toISOString();
      if (!(await tx.updateRollout(rollout.id, rollout.state, changes))) {
        throw new SlipwayError(ErrorCode.RELEASE_CONFLICT, `the rollout of v${release.number} changed while it was looked at; it is looked at again`, { release: release.id });
      }
    }
    if (abort) {
      await recordEvent(tx, now, abort.actor, 'rollout.abort', {
        projectId: project.id,
        environment: env.name,
        target: release.id,
        reason: abort.reason,
        before: { state: rollout.state },
        after: { state: plan.state, release: `v${release.number}` },
      });
    }
    if (plan.state !== rollout.state) {
      await recordEvent(tx, now, AUTOMATION, `rollout.${plan.state}`, {
        projectId: project.id,
        environment: env.name,
        target: release.id,
        reason: plan.reason,
        before: { state: rollout.state },
        after: { state: plan.state, release: `v${release.number}` },
      });
    }
    if (plan.state === 'done') {
      const actor = release.trigger === 'user' ? { name: release.createdBy, role: 'deployer' as const, trigger: release.trigger } : AUTOMATION;
      await completeGoLive(scoped, project, env, release, actor);
      await advanceEnvironment(scoped, project, env.id);
    } else if (plan.state === 'failed') {
      const why = plan.reason ?? 'the release phase failed';
      // An abort pins the environment (a person stopped it); so does a release phase past its
      // deadline, which may still run on its host: a person looks before another one starts.
      const stuckPhase = rollout.state === 'release_phase' && plan.releasePhase.state !== 'failed';
      if (stop !== undefined || stuckPhase) {
        const pin = `rollout of v${release.number} ${stop !== undefined ? why : `failed: ${why}`}`;
        await endRollingOut(scoped, project, env, release, 'failed', why, { by: stop !== undefined ? (abort?.actor.name ?? AUTOMATION.name) : AUTOMATION.name, at: now.toISOString(), reason: pin });
      } else {
        const line = rollout.state === 'release_phase' ? lastLine(rollout.releasePhaseLog) : null;
        await endRollingOut(scoped, project, env, release, 'failed', `${why}${line ? `: ${line}` : ''}`, null);
      }
    } else if (plan.state === 'rolled_back') {
      const reason = plan.reason ?? 'an instance failed';
      // An abort pinned the environment when it stopped the rollout (below).
      const aborted = reason.startsWith(ABORTED_BY);
      const why = `rollout of v${release.number} ${aborted ? reason : `failed: ${reason}`}`;
      await endRollingOut(scoped, project, env, release, 'rolled_back', why, aborted ? null : { by: AUTOMATION.name, at: now.toISOString(), reason: why });
    } else {
      if (abort) await pinForAbort(scoped, project, env, release, abort.actor, `rollout of v${release.number} ${plan.reason ?? ''}`);
      if (plan.wakeAt !== null) await wakeRollout(tx, deps.clock, release.id, plan.wakeAt);
    }
    return plan.rotations.size > 0;
  });
  // The store wakes long-polling agents after a commit that changed assignments; a rotation
  // that changed is this process's edge's to hear of at once (other replicas' edges read it
  // within their routing cache's age, which a drain's MIN_DRAIN_MS outlasts; with no other
  // replica, TOLD_DRAIN_MS covers this edge's routing reads in flight now).
  if (rotated) deps.routesChanged?.();
  deps.changes?.touch(first.projectId, ['releases', 'agents']);
}

/** An abort pins the environment at once, so automation sends nothing out before a person looked. */
async function pinForAbort(deps: ServiceDeps, project: ProjectRow, env: EnvironmentRow, release: ReleaseRow, actor: Actor, reason: string): Promise<void> {
  const pin = { by: actor.name, at: deps.clock.now().toISOString(), reason };
  if (!(await deps.store.pinEnvironment(env.id, env.releaseNumber, pin))) {
    throw new SlipwayError(ErrorCode.RELEASE_CONFLICT, `${env.name} moved while the rollout of v${release.number} was aborted; look again`, { release: release.id });
  }
  await recordEvent(deps.store, deps.clock.now(), actor, 'environment.pin', {
    projectId: project.id,
    environment: env.name,
    target: env.deploymentId ?? release.deploymentId,
    reason,
    before: { pinnedBy: env.pinnedBy },
    after: pin,
  });
}

function notRunning(rollout: RolloutRow): SlipwayError {
  const why = rollout.state === 'rolling_back' ? 'it is already going back' : rollout.state === 'done' ? 'it is done' : `it ended ${rollout.state.replace('_', ' ')}`;
  return new SlipwayError(ErrorCode.ROLLOUT_NOT_RUNNING, `the rollout is not running: ${why}`, { release: rollout.releaseId, state: rollout.state });
}

const MAX_REASON = 500;

/**
 * A person stops a running rollout (CodeDeploy's StopDeployment with rollback): switched
 * instances go back to the previous release and the release ends rolled_back; before any
 * switched, it ends failed. Either way the environment is pinned with the reason. Audited
 * `rollout.abort`. Not running (ended, or already going back) → ROLLOUT_NOT_RUNNING; of two
 * aborts at once, the pipeline lock lets one win and the other gets that code.
 */
export async function abortRollout(
  deps: ServiceDeps,
  actor: Actor,
  projectName: string,
  ref: string,
  input: { environment?: string | undefined; reason?: string | undefined },
): Promise<RolloutView> {
  requireRole(actor, 'deployer');
  const reason = input.reason?.replace(/\s+/g, ' ').trim() ?? '';
  if (reason === '') throw new SlipwayError(ErrorCode.REASON_REQUIRED, 'an abort needs a reason (--reason)');
  if (reason.length > MAX_REASON) throw new SlipwayError(ErrorCode.INVALID_REQUEST, `a reason is at most ${MAX_REASON} characters`, { length: reason.length });
  const view = await getRolloutView(deps, projectName, ref, input.environment);
  await advanceRollout(deps, view.release.id, { actor, reason });
  return getRolloutView(deps, projectName, view.release.id);
}

/** A rollout as the API shows it. */
export interface RolloutView {
  rollout: RolloutRow;
  release: ReleaseRow;
  environment: string;
  agents: AgentRow[];
  releasePhaseAgentName: string | null;
}

export async function getRolloutView(deps: ServiceDeps, projectName: string, ref: string, environmentName?: string): Promise<RolloutView> {
  const project = await getProject(deps, projectName);
  const release = await resolveRelease(deps.store, project, ref, environmentName);
  const rollout = await deps.store.findRolloutByRelease(release.id);
  if (!rollout) {
    const deployment = await deps.store.findDeployment(release.deploymentId);
    if (!deployment?.meta.service) {
      throw new SlipwayError(ErrorCode.NOT_A_SERVICE, `v${release.number} is a static site's release: it has no rollout (it went live at once)`, { release: release.id });
    }
    throw new SlipwayError(ErrorCode.ROLLOUT_NOT_FOUND, `v${release.number} has no rollout${release.state === 'live' || release.state === 'superseded' ? ' (no agent ran the environment when it went out)' : ''}`, {
      release: release.id,
    });
  }
  const env = await deps.store.findEnvironmentById(release.environmentId);
  const agents = await deps.store.listAgents(release.environmentId);
  const holder = agents.find((a) => a.id === rollout.releasePhaseAgentId);
  return { rollout, release, environment: env?.name ?? '', agents, releasePhaseAgentName: holder?.name ?? null };
}
