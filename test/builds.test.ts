import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Clock } from '../src/core/clock.ts';
import { LEASE_HEADER, type Build } from '../src/protocol/builds.ts';
import { ApiError, type SlipwayClient } from '../src/protocol/client.ts';
import { recordPush, ZERO_SHA, type RefUpdate } from '../src/server/services/pushes.ts';
import { eventually } from './support/eventually.ts';
import { backends } from './support/backends.ts';
import { rejectsWithCode } from './support/assert.ts';
import { deployFiles, edgeGet, startTestServer, type TestServer } from './support/server.ts';

/**
 * The build queue and branch following, driven through the runner protocol over real HTTP
 * (this test plays the runner's part; test/runner.test.ts runs the real runner).
 */

const sha = (n: number) => n.toString(16).padStart(40, 'a');
const pusher = { name: 'pat', role: 'deployer' as const, trigger: 'user' as const };

class TestClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

for (const backend of backends) {
  describe(`builds and branch following on ${backend.name}`, () => {
    let t: TestServer;
    /** The API as a runner token; with the lease of a claim, as the runner holding it. */
    let runner: SlipwayClient;
    const clock = new TestClock();
    before(async () => {
      t = await startTestServer(backend, { clock });
      await t.client.createProject('shop');
      runner = t.clientWith((await t.client.createToken({ name: 'runner', role: 'runner' })).secret);
    });
    after(() => t.dispose());

    const push = (...updates: RefUpdate[]) => recordPush(t.server.deps, pusher, 'shop', { updates, trigger: 'git-push', sourceUrl: null });
    const branch = (name: string, after: string, before = ZERO_SHA): RefUpdate => ({ ref: `refs/heads/${name}`, before, after });

    interface Claim {
      build: Build;
      /** The runner's client, sending the claim's lease. */
      as: SlipwayClient;
    }

    const holding = (lease: string) => runner.withHeaders({ [LEASE_HEADER]: lease });

    async function claim(name = 'r1', leaseSeconds = 60): Promise<Claim> {
      const claimed = await runner.claimBuild({ runner: name, leaseSeconds });
      assert.ok(claimed, 'a build was queued');
      return { build: claimed.build, as: holding(claimed.lease) };
    }

    /** Completes a build as succeeded with its deployment (the answer is failed when the server refuses its slipway.yaml). */
    async function succeed({ build, as }: Claim, body: string, report: object = {}): Promise<Build> {
      const deployment = await deployFiles(as, 'shop', { 'index.html': body });
      return as.completeBuild(build.id, { runner: 'r1', state: 'succeeded', deployment: deployment.id, report });
    }

    const envDeployment = async (name: string) => (await t.client.getEnvironment('shop', name)).deployment;

    test('a push queues one build per commit; success moves the preview and the environments that follow the branch', async () => {
      const { builds } = await push(branch('main', sha(1)));
      assert.equal(builds.length, 1);
      const claimed = await claim();
      const listed = await t.client.getBuild('shop', builds[0]?.id ?? '');
      assert.equal(listed.state, 'running');
      assert.equal(claimed.build.id, listed.id);
      await claimed.as.appendBuildLogs(listed.id, { runner: 'r1', lines: [{ at: new Date().toISOString(), stream: 'stdout', text: 'building…' }] });
      const done = await succeed(claimed, 'main one', { environments: { dev: { follows: 'main' }, staging: { follows: 'main', auto: false } } });
      assert.equal(done.state, 'succeeded');
      assert.equal(await envDeployment('preview-main'), done.deployment);
      assert.equal(await envDeployment('dev'), done.deployment);
      // Declared with `auto: false`: it exists with its policy, and only a person moves it.
      assert.equal(await envDeployment('staging'), null);
      assert.equal((await t.client.getPipeline('shop')).stages.find((s) => s.name === 'staging')?.policy.auto, false);
      const page = await edgeGet(t.server.port, `preview-main--shop.localhost:${t.server.port}`);
      assert.equal(page.body, 'main one');
      const logs = await t.client.getBuildLogs('shop', done.id);
      assert.deepEqual(logs.lines.map((l) => l.text), ['building…']);
    });

    test('an older build finishing after a newer one never moves an environment backwards', async () => {
      await push(branch('main', sha(2), sha(1)));
      const older = await claim();
      await push(branch('main', sha(3), sha(2)));
      const newer = await claim();
      assert.equal(older.build.commit, sha(2));
      const newerDone = await succeed(newer, 'newer');
      assert.equal(await envDeployment('dev'), newerDone.deployment);
      await succeed(older, 'older');
      assert.equal(await envDeployment('dev'), newerDone.deployment);
      assert.equal(await envDeployment('preview-main'), newerDone.deployment);
    });

    test('the same commit on three branches builds once and all three previews follow it', async () => {
      const { builds } = await push(branch('feature/Blue', sha(4)), branch('hotfix_1', sha(4)), branch('exp', sha(4)));
      assert.equal(builds.length, 1);
      assert.equal((await push(branch('again', sha(4)))).builds[0]?.id, builds[0]?.id, 'a later push of a built commit reuses its build');
      const done = await succeed(await claim(), 'shared');
      for (const env of ['preview-feature-blue', 'preview-hotfix-1', 'preview-exp', 'preview-again']) assert.equal(await envDeployment(env), done.deployment, env);
      // A new branch at an already built commit moves at once, with no new build.
      const { builds: none } = await push(branch('late', sha(4)));
      assert.equal(none[0]?.state, 'succeeded');
      assert.equal(await envDeployment('preview-late'), done.deployment);
    });

    test('deleting a branch retires its preview; its deployments stay addressable', async () => {
      const before = await t.client.getEnvironment('shop', 'preview-exp');
      const { retired } = await push(branch('exp', ZERO_SHA, sha(4)));
      assert.deepEqual(retired, ['preview-exp']);
      const env = await t.client.getEnvironment('shop', 'preview-exp');
      assert.ok(env.retiredAt);
      assert.equal((await edgeGet(t.server.port, `preview-exp--shop.localhost:${t.server.port}`)).status, 404);
      const deployment = before.deployment ?? '';
      assert.equal((await edgeGet(t.server.port, `${deployment}--shop.localhost:${t.server.port}`)).body, 'shared');
      const events = (await t.client.listEvents({ project: 'shop', environment: 'preview-exp' })).events;
      assert.ok(events.some((e) => e.action === 'environment.retire'));
    });

    test('a tag builds once and moves no environment', async () => {
      const { builds } = await push({ ref: 'refs/tags/v1.0', before: ZERO_SHA, after: sha(5) });
      assert.equal(builds[0]?.branch, null);
      await succeed(await claim(), 'tagged');
      assert.equal((await t.client.listEnvironments('shop')).environments.some((e) => e.name.includes('v1')), false);
    });

    test('follow respects pins and locks: the release waits and says why', async () => {
      const devBefore = await envDeployment('dev');
      await t.client.lock('shop', 'dev', { reason: 'demo in progress' });
      await push(branch('main', sha(6), sha(3)));
      const done = await succeed(await claim(), 'locked out');
      assert.equal(await envDeployment('dev'), devBefore);
      assert.equal(await envDeployment('preview-main'), done.deployment);
      const [waiting] = (await t.client.listReleases('shop', 'dev', { limit: 1 })).releases;
      assert.equal(waiting?.state, 'waiting');
      assert.equal(waiting?.deployment, done.deployment);
      assert.ok(waiting?.gates?.outcome === 'wait' && waiting.gates.reasons.some((r) => r.code === 'ENVIRONMENT_LOCKED'));
      await t.client.unlock('shop', 'dev', {});
      await eventually('dev goes live once unlocked', async () => ((await envDeployment('dev')) === done.deployment ? true : undefined), 10_000);
    });

    test('a failed build moves nothing; cancel ends a queued build at once and asks a running one to stop', async () => {
      const devBefore = await envDeployment('dev');
      await push(branch('main', sha(7), sha(6)));
      const failing = await claim();
      const failed = await failing.as.completeBuild(failing.build.id, { runner: 'r1', state: 'failed', error: 'exit code 2', report: {} });
      assert.equal(failed.state, 'failed');
      assert.equal(await envDeployment('dev'), devBefore);

      const { builds: [queued] } = await push(branch('side', sha(8)));
      const canceled = await t.client.cancelBuild('shop', queued?.id ?? '');
      assert.equal(canceled.state, 'canceled');
      await rejectsWithCode(t.client.cancelBuild('shop', queued?.id ?? ''), 'BUILD_FINISHED', 409);

      await push(branch('side2', sha(9)));
      const running = await claim();
      assert.deepEqual(await running.as.heartbeat(running.build.id, { runner: 'r1', leaseSeconds: 60 }), { cancel: false });
      await t.client.cancelBuild('shop', running.build.id);
      assert.deepEqual(await running.as.heartbeat(running.build.id, { runner: 'r1', leaseSeconds: 60 }), { cancel: true });
      const stopped = await running.as.completeBuild(running.build.id, { runner: 'r1', state: 'canceled', report: {} });
      assert.equal(stopped.state, 'canceled');
    });

    test('a runner that goes silent loses its lease: the build is queued again, then failed after three tries', async () => {
      await push(branch('flaky', sha(10)));
      for (let attempt = 1; attempt <= 3; attempt++) {
        const { build, as } = await claim(`r-${attempt}`, 5);
        assert.equal(build.attempt, attempt);
        clock.offsetMs += 10_000;
        // The old runner's late reports are refused.
        await rejectsWithCode(as.heartbeat(build.id, { runner: `r-${attempt}`, leaseSeconds: 5 }), 'LEASE_LOST', 409);
      }
      assert.equal(await runner.claimBuild({ runner: 'r-4', leaseSeconds: 5 }), undefined);
      const builds = (await t.client.listBuilds('shop')).builds;
      const flaky = builds.find((b) => b.commit === sha(10));
      assert.equal(flaky?.state, 'failed');
      assert.match(flaky?.error ?? '', /stopped answering/);
    });

    test('two runners claiming at once never get the same build', async () => {
      await push(branch('c1', sha(11)), branch('c2', sha(12)), branch('c3', sha(13)));
      const claims = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((r) => runner.claimBuild({ runner: r, leaseSeconds: 60 })));
      const ids = claims.filter((c) => c !== undefined).map((c) => c.build.id);
      assert.equal(ids.length, 3);
      assert.equal(new Set(ids).size, 3);
      for (const c of claims) if (c) await holding(c.lease).completeBuild(c.build.id, { runner: c.build.runner ?? '', state: 'failed', error: 'test', report: {} });
    });

    test('the log follows live as Server-Sent Events and ends with the build', async () => {
      await push(branch('sse', sha(14)));
      const build = await claim();
      const response = await fetch(t.client.buildLogStreamUrl('shop', build.build.id), {
        headers: { authorization: 'Bearer slw_test_admin_token', accept: 'text/event-stream' },
      });
      assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      const reader = response.body?.getReader();
      assert.ok(reader);
      const now = () => new Date().toISOString();
      await build.as.appendBuildLogs(build.build.id, { runner: 'r1', lines: [{ at: now(), stream: 'stdout', text: 'one' }, { at: now(), stream: 'stderr', text: 'two' }] });
      setTimeout(() => void succeed(build, 'sse done').catch((err: unknown) => assert.fail(String(err))), 300);
      let text = '';
      const decoder = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value);
      }
      const events = text.split('\n\n').filter(Boolean).map((block) => Object.fromEntries(block.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)])));
      assert.deepEqual(events.filter((e) => e.event === 'log').map((e) => (JSON.parse(e.data ?? '{}') as { text: string }).text), ['one', 'two']);
      const end = events.find((e) => e.event === 'end');
      assert.equal((JSON.parse(end?.data ?? '{}') as Build).state, 'succeeded');
    });

    test('a long-polling claim is answered by a build queued while it waits', async () => {
      const waiting = runner.claimBuild({ runner: 'lp', leaseSeconds: 60, waitSeconds: 30 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      await push(branch('long-poll', sha(20)));
      t.server.deps.buildsQueued.notify(); // as the git and webhook routes do after recording a push
      const claimed = await waiting;
      assert.equal(claimed?.build.commit, sha(20));
      assert.equal(claimed.build.runner, 'lp');
      await holding(claimed.lease).completeBuild(claimed.build.id, { runner: 'lp', state: 'failed', error: 'test', report: {} });
    });

    test('a long-polling claim on an empty queue waits, then answers nothing', async () => {
      const started = Date.now();
      assert.equal(await runner.claimBuild({ runner: 'lp', leaseSeconds: 60, waitSeconds: 1 }), undefined);
      assert.ok(Date.now() - started >= 900, `it waited ${Date.now() - started} ms`);
    });

    test('a runner that hangs up while long-polling is never handed a build', async () => {
      const hangUp = new AbortController();
      const waiting = runner.claimBuild({ runner: 'gone', leaseSeconds: 60, waitSeconds: 30 }, hangUp.signal);
      await new Promise((resolve) => setTimeout(resolve, 200));
      hangUp.abort();
      await rejectsWithCode(waiting, 'NETWORK_ERROR');
      await new Promise((resolve) => setTimeout(resolve, 100));
      await push(branch('hang-up', sha(21)));
      t.server.deps.buildsQueued.notify();
      await new Promise((resolve) => setTimeout(resolve, 200));
      const claimed = await runner.claimBuild({ runner: 'present', leaseSeconds: 60 });
      assert.equal(claimed?.build.commit, sha(21), 'the build is still queued for a runner that is there');
      await holding(claimed.lease).completeBuild(claimed.build.id, { runner: 'present', state: 'failed', error: 'test', report: {} });
    });

    test("only the default branch's head sets policy: a branch cannot relax the gates it is about to pass", async () => {
      const strict = 'environments:\n  dev: { follows: main, auto: true }\n  production:\n    from: dev\n    checks: [ci/test]\n';
      await push(branch('main', sha(40), (await t.server.deps.store.findBranchHead((await t.server.deps.store.findProjectByName('shop'))?.id ?? '', 'main')) ?? ZERO_SHA));
      await succeed(await claim(), 'strict', { config: strict });
      const production = async () => (await t.client.getPipeline('shop')).stages.find((s) => s.name === 'production')?.policy;
      assert.deepEqual((await production())?.checks, ['ci/test']);
      assert.equal((await production())?.source, `commit ${sha(40)}`);

      const relaxed = 'environments:\n  dev: { follows: main, auto: true }\n  production: { from: dev }\n';
      await push(branch('sneaky', sha(41)));
      await succeed(await claim(), 'relaxed', { config: relaxed });
      assert.deepEqual((await production())?.checks, ['ci/test'], 'a branch build changed nothing');

      // A deployer may not move the default branch somewhere else; an admin may, audited.
      const deployer = t.clientWith((await t.client.createToken({ name: 'dep', role: 'deployer' })).secret);
      await rejectsWithCode(deployer.updateProject('shop', { defaultBranch: 'sneaky' }), 'FORBIDDEN', 403);
      assert.equal((await t.client.updateProject('shop', { defaultBranch: 'trunk' })).defaultBranch, 'trunk');
      await t.client.updateProject('shop', { defaultBranch: 'main' });

      // requires: naming no project fails the build at its yaml line, and changes nothing.
      await push(branch('main', sha(42), sha(40)));
      const bad = await succeed(await claim(), 'bad', { config: 'environments:\n  dev: { follows: main }\n  production:\n    from: dev\n    requires: [ghost]\n' });
      assert.equal(bad.state, 'failed');
      assert.match(bad.error ?? '', /POLICY_INVALID: slipway.yaml:5:\d+ environments.production.requires: no project "ghost"/);
      assert.deepEqual((await production())?.checks, ['ci/test']);
    });

    test('runner calls need a runner token: viewers, deployers and admins are refused', async () => {
      for (const role of ['viewer', 'deployer'] as const) {
        const other = t.clientWith((await t.client.createToken({ name: role, role })).secret);
        const err = await rejectsWithCode(other.claimBuild({ runner: 'x', leaseSeconds: 60 }), 'FORBIDDEN', 403);
        assert.ok(err instanceof ApiError);
      }
      await rejectsWithCode(t.client.claimBuild({ runner: 'x', leaseSeconds: 60 }), 'FORBIDDEN', 403);
    });
  });
}

describe('long-polling claims and shutdown', () => {
  test('closing the server answers a claim that is waiting, without holding the close up', async () => {
    const t = await startTestServer(backends[0] ?? assert.fail('no backend'));
    const runner = t.clientWith((await t.client.createToken({ name: 'runner', role: 'runner' })).secret);
    const waiting = runner.claimBuild({ runner: 'lp', leaseSeconds: 60, waitSeconds: 60 }).then(
      (answer) => ({ answer }),
      (error: unknown) => ({ error }),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    await t.dispose();
    const outcome = await waiting;
    assert.ok(Date.now() - started < 30_000, 'close did not wait for the 60 s claim');
    assert.ok(!('answer' in outcome) || outcome.answer === undefined, 'no build was handed out');
  });
});
