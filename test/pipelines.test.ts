import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Deployment } from '../src/protocol/api.ts';
import type { Clock } from '../src/core/clock.ts';
import { evaluateProjectPipeline } from '../src/server/services/pipeline.ts';
import { rejectsWithCode } from './support/assert.ts';
import { backends } from './support/backends.ts';
import { deployFiles, startTestServer, type TestServer } from './support/server.ts';

/** A deployment of one file, uploaded with the commit (and branch) it claims to be built from. */
function deployCommit(t: TestServer, project: string, body: string, meta: { commit?: string; branch?: string } = {}): Promise<Deployment> {
  return deployFiles(t.client, project, { 'index.html': body }, meta);
}

for (const backend of backends) {
  describe(`pipelines: policy, lineage and automation on ${backend.name}`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
      await t.client.createProject('shop');
      await t.client.createProject('infra');
    });
    after(() => t.dispose());

    test('env set validates the path: missing from, itself, cycles, requires', async () => {
      const a = await deployCommit(t, 'shop', 'seed');
      await t.client.promote('shop', 'dev', { deployment: a.id });
      await rejectsWithCode(t.client.setPolicy('shop', 'staging', { from: 'nowhere' }), 'POLICY_INVALID', 400);
      await rejectsWithCode(t.client.setPolicy('shop', 'staging', { from: 'staging' }), 'POLICY_INVALID', 400);
      await rejectsWithCode(t.client.setPolicy('shop', 'staging', { requires: ['infra'] }), 'POLICY_INVALID', 400);
      await rejectsWithCode(t.client.setPolicy('shop', 'staging', { from: 'dev', requires: ['ghost'] }), 'POLICY_INVALID', 400);
      await rejectsWithCode(t.client.setPolicy('shop', 'qa', { auto: true }), 'POLICY_INVALID', 400);
      const staging = await t.client.setPolicy('shop', 'staging', { from: 'dev', auto: true });
      assert.equal(staging.from, 'dev');
      assert.equal(staging.auto, true);
      assert.equal(staging.source, 'user admin');
      assert.equal(staging.maxCommits, 8, 'a first policy starts from the defaults');
      await rejectsWithCode(t.client.setPolicy('shop', 'dev', { from: 'staging' }), 'POLICY_INVALID', 400);
      const events = (await t.client.listEvents({ project: 'shop', environment: 'staging' })).events;
      assert.ok(events.some((e) => e.action === 'environment.policy'));
    });

    test('a release live upstream is proposed to an auto environment and goes live there', async () => {
      const b = await deployCommit(t, 'shop', 'b');
      const dev = await t.client.promote('shop', 'dev', { deployment: b.id });
      assert.equal(dev.state, 'live');
      const staging = await t.client.getEnvironment('shop', 'staging');
      assert.equal(staging.deployment, b.id);
      const [release] = (await t.client.listReleases('shop', 'staging', { limit: 1 })).releases;
      assert.equal(release?.trigger, 'automation');
      assert.equal(release?.state, 'live');
    });

    test('lineage: production only takes what staging ran; refusals name staging; admin may break glass', async () => {
      await t.client.setPolicy('shop', 'production', { from: 'staging' });
      const stranger = await deployCommit(t, 'shop', 'never staged', { commit: 'a'.repeat(40) });
      const refused = await rejectsWithCode(t.client.promote('shop', 'production', { deployment: stranger.id }), 'LINEAGE_VIOLATION', 409);
      assert.match(refused.message, /staging has not run aaaaaaa/);
      assert.equal((await t.client.getEnvironment('shop', 'production').catch(() => undefined))?.deployment ?? null, null);
      await rejectsWithCode(t.client.promote('shop', 'production', { deployment: stranger.id, force: true }), 'REASON_REQUIRED');
      const forced = await t.client.promote('shop', 'production', { deployment: stranger.id, force: true, reason: 'hotfix verified by hand' });
      assert.equal(forced.state, 'live');
      const events = (await t.client.listEvents({ project: 'shop', environment: 'production' })).events;
      assert.ok(events.some((e) => e.action === 'lineage.break_glass'));

      const staged = (await t.client.getEnvironment('shop', 'staging')).deployment ?? '';
      const ok = await t.client.promote('shop', 'production', { deployment: staged });
      assert.equal(ok.state, 'live');
    });

    test('lineage refuses what staging rolled back', async () => {
      const bad = await deployCommit(t, 'shop', 'bad');
      await t.client.promote('shop', 'dev', { deployment: bad.id });
      assert.equal((await t.client.getEnvironment('shop', 'staging')).deployment, bad.id);
      await t.client.rollback('shop', 'staging', { reason: 'broken' });
      const refused = await rejectsWithCode(t.client.promote('shop', 'production', { deployment: bad.id }), 'LINEAGE_VIOLATION', 409);
      assert.match(refused.message, /rolled/);
    });

    test('automation waits behind a lock as a release that says so, and goes live on unlock', async () => {
      await t.client.lock('shop', 'staging', { reason: 'demo' });
      // staging is pinned by the rollback above: a person's promotion unpins it first.
      const current = (await t.client.getEnvironment('shop', 'dev')).deployment ?? '';
      await t.client.unlock('shop', 'staging', {});
      await t.client.promote('shop', 'staging', { deployment: current });
      await t.client.lock('shop', 'staging', { reason: 'demo' });
      const next = await deployCommit(t, 'shop', 'while locked');
      await t.client.promote('shop', 'dev', { deployment: next.id });
      const pipeline = await t.client.getPipeline('shop');
      const stage = pipeline.stages.find((s) => s.name === 'staging');
      const waiting = stage?.waiting[0];
      assert.equal(waiting?.deployment, next.id);
      assert.equal(waiting?.state, 'waiting');
      assert.equal(waiting?.gates?.outcome, 'wait');
      assert.ok(waiting?.gates?.outcome === 'wait' && waiting.gates.reasons.some((r) => r.code === 'ENVIRONMENT_LOCKED'));
      assert.deepEqual(
        pipeline.stages.map((s) => s.name),
        ['dev', 'staging', 'production'],
      );
      await t.client.unlock('shop', 'staging', {});
      const deadline = Date.now() + 10_000;
      while ((await t.client.getEnvironment('shop', 'staging')).deployment !== next.id && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal((await t.client.getEnvironment('shop', 'staging')).deployment, next.id);
    });

    test('promote --commit promotes the deployment a commit built; unknown commits are refused', async () => {
      await rejectsWithCode(t.client.promote('shop', 'dev', { commit: 'f'.repeat(40) }), 'COMMIT_NOT_FOUND', 404);
      await rejectsWithCode(t.client.promote('shop', 'dev', {}), 'INVALID_REQUEST', 400);
    });

    test('a rollback returns only to what went live: never to a release that waits or failed', async () => {
      const good = await deployCommit(t, 'shop', 'qa good', { commit: 'c'.repeat(40) });
      await t.client.promote('shop', 'qa', { deployment: good.id });
      await t.client.setPolicy('shop', 'qa', { checks: ['ci/test'] });
      const untested = await deployCommit(t, 'shop', 'qa untested', { commit: 'd'.repeat(40) });
      const waiting = await t.client.promote('shop', 'qa', { deployment: untested.id });
      assert.equal(waiting.state, 'waiting');
      await t.client.reportCheck('shop', { commit: 'e'.repeat(40), name: 'ci/test', state: 'failure' });
      const red = await deployCommit(t, 'shop', 'qa red', { commit: 'e'.repeat(40) });
      await rejectsWithCode(t.client.promote('shop', 'qa', { deployment: red.id }), 'CHECK_FAILED');

      // Nothing went live before the current release: no rollback, rather than the untested release.
      await rejectsWithCode(t.client.rollback('shop', 'qa', {}), 'NO_PREVIOUS_RELEASE');
      await rejectsWithCode(t.client.rollback('shop', 'qa', { to: untested.id }), 'ROLLBACK_TARGET_INVALID');
      await rejectsWithCode(t.client.rollback('shop', 'qa', { to: red.id }), 'ROLLBACK_TARGET_INVALID');
      await rejectsWithCode(t.client.rollback('shop', 'qa', { to: `v${waiting.number}` }), 'ROLLBACK_TARGET_INVALID');
      assert.equal((await t.client.getEnvironment('shop', 'qa')).deployment, good.id);
    });
  });
}

class ShiftedClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

for (const backend of backends) {
  describe(`pipelines: soak on ${backend.name}`, () => {
    let t: TestServer;
    const clock = new ShiftedClock();
    before(async () => {
      t = await startTestServer(backend, { clock });
      await t.client.createProject('soaked');
    });
    after(() => t.dispose());

    test('a candidate waits until it has been live upstream for the soak, then goes live at that moment', async () => {
      await rejectsWithCode(t.client.setPolicy('soaked', 'solo', { soak: '10m' }), 'POLICY_INVALID', 400);
      const first = await deployCommit(t, 'soaked', 'first');
      await t.client.promote('soaked', 'dev', { deployment: first.id });
      const policy = await t.client.setPolicy('soaked', 'staging', { from: 'dev', auto: true, soak: '10m' });
      assert.equal(policy.soakMs, 10 * 60_000);
      const next = await deployCommit(t, 'soaked', 'next');
      await t.client.promote('soaked', 'dev', { deployment: next.id });
      const waiting = (await t.client.getPipeline('soaked')).stages.find((s) => s.name === 'staging')?.waiting[0];
      assert.equal(waiting?.deployment, next.id);
      assert.ok(waiting?.gates?.outcome === 'wait' && waiting.gates.reasons.some((r) => r.code === 'SOAKING'), JSON.stringify(waiting?.gates));
      const recheckAt = Date.parse(waiting.recheckAt ?? '');
      assert.ok(Math.abs(recheckAt - (clock.now().getTime() + 10 * 60_000)) < 5_000, 'looked at again when the soak ends');

      // Five minutes on, still soaking; at ten, live.
      const projectId = (await t.server.deps.store.findProjectByName('soaked'))?.id ?? '';
      clock.offsetMs += 5 * 60_000;
      await evaluateProjectPipeline(t.server.deps, projectId);
      assert.equal((await t.client.getEnvironment('soaked', 'staging')).deployment ?? null, null);
      clock.offsetMs += 5 * 60_000 + 1_000;
      await evaluateProjectPipeline(t.server.deps, projectId);
      assert.equal((await t.client.getEnvironment('soaked', 'staging')).deployment, next.id);
    });

    test('replaced upstream before it soaked, a candidate fails: it never can', async () => {
      const quick = await deployCommit(t, 'soaked', 'quick');
      await t.client.promote('soaked', 'dev', { deployment: quick.id });
      clock.offsetMs += 60_000;
      const after = await deployCommit(t, 'soaked', 'after');
      await t.client.promote('soaked', 'dev', { deployment: after.id });
      const releases = (await t.client.listReleases('soaked', 'staging', { limit: 10 })).releases;
      const ofQuick = releases.find((r) => r.deployment === quick.id);
      // The newer candidate contains nothing of the older (no commits): the older is judged and fails.
      const projectId = (await t.server.deps.store.findProjectByName('soaked'))?.id ?? '';
      await evaluateProjectPipeline(t.server.deps, projectId);
      const judged = (await t.client.listReleases('soaked', 'staging', { limit: 10 })).releases.find((r) => r.id === ofQuick?.id);
      assert.equal(judged?.state, 'failed');
      assert.ok(judged?.gates?.outcome === 'fail' && judged.gates.reason.code === 'SOAK_INCOMPLETE', JSON.stringify(judged?.gates));
    });
  });
}
