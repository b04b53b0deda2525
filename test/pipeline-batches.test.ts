import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends } from './support/backends.ts';
import { eventually } from './support/eventually.ts';
import { commit, declarePipeline, deployCommit, recordChain, releaseOf, runs, waitCodes, waitForLive } from './support/pipeline.ts';
import { startTestServer, type TestServer } from './support/server.ts';

/**
 * Continuous delivery in visible batches: automated candidates queue per environment (FIFO),
 * a newer candidate that contains an older one supersedes it with a link, a batch larger than
 * `max_commits` waits for a person, and `requires:` holds an app until its infra runs what was
 * tested with it.
 */

for (const backend of backends) {
  describe(`batches, supersede and requires on ${backend.name}`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
    });
    after(() => t.dispose());

    test('a queued candidate contained in a newer one is superseded by it; one that is not stays queued and goes first', async () => {
      const project = 'queue';
      await t.client.createProject(project);
      await declarePipeline(t.client, project, { dev: {}, staging: { from: 'dev', auto: true, checks: ['ci/test'], mode: 'gate' } });
      // main: s0 ← a ← b; x is on a branch of its own, from s0.
      const [s0, a, b, x] = ['s0', 'a', 'b', 'x'].map((n) => commit(`queue-${n}`)) as [string, string, string, string];
      await recordChain(t, project, [s0, a, b]);
      await recordChain(t, project, [x], s0);
      const seed = await deployCommit(t.client, project, s0);
      await t.client.reportCheck(project, { commit: s0, name: 'ci/test', state: 'success' });
      await t.client.promote(project, 'dev', { deployment: seed.id });
      assert.equal(await runs(t.client, project, 'staging'), seed.id);

      const dx = await deployCommit(t.client, project, x, 'feature/x');
      await t.client.promote(project, 'dev', { deployment: dx.id });
      const da = await deployCommit(t.client, project, a);
      await t.client.promote(project, 'dev', { deployment: da.id });
      const queuedA = await releaseOf(t.client, project, 'staging', da.id);
      assert.equal(queuedA?.state, 'waiting');
      assert.deepEqual(waitCodes(queuedA), ['CHECKS_PENDING', 'QUEUED']);

      const db = await deployCommit(t.client, project, b);
      await t.client.promote(project, 'dev', { deployment: db.id });
      const releaseB = await releaseOf(t.client, project, 'staging', db.id);
      assert.equal(releaseB?.state, 'waiting');
      assert.equal(releaseB?.batchSize, 2, 'b brings a and b over s0');
      const supersededA = await releaseOf(t.client, project, 'staging', da.id);
      assert.equal(supersededA?.state, 'superseded');
      assert.equal(supersededA?.supersededBy, releaseB?.id);
      assert.match(supersededA?.stateReason ?? '', new RegExp(`v${releaseB?.number ?? '?'}`));
      assert.ok(supersededA?.endedAt);
      assert.equal((await releaseOf(t.client, project, 'staging', dx.id))?.state, 'waiting', 'x is not in b: it stays queued');
      const pipeline = await t.client.getPipeline(project);
      assert.deepEqual(
        pipeline.stages.find((s) => s.name === 'staging')?.waiting.map((r) => r.deployment),
        [dx.id, db.id],
        'the pipeline lists what waits, oldest first',
      );

      // b's checks pass first, but x was queued before it: b waits behind x, and says so.
      await t.client.reportCheck(project, { commit: b, name: 'ci/test', state: 'success' });
      const behind = await eventually('b to wait only behind x', async () => {
        const release = await releaseOf(t.client, project, 'staging', db.id);
        return waitCodes(release).join() === 'QUEUED' ? release : undefined;
      });
      assert.match(behind.stateReason ?? '', /behind v\d+/);
      assert.equal(await runs(t.client, project, 'staging'), seed.id);

      await t.client.reportCheck(project, { commit: x, name: 'ci/test', state: 'success' });
      const liveB = await waitForLive(t.client, project, 'staging', db.id);
      const releaseX = await releaseOf(t.client, project, 'staging', dx.id);
      assert.equal(releaseX?.state, 'superseded', 'x went live, then b replaced it');
      assert.equal(releaseX?.supersededBy, liveB.id);
      assert.ok(releaseX?.liveAt && liveB.liveAt && releaseX.liveAt <= liveB.liveAt, 'x first, then b');
      assert.equal(liveB.replaces, releaseX?.id);
      const lives = (await t.client.listEvents({ project, environment: 'staging', limit: 100 })).events.filter((e) => e.action === 'release.live');
      const order = lives.map((e) => e.target).reverse();
      assert.ok(order.indexOf(releaseX?.id ?? '') < order.indexOf(liveB.id), 'events agree: x before b');
    });

    test('max_commits: automation waits for a person when a batch is larger; a person promotes it; a small batch goes by itself', async () => {
      const project = 'batches';
      await t.client.createProject(project);
      await declarePipeline(t.client, project, { dev: {}, staging: { from: 'dev', auto: true, maxCommits: 2 } });
      const chain = [0, 1, 2, 3, 4].map((n) => commit(`batch-${n}`));
      await recordChain(t, project, chain);
      const [c0, , , c3, c4] = chain as [string, string, string, string, string];
      const d0 = await deployCommit(t.client, project, c0);
      await t.client.promote(project, 'dev', { deployment: d0.id });
      assert.equal(await runs(t.client, project, 'staging'), d0.id, 'the first release carries one commit');

      const d3 = await deployCommit(t.client, project, c3);
      await t.client.promote(project, 'dev', { deployment: d3.id });
      const held = await releaseOf(t.client, project, 'staging', d3.id);
      assert.equal(held?.state, 'waiting');
      assert.deepEqual(waitCodes(held), ['MAX_COMMITS']);
      assert.equal(held?.batchSize, 3);
      assert.match(held?.stateReason ?? '', /3 commits is more than max_commits 2/);
      const detail = await t.client.getRelease(project, held?.id ?? '');
      assert.deepEqual(
        detail.batch?.commits.map((c) => c.sha),
        [c3, chain[2], chain[1]],
        'the release lists the commits it brings, newest first',
      );
      assert.equal(detail.batch?.commits[0]?.author, 'Grace Hopper');
      assert.equal(await runs(t.client, project, 'staging'), d0.id);

      const promoted = await t.client.promote(project, 'staging', { deployment: d3.id });
      assert.equal(promoted.state, 'live', 'a person chose the batch');
      assert.equal(promoted.trigger, 'user');
      assert.equal((await t.client.getRelease(project, held?.id ?? '')).state, 'superseded');

      const d4 = await deployCommit(t.client, project, c4);
      await t.client.promote(project, 'dev', { deployment: d4.id });
      const small = await releaseOf(t.client, project, 'staging', d4.id);
      assert.equal(small?.state, 'live');
      assert.equal(small?.trigger, 'automation');
      assert.equal(small?.batchSize, 1);
    });

    test('an environment declared with env set takes the default max_commits of 8', async () => {
      await t.client.createProject('defaults');
      await t.client.setPolicy('defaults', 'dev', {});
      const policy = await t.client.setPolicy('defaults', 'staging', { from: 'dev', auto: true });
      assert.equal(policy.maxCommits, 8);
    });

    test('requires: app waits in production until infra runs what ran with it in staging; the wait names that release; then it goes by itself', async () => {
      await t.client.createProject('infra');
      await t.client.createProject('app');
      await declarePipeline(t.client, 'infra', { staging: {}, production: { from: 'staging' } });
      await declarePipeline(t.client, 'app', { staging: {}, production: { from: 'staging', auto: true, requires: ['infra'] } });
      await recordChain(t, 'app', [commit('app-1'), commit('app-2')]);
      const i1 = await deployCommit(t.client, 'infra', commit('infra-1'));
      const i2 = await deployCommit(t.client, 'infra', commit('infra-2'));
      const i3 = await deployCommit(t.client, 'infra', commit('infra-3'));
      await t.client.promote('infra', 'staging', { deployment: i1.id });
      await t.client.promote('infra', 'production', { deployment: i1.id });
      const i2staging = await t.client.promote('infra', 'staging', { deployment: i2.id });

      // app's candidate is tested in staging alongside infra's i2.
      const a1 = await deployCommit(t.client, 'app', commit('app-1'));
      await t.client.promote('app', 'staging', { deployment: a1.id });
      const waiting = await releaseOf(t.client, 'app', 'production', a1.id);
      assert.equal(waiting?.state, 'waiting');
      assert.deepEqual(waitCodes(waiting), ['REQUIRES_PENDING']);
      const needs = `infra ${i2.id} (staging v${i2staging.number})`;
      assert.ok(waiting?.stateReason?.includes(needs), `${waiting?.stateReason ?? ''} names ${needs}`);
      const stage = (await t.client.getPipeline('app')).stages.find((s) => s.name === 'production');
      assert.equal(stage?.waiting[0]?.id, waiting?.id);

      // infra moves on in staging: what app needs does not change; infra production running i1 is not enough.
      await t.client.promote('infra', 'staging', { deployment: i3.id });
      assert.equal(await runs(t.client, 'app', 'production'), null);
      assert.ok((await releaseOf(t.client, 'app', 'production', a1.id))?.stateReason?.includes(needs));

      // infra's production takes i2: app goes live by itself.
      await t.client.promote('infra', 'production', { deployment: i2.id });
      const live = await waitForLive(t.client, 'app', 'production', a1.id);
      assert.equal(live.trigger, 'automation');
      assert.equal(live.gates?.outcome, 'pass');
    });

    test('requires is satisfied by a newer release of infra too', async () => {
      const a2 = await deployCommit(t.client, 'app', commit('app-2'));
      // infra staging runs i3 now; app's a2 is tested alongside it.
      await t.client.promote('app', 'staging', { deployment: a2.id });
      assert.deepEqual(waitCodes(await releaseOf(t.client, 'app', 'production', a2.id)), ['REQUIRES_PENDING']);
      const i4 = await deployCommit(t.client, 'infra', commit('infra-4'));
      await t.client.promote('infra', 'staging', { deployment: i4.id });
      // infra production skips i3 and takes i4, which staging ran after i3.
      await t.client.promote('infra', 'production', { deployment: i4.id });
      await waitForLive(t.client, 'app', 'production', a2.id);
    });
  });
}
