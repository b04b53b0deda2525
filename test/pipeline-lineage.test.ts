import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SlipwayClient } from '../src/protocol/client.ts';
import { rejectsWithCode } from './support/assert.ts';
import { backends } from './support/backends.ts';
import { buildCommit, commit, declarePipeline, releaseOf, runnerClient, runs, slipway, waitCodes, waitForLive, waitForState } from './support/pipeline.ts';
import { startTestServer, type TestServer } from './support/server.ts';

/**
 * Lineage on every path: with `from: staging`, a deployment enters production only after it
 * was live in staging and not rolled back there — refused with LINEAGE_VIOLATION through the
 * API and the CLI (naming the environment that lacks it), and never taken by automation.
 */

for (const backend of backends) {
  describe(`lineage on every path on ${backend.name}`, () => {
    let t: TestServer;
    let runner: SlipwayClient;
    const project = 'lineage';
    const releaseCount = async (env: string) => (await t.client.listReleases(project, env, { limit: 200 }).catch(() => ({ releases: [] }))).releases.length;

    before(async () => {
      t = await startTestServer(backend);
      runner = await runnerClient(t);
      await t.client.createProject(project);
      await declarePipeline(t.client, project, { dev: {}, staging: { from: 'dev' }, production: { from: 'staging' } });
    });
    after(() => t.dispose());

    test('API: a promotion past an environment that has not run the deployment is refused and writes nothing', async () => {
      const l1 = commit('lineage-1');
      const { deployment } = await buildCommit(t, project, runner, { sha: l1, branch: 'main' });
      const before = await releaseCount('production');
      const refused = await rejectsWithCode(t.client.promote(project, 'production', { deployment }), 'LINEAGE_VIOLATION', 409);
      assert.match(refused.message, new RegExp(`staging has not run ${l1.slice(0, 7)}`));
      assert.equal(refused.details?.environment, 'staging');
      const byCommit = await rejectsWithCode(t.client.promote(project, 'staging', { commit: l1 }), 'LINEAGE_VIOLATION', 409);
      assert.match(byCommit.message, /dev has not run/);
      assert.equal(await releaseCount('production'), before, 'a refusal writes no release');
      assert.equal(await runs(t.client, project, 'production'), null);

      // In order, it goes through.
      for (const env of ['dev', 'staging', 'production']) assert.equal((await t.client.promote(project, env, { deployment })).state, 'live', env);
    });

    test('CLI: promote --commit exits 5 with LINEAGE_VIOLATION naming the environment, and goes through once the path was taken', async () => {
      const l2 = commit('lineage-2');
      const { deployment } = await buildCommit(t, project, runner, { sha: l2, branch: 'main', before: commit('lineage-1') });
      const refused = await slipway(t, ['promote', '--commit', l2, '--env', 'staging', '--project', project]);
      assert.equal(refused.code, 5, refused.stderr);
      assert.match(refused.stderr, /LINEAGE_VIOLATION/);
      assert.match(refused.stderr, new RegExp(`dev has not run ${l2.slice(0, 7)}`));
      assert.notEqual(await runs(t.client, project, 'staging'), deployment);

      const dev = await slipway(t, ['promote', '--commit', l2, '--env', 'dev', '--project', project]);
      assert.equal(dev.code, 0, dev.stderr);
      const staging = await slipway(t, ['promote', '--commit', l2.slice(0, 8), '--env', 'staging', '--project', project]);
      assert.equal(staging.code, 0, staging.stderr);
      assert.equal(await runs(t.client, project, 'staging'), deployment);

      // staging rolls it back: production refuses it, from the CLI too, saying so.
      await t.client.rollback(project, 'staging', { reason: 'broke checkout' });
      const rolled = await slipway(t, ['promote', '--commit', l2, '--env', 'production', '--project', project]);
      assert.equal(rolled.code, 5, rolled.stderr);
      assert.match(rolled.stderr, /LINEAGE_VIOLATION/);
      assert.match(rolled.stderr, new RegExp(`staging rolled ${l2.slice(0, 7)} back`));
      await rejectsWithCode(t.client.promote(project, 'production', { deployment }), 'LINEAGE_VIOLATION', 409);
      assert.notEqual(await runs(t.client, project, 'production'), deployment);

      // An admin may break glass with a reason; it is audited.
      const forced = await slipway(t, ['promote', '--commit', l2, '--env', 'production', '--project', project, '--force', '--reason', 'fixed forward by hand']);
      assert.equal(forced.code, 0, forced.stderr);
      assert.equal(await runs(t.client, project, 'production'), deployment);
      const events = (await t.client.listEvents({ project, environment: 'production', limit: 20 })).events;
      assert.ok(events.some((e) => e.action === 'lineage.break_glass'));
    });

    test('automation: a candidate of a branch never enters an environment whose upstream has not run it; it goes once the upstream has', async () => {
      const auto = 'lineage-auto';
      await t.client.createProject(auto);
      // production follows main itself, but only takes what staging ran.
      await declarePipeline(t.client, auto, { staging: {}, production: { follows: 'main', from: 'staging', auto: true } });
      const m1 = commit('auto-1');
      const { deployment } = await buildCommit(t, auto, runner, { sha: m1, branch: 'main' });
      const held = await releaseOf(t.client, auto, 'production', deployment);
      assert.equal(held?.state, 'waiting');
      assert.equal(held?.trigger, 'automation');
      assert.deepEqual(waitCodes(held), ['LINEAGE_VIOLATION']);
      assert.match(held?.stateReason ?? '', new RegExp(`staging has not run ${m1.slice(0, 7)}`));
      assert.equal(await runs(t.client, auto, 'production'), null);

      await t.client.promote(auto, 'staging', { deployment });
      const live = await waitForLive(t.client, auto, 'production', deployment);
      assert.equal(live.id, held?.id, 'the release that waited is the one that went live');

      // A deployment staging ran and then rolled back is never taken: the waiting release fails.
      await t.client.lock(auto, 'production', { reason: 'release freeze' });
      const m2 = commit('auto-2');
      const second = await buildCommit(t, auto, runner, { sha: m2, branch: 'main', before: m1 });
      await t.client.promote(auto, 'staging', { deployment: second.deployment });
      assert.deepEqual(waitCodes(await releaseOf(t.client, auto, 'production', second.deployment)), ['ENVIRONMENT_LOCKED']);
      await t.client.rollback(auto, 'staging', { reason: 'bad' });
      await t.client.unlock(auto, 'production', {});
      const failed = await waitForState(t.client, auto, 'production', second.deployment, 'failed');
      assert.equal(failed.gates?.outcome === 'fail' ? failed.gates.reason.code : null, 'LINEAGE_VIOLATION');
      assert.match(failed.stateReason ?? '', /rolled/);
      assert.equal(await runs(t.client, auto, 'production'), deployment);
    });
  });
}
