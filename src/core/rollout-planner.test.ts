import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_ROLLOUT } from './gates/types.ts';
import { MIN_DRAIN_MS, planRollout, TOLD_DRAIN_MS, type AgentFacts, type RolloutFacts, type RolloutPlan } from './rollout-planner.ts';

const V1 = { releaseId: 'rel-1', releaseNumber: 1, deploymentId: 'dpl-1' };
const V2 = { releaseId: 'rel-2', releaseNumber: 2, deploymentId: 'dpl-2' };
const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(T0 + ms);

function agent(id: string, rest: Partial<AgentFacts> = {}): AgentFacts {
  return {
    id,
    name: id,
    lost: false,
    state: 'idle',
    healthy: true,
    error: null,
    rotation: 'in',
    current: { releaseId: V1.releaseId, deploymentId: V1.deploymentId },
    prepared: [V1.deploymentId],
    run: V1,
    prepare: null,
    releasePhase: null,
    ...rest,
  };
}

function rollout(rest: Partial<RolloutFacts> = {}): RolloutFacts {
  return {
    state: 'preparing',
    release: V2,
    previous: V1,
    releaseCommand: null,
    policy: { ...DEFAULT_ROLLOUT, maxUnavailable: 1, drainMs: 1000, healthTimeoutMs: 5000 },
    releasePhase: { agentId: null, state: null, exitCode: null },
    steps: [],
    reason: null,
    phaseSince: at(0).toISOString(),
    ...rest,
  };
}

/** What the rollout's row and its agents look like once a plan is applied. */
function apply(facts: RolloutFacts, agents: AgentFacts[], plan: RolloutPlan): [RolloutFacts, AgentFacts[]] {
  const next = agents.map((a) => {
    const change = plan.assignments.get(a.id) ?? {};
    const rotation = plan.rotations.get(a.id)?.rotation ?? a.rotation;
    return { ...a, ...change, rotation };
  });
  return [{ ...facts, state: plan.state, steps: plan.steps, reason: plan.reason, releasePhase: plan.releasePhase }, next];
}

/** An agent that does what it is told at once: prepares, switches, and is healthy (unless `sick`). */
function obey(agents: AgentFacts[], sick = new Set<string>()): AgentFacts[] {
  return agents.map((a) => {
    if (a.lost) return a;
    const prepared = a.prepare ? [...new Set([...a.prepared, a.prepare.deploymentId])] : a.prepared;
    const current = a.run ? { releaseId: a.run.releaseId, deploymentId: a.run.deploymentId } : null;
    const bad = sick.has(a.id) && a.run?.releaseId === V2.releaseId;
    return { ...a, prepared, current, healthy: !bad, state: bad ? 'failed' : 'idle', error: bad ? 'health check failed' : null };
  });
}

test('a rollout prepares everyone, then switches in batches of maxUnavailable, draining each first', () => {
  let facts = rollout({ policy: { ...DEFAULT_ROLLOUT, maxUnavailable: 2, drainMs: 1000, healthTimeoutMs: 5000 } });
  let agents = [agent('a'), agent('b'), agent('c')];
  let plan = planRollout({ rollout: facts, agents, now: at(0) });
  assert.equal(plan.state, 'preparing');
  assert.deepEqual([...plan.assignments.keys()], ['a', 'b', 'c']);
  [facts, agents] = apply(facts, agents, plan);
  agents = obey(agents);
  plan = planRollout({ rollout: facts, agents, now: at(10) });
  assert.equal(plan.state, 'switching');
  assert.deepEqual(
    plan.steps.map((s) => s.step),
    ['draining', 'draining', 'pending'],
  );
  assert.equal(plan.rotations.get('a')?.rotation, 'draining');
  assert.equal(plan.assignments.size, 0, 'nobody switches before the drain');
  assert.equal(plan.wakeAt, at(1010).toISOString());
  [facts, agents] = apply(facts, agents, plan);
  plan = planRollout({ rollout: facts, agents, now: at(1010) });
  assert.deepEqual(
    plan.steps.map((s) => s.step),
    ['switching', 'switching', 'pending'],
  );
  assert.deepEqual(plan.assignments.get('a')?.run, V2);
  [facts, agents] = apply(facts, agents, plan);
  agents = obey(agents);
  plan = planRollout({ rollout: facts, agents, now: at(1100) });
  assert.deepEqual(
    plan.steps.map((s) => s.step),
    ['in', 'in', 'draining'],
  );
  assert.equal(plan.rotations.get('a')?.rotation, 'in');
  [facts, agents] = apply(facts, agents, plan);
  plan = planRollout({ rollout: facts, agents, now: at(2200) });
  [facts, agents] = apply(facts, agents, plan);
  agents = obey(agents);
  plan = planRollout({ rollout: facts, agents, now: at(2300) });
  assert.equal(plan.state, 'done');
  assert.equal(plan.wakeAt, null);
});

test('a drain ends early once the edge counts nothing in flight, but not before its routing cache moved on', () => {
  let facts = rollout({ state: 'switching' });
  let agents = [agent('a', { prepared: ['dpl-1', 'dpl-2'] })];
  const idle = () => 0;
  let plan = planRollout({ rollout: facts, agents, now: at(0), inFlight: idle });
  assert.equal(plan.steps[0]?.step, 'draining');
  assert.equal(plan.wakeAt, at(MIN_DRAIN_MS).toISOString());
  [facts, agents] = apply(facts, agents, plan);
  plan = planRollout({ rollout: facts, agents, now: at(MIN_DRAIN_MS - 1), inFlight: idle });
  assert.equal(plan.steps[0]?.step, 'draining', 'not before the routing cache moved on');
  plan = planRollout({ rollout: facts, agents, now: at(MIN_DRAIN_MS), inFlight: () => 3 });
  assert.equal(plan.steps[0]?.step, 'draining', 'not while requests are in flight');
  assert.ok(plan.wakeAt !== null && Date.parse(plan.wakeAt) > at(MIN_DRAIN_MS).getTime(), 'it looks again later');
  plan = planRollout({ rollout: facts, agents, now: at(MIN_DRAIN_MS), inFlight: idle });
  assert.equal(plan.steps[0]?.step, 'switching');
  // A server whose edge is the only one, told at once, needs no cache to move on: a shorter minimum.
  plan = planRollout({ rollout: facts, agents, now: at(TOLD_DRAIN_MS), inFlight: idle, minDrainMs: TOLD_DRAIN_MS });
  assert.equal(plan.steps[0]?.step, 'switching');
});

test('the release phase is leased to one agent, passed on when it is lost, and its failure switches nobody', () => {
  let facts = rollout({ state: 'release_phase', releaseCommand: 'migrate' });
  let agents = [agent('a', { prepared: ['dpl-2'] }), agent('b', { prepared: ['dpl-2'] })];
  let plan = planRollout({ rollout: facts, agents, now: at(0) });
  assert.equal(plan.releasePhase.agentId, 'a');
  assert.deepEqual([...plan.assignments.keys()], ['a']);
  assert.equal(plan.assignments.get('a')?.releasePhase?.command, 'migrate');
  [facts, agents] = apply(facts, agents, plan);
  assert.equal(planRollout({ rollout: facts, agents, now: at(5) }).assignments.size, 0, 'asked once');
  agents = agents.map((a) => (a.id === 'a' ? { ...a, lost: true } : a));
  plan = planRollout({ rollout: facts, agents, now: at(10) });
  assert.equal(plan.releasePhase.agentId, 'b');
  assert.equal(plan.assignments.get('a')?.releasePhase, null);
  assert.equal(plan.assignments.get('b')?.releasePhase?.releaseId, 'rel-2');
  [facts, agents] = apply(facts, agents, plan);
  facts = { ...facts, releasePhase: { agentId: 'b', state: 'failed', exitCode: 3 } };
  plan = planRollout({ rollout: facts, agents, now: at(20) });
  assert.equal(plan.state, 'failed');
  assert.match(plan.reason ?? '', /release phase failed on b \(exit 3\)/);
  assert.ok([...plan.assignments.values()].every((a) => a.run === undefined), 'nobody switched');
});

test('a lost agent counts as unavailable: batches shrink, and it is skipped', () => {
  let facts = rollout({ state: 'switching', policy: { ...DEFAULT_ROLLOUT, maxUnavailable: 2, drainMs: 0, healthTimeoutMs: 5000 } });
  let agents = [agent('a', { lost: true }), agent('b', { prepared: ['dpl-2'] }), agent('c', { prepared: ['dpl-2'] })];
  let plan = planRollout({ rollout: facts, agents, now: at(0) });
  assert.deepEqual(
    plan.steps.map((s) => s.step),
    ['pending', 'switching', 'pending'],
  );
  [facts, agents] = apply(facts, agents, plan);
  agents = obey(agents);
  plan = planRollout({ rollout: facts, agents, now: at(10) });
  assert.deepEqual(
    plan.steps.map((s) => s.step),
    ['pending', 'in', 'switching'],
  );
  [facts, agents] = apply(facts, agents, plan);
  agents = obey(agents);
  plan = planRollout({ rollout: facts, agents, now: at(20) });
  assert.equal(plan.state, 'done');
  assert.deepEqual(plan.assignments.get('a')?.run, V2, 'a lost agent runs the release when it returns');
});

test('an instance not healthy by the deadline sends every switched instance back, the healthy ones drained and in batches', () => {
  let facts = rollout({ state: 'switching', policy: { ...DEFAULT_ROLLOUT, maxUnavailable: 1, drainMs: 0, healthTimeoutMs: 5000 } });
  let agents = [agent('a', { prepared: ['dpl-2'] }), agent('b', { prepared: ['dpl-2'] }), agent('c', { prepared: ['dpl-2'] })];
  let plan = planRollout({ rollout: facts, agents, now: at(0) });
  [facts, agents] = apply(facts, agents, plan);
  agents = obey(agents);
  plan = planRollout({ rollout: facts, agents, now: at(10) });
  [facts, agents] = apply(facts, agents, plan);
  // b switches and never answers its health check
  agents = agents.map((a) => (a.id === 'b' ? { ...a, current: { releaseId: 'rel-2', deploymentId: 'dpl-2' }, healthy: false, state: 'health-checking' } : a));
  plan = planRollout({ rollout: facts, agents, now: at(4000) });
  assert.equal(plan.state, 'switching');
  assert.equal(plan.wakeAt, at(5011).toISOString());
  plan = planRollout({ rollout: facts, agents, now: at(5011) });
  assert.equal(plan.state, 'rolling_back');
  assert.match(plan.reason ?? '', /b was not healthy on v2 within 5 s/);
  // b is out of rotation already: it goes back at once; a, healthy on v2, waits its turn.
  assert.deepEqual(
    plan.steps.map((s) => s.step),
    ['in', 'back_switching', 'skipped'],
  );
  assert.deepEqual(plan.assignments.get('b')?.run, V1);
  assert.equal(plan.assignments.get('a'), undefined);
  [facts, agents] = apply(facts, agents, plan);
  agents = obey(agents);
  plan = planRollout({ rollout: facts, agents, now: at(5100) });
  assert.deepEqual(
    plan.steps.map((s) => s.step),
    ['back_switching', 'back', 'skipped'],
  );
  assert.deepEqual(plan.assignments.get('a')?.run, V1);
  [facts, agents] = apply(facts, agents, plan);
  agents = obey(agents);
  plan = planRollout({ rollout: facts, agents, now: at(5200) });
  assert.equal(plan.state, 'rolled_back');
});

test('an agent that reports failure on the new release stops the rollout at once', () => {
  let facts = rollout({ state: 'switching', policy: { ...DEFAULT_ROLLOUT, maxUnavailable: 1, drainMs: 0, healthTimeoutMs: 60_000 } });
  let agents = [agent('a', { prepared: ['dpl-2'] }), agent('b', { prepared: ['dpl-2'] })];
  const plan = planRollout({ rollout: facts, agents, now: at(0) });
  [facts, agents] = apply(facts, agents, plan);
  agents = obey(agents, new Set(['a']));
  const next = planRollout({ rollout: facts, agents, now: at(10) });
  assert.equal(next.state, 'rolling_back');
  assert.match(next.reason ?? '', /a failed on v2: health check failed/);
});

test('an instance lost while it switches is skipped, not waited for', () => {
  let facts = rollout({ state: 'switching', policy: { ...DEFAULT_ROLLOUT, maxUnavailable: 1, drainMs: 0, healthTimeoutMs: 5000 } });
  let agents = [agent('a', { prepared: ['dpl-2'] }), agent('b', { prepared: ['dpl-2'] })];
  let plan = planRollout({ rollout: facts, agents, now: at(0) });
  [facts, agents] = apply(facts, agents, plan);
  agents = agents.map((a) => (a.id === 'a' ? { ...a, lost: true } : a));
  plan = planRollout({ rollout: facts, agents, now: at(10) });
  assert.deepEqual(
    plan.steps.map((s) => s.step),
    ['skipped', 'switching'],
  );
  [facts, agents] = apply(facts, agents, plan);
  agents = obey(agents);
  plan = planRollout({ rollout: facts, agents, now: at(20) });
  assert.equal(plan.state, 'done');
});
