import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rejectsWithCode } from './support/assert.ts';
import { backends } from './support/backends.ts';
import { eventually } from './support/eventually.ts';
import { commit, declarePipeline, deployCommit, recordChain, releaseOf, runs, waitCodes, waitForLive, waitForState } from './support/pipeline.ts';
import { startTestServer, type TestServer } from './support/server.ts';

/**
 * CI parity per environment: in `mode: gate` a release waits for its required checks and a red
 * one never goes live; in `mode: parallel` it goes live at once and a required check turning
 * red later rolls the environment back, pins it and says which check and URL did it.
 */

for (const backend of backends) {
  describe(`gate and parallel mode on ${backend.name}`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
    });
    after(() => t.dispose());

    describe('gate mode', () => {
      const project = 'gated';
      before(async () => {
        await t.client.createProject(project);
        await declarePipeline(t.client, project, {
          dev: {},
          staging: { from: 'dev', auto: true, checks: ['ci/test'], mode: 'gate' },
          production: { from: 'staging', auto: true, checks: ['ci/test'], mode: 'gate' },
        });
        await recordChain(t, project, ['a', 'b', 'c'].map((n) => commit(`gated-${n}`)));
      });

      test('a release waits for its required checks and goes live by itself when they pass, then moves on downstream', async () => {
        const a = await deployCommit(t.client, project, commit('gated-a'));
        assert.equal((await t.client.promote(project, 'dev', { deployment: a.id })).state, 'live');
        const waiting = await releaseOf(t.client, project, 'staging', a.id);
        assert.equal(waiting?.state, 'waiting');
        assert.equal(waiting?.trigger, 'automation');
        assert.deepEqual(waitCodes(waiting), ['CHECKS_PENDING']);
        assert.equal(waiting?.stateReason, 'waiting for checks: ci/test missing');

        await t.client.reportCheck(project, { commit: commit('gated-a'), name: 'ci/test', state: 'pending' });
        await t.client.reportCheck(project, { commit: commit('gated-a'), name: 'ci/other', state: 'failure' });
        // A pending or unrequired check moves nothing; the release is looked at again and still says why it waits.
        await eventually('the pending check to be seen', async () => {
          const again = await releaseOf(t.client, project, 'staging', a.id);
          return again?.state === 'waiting' && again.stateReason === 'waiting for checks: ci/test pending' ? again : undefined;
        });
        assert.equal(await runs(t.client, project, 'staging'), null);

        await t.client.reportCheck(project, { commit: commit('gated-a'), name: 'ci/test', state: 'success', url: 'https://ci.example.com/runs/1' });
        const live = await waitForLive(t.client, project, 'staging', a.id);
        assert.equal(live.gates?.outcome, 'pass');
        // Production's own gate (the same check) is green already: it follows within the same look.
        await waitForLive(t.client, project, 'production', a.id);
      });

      test('a red required check never goes live: the release fails naming the check and its URL, and a person is refused with CHECK_FAILED', async () => {
        const b = await deployCommit(t.client, project, commit('gated-b'));
        await t.client.promote(project, 'dev', { deployment: b.id });
        assert.deepEqual(waitCodes(await releaseOf(t.client, project, 'staging', b.id)), ['CHECKS_PENDING']);
        await t.client.reportCheck(project, { commit: commit('gated-b'), name: 'ci/test', state: 'failure', url: 'https://ci.example.com/runs/2' });
        const failed = await waitForState(t.client, project, 'staging', b.id, 'failed');
        assert.match(failed.stateReason ?? '', /ci\/test/);
        assert.match(failed.stateReason ?? '', /https:\/\/ci\.example\.com\/runs\/2/);
        assert.equal(failed.gates?.outcome === 'fail' ? failed.gates.reason.code : null, 'CHECK_FAILED');
        assert.ok(failed.endedAt);
        assert.equal(failed.liveAt, null, 'it was never live');

        const before = (await t.client.listReleases(project, 'staging', { limit: 200 })).releases.length;
        const refused = await rejectsWithCode(t.client.promote(project, 'staging', { deployment: b.id }), 'CHECK_FAILED', 409);
        assert.match(refused.message, /ci\/test/);
        assert.equal((await t.client.listReleases(project, 'staging', { limit: 200 })).releases.length, before, 'a refused promotion writes no release');
        const staging = await t.client.getEnvironment(project, 'staging');
        assert.notEqual(staging.deployment, b.id);
        assert.equal(staging.deployment, await runs(t.client, project, 'production'));
      });

      test('a check red before the candidate arrives fails it at once; green later does not revive a failed release', async () => {
        const c = await deployCommit(t.client, project, commit('gated-c'));
        await t.client.reportCheck(project, { commit: commit('gated-c'), name: 'ci/test', state: 'failure', url: 'https://ci.example.com/runs/3' });
        const staged = await runs(t.client, project, 'staging');
        await t.client.promote(project, 'dev', { deployment: c.id });
        const failed = await releaseOf(t.client, project, 'staging', c.id);
        assert.equal(failed?.state, 'failed');
        assert.match(failed?.stateReason ?? '', /runs\/3/);

        // A re-run goes green: the failed release stays failed (a final state); a person may now promote it.
        await t.client.reportCheck(project, { commit: commit('gated-c'), name: 'ci/test', state: 'success' });
        assert.equal((await releaseOf(t.client, project, 'staging', c.id))?.state, 'failed');
        assert.equal(await runs(t.client, project, 'staging'), staged);
        const promoted = await t.client.promote(project, 'staging', { deployment: c.id });
        assert.equal(promoted.state, 'live');
        assert.equal(promoted.trigger, 'user');
        await waitForLive(t.client, project, 'production', c.id);
      });
    });

    describe('parallel mode', () => {
      const project = 'parallel';
      before(async () => {
        await t.client.createProject(project);
        // staging runs in parallel with CI; production takes only what staging ran and its own e2e check passed.
        await declarePipeline(t.client, project, {
          dev: {},
          staging: { from: 'dev', auto: true, checks: ['ci/test'], mode: 'parallel' },
          production: { from: 'staging', auto: true, checks: ['ci/e2e'], mode: 'gate' },
        });
        await recordChain(t, project, [1, 2, 3, 4, 5].map((n) => commit(`par-${n}`)));
      });

      test('goes live at once; a required check turning red rolls back to the release before, pins, and names the check and URL; lineage then refuses it downstream', async () => {
        const p1 = await deployCommit(t.client, project, commit('par-1'));
        await t.client.reportCheck(project, { commit: commit('par-1'), name: 'ci/e2e', state: 'success' });
        await t.client.promote(project, 'dev', { deployment: p1.id });
        const first = await releaseOf(t.client, project, 'staging', p1.id);
        assert.equal(first?.state, 'live', 'no check reported yet, and live already');
        assert.equal(await runs(t.client, project, 'production'), p1.id);

        const p2 = await deployCommit(t.client, project, commit('par-2'));
        await t.client.promote(project, 'dev', { deployment: p2.id });
        const p2staging = await releaseOf(t.client, project, 'staging', p2.id);
        assert.equal(p2staging?.state, 'live');
        assert.deepEqual(waitCodes(await releaseOf(t.client, project, 'production', p2.id)), ['CHECKS_PENDING']);

        // Unrequired and green checks change nothing.
        await t.client.reportCheck(project, { commit: commit('par-2'), name: 'ci/lint', state: 'failure' });
        await t.client.reportCheck(project, { commit: commit('par-2'), name: 'ci/test', state: 'pending' });
        const url = 'https://ci.example.com/runs/par-2';
        await t.client.reportCheck(project, { commit: commit('par-2'), name: 'ci/test', state: 'failure', url });

        const rolledBack = await waitForState(t.client, project, 'staging', p2.id, 'rolled_back');
        assert.match(rolledBack.stateReason ?? '', /ci\/test/);
        assert.match(rolledBack.stateReason ?? '', /runs\/par-2/);
        const staging = await t.client.getEnvironment(project, 'staging');
        assert.equal(staging.deployment, p1.id, 'back to the release before');
        assert.ok(staging.pin, 'and pinned there');
        const rollback = (await t.client.listReleases(project, 'staging', { limit: 1 })).releases[0];
        assert.equal(rollback?.kind, 'rollback');
        assert.equal(rollback?.id, staging.release?.id);
        assert.equal(rollback?.deployment, p1.id);
        assert.equal(rollback?.trigger, 'automation');
        assert.match(rollback?.reason ?? '', /ci\/test/);
        assert.ok(rollback?.reason?.includes(url), rollback?.reason ?? '');
        const events = (await t.client.listEvents({ project, environment: 'staging', limit: 50 })).events;
        assert.ok(events.some((e) => e.action === 'environment.pin'));

        // Downstream, the rolled-back deployment fails lineage: the waiting release fails, and a person is refused.
        const lineage = await waitForState(t.client, project, 'production', p2.id, 'failed');
        assert.equal(lineage.gates?.outcome === 'fail' ? lineage.gates.reason.code : null, 'LINEAGE_VIOLATION');
        await t.client.reportCheck(project, { commit: commit('par-2'), name: 'ci/e2e', state: 'success' });
        const refused = await rejectsWithCode(t.client.promote(project, 'production', { deployment: p2.id }), 'LINEAGE_VIOLATION', 409);
        assert.match(refused.message, /staging rolled/);
        assert.equal(await runs(t.client, project, 'production'), p1.id);

        // The pin holds automation: the next candidate waits for a person.
        const p3 = await deployCommit(t.client, project, commit('par-3'));
        await t.client.promote(project, 'dev', { deployment: p3.id });
        const held = await releaseOf(t.client, project, 'staging', p3.id);
        assert.equal(held?.state, 'waiting');
        assert.deepEqual(waitCodes(held), ['ENVIRONMENT_PINNED']);
        assert.equal(await runs(t.client, project, 'staging'), p1.id);
        // A person's promotion unpins and goes live at once (parallel mode).
        const moved = await t.client.promote(project, 'staging', { deployment: p3.id });
        assert.equal(moved.state, 'live');
        assert.ok(moved.clearedPin);
        assert.equal((await t.client.getEnvironment(project, 'staging')).pin, null);
      });

      test('a red check on a release that is no longer live rolls nothing back', async () => {
        const current = await runs(t.client, project, 'staging');
        const p4 = await deployCommit(t.client, project, commit('par-4'));
        await t.client.promote(project, 'dev', { deployment: p4.id });
        await waitForLive(t.client, project, 'staging', p4.id);
        assert.notEqual(current, p4.id);
        const p5 = await deployCommit(t.client, project, commit('par-5'));
        await t.client.promote(project, 'dev', { deployment: p5.id });
        await waitForLive(t.client, project, 'staging', p5.id);
        // p4 is history now: its red check must not roll back p5.
        await t.client.reportCheck(project, { commit: commit('par-4'), name: 'ci/test', state: 'failure' });
        // Then a marker that goes through the same queue: once production takes p5, p4's report has been looked at.
        await t.client.reportCheck(project, { commit: commit('par-5'), name: 'ci/e2e', state: 'success' });
        await waitForLive(t.client, project, 'production', p5.id);
        assert.equal(await runs(t.client, project, 'staging'), p5.id);
        assert.equal((await t.client.getEnvironment(project, 'staging')).pin, null);
        assert.equal((await releaseOf(t.client, project, 'staging', p4.id))?.state, 'superseded');
      });
    });
  });
}
