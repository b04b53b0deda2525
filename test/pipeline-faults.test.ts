import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Deployment, Release } from '../src/protocol/api.ts';
import { ApiError } from '../src/protocol/client.ts';
import { openStore } from '../src/store/open-store.ts';
import { backends } from './support/backends.ts';
import { commit, declarePipeline, deployCommit, recordChain, releaseOf, runs, waitCodes, waitForLive, waitForPipelineIdle } from './support/pipeline.ts';
import { startTestServer, type TestServer } from './support/server.ts';

/**
 * Faults: a crash between two steps resumes at the next start (no release stays open without
 * being looked at), and real concurrent check reports and promotions of one environment leave
 * one consistent history.
 */

const OPEN_STATES: readonly Release['state'][] = ['pending', 'waiting', 'rolling_out'];

for (const backend of backends) {
  describe(`pipeline faults on ${backend.name}`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
    });
    after(() => t.dispose());

    test('a crash leaves a release rolling out, one waiting for a check and one waiting for a lock to end: after a restart all three go live', async () => {
      const project = 'crash';
      await t.client.createProject(project);
      await declarePipeline(t.client, project, {
        dev: {},
        staging: { from: 'dev', auto: true, checks: ['ci/test'] },
        qa: { from: 'dev', auto: true, checks: ['ci/test'] },
      });
      // Another project waits for a lock to end: only its timer looks at it again.
      const timed = 'crash-timer';
      await t.client.createProject(timed);
      await declarePipeline(t.client, timed, { dev: {}, canary: { from: 'dev', auto: true } });
      await t.client.lock(timed, 'canary', { reason: 'load test', until: '3s' });

      const r1 = await deployCommit(t.client, project, commit('crash-1'));
      await t.client.promote(project, 'dev', { deployment: r1.id });
      for (const env of ['staging', 'qa']) assert.equal((await releaseOf(t.client, project, env, r1.id))?.state, 'waiting', env);
      const c1 = await deployCommit(t.client, timed, commit('crash-timer-1'));
      await t.client.promote(timed, 'dev', { deployment: c1.id });
      const locked = await releaseOf(t.client, timed, 'canary', c1.id);
      assert.deepEqual(waitCodes(locked), ['ENVIRONMENT_LOCKED']);
      assert.ok(locked?.recheckAt, 'the lock names when it is looked at again');
      await waitForPipelineIdle(t.client);

      // The server stops; what it left is a release between rolling_out and live (as a crash
      // between those two steps leaves it) next to two that wait.
      const staging = await releaseOf(t.client, project, 'staging', r1.id);
      assert.ok(staging);
      await t.restart(async () => {
        const store = await openStore(t.databaseUrl);
        try {
          assert.equal(await store.transitionRelease(staging.id, 'waiting', { state: 'rolling_out' }), true);
        } finally {
          await store.close();
        }
      });

      // Nothing else happens to the project: the start alone finishes the move.
      const resumed = await waitForLive(t.client, project, 'staging', r1.id);
      assert.equal(resumed.id, staging.id);
      assert.equal(resumed.replaces, null);
      assert.equal((await releaseOf(t.client, project, 'qa', r1.id))?.state, 'waiting');
      // The check reported after the restart wakes what waited for it.
      await t.client.reportCheck(project, { commit: commit('crash-1'), name: 'ci/test', state: 'success' });
      await waitForLive(t.client, project, 'qa', r1.id);
      // The lock ends and nobody touches canary: its timer, kept across the restart, lets it in.
      await waitForLive(t.client, timed, 'canary', c1.id, 20_000);
      await waitForPipelineIdle(t.client);
      for (const [p, envs] of [[project, ['dev', 'staging', 'qa']], [timed, ['dev', 'canary']]] as const) {
        for (const env of envs) {
          const { releases } = await t.client.listReleases(p, env, { limit: 50 });
          assert.deepEqual(releases.filter((r) => OPEN_STATES.includes(r.state)), [], `${p} ${env} has nothing open`);
        }
      }
    });

    test('the timer of a lock is kept when another wake-up of the project is looked at first', async () => {
      const project = 'timer';
      await t.client.createProject(project);
      await declarePipeline(t.client, project, { dev: {}, canary: { from: 'dev', auto: true }, qa: { from: 'dev', auto: true, checks: ['ci/test'] } });
      await t.client.lock(project, 'canary', { reason: 'load test', until: '3s' });
      const d = await deployCommit(t.client, project, commit('timer-1'));
      await t.client.promote(project, 'dev', { deployment: d.id });
      assert.deepEqual(waitCodes(await releaseOf(t.client, project, 'canary', d.id)), ['ENVIRONMENT_LOCKED']);
      // The check wakes the project at once, while canary's timer is queued for later.
      await t.client.reportCheck(project, { commit: commit('timer-1'), name: 'ci/test', state: 'success' });
      await waitForLive(t.client, project, 'qa', d.id);
      assert.equal((await releaseOf(t.client, project, 'canary', d.id))?.state, 'waiting', 'still locked');
      await waitForLive(t.client, project, 'canary', d.id, 20_000);
    });

    test('20 check reports and 10 promotions of one environment at once leave one consistent history', async () => {
      const project = 'busy';
      await t.client.createProject(project);
      await declarePipeline(t.client, project, { dev: {}, staging: { from: 'dev', auto: true, checks: ['ci/test'], mode: 'gate' } });
      const shas = Array.from({ length: 10 }, (_, i) => commit(`busy-${i}`));
      // Unrelated commits (each a root): none contains another, so every candidate queues.
      for (const sha of shas) await recordChain(t, project, [sha]);
      const deployments: Deployment[] = [];
      for (const sha of shas) {
        const d = await deployCommit(t.client, project, sha);
        await t.client.promote(project, 'dev', { deployment: d.id });
        deployments.push(d);
      }
      const queued = (await t.client.listReleases(project, 'staging', { limit: 50 })).releases;
      assert.equal(queued.length, 10);
      assert.ok(queued.every((r) => r.state === 'waiting' && r.trigger === 'automation'));

      // All at once, interleaved: ci/test on every commit (every third one red), an unrequired
      // check on each, and a person promoting each — the late commits' before their checks arrive.
      const red = (i: number) => i % 3 === 0;
      const reports: Promise<unknown>[] = [];
      const promotions: Promise<Release>[] = [];
      shas.forEach((sha, i) => {
        reports.push(t.client.reportCheck(project, { commit: sha, name: 'ci/test', state: red(i) ? 'failure' : 'success', url: `https://ci.example.com/${i}` }));
        promotions.push(t.client.promote(project, 'staging', { deployment: deployments[shas.length - 1 - i]?.id ?? '' }));
        reports.push(t.client.reportCheck(project, { commit: sha, name: 'ci/lint', state: 'success' }));
      });
      const [reported, promoted] = await Promise.all([Promise.allSettled(reports), Promise.allSettled(promotions)]);
      for (const r of reported) assert.equal(r.status, 'fulfilled', r.status === 'rejected' ? String(r.reason) : '');
      for (const p of promoted) {
        if (p.status === 'fulfilled') continue;
        // A promotion may lose a race or meet a red check; it never fails otherwise.
        assert.ok(p.reason instanceof ApiError, String(p.reason));
        assert.ok(['RELEASE_CONFLICT', 'CHECK_FAILED', 'ALREADY_LIVE'].includes(p.reason.code), `${p.reason.code}: ${p.reason.message}`);
      }

      await waitForPipelineIdle(t.client);
      const dead = (await t.client.listJobs({ state: 'dead', kind: 'pipeline.evaluate' })).jobs;
      assert.deepEqual(dead, [], 'no evaluation gave up');
      const env = await t.client.getEnvironment(project, 'staging');
      const releases = (await t.client.listReleases(project, 'staging', { limit: 500 })).releases;

      assert.equal(new Set(releases.map((r) => r.number)).size, releases.length, 'release numbers are unique');
      const live = releases.filter((r) => r.state === 'live');
      assert.equal(live.length, 1, 'exactly one release is live');
      assert.equal(env.release?.id, live[0]?.id, 'and it is the one the environment points at');
      assert.equal(env.deployment, live[0]?.deployment);
      assert.ok(!red(deployments.findIndex((d) => d.id === env.deployment)), 'what runs had a green ci/test');
      assert.deepEqual(
        releases.filter((r) => OPEN_STATES.includes(r.state)).map((r) => `v${r.number} ${r.state}`),
        [],
        'every check is in: nothing is left open',
      );
      for (const r of releases) {
        if (r.state === 'live') continue;
        assert.ok(r.stateReason, `v${r.number} (${r.state}) says why`);
        assert.ok(r.endedAt, `v${r.number} (${r.state}) has ended`);
        if (r.state === 'superseded') assert.ok(r.supersededBy, `v${r.number} names what superseded it`);
        if (r.state === 'failed') assert.ok(red(deployments.findIndex((d) => d.id === r.deployment)), `v${r.number} failed with a green check`);
      }

      // The history of what was live is one chain: each release live in turn replaced the one before.
      const events = (await t.client.listEvents({ project, environment: 'staging', limit: 500 })).events;
      const wentLive = events.filter((e) => e.action === 'release.live').reverse().map((e) => e.target);
      assert.equal(new Set(wentLive).size, wentLive.length, 'no release went live twice');
      const byId = new Map(releases.map((r) => [r.id, r]));
      const everLive = releases.filter((r) => r.liveAt !== null);
      assert.equal(wentLive.length, everLive.length, 'every release with a live time has one event, and only those');
      wentLive.forEach((id, i) => {
        const release = byId.get(id ?? '');
        assert.ok(release, `${id ?? '?'} is a release of staging`);
        assert.equal(release.replaces, i === 0 ? null : wentLive[i - 1], `v${release.number} replaced the release live before it`);
        if (i < wentLive.length - 1) {
          assert.equal(release.state, 'superseded', `v${release.number} was replaced`);
          assert.equal(release.supersededBy, wentLive[i + 1]);
        }
      });
      assert.equal(wentLive.at(-1), live[0]?.id);
      assert.equal(await runs(t.client, project, 'staging'), live[0]?.deployment);
    });
  });
}
