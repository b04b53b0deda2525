import { z } from 'zod';
import type { RolloutStep } from '../../../core/rollout-planner.ts';
import { AbortRolloutRequest, Rollout } from '../../../protocol/rollouts.ts';
import { abortRollout, getRolloutView, phaseStateOf, type RolloutView } from '../../services/rollouts.ts';
import type { HttpContext, Params } from '../context.ts';
import { parse } from '../parse.ts';
import type { RouteSpec } from '../route.ts';

const RolloutQuery = z.object({ environment: z.string().min(1).max(64).optional() });

export function rolloutRoutes({ deps }: HttpContext): RouteSpec[] {
  return [
    {
      method: 'GET',
      url: '/api/v1/projects/:project/releases/:release/rollout',
      summary: "A service release's rollout (id, or vN with ?environment=): each instance's step, the release phase and its log, why it stopped",
      query: RolloutQuery,
      response: Rollout,
      handler: async (request) => {
        const { project = '', release = '' } = request.params as Params;
        const query = parse(RolloutQuery, request.query);
        return presentRollout(await getRolloutView(deps, project, release, query.environment));
      },
    },
    {
      method: 'POST',
      url: '/api/v1/projects/:project/releases/:release/rollout/abort',
      summary:
        'Stop a running rollout with a reason: switched instances go back to the previous release, the release ends rolled_back (failed when none switched yet), the environment is pinned; audited as rollout.abort. Not running: ROLLOUT_NOT_RUNNING',
      body: AbortRolloutRequest,
      response: Rollout,
      handler: async (request, _reply, actor) => {
        const { project = '', release = '' } = request.params as Params;
        const body = parse(AbortRolloutRequest, request.body ?? {});
        return presentRollout(await abortRollout(deps, actor, project, release, body));
      },
    },
  ];
}

/** One line for where a rollout is. */
function phaseOf(view: RolloutView): string {
  const { rollout } = view;
  const steps = rollout.steps;
  const count = (names: string[]) => steps.filter((s) => names.includes(s.step)).length;
  switch (rollout.state) {
    case 'preparing': {
      const waiting = view.agents.filter((a) => a.retiredAt === null && a.lostAt === null && !a.prepared.includes(rollout.deploymentId) && a.currentDeploymentId !== rollout.deploymentId);
      if (waiting.length === 0) return 'agents are laying out the deployment';
      return `waiting for ${waiting.map((a) => a.name).join(', ')} to lay out ${rollout.deploymentId}`;
    }
    case 'release_phase':
      return `the release phase runs on ${view.releasePhaseAgentName ?? 'an agent'}`;
    case 'switching':
      return `${count(['in'])} of ${steps.length} switched; ${count(['draining'])} draining, ${count(['switching'])} starting`;
    case 'rolling_back':
      return `going back: ${count(['back'])} of ${count(['back', 'back_draining', 'back_switching'])} back on the previous release`;
    case 'done':
      return `done: ${count(['in'])} of ${steps.length} switched${count(['skipped']) > 0 ? ` (${count(['skipped'])} lost, skipped)` : ''}`;
    case 'failed':
      return 'failed: nobody switched';
    case 'rolled_back':
      return 'rolled back: every switched instance went back';
  }
}

/** Each instance's step; before the switching begins, every agent waits (pending) on what it runs. */
function stepsOf(view: RolloutView): RolloutStep[] {
  const { rollout } = view;
  if (rollout.steps.length > 0 || (rollout.state !== 'preparing' && rollout.state !== 'release_phase')) return rollout.steps;
  return view.agents
    .filter((a) => a.retiredAt === null)
    .map((a) => ({
      agent: a.id,
      name: a.name,
      from: a.currentReleaseId !== null && a.currentDeploymentId !== null ? { releaseId: a.currentReleaseId, deploymentId: a.currentDeploymentId } : null,
      step: 'pending',
      since: null,
    }));
}

export function presentRollout(view: RolloutView): Rollout {
  const { rollout, release } = view;
  const agents = new Map(view.agents.map((a) => [a.id, a]));
  return {
    release: { id: release.id, number: release.number, environment: view.environment, kind: release.kind, state: release.state, deployment: release.deploymentId },
    previous: rollout.previousReleaseId === null || rollout.previousDeploymentId === null ? null : { release: rollout.previousReleaseId, deployment: rollout.previousDeploymentId },
    state: rollout.state,
    phase: phaseOf(view),
    maxUnavailable: String(rollout.maxUnavailable),
    drainMs: rollout.drainMs,
    healthTimeoutMs: rollout.healthTimeoutMs,
    instances: stepsOf(view).map((step) => {
      const agent = agents.get(step.agent);
      return {
        agent: step.agent,
        name: step.name,
        from: step.from === null ? null : { release: step.from.releaseId, deployment: step.from.deploymentId },
        to: rollout.deploymentId,
        step: step.step,
        since: step.since,
        healthy: agent?.healthy ?? false,
        rotation: agent?.rotation ?? 'out',
        lost: agent ? agent.lostAt !== null : true,
        error: step.error ?? null,
      };
    }),
    releasePhase:
      rollout.releasePhaseAgentId === null
        ? null
        : {
            agent: rollout.releasePhaseAgentId,
            name: view.releasePhaseAgentName,
            state: phaseStateOf(rollout.releasePhaseState),
            exitCode: rollout.releasePhaseExitCode,
            log: rollout.releasePhaseLog,
          },
    reason: rollout.reason,
    startedAt: rollout.startedAt,
    updatedAt: rollout.updatedAt,
    endedAt: rollout.endedAt,
  };
}
