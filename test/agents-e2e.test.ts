import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { migrationsRun, readState, waitForFleet } from './support/agent-fleet.ts';
import { groupsUnder } from './support/agent-process.ts';
import {
  cli,
  deployApp,
  disposeStand,
  edgeAnswers,
  ENV,
  instanceSays,
  mark,
  maxOutOfRotation,
  PROJECT,
  promote,
  releaseState,
  startStand,
  waitForRelease,
  type Stand,
} from './support/agents-e2e.ts';
import { backends } from './support/backends.ts';
import { slipway } from './support/cli.ts';
import { eventually } from './support/eventually.ts';
import { startSteadyLoad } from './support/steady-load.ts';

/**
 * Agents end to end, with nothing played: a real server (HTTP on loopback, a SQLite file), three
 * real `slipway agent` processes on this machine — each its own directory and port — and a real
 * HTTP service (test/fixtures/e2e-service) whose release phase appends to a file the test reads,
 * so "ran exactly once" is counted, not assumed. The scenarios run in order on one fleet, each
 * starting from what the one before left live. (agents-e2e-postgres.test.ts: the first
 * promotion on PostgreSQL.)
 */

const sqlite = backends.find((b) => b.name === 'sqlite');
assert.ok(sqlite);

describe('agents end to end on sqlite: 3 real agents, a real service', () => {
  let stand: Stand | undefined;
  let failed = false;
  const s = (): Stand => {
    assert.ok(stand, 'the stand is up');
    return stand;
  };
  const versions = new Map<string, { deployment: string; release?: string }>();

  before(async () => {
    const t0 = performance.now();
    const up = await startStand(sqlite, { push: true });
    stand = up;
    versions.set('1', { deployment: up.first });
    mark('stand up (server, pushed build, 3 agents enrolled)', t0);
  });

  after(() => disposeStand(stand, failed));

  /** A scenario: its time is printed; a failure prints the agents' output at the end. */
  const step = (name: string, fn: () => Promise<void>): void => {
    void test(name, async () => {
      const t0 = performance.now();
      try {
        await fn();
      } catch (err) {
        failed = true;
        throw err;
      } finally {
        mark(name.slice(0, 4), t0);
      }
    });
  };

  step('(1) a service promoted to production: 3 instances healthy, the release phase ran once, the edge answers from all of them', async () => {
    const v1 = versions.get('1')?.deployment ?? '';
    const release = await promote(s(), v1);
    assert.equal(release.state, 'rolling_out', 'a service release is held rolling_out by its rollout');
    versions.set('1', { deployment: v1, release: release.id });
    await waitForRelease(s(), release.id, ['live']);
    const view = await waitForFleet(s().t, s().fleet, v1);
    for (const a of view.values()) assert.equal(a.current?.releaseId, release.id);
    for (const agent of s().fleet.agents) {
      const says = await instanceSays(agent.port);
      assert.equal(says.version, '1');
      assert.equal(says.release, release.id);
      assert.equal(says.deployment, v1);
      const state = await readState(agent.dir);
      assert.equal(state?.step, 'idle');
      assert.equal(await readlink(join(agent.dir, 'current')), `releases/${v1}`);
    }
    const ran = await migrationsRun(s().migrations);
    assert.deepEqual(ran.map((l) => l.split(' ').slice(0, 2).join(' ')), [`${release.id} 1`], 'the release phase ran exactly once');
    const answers = await edgeAnswers(s(), 9);
    assert.deepEqual(new Set(answers), new Set(s().fleet.agents.map((a) => `1@${a.port}`)), `the edge balances over the 3 instances: ${answers.join(', ')}`);
  });

  step('(2) a second promotion under steady load through the edge: zero failed requests, one instance at a time, the release phase once', async () => {
    const v2 = await deployApp(s(), '2');
    const load = startSteadyLoad({ port: s().t.server.port, hostHeader: s().edgeHost, rate: 25 });
    await sleep(500);
    const release = await promote(s(), v2);
    versions.set('2', { deployment: v2, release: release.id });
    const live = waitForRelease(s(), release.id, ['live']);
    const maxOut = await maxOutOfRotation(s(), live);
    const rolled = await live.then(() => undefined, (err: Error) => err);
    await waitForFleet(s().t, s().fleet, v2).catch(() => undefined);
    await sleep(500);
    const result = await load.stop();
    process.stdout.write(`# rollout under load: ${result.sent} requests, ${result.failed} failed, by status ${JSON.stringify(result.byStatus)}, by server ${JSON.stringify(result.byServer)}\n`);
    if (rolled) throw rolled;
    assert.equal(result.failed, 0, `failed requests: ${JSON.stringify(result.failures.slice(0, 5))}`);
    assert.ok(result.ok > 50, `answered ${result.ok}`);
    for (const a of s().fleet.agents) {
      assert.ok((result.byServer[`1@${a.port}`] ?? 0) > 0, `the old version on ${a.port} served during the rollout`);
      assert.ok((result.byServer[`2@${a.port}`] ?? 0) > 0, `the new version on ${a.port} served after it`);
    }
    assert.ok(maxOut <= 1, `at most one instance out of rotation at a time (max_unavailable 1), saw ${maxOut}`);
    const ran = (await migrationsRun(s().migrations)).filter((l) => l.startsWith(`${release.id} `));
    assert.equal(ran.length, 1, 'the release phase ran exactly once');
  });

  step('(3) a failing migration: the release fails, no instance switches, its log shows in slipway rollout', async () => {
    const v2 = versions.get('2')?.deployment ?? '';
    const v3 = await deployApp(s(), '3', ['FAIL_MIGRATION']);
    const release = await promote(s(), v3);
    const failedRelease = await waitForRelease(s(), release.id, ['failed']);
    assert.match(failedRelease.stateReason ?? '', /release phase|migration|exit/i);
    const view = await s().fleet.view(s().t);
    for (const a of view.values()) {
      assert.equal(a.current?.deploymentId, v2, `${a.name} still runs v2`);
      assert.equal(a.healthy, true);
    }
    for (const agent of s().fleet.agents) assert.equal((await instanceSays(agent.port)).version, '2');
    assert.deepEqual(new Set(await edgeAnswers(s(), 6)), new Set(s().fleet.agents.map((a) => `2@${a.port}`)));
    const shown = await cli(s().t, ['rollout', `v${release.number}`, '--project', PROJECT, '--env', ENV]);
    assert.match(shown, /column "total_cents" already exists/, shown);
    assert.match(shown, /failed/, shown);
    assert.equal((await migrationsRun(s().migrations)).filter((l) => l.startsWith(`${release.id} `)).length, 0);
    assert.equal((await s().t.client.getEnvironment(PROJECT, ENV)).deployment, v2, 'production still serves v2');
  });

  step('(4) a failing health check (the new version exits at start): switched instances go back to the old release, the release is rolled_back, production pinned with the reason', async () => {
    const v2 = versions.get('2');
    const v4 = await deployApp(s(), '4', ['EXIT_AT_ONCE']);
    const release = await promote(s(), v4);
    const rolledBack = await waitForRelease(s(), release.id, ['rolled_back'], 90_000);
    assert.ok(rolledBack.stateReason, 'the release says why it was rolled back');
    const view = await waitForFleet(s().t, s().fleet, v2?.deployment ?? '');
    for (const a of view.values()) assert.equal(a.current?.releaseId, v2?.release, `${a.name} runs v2's release again`);
    for (const agent of s().fleet.agents) assert.equal((await instanceSays(agent.port)).version, '2');
    const env = await s().t.client.getEnvironment(PROJECT, ENV);
    assert.equal(env.deployment, v2?.deployment, 'the pointer never moved');
    const status = await cli(s().t, ['status', '--project', PROJECT, '--env', ENV]);
    assert.match(status, /pinned/i, status);
    assert.match(status, new RegExp(`rollout of v${release.number} failed`), status);
  });

  step('(5) kill -9 of agents while downloading, switching and health-checking, then restarted: the rollout finishes, current intact', async () => {
    // A large file makes downloading last, a before_switch hook that sleeps makes switching
    // last, and a slow start makes health-checking last: each step is long enough to be caught.
    const yaml = (await readFile(join(s().work, 'app-1', 'slipway.yaml'), 'utf8')).replace('release: node migrate.mjs', 'release: node migrate.mjs\nhooks:\n  before_switch: sleep 1');
    const v5 = await deployApp(s(), '5', ['SLOW_START'], { 'slipway.yaml': yaml, 'assets.bin': randomBytes(24 * 1024 * 1024).toString('base64') });
    const release = await promote(s(), v5, ['--reason', 'clears the pin']);
    versions.set('5', { deployment: v5, release: release.id });
    const killed: string[] = [];
    // Each state in turn: the first running agent seen in it is killed, and started again on
    // its directory a moment later (the same agent may be caught twice).
    const killIn = async (wanted: string): Promise<void> => {
      const agent = await eventually(`an agent in ${wanted}`, async () => {
        for (const a of s().fleet.agents) if (a.running() && (await readState(a.dir))?.step === wanted) return a;
        return undefined;
      }, 60_000);
      await agent.kill9();
      killed.push(`${agent.name} in ${wanted}`);
      await sleep(300);
      agent.start();
    };
    await killIn('downloading');
    await killIn('switching');
    await killIn('health-checking');
    await waitForRelease(s(), release.id, ['live'], 90_000);
    await waitForFleet(s().t, s().fleet, v5);
    for (const agent of s().fleet.agents) {
      assert.equal(await readlink(join(agent.dir, 'current')), `releases/${v5}`, `${agent.name}: current is whole`);
      assert.equal((await instanceSays(agent.port)).version, '5');
      assert.equal(groupsUnder(agent.dir).length, 1, `${agent.name}: one service running, nothing left from before the crash`);
    }
    assert.equal((await migrationsRun(s().migrations)).filter((l) => l.startsWith(`${release.id} `)).length, 1);
    process.stdout.write(`# killed: ${killed.join(', ')}\n`);
  });

  step('(6) the server restarts mid-rollout: the rollout resumes and finishes', async () => {
    const v6 = await deployApp(s(), '6');
    const release = await promote(s(), v6);
    versions.set('6', { deployment: v6, release: release.id });
    await eventually('one instance switched to v6', async () => {
      const view = await s().fleet.view(s().t);
      return [...view.values()].some((a) => a.current?.deploymentId === v6) ? true : undefined;
    });
    const stillRolling = await releaseState(s(), release.id);
    assert.equal(stillRolling.state, 'rolling_out');
    await s().t.restart();
    await waitForRelease(s(), release.id, ['live'], 90_000);
    await waitForFleet(s().t, s().fleet, v6);
    for (const agent of s().fleet.agents) assert.equal((await instanceSays(agent.port)).version, '6');
    assert.equal((await migrationsRun(s().migrations)).filter((l) => l.startsWith(`${release.id} `)).length, 1);
  });

  step('(7) a rollback with the previous release on disk: healthy on it quickly, and the output says the database stays as the newer release left it', async () => {
    const v5 = versions.get('5');
    const before = (await migrationsRun(s().migrations)).length;
    const started = performance.now();
    const run = await slipway(s().t, ['rollback', '--project', PROJECT, '--env', ENV, '--reason', 'e2e']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout + run.stderr, /database stays as v\d+'s release phase left it/, run.stdout + run.stderr);
    await waitForFleet(s().t, s().fleet, v5?.deployment ?? '');
    const tookMs = performance.now() - started;
    for (const agent of s().fleet.agents) assert.equal((await instanceSays(agent.port)).version, '5');
    assert.equal((await migrationsRun(s().migrations)).length, before, 'a rollback runs no release phase');
    process.stdout.write(`# rollback of 3 instances to the release on disk: ${Math.round(tookMs)} ms\n`);
  });

  step('(8) slipway config set on production: a config release rolls out and the app sees the new value', async () => {
    const live = versions.get('5');
    const run = await slipway(s().t, ['config', 'set', 'GREETING=hello from config', '--project', PROJECT, '--env', ENV, '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stdout.includes('hello from config') && !run.stderr.includes('hello from config'), 'the value is never printed back');
    const { release } = JSON.parse(run.stdout) as { release: { id: string; kind: string } | null };
    assert.ok(release, `a config release was made: ${run.stdout}`);
    assert.equal(release.kind, 'config');
    await waitForRelease(s(), release.id, ['live'], 90_000);
    const view = await waitForFleet(s().t, s().fleet, live?.deployment ?? '');
    for (const a of view.values()) assert.equal(a.current?.releaseId, release.id, `${a.name} runs the config release`);
    for (const agent of s().fleet.agents) {
      const says = await instanceSays(agent.port);
      assert.equal(says.greeting, 'hello from config');
      assert.equal(says.deployment, live?.deployment, 'the same deployment, with the new config');
    }
    assert.equal((await migrationsRun(s().migrations)).filter((l) => l.startsWith(`${release.id} `)).length, 0, 'a config release runs no release phase');
  });
});
