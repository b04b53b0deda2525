import { batchSize, type RolloutPolicy } from './gates/types.ts';
import type { RolloutState, Rotation } from './glossary.ts';

/**
 * The rollout of one release onto its environment's agents, as a pure planner: given the
 * rollout's row and what its agents say, `planRollout` answers what to write next (the
 * rollout's state and steps, each agent's assignment and rotation) and when to look again.
 * services/rollouts.ts reads the inputs, applies the plan in one transaction and queues the
 * next look (`rollout.advance`), so a restarted server resumes from the row alone.
 *
 * States of the rollout (each look may pass several):
 *   preparing     every agent not lost has the deployment laid out on disk (`prepare`); not
 *                 all of them by `prepareTimeoutMs` → failed, nobody switched;
 *   release_phase one agent (the lease holder; another when it is lost) runs the release
 *                 command once; it failed, or did not finish `releaseTimeoutMs` after its
 *                 lease was given → failed, nobody switched;
 *   switching     batches of `maxUnavailable` (lost agents count as unavailable), each
 *                 instance: draining (out of rotation, in-flight requests finish) → switching
 *                 (`run` = the new release) → in (healthy on it, back in rotation); one not
 *                 healthy by the deadline, or failed on the new release → rolling_back;
 *   rolling_back  every instance that switched gets the previous release back: one not
 *                 healthy on the new release at once, those healthy on it drained and in
 *                 batches like they came → rolled_back;
 *   done          every agent's `run` is the new release.
 *
 * A person's abort (`abort`) stops it like a failure does: before the switching → failed; while
 * switching → rolling_back. Deadlines count from `resumedAt` at the earliest: time the server
 * was down (nobody could report) does not count against the phase or batch in flight.
 *
 * Steps of one instance: pending → draining → switching → in, and while rolling back
 * (draining|switching|in) → back_draining → back_switching → back; `skipped` is an instance left
 * alone (lost, or never touched before a rollback), `kept` one drained but not switched when the
 * rollout stopped.
 */

export const ROLLOUT_STEPS = ['pending', 'draining', 'switching', 'in', 'back_draining', 'back_switching', 'back', 'kept', 'skipped'] as const;
export type RolloutStepName = (typeof ROLLOUT_STEPS)[number];

/**
 * The shortest drain: an edge's routing cache (src/edge/routing-table.ts, ROUTES_MAX_AGE_MS,
 * 200 ms) may still send an instance requests this long after it left rotation, plus a margin.
 */
export const MIN_DRAIN_MS = 300;
/**
 * The shortest drain when the only edge is the one of the process that took the instance out of
 * rotation, and was told so at once (a SQLite store: one server process): long enough for a
 * routing read begun before it was told to end, so whatever it routed counts as in flight.
 */
export const TOLD_DRAIN_MS = 50;
/** No deadline of a rollout is longer than this (a week), whatever a policy says. */
export const MAX_DEADLINE_MS = 7 * 24 * 3_600_000;
/** How often a drain asks the edge whether an instance still has requests in flight. */
export const DRAIN_POLL_MS = 250;

export interface ReleaseRef {
  releaseId: string;
  releaseNumber: number;
  deploymentId: string;
}

export interface RolloutStep {
  agent: string;
  name: string;
  /** What the instance ran when the rollout reached it. */
  from: { releaseId: string; deploymentId: string } | null;
  step: RolloutStepName;
  /** When the step began (ISO). */
  since: string | null;
  /** Why an instance failed the rollout, in one line. */
  error?: string | null | undefined;
}

export type ReleasePhaseState = 'running' | 'succeeded' | 'failed';

export interface RolloutFacts {
  state: RolloutState;
  release: ReleaseRef;
  /** What was live before (the rollback target); null when nothing was. */
  previous: ReleaseRef | null;
  /** The release command, when this rollout runs one (a promotion whose service declares `release:`). */
  releaseCommand: string | null;
  policy: RolloutPolicy;
  releasePhase: { agentId: string | null; state: ReleasePhaseState | null; exitCode: number | null };
  steps: RolloutStep[];
  reason: string | null;
  /** When the phase in flight began: the rollout's start while preparing, the last lease given during the release phase. */
  phaseSince: string;
}

/** One agent of the environment as the planner needs it (retired agents are left out by the caller). */
export interface AgentFacts {
  id: string;
  name: string;
  lost: boolean;
  state: string;
  healthy: boolean;
  error: string | null;
  rotation: Rotation;
  current: { releaseId: string; deploymentId: string } | null;
  prepared: string[];
  run: ReleaseRef | null;
  prepare: { deploymentId: string } | null;
  releasePhase: { releaseId: string; deploymentId: string; command: string } | null;
}

export interface Assignment {
  run?: ReleaseRef | null;
  prepare?: { deploymentId: string } | null;
  releasePhase?: { releaseId: string; deploymentId: string; command: string } | null;
}

export interface RolloutPlan {
  state: RolloutState;
  steps: RolloutStep[];
  reason: string | null;
  releasePhase: RolloutFacts['releasePhase'];
  /** Assignment changes, by agent id: only what differs from what the agent has. */
  assignments: Map<string, Assignment>;
  /** Rotation changes, by agent id; `draining` with the time it began. */
  rotations: Map<string, { rotation: Rotation; since: string | null }>;
  /** When to look again although nobody reports: a drain or a health deadline; null: only a report moves it. */
  wakeAt: string | null;
}

export interface PlanInput {
  rollout: RolloutFacts;
  agents: AgentFacts[];
  now: Date;
  /** Requests in flight at an instance, as the edge counts them; undefined when nobody counts. */
  inFlight?: ((agentId: string) => number) | undefined;
  /** How long a drain lasts at least, with nothing in flight (MIN_DRAIN_MS unless the caller knows better: TOLD_DRAIN_MS). */
  minDrainMs?: number | undefined;
  /** When this server began looking at rollouts: no deadline counts from earlier. */
  resumedAt?: Date | undefined;
  /** A person stops the rollout, with this reason (the caller checked it is running and not going back). */
  abort?: string | undefined;
}

export function isOpenRollout(state: RolloutState): boolean {
  return state === 'preparing' || state === 'release_phase' || state === 'switching' || state === 'rolling_back';
}

const sameRef = (a: ReleaseRef | null | undefined, b: ReleaseRef | null | undefined): boolean =>
  (a ?? null) === (b ?? null) || (a != null && b != null && a.releaseId === b.releaseId && a.deploymentId === b.deploymentId && a.releaseNumber === b.releaseNumber);

export function planRollout(input: PlanInput): RolloutPlan {
  const { now } = input;
  const nowIso = now.toISOString();
  const agents = new Map(input.agents.map((a) => [a.id, a]));
  const plan: RolloutPlan = {
    state: input.rollout.state,
    steps: input.rollout.steps.filter((s) => agents.has(s.agent)).map((s) => ({ ...s })),
    reason: input.rollout.reason,
    releasePhase: { ...input.rollout.releasePhase },
    assignments: new Map(),
    rotations: new Map(),
    wakeAt: null,
  };
  const { release, previous, policy } = input.rollout;
  /** What the agent will have once the plan is applied. */
  const assigned = (agent: AgentFacts): Required<Assignment> => ({
    run: agent.run,
    prepare: agent.prepare,
    releasePhase: agent.releasePhase,
    ...plan.assignments.get(agent.id),
  });
  const assign = (agent: AgentFacts, change: Assignment): void => {
    const now = assigned(agent);
    const diff: Assignment = {};
    if (change.run !== undefined && !sameRef(now.run, change.run)) diff.run = change.run;
    if (change.prepare !== undefined && (now.prepare?.deploymentId ?? null) !== (change.prepare?.deploymentId ?? null)) diff.prepare = change.prepare;
    if (change.releasePhase !== undefined && JSON.stringify(now.releasePhase) !== JSON.stringify(change.releasePhase)) diff.releasePhase = change.releasePhase;
    if (Object.keys(diff).length > 0) plan.assignments.set(agent.id, { ...plan.assignments.get(agent.id), ...diff });
  };
  const rotate = (agent: AgentFacts, rotation: Rotation): void => {
    const current = plan.rotations.get(agent.id)?.rotation ?? agent.rotation;
    if (current !== rotation) plan.rotations.set(agent.id, { rotation, since: rotation === 'draining' ? nowIso : null });
  };
  const wakeAt = (at: number): void => {
    const iso = new Date(Math.max(at, now.getTime())).toISOString();
    if (plan.wakeAt === null || iso < plan.wakeAt) plan.wakeAt = iso;
  };
  const elapsed = (since: string | null): number => (since === null ? Number.POSITIVE_INFINITY : now.getTime() - Date.parse(since));
  const resumed = input.resumedAt?.getTime() ?? Number.NEGATIVE_INFINITY;
  /** When a deadline counts from: the step's or phase's start, or the server's if it began later. */
  const deadlineFrom = (since: string | null): number => Math.max(since === null ? now.getTime() : Date.parse(since), resumed);
  /** Whether `ms` have passed since `since` (see deadlineFrom); if not, a look is asked for just after. */
  const overdue = (since: string | null, ms: number): boolean => {
    const from = deadlineFrom(since);
    const limit = Math.min(ms, MAX_DEADLINE_MS);
    if (now.getTime() - from > limit) return true;
    wakeAt(from + limit + 1);
    return false;
  };
  const minDrainMs = input.minDrainMs ?? MIN_DRAIN_MS;
  /** Drained: the drain time is over, or the edge says nothing is in flight and its routing cache has moved on. */
  const drained = (step: RolloutStep): boolean => {
    const spent = elapsed(step.since);
    if (spent >= policy.drainMs) return true;
    if (input.inFlight && spent >= minDrainMs && input.inFlight(step.agent) === 0) return true;
    const since = Date.parse(step.since ?? nowIso);
    if (!input.inFlight) wakeAt(since + policy.drainMs);
    else if (spent < minDrainMs) wakeAt(since + minDrainMs);
    else wakeAt(Math.min(since + policy.drainMs, now.getTime() + DRAIN_POLL_MS));
    return false;
  };
  const live = input.agents.filter((a) => !a.lost);
  const runs = (agent: AgentFacts, ref: { releaseId: string } | null): boolean => ref !== null && agent.current?.releaseId === ref.releaseId && agent.healthy;

  /** Lost instances count as unavailable; at least one moves at a time, or nothing would. */
  const freePlaces = (busySteps: RolloutStepName[]): number => {
    const size = batchSize(policy.maxUnavailable, plan.steps.length);
    const busy = plan.steps.filter((s) => busySteps.includes(s.step) && !agents.get(s.agent)?.lost).length;
    const lost = plan.steps.filter((s) => agents.get(s.agent)?.lost).length;
    const free = size - busy - lost;
    return busy === 0 && free < 1 ? 1 : free;
  };

  /**
   * Stops the rollout: an instance drained but not switched rejoins rotation; one switching
   * (out of rotation, not healthy on the new release) goes back at once; those healthy on the
   * new release go back in batches like they came (rolling_back), so capacity holds.
   */
  const rollBack = (why: string): void => {
    plan.state = 'rolling_back';
    plan.reason = why;
    for (const step of plan.steps) {
      const agent = agents.get(step.agent);
      if (!agent) continue;
      const switched = step.step === 'switching' || step.step === 'in' || sameRef(assigned(agent).run, release);
      if (step.step === 'draining' && !switched) {
        step.step = 'kept';
        rotate(agent, runs(agent, agent.current) ? 'in' : 'out');
      } else if (switched && agent.lost) {
        // It goes back whenever it returns; nothing waits for it.
        assign(agent, { run: previous });
        step.step = 'skipped';
      } else if (step.step === 'switching') {
        assign(agent, { run: previous });
        step.step = 'back_switching';
        step.since = nowIso;
      } else if (step.step === 'pending') {
        step.step = 'skipped';
      }
    }
  };

  if (input.abort !== undefined && isOpenRollout(plan.state) && plan.state !== 'rolling_back') {
    if (plan.state === 'switching') {
      rollBack(input.abort);
    } else {
      const holder = plan.releasePhase.agentId === null ? undefined : agents.get(plan.releasePhase.agentId);
      if (holder) assign(holder, { releasePhase: null });
      plan.state = 'failed';
      plan.reason = input.abort;
    }
  }

  for (let pass = 0; pass < 6; pass++) {
    const before = plan.state;
    switch (plan.state) {
      case 'preparing': {
        for (const agent of live) {
          if (agent.current?.deploymentId !== release.deploymentId) assign(agent, { prepare: { deploymentId: release.deploymentId } });
        }
        const waiting = live.filter((a) => !a.prepared.includes(release.deploymentId) && a.current?.deploymentId !== release.deploymentId);
        // Every agent lost: nothing to prepare on; the rollout waits for one to come back (until the deadline).
        if (live.length > 0 && waiting.length === 0) {
          plan.state = input.rollout.releaseCommand !== null ? 'release_phase' : 'switching';
        } else if (overdue(input.rollout.phaseSince, policy.prepareTimeoutMs)) {
          plan.state = 'failed';
          const who = waiting.length > 0 ? waiting.map((a) => a.name).join(', ') : 'no agent (every one is lost)';
          plan.reason = `${who} did not lay out ${release.deploymentId} within ${formatMs(policy.prepareTimeoutMs)}`;
        }
        break;
      }
      case 'release_phase': {
        const phase = plan.releasePhase;
        const command = input.rollout.releaseCommand ?? '';
        const holder = phase.agentId === null ? undefined : agents.get(phase.agentId);
        if (phase.state === 'succeeded') {
          if (holder) assign(holder, { releasePhase: null });
          plan.state = 'switching';
          break;
        }
        if (phase.state === 'failed') {
          if (holder) assign(holder, { releasePhase: null });
          plan.state = 'failed';
          plan.reason = `the release phase failed on ${holder?.name ?? phase.agentId ?? 'an agent'}${phase.exitCode === null ? '' : ` (exit ${phase.exitCode})`}`;
          for (const agent of input.agents) assign(agent, { prepare: null });
          break;
        }
        if (holder && !holder.lost) {
          // The lease was given in an earlier look (its deadline counts from then), or just now.
          const since = before === input.rollout.state ? input.rollout.phaseSince : nowIso;
          if (overdue(since, policy.releaseTimeoutMs)) {
            assign(holder, { releasePhase: null });
            plan.state = 'failed';
            plan.reason = `the release phase did not finish on ${holder.name} within ${formatMs(policy.releaseTimeoutMs)}`;
            for (const agent of input.agents) assign(agent, { prepare: null });
            break;
          }
          assign(holder, { releasePhase: { releaseId: release.releaseId, deploymentId: release.deploymentId, command } });
          break;
        }
        // The lease goes to another agent when its holder is lost (or retired).
        if (holder) assign(holder, { releasePhase: null });
        const next = live[0];
        plan.releasePhase = { agentId: next?.id ?? null, state: next ? 'running' : null, exitCode: null };
        if (next) {
          assign(next, { releasePhase: { releaseId: release.releaseId, deploymentId: release.deploymentId, command } });
          wakeAt(now.getTime() + Math.min(policy.releaseTimeoutMs, MAX_DEADLINE_MS) + 1);
        } else if (overdue(input.rollout.phaseSince, policy.releaseTimeoutMs)) {
          plan.state = 'failed';
          plan.reason = `no agent ran the release phase within ${formatMs(policy.releaseTimeoutMs)} (every one is lost)`;
          for (const agent of input.agents) assign(agent, { prepare: null });
        }
        break;
      }
      case 'switching': {
        if (plan.steps.length === 0 && input.rollout.steps.length === 0) {
          plan.steps = input.agents.map((a) => ({ agent: a.id, name: a.name, from: a.current, step: 'pending', since: null }));
        }
        let failure: string | null = null;
        for (const step of plan.steps) {
          const agent = agents.get(step.agent);
          if (!agent) continue;
          if (step.step === 'draining') {
            if (agent.lost) {
              step.step = 'skipped';
              continue;
            }
            if (!drained(step)) continue;
            assign(agent, { run: release, prepare: null });
            step.step = 'switching';
            step.since = nowIso;
          }
          if (step.step === 'switching') {
            if (agent.lost) {
              // Unavailable, not failed: it runs the release whenever it returns.
              step.step = 'skipped';
            } else if (runs(agent, release)) {
              step.step = 'in';
              step.since = nowIso;
              rotate(agent, 'in');
            } else if (agent.current?.releaseId === release.releaseId && agent.state === 'failed') {
              step.error = agent.error ?? 'failed on the new release';
              failure ??= `${agent.name} failed on v${release.releaseNumber}: ${step.error}`;
            } else if (overdue(step.since, policy.healthTimeoutMs)) {
              step.error = `not healthy on v${release.releaseNumber} within ${Math.round(policy.healthTimeoutMs / 1000)} s`;
              failure ??= `${agent.name} was ${step.error}`;
            }
          }
        }
        if (failure !== null) {
          rollBack(failure);
          break;
        }
        let free = freePlaces(['draining', 'switching']);
        for (const step of plan.steps) {
          if (free <= 0) break;
          const agent = agents.get(step.agent);
          if (step.step !== 'pending' || !agent || agent.lost) continue;
          if (runs(agent, release)) {
            step.step = 'in';
            step.since = nowIso;
            rotate(agent, 'in');
            continue;
          }
          free--;
          step.step = 'draining';
          step.from = agent.current;
          // An instance out of rotation has nothing to drain: it switches at once.
          if (agent.rotation === 'in') {
            step.since = nowIso;
            rotate(agent, 'draining');
          } else {
            step.since = new Date(now.getTime() - policy.drainMs).toISOString();
          }
          if (drained(step)) {
            assign(agent, { run: release, prepare: null });
            step.step = 'switching';
            step.since = nowIso;
            wakeAt(now.getTime() + policy.healthTimeoutMs + 1);
          }
        }
        const open = plan.steps.some((s) => s.step === 'draining' || s.step === 'switching' || (s.step === 'pending' && !agents.get(s.agent)?.lost));
        if (!open) {
          for (const step of plan.steps) if (step.step === 'pending') step.step = 'skipped';
          plan.state = 'done';
        }
        break;
      }
      case 'rolling_back': {
        for (const step of plan.steps) {
          const agent = agents.get(step.agent);
          if (!agent) continue;
          if (step.step === 'back_draining') {
            if (agent.lost) {
              assign(agent, { run: previous });
              step.step = 'skipped';
              continue;
            }
            if (!drained(step)) continue;
            assign(agent, { run: previous });
            step.step = 'back_switching';
            step.since = nowIso;
          }
          if (step.step === 'back_switching') {
            if (previous === null || runs(agent, previous)) {
              step.step = 'back';
              rotate(agent, previous === null ? 'out' : 'in');
            } else if (agent.lost) {
              step.step = 'skipped';
            } else if (overdue(step.since, policy.healthTimeoutMs)) {
              step.step = 'back';
              step.error = `not healthy on v${previous.releaseNumber} again within ${Math.round(policy.healthTimeoutMs / 1000)} s`;
              rotate(agent, 'out');
            }
          }
        }
        let free = freePlaces(['back_draining', 'back_switching']);
        for (const step of plan.steps) {
          const agent = agents.get(step.agent);
          if (step.step !== 'in' || !agent) continue;
          if (agent.lost) {
            assign(agent, { run: previous });
            step.step = 'skipped';
            continue;
          }
          if (free <= 0) continue;
          free--;
          step.step = 'back_draining';
          step.since = nowIso;
          rotate(agent, 'draining');
          if (drained(step)) {
            assign(agent, { run: previous });
            step.step = 'back_switching';
            step.since = nowIso;
            wakeAt(now.getTime() + policy.healthTimeoutMs + 1);
          }
        }
        if (!plan.steps.some((s) => s.step === 'back_draining' || s.step === 'back_switching' || s.step === 'in')) plan.state = 'rolled_back';
        break;
      }
      case 'done':
        // Every agent runs the new release from now on, those lost or enrolled meanwhile too.
        for (const agent of input.agents) assign(agent, { run: release, prepare: null, releasePhase: null });
        break;
      case 'failed':
      case 'rolled_back':
        for (const agent of input.agents) assign(agent, { prepare: null, releasePhase: null });
        break;
    }
    if (plan.state === before) break;
  }
  if (!isOpenRollout(plan.state)) plan.wakeAt = null;
  return plan;
}

/** `90 s`, `10 min`, `1.5 h`: a deadline in a reason. */
function formatMs(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 360_000) / 10} h`;
}
