import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_POLICY, type RolloutPolicy } from '../src/core/gates/index.ts';
import type { Deployment } from '../src/protocol/api.ts';
import type { Rollout } from '../src/protocol/rollouts.ts';
import { openStore } from '../src/store/open-store.ts';
import { rejectsWithCode } from './support/assert.ts';
import { backends } from './support/backends.ts';
import { slipway } from './support/cli.ts';
import { eventually } from './support/eventually.ts';
import { deployFiles, startTestServer, type TestServer } from './support/server.ts';
import { SimAgent, type SimBehaviour } from './support/sim-agent.ts';

/**
 * Rollouts end to end: a real server, and simulated agents speaking the real agent protocol
 * over HTTP (test/support/sim-agent.ts). Each case has its own project, so agents of one never
 * see another's releases.
 */

const SERVICE = { start: 'node server.js', port: 8080, health: '/healthz' };

function deployService(t: TestServer, project: string, body: string, release?: string): Promise<Deployment> {
  return deployFiles(t.client, project, { 'server.js': body }, { service: release === undefined ? SERVICE : { ...SERVICE, release } });
}

/** Sets an environment's rollout policy the way slipway.yaml's `rollout:` does, in the store. */
async function setRollout(t: TestServer, project: string, env: string, rollout: Partial<RolloutPolicy>): Promise<void> {
  const store = await openStore(t.databaseUrl);
  try {
    const projectRow = await store.findProjectByName(project);
    assert.ok(projectRow);
    const envRow = await store.findEnvironment(projectRow.id, env);
    assert.ok(envRow);
    const { follows: _follows, ...rest } = DEFAULT_POLICY;
    await store.setEnvironmentPolicy(envRow.id, { ...rest, ...(envRow.policy ?? {}), rollout: { ...DEFAULT_POLICY.rollout, ...rollout } }, 'user admin', new Date().toISOString(), []);
  } finally {
    await store.close();
  }
}

interface Fleet {
  agents: SimAgent[];
  v1: Deployment;
  stop(): Promise<void>;
}

/** A project whose production runs v1 of a service on `count` simulated agents, each healthy on it. */
async function fleet(t: TestServer, project: string, count: number, behaviour: (i: number) => SimBehaviour = () => ({}), rollout: Partial<RolloutPolicy> = {}): Promise<Fleet> {
  await t.client.createProject(project);
  const v1 = await deployService(t, project, 'v1');
  // No agent yet: the first release has nothing to roll out and goes live at once.
  const first = await t.client.promote(project, 'production', { deployment: v1.id });
  assert.equal(first.state, 'live');
  await setRollout(t, project, 'production', { drainMs: 100, healthTimeoutMs: 5_000, ...rollout });
  const url = () => `http://127.0.0.1:${t.server.port}`;
  const agents: SimAgent[] = [];
  for (let i = 0; i < count; i++) agents.push(await SimAgent.enroll(url, project, 'production', `host-${i + 1}`, behaviour(i)));
  await eventually('every agent runs v1 in rotation', async () => {
    const rows = await instances(t, project);
    return rows.length === count && rows.every((a) => a.current?.deploymentId === v1.id && a.healthy && a.rotation === 'in') ? true : undefined;
  });
  return { agents, v1, stop: async () => void (await Promise.all(agents.map((a) => a.stop()))) };
}

interface AgentListing {
  id: string;
  name: string;
  current: { deploymentId: string } | null;
  healthy: boolean;
  rotation: string;
  lost: boolean;
}

async function instances(t: TestServer, project: string): Promise<AgentListing[]> {
  const response = await fetch(`http://127.0.0.1:${t.server.port}/api/v1/projects/${project}/agents`, { headers: { authorization: 'Bearer slw_test_admin_token' } });
  assert.equal(response.status, 200);
  return ((await response.json()) as { agents: AgentListing[] }).agents;
}

async function rolloutOf(t: TestServer, project: string, release: string): Promise<Rollout> {
  return t.client.getRollout(project, release);
}

async function waitForRollout(t: TestServer, project: string, release: string, states: Rollout['state'][], ms = 30_000): Promise<Rollout> {
  return eventually(`the rollout of ${release} to be ${states.join(' or ')}`, async () => {
    const r = await rolloutOf(t, project, release);
    return states.includes(r.state) ? r : undefined;
  }, ms);
}

/** [run, healthy] of each agent's switch to `releaseId`, in the order they switched. */
function switches(agents: SimAgent[], releaseId: string): { name: string; run: number; healthy: number }[] {
  return agents
    .map((a) => ({ name: a.name, run: a.timesOf('run', releaseId)[0] ?? Number.NaN, healthy: a.timesOf('healthy', releaseId)[0] ?? Number.NaN }))
    .sort((x, y) => x.run - y.run);
}

for (const backend of backends) {
  describe(`rollouts on ${backend.name}`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend, { agentHeartbeatMs: 500 });
    });
    after(() => t.dispose());

    test('a promotion rolls out in batches of max_unavailable; each instance drains first; the pointer moves when all run it', async () => {
      const f = await fleet(t, 'batches', 3, () => ({ switchMs: 150 }), { maxUnavailable: 1 });
      try {
        const v2 = await deployService(t, 'batches', 'v2');
        const release = await t.client.promote('batches', 'production', { deployment: v2.id });
        assert.equal(release.state, 'rolling_out');
        assert.equal((await t.client.getEnvironment('batches', 'production')).deployment, f.v1.id, 'the pointer waits for the rollout');
        const done = await waitForRollout(t, 'batches', release.id, ['done', 'failed', 'rolled_back']);
        assert.equal(done.state, 'done', done.reason ?? '');
        assert.deepEqual(
          done.instances.map((i) => i.step),
          ['in', 'in', 'in'],
        );
        const order = switches(f.agents, release.id);
        for (let i = 1; i < order.length; i++) {
          const [prev, next] = [order[i - 1], order[i]];
          assert.ok(prev && next && next.run >= prev.healthy, `${next?.name} switched before ${prev?.name} was healthy again: one at a time`);
        }
        const live = await t.client.getRelease('batches', release.id);
        assert.equal(live.state, 'live');
        assert.equal((await t.client.getEnvironment('batches', 'production')).deployment, v2.id);
        for (const a of await instances(t, 'batches')) assert.equal(a.rotation, 'in');

        // Two at a time: the third waits for one of the first two.
        await setRollout(t, 'batches', 'production', { maxUnavailable: 2, drainMs: 100, healthTimeoutMs: 5_000 });
        const v3 = await deployService(t, 'batches', 'v3');
        const cli = await slipway(t, ['promote', v3.id, '--project', 'batches', '--env', 'production']);
        assert.equal(cli.code, 0, cli.stderr);
        assert.match(cli.stdout, new RegExp(`production v${release.number + 1} rollout started: ${v3.id} \\(was ${v2.id}\\)`));
        assert.match(cli.stdout, /watch it: slipway rollout v\d+ --env production --watch/);
        const third = await t.client.getRelease('batches', `v${release.number + 1}`, 'production');
        assert.equal((await waitForRollout(t, 'batches', third.id, ['done', 'failed', 'rolled_back'])).state, 'done');
        const pairs = switches(f.agents, third.id);
        const [a, b, c] = pairs;
        assert.ok(a && b && c);
        assert.ok(b.run < a.healthy, 'the first two switch together');
        assert.ok(c.run >= Math.min(a.healthy, b.healthy), 'the third waits for a free place');
      } finally {
        await f.stop();
      }
    });

    test('the release phase runs exactly once, before anyone switches, even with three agents', async () => {
      const f = await fleet(t, 'phase', 3);
      try {
        const v2 = await deployService(t, 'phase', 'v2', 'node migrate.js');
        const release = await t.client.promote('phase', 'production', { deployment: v2.id });
        const done = await waitForRollout(t, 'phase', release.id, ['done', 'failed', 'rolled_back']);
        assert.equal(done.state, 'done', done.reason ?? '');
        const runs = f.agents.flatMap((a) => a.timesOf('release-phase', release.id));
        assert.equal(runs.length, 1, 'one agent ran the release phase');
        const firstSwitch = Math.min(...f.agents.flatMap((a) => a.timesOf('run', release.id)));
        assert.ok((runs[0] ?? Infinity) <= firstSwitch, 'before any instance switched');
        assert.equal(done.releasePhase?.state, 'succeeded');
        assert.equal(done.releasePhase?.exitCode, 0);

        // A rollback switches back, runs no release phase, and says what it leaves as it is.
        const cli = await slipway(t, ['rollback', '--project', 'phase', '--env', 'production']);
        assert.equal(cli.code, 0, cli.stderr);
        assert.match(cli.stdout, new RegExp(`production v${release.number + 1} rollout started: rollback to ${f.v1.id} \\(was ${v2.id}\\)`));
        assert.match(cli.stdout, new RegExp(`the database stays as v${release.number}'s release phase left it`));
        const back = await t.client.getRelease('phase', `v${release.number + 1}`, 'production');
        const watched = await slipway(t, ['rollout', `v${back.number}`, '--project', 'phase', '--env', 'production', '--watch']);
        assert.equal(watched.code, 0, watched.stdout + watched.stderr);
        assert.match(watched.stdout, /rollout: done — done: 3 of 3 switched/);
        const undone = await rolloutOf(t, 'phase', back.id);
        assert.equal(undone.state, 'done');
        assert.equal(undone.releasePhase, null);
        assert.equal(f.agents.flatMap((a) => a.timesOf('release-phase')).length, 1);
        assert.equal((await t.client.getEnvironment('phase', 'production')).deployment, f.v1.id);
      } finally {
        await f.stop();
      }
    });

    test('a failing release phase fails the release with its log; nobody switches', async () => {
      const f = await fleet(t, 'migrate', 2, () => ({ releasePhase: () => ({ exitCode: 3, log: 'applying 042_orders\nERROR: column "total" already exists\n' }) }));
      try {
        const v2 = await deployService(t, 'migrate', 'v2', 'node migrate.js');
        const release = await t.client.promote('migrate', 'production', { deployment: v2.id });
        const failed = await waitForRollout(t, 'migrate', release.id, ['done', 'failed', 'rolled_back']);
        assert.equal(failed.state, 'failed');
        assert.equal(failed.releasePhase?.exitCode, 3);
        assert.match(failed.releasePhase?.log ?? '', /column "total" already exists/);
        const shown = await t.client.getRelease('migrate', release.id);
        assert.equal(shown.state, 'failed');
        assert.match(shown.stateReason ?? '', /release phase failed on host-\d \(exit 3\): ERROR: column "total" already exists/);
        for (const a of f.agents) assert.deepEqual(a.timesOf('run', release.id), [], `${a.name} never switched`);
        const cli = await slipway(t, ['rollout', release.id, '--project', 'migrate', '--watch']);
        assert.equal(cli.code, 9, 'a watch of a failed rollout exits 9');
        assert.match(cli.stdout, /release phase on host-\d: failed \(exit 3\)/);
        assert.match(cli.stdout, /\| ERROR: column "total" already exists/);
        assert.equal((await t.client.getEnvironment('migrate', 'production')).deployment, f.v1.id);
        for (const a of await instances(t, 'migrate')) assert.equal(a.rotation, 'in');
      } finally {
        await f.stop();
      }
    });

    test('a failed health check sends switched instances back: the release is rolled back, the environment pinned with the reason', async () => {
      // host-2 cannot run v2; host-1 switches first (one at a time) and has to go back.
      let v2Id = '';
      const f = await fleet(t, 'health', 3, (i) => ({ health: (d) => (i === 1 && d === v2Id ? 'failed' : 'healthy') }));
      try {
        const v2 = await deployService(t, 'health', 'v2');
        v2Id = v2.id;
        const release = await t.client.promote('health', 'production', { deployment: v2.id });
        const back = await waitForRollout(t, 'health', release.id, ['done', 'failed', 'rolled_back']);
        assert.equal(back.state, 'rolled_back');
        assert.match(back.reason ?? '', /host-2 failed on v\d+: health check of .* failed/);
        const [one, two, three] = f.agents;
        assert.ok(one && two && three);
        assert.equal(one.timesOf('run', release.id).length, 1, 'host-1 switched');
        assert.equal(one.current?.deploymentId, f.v1.id, 'and went back');
        assert.equal(two.current?.deploymentId, f.v1.id, 'host-2 went back');
        assert.deepEqual(three.timesOf('run', release.id), [], 'host-3 never switched');
        const shown = await t.client.getRelease('health', release.id);
        assert.equal(shown.state, 'rolled_back');
        const env = await t.client.getEnvironment('health', 'production');
        assert.equal(env.deployment, f.v1.id, 'the pointer never moved');
        assert.equal(env.pin?.by, 'slipway');
        assert.match(env.pin?.reason ?? '', /^rollout of v\d+ failed: host-2 failed/);
        await eventually('every instance back in rotation', async () => ((await instances(t, 'health')).every((a) => a.rotation === 'in' && a.healthy) ? true : undefined));
      } finally {
        await f.stop();
      }
    });

    test('an instance that never gets healthy stops the rollout at the health deadline', async () => {
      let v2Id = '';
      const f = await fleet(t, 'deadline', 2, () => ({ health: (d) => (d === v2Id ? 'hang' : 'healthy') }), { healthTimeoutMs: 800 });
      try {
        const v2 = await deployService(t, 'deadline', 'v2');
        v2Id = v2.id;
        const release = await t.client.promote('deadline', 'production', { deployment: v2.id });
        const back = await waitForRollout(t, 'deadline', release.id, ['done', 'failed', 'rolled_back']);
        assert.equal(back.state, 'rolled_back');
        assert.match(back.reason ?? '', /host-1 was not healthy on v\d+ within 1 s/);
        for (const a of f.agents) assert.equal(a.current?.deploymentId, f.v1.id);
      } finally {
        await f.stop();
      }
    });

    test('a lost agent counts as unavailable: the others switch one at a time, it is skipped and runs the release when it returns', async () => {
      const f = await fleet(t, 'lost', 3, () => ({ switchMs: 150 }), { maxUnavailable: 2 });
      try {
        const [gone, ...rest] = f.agents;
        assert.ok(gone);
        await gone.stop();
        await eventually('the silent agent to be lost', async () => ((await instances(t, 'lost')).find((a) => a.id === gone.id)?.lost ? true : undefined), 20_000);
        const v2 = await deployService(t, 'lost', 'v2');
        const release = await t.client.promote('lost', 'production', { deployment: v2.id });
        const done = await waitForRollout(t, 'lost', release.id, ['done', 'failed', 'rolled_back']);
        assert.equal(done.state, 'done', done.reason ?? '');
        assert.equal(done.instances.find((i) => i.agent === gone.id)?.step, 'skipped');
        const [a, b] = switches(rest, release.id);
        assert.ok(a && b && b.run >= a.healthy, 'with one lost, two unavailable at most means one switch at a time');
        gone.start();
        await eventually('the returning agent runs v2', async () => (gone.current?.deploymentId === v2.id ? true : undefined));
      } finally {
        await f.stop();
      }
    });

    test('a rollout is asked of a service release: a static one has none, nor one that went out with no agent', async () => {
      await t.client.createProject('static');
      const site = await deployFiles(t.client, 'static', { 'index.html': 'hi' });
      const live = await t.client.promote('static', 'production', { deployment: site.id });
      assert.equal(live.state, 'live');
      await rejectsWithCode(t.client.getRollout('static', live.id), 'NOT_A_SERVICE', 409);
      await t.client.createProject('lonely');
      const alone = await t.client.promote('lonely', 'production', { deployment: (await deployService(t, 'lonely', 'v1')).id });
      assert.equal(alone.state, 'live', 'no agent: nothing to roll out');
      await rejectsWithCode(t.client.getRollout('lonely', 'v1', 'production'), 'ROLLOUT_NOT_FOUND', 404);
      await rejectsWithCode(t.client.getRollout('static', 'rel-nothere'), 'RELEASE_NOT_FOUND', 404);
      const cli = await slipway(t, ['rollout', 'v1', '--project', 'lonely', '--env', 'production']);
      assert.equal(cli.code, 3);
    });

    test('a release proposed while a rollout runs waits for it, then rolls out; a rollback meanwhile is refused', async () => {
      const f = await fleet(t, 'queue', 2, () => ({}), { drainMs: 0 });
      try {
        const v1b = await t.client.promote('queue', 'production', { deployment: (await deployService(t, 'queue', 'v1b')).id });
        assert.equal((await waitForRollout(t, 'queue', v1b.id, ['done', 'failed', 'rolled_back'])).state, 'done');
        await setRollout(t, 'queue', 'production', { drainMs: 1_500, healthTimeoutMs: 5_000 });
        const v2 = await deployService(t, 'queue', 'v2');
        const second = await t.client.promote('queue', 'production', { deployment: v2.id });
        assert.equal(second.state, 'rolling_out');
        const v3 = await deployService(t, 'queue', 'v3');
        const third = await t.client.promote('queue', 'production', { deployment: v3.id });
        assert.equal(third.state, 'waiting');
        assert.match(third.stateReason ?? '', new RegExp(`waiting for the rollout of v${second.number}`));
        const refused = await rejectsWithCode(t.client.rollback('queue', 'production', {}), 'RELEASE_CONFLICT', 409);
        assert.match(refused.message, /is rolling out v\d+/);
        assert.equal((await waitForRollout(t, 'queue', second.id, ['done', 'failed', 'rolled_back'])).state, 'done');
        assert.equal((await waitForRollout(t, 'queue', third.id, ['done', 'failed', 'rolled_back'])).state, 'done');
        assert.equal((await t.client.getEnvironment('queue', 'production')).deployment, v3.id);
        assert.equal((await t.client.getRelease('queue', second.id)).state, 'superseded');
        for (const a of f.agents) assert.equal(a.current?.deploymentId, v3.id);
      } finally {
        await f.stop();
      }
    });

    test('a config change rolls out like a rollback: same deployment, every instance restarted with it, no release phase', async () => {
      const f = await fleet(t, 'config', 2);
      try {
        const v2 = await deployService(t, 'config', 'v2', 'node migrate.js');
        const promoted = await t.client.promote('config', 'production', { deployment: v2.id });
        assert.equal((await waitForRollout(t, 'config', promoted.id, ['done', 'failed', 'rolled_back'])).state, 'done');
        const changed = await t.client.changeConfig('config', 'production', { set: { GREETING: 'hello' } });
        const release = changed.release;
        assert.ok(release);
        assert.equal(release.kind, 'config');
        const done = await waitForRollout(t, 'config', release.id, ['done', 'failed', 'rolled_back']);
        assert.equal(done.state, 'done', done.reason ?? '');
        assert.equal(done.releasePhase, null, 'a config release runs no release phase');
        assert.equal(f.agents.flatMap((a) => a.timesOf('release-phase')).length, 1, 'only the promotion ran it');
        for (const a of f.agents) assert.deepEqual(a.current, { releaseId: release.id, deploymentId: v2.id });
        assert.equal((await t.client.getRelease('config', release.id)).state, 'live');
      } finally {
        await f.stop();
      }
    });

    test('a server restart mid-rollout resumes it', async () => {
      const f = await fleet(t, 'restart', 2, () => ({ switchMs: 100 }), { drainMs: 2_000 });
      try {
        const v2 = await deployService(t, 'restart', 'v2');
        const release = await t.client.promote('restart', 'production', { deployment: v2.id });
        const draining = await eventually('an instance draining', async () => {
          const r = await rolloutOf(t, 'restart', release.id);
          return r.instances.some((i) => i.step === 'draining') ? r : undefined;
        });
        assert.equal(draining.state, 'switching');
        await t.restart();
        const done = await waitForRollout(t, 'restart', release.id, ['done', 'failed', 'rolled_back']);
        assert.equal(done.state, 'done', done.reason ?? '');
        assert.equal((await t.client.getEnvironment('restart', 'production')).deployment, v2.id);
        for (const a of f.agents) assert.equal(a.current?.deploymentId, v2.id);
      } finally {
        await f.stop();
      }
    });

    test('an abort mid-batch sends switched instances back: rolled back with the reason, pinned, audited; a second abort is refused', async () => {
      const f = await fleet(t, 'abort', 3, () => ({ switchMs: 50 }), { maxUnavailable: 1, drainMs: 1_500 });
      try {
        const v2 = await deployService(t, 'abort', 'v2');
        const release = await t.client.promote('abort', 'production', { deployment: v2.id });
        await eventually('host-1 on v2 and host-2 draining', async () => {
          const r = await rolloutOf(t, 'abort', release.id);
          return r.instances.filter((i) => i.step === 'in').length === 1 && r.instances.some((i) => i.step === 'draining') ? r : undefined;
        });
        // The release page's verdict: an abort is allowed while it runs.
        assert.deepEqual((await t.client.getRelease('abort', release.id)).actions?.abortRollout, { allowed: true, reason: null, code: null });
        // Two aborts at once: one wins, the other hears that the rollout no longer runs.
        const [one, two] = await Promise.allSettled([
          t.client.abortRollout('abort', release.id, { reason: 'error rate up' }),
          t.client.abortRollout('abort', `v${release.number}`, { environment: 'production', reason: 'error rate up' }),
        ]);
        const won = [one, two].filter((r) => r.status === 'fulfilled');
        const lost = [one, two].filter((r) => r.status === 'rejected');
        assert.equal(won.length, 1, 'one abort wins');
        assert.equal(lost.length, 1, 'the other is refused');
        assert.equal(((lost[0] as PromiseRejectedResult).reason as { code?: string }).code, 'ROLLOUT_NOT_RUNNING');
        const aborted = (won[0] as PromiseFulfilledResult<Rollout>).value;
        assert.ok(['rolling_back', 'rolled_back'].includes(aborted.state), aborted.state);
        assert.match(aborted.reason ?? '', /^aborted by .+: error rate up$/);
        const back = await waitForRollout(t, 'abort', release.id, ['done', 'failed', 'rolled_back']);
        assert.equal(back.state, 'rolled_back');
        assert.equal(back.instances.filter((i) => i.step === 'back').length, 1, 'the switched instance went back');
        assert.ok(back.instances.some((i) => i.step === 'kept'), 'the draining one stayed on v1');
        for (const a of f.agents) assert.equal(a.current?.deploymentId, f.v1.id);
        assert.equal(f.agents.filter((a) => a.timesOf('run', release.id).length > 0).length, 1, 'only host-1 had switched');
        const shown = await t.client.getRelease('abort', release.id);
        assert.equal(shown.state, 'rolled_back');
        assert.match(shown.stateReason ?? '', /^rollout of v\d+ aborted by .+: error rate up$/);
        const env = await t.client.getEnvironment('abort', 'production');
        assert.equal(env.deployment, f.v1.id);
        assert.match(env.pin?.reason ?? '', /^rollout of v\d+ aborted by .+: error rate up$/);
        const actions = (await t.client.listEvents({ project: 'abort', limit: 100 })).events.map((e) => e.action);
        assert.equal(actions.filter((a) => a === 'rollout.abort').length, 1, 'audited once');
        await eventually('every instance back in rotation', async () => ((await instances(t, 'abort')).every((a) => a.rotation === 'in' && a.healthy) ? true : undefined));
        // Over: nothing to abort, and the refusal says why (the verdict says it first).
        const verdict = (await t.client.getRelease('abort', release.id)).actions?.abortRollout;
        assert.equal(verdict?.allowed, false);
        assert.equal(verdict?.code, 'ROLLOUT_NOT_RUNNING');
        const again = await rejectsWithCode(t.client.abortRollout('abort', release.id, { reason: 'again' }), 'ROLLOUT_NOT_RUNNING', 409);
        assert.match(again.message, /not running: it ended rolled back/);
        await rejectsWithCode(t.client.abortRollout('abort', release.id, { reason: '  ' }), 'REASON_REQUIRED', 400);
        await rejectsWithCode(t.client.abortRollout('abort', 'rel-nothere', { reason: 'x' }), 'RELEASE_NOT_FOUND', 404);
        // The pin holds automation; a person's promotion clears it and rolls out again.
        const retry = await t.client.promote('abort', 'production', { deployment: v2.id });
        assert.equal((await waitForRollout(t, 'abort', retry.id, ['done', 'failed', 'rolled_back'])).state, 'done');
      } finally {
        await f.stop();
      }
    });

    test('an abort before anyone switched fails the release (nobody switched) and pins; the CLI aborts too', async () => {
      let v2Id = '';
      const f = await fleet(t, 'abort-early', 2, (i) => ({ prepares: (d) => i === 0 || d !== v2Id }));
      try {
        const v2 = await deployService(t, 'abort-early', 'v2');
        v2Id = v2.id;
        const release = await t.client.promote('abort-early', 'production', { deployment: v2.id });
        assert.equal((await rolloutOf(t, 'abort-early', release.id)).state, 'preparing');
        const usage = await slipway(t, ['rollout', `v${release.number}`, '--project', 'abort-early', '--env', 'production', '--abort']);
        assert.equal(usage.code, 2, usage.stderr);
        assert.match(usage.stderr, /--abort needs --reason/);
        const cli = await slipway(t, ['rollout', `v${release.number}`, '--project', 'abort-early', '--env', 'production', '--abort', '--reason', 'wrong build', '--watch']);
        assert.equal(cli.code, 0, cli.stderr);
        assert.match(cli.stdout, /rollout: failed/);
        assert.match(cli.stdout, /aborted by .+: wrong build/);
        const shown = await t.client.getRelease('abort-early', release.id);
        assert.equal(shown.state, 'failed');
        assert.match(shown.stateReason ?? '', /aborted by .+: wrong build/);
        assert.match((await t.client.getEnvironment('abort-early', 'production')).pin?.reason ?? '', /aborted by .+: wrong build/);
        for (const a of f.agents) assert.deepEqual(a.timesOf('run', release.id), [], 'nobody switched');
        const again = await slipway(t, ['rollout', `v${release.number}`, '--project', 'abort-early', '--env', 'production', '--abort', '--reason', 'again']);
        assert.equal(again.code, 4, again.stderr);
        assert.match(again.stderr, /ROLLOUT_NOT_RUNNING|not running/);
      } finally {
        await f.stop();
      }
    });

    test('agents that never lay the release out fail the rollout at the prepare deadline; nobody switched', async () => {
      let v2Id = '';
      const f = await fleet(t, 'prepare-deadline', 2, (i) => ({ prepares: (d) => i === 0 || d !== v2Id }), { prepareTimeoutMs: 800 });
      try {
        const v2 = await deployService(t, 'prepare-deadline', 'v2');
        v2Id = v2.id;
        const release = await t.client.promote('prepare-deadline', 'production', { deployment: v2.id });
        const failed = await waitForRollout(t, 'prepare-deadline', release.id, ['done', 'failed', 'rolled_back']);
        assert.equal(failed.state, 'failed');
        assert.match(failed.reason ?? '', new RegExp(`host-2 did not lay out ${v2.id} within 1 s`));
        const shown = await t.client.getRelease('prepare-deadline', release.id);
        assert.equal(shown.state, 'failed');
        assert.match(shown.stateReason ?? '', /host-2 did not lay out/);
        for (const a of f.agents) assert.deepEqual(a.timesOf('run', release.id), []);
        assert.equal((await t.client.getEnvironment('prepare-deadline', 'production')).pin, null, 'a slow download pins nothing');
      } finally {
        await f.stop();
      }
    });

    test('a release phase that never ends fails the rollout at its deadline and pins the environment', async () => {
      const f = await fleet(t, 'phase-deadline', 2, () => ({ releasePhase: () => 'hang' }), { releaseTimeoutMs: 800 });
      try {
        const v2 = await deployService(t, 'phase-deadline', 'v2', 'node migrate.js');
        const release = await t.client.promote('phase-deadline', 'production', { deployment: v2.id });
        const failed = await waitForRollout(t, 'phase-deadline', release.id, ['done', 'failed', 'rolled_back']);
        assert.equal(failed.state, 'failed');
        assert.match(failed.reason ?? '', /the release phase did not finish on host-\d within 1 s/);
        assert.equal(f.agents.flatMap((a) => a.timesOf('release-phase')).length, 1, 'it ran once');
        for (const a of f.agents) assert.deepEqual(a.timesOf('run', release.id), []);
        const env = await t.client.getEnvironment('phase-deadline', 'production');
        assert.match(env.pin?.reason ?? '', /rollout of v\d+ failed: the release phase did not finish/);
        await eventually('the lease is withdrawn', async () => (f.agents.every((a) => !a.assignment?.releasePhase) ? true : undefined));
      } finally {
        await f.stop();
      }
    });

    test('a server down longer than the health deadline mid-switch does not roll back a healthy deploy', async () => {
      // An instance reports healthy 600 ms after its switch; the server is down from just after
      // the switch for longer than the whole health deadline.
      const f = await fleet(t, 'restart-health', 2, () => ({ switchMs: 600 }), { drainMs: 0, healthTimeoutMs: 1_500 });
      try {
        const v2 = await deployService(t, 'restart-health', 'v2');
        const release = await t.client.promote('restart-health', 'production', { deployment: v2.id });
        await eventually('an instance switching', async () => {
          const r = await rolloutOf(t, 'restart-health', release.id);
          return r.instances.some((i) => i.step === 'switching') ? r : undefined;
        }, 10_000);
        await t.restart(() => new Promise((resolve) => setTimeout(resolve, 2_500)));
        const done = await waitForRollout(t, 'restart-health', release.id, ['done', 'failed', 'rolled_back']);
        assert.equal(done.state, 'done', done.reason ?? '');
        assert.deepEqual(
          done.instances.map((i) => i.step),
          ['in', 'in'],
          'every instance switched and was seen healthy (none skipped as lost because the server was down)',
        );
        for (const a of f.agents) assert.equal(a.current?.deploymentId, v2.id);
      } finally {
        await f.stop();
      }
    });
  });
}
