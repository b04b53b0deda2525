import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Clock } from '../src/core/clock.ts';
import type { SlipwayClient } from '../src/protocol/client.ts';
import { rejectsWithCode } from './support/assert.ts';
import { backends } from './support/backends.ts';
import { eventually } from './support/eventually.ts';
import { commit, deployCommit, recordChain } from './support/pipeline.ts';
import { startTestServer, type TestServer } from './support/server.ts';

/** A clock set to a chosen instant that then runs on in real time. */
class SetClock implements Clock {
  private offsetMs = 0;
  set(iso: string): void {
    this.offsetMs = Date.parse(iso) - Date.now();
  }
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

for (const backend of backends) {
  describe(`freezes on ${backend.name}`, () => {
    let t: TestServer;
    let deployer: SlipwayClient;
    let viewer: SlipwayClient;
    const clock = new SetClock();
    const production = async () => (await t.client.getEnvironment('shop', 'production')).deployment;
    const latest = async () => (await t.client.listReleases('shop', 'production', { limit: 1 })).releases[0];
    before(async () => {
      clock.set('2026-12-21T10:00:00Z');
      t = await startTestServer(backend, { clock });
      await t.client.createProject('shop');
      deployer = t.clientWith((await t.client.createToken({ name: 'dep', role: 'deployer' })).secret);
      viewer = t.clientWith((await t.client.createToken({ name: 'view', role: 'viewer' })).secret);
      await recordChain(t, 'shop', [commit('f1'), commit('f2'), commit('f3')]);
      await t.client.setPolicy('shop', 'staging', {});
      await t.client.setPolicy('shop', 'production', { from: 'staging', auto: true });
    });
    after(() => t.dispose());

    test('bad freezes are refused with a code and change nothing', async () => {
      await rejectsWithCode(deployer.freeze('shop', 'production', { from: '2027-01-04T00:00', until: '2026-12-20T00:00', reason: 'x' }), 'FREEZE_INVALID', 400);
      await rejectsWithCode(deployer.freeze('shop', 'production', { from: '2026-12-20T00:00', until: '2026-12-20T00:00', reason: 'x' }), 'FREEZE_INVALID', 400);
      await rejectsWithCode(deployer.freeze('shop', 'production', { until: '2026-12-01T00:00', reason: 'over already' }), 'FREEZE_INVALID', 400);
      await rejectsWithCode(deployer.freeze('shop', 'production', { until: 'next week', reason: 'x' }), 'FREEZE_INVALID', 400);
      await rejectsWithCode(deployer.freeze('shop', 'production', { until: '2027-01-04T00:00 Mars/Base', reason: 'x' }), 'FREEZE_INVALID', 400);
      await rejectsWithCode(deployer.freeze('shop', 'production', { until: '2030-01-04T00:00', reason: 'forever' }), 'FREEZE_INVALID', 400);
      await rejectsWithCode(deployer.freeze('shop', 'production', { until: '2027-01-04T00:00', reason: '   ' }), 'INVALID_REQUEST', 400);
      await rejectsWithCode(viewer.freeze('shop', 'production', { until: '2027-01-04T00:00', reason: 'x' }), 'FORBIDDEN', 403);
      assert.deepEqual((await viewer.listFreezes('shop')).freezes, []);
      await rejectsWithCode(deployer.unfreeze('shop', 'production'), 'FREEZE_NOT_FOUND', 404);
    });

    test('a freeze holds automation until its end, refuses people, and unfreeze releases at once', async () => {
      const a = await deployCommit(t.client, 'shop', commit('f1'));
      await t.client.promote('shop', 'staging', { deployment: a.id });
      assert.equal(await production(), a.id);

      const frozen = await deployer.freeze('shop', 'production', { from: '2026-12-20T00:00', until: '2027-01-04T00:00 Europe/Berlin', reason: 'holidays' });
      assert.equal(frozen.until, '2027-01-03T23:00:00.000Z');
      assert.deepEqual(
        (await viewer.listFreezes('shop')).freezes.map((f) => [f.id, f.environment, f.reason, f.createdBy]),
        [[frozen.id, 'production', 'holidays', 'dep']],
      );

      const b = await deployCommit(t.client, 'shop', commit('f2'));
      await t.client.promote('shop', 'staging', { deployment: b.id });
      const waiting = await latest();
      assert.equal(waiting?.state, 'waiting');
      assert.equal(waiting?.gates?.outcome, 'wait');
      if (waiting?.gates?.outcome !== 'wait') return;
      assert.deepEqual(
        waiting.gates.reasons.map((r) => [r.gate, r.code]),
        [['freeze', 'FROZEN']],
      );
      assert.equal(waiting.gates.reasons[0]?.message, `production is frozen until 2027-01-03 23:00 UTC by dep: holidays (${frozen.id})`);
      assert.equal(waiting.recheckAt, '2027-01-03T23:00:00.000Z');
      assert.equal(await production(), a.id);

      const refused = await rejectsWithCode(deployer.promote('shop', 'production', { deployment: b.id }), 'FROZEN', 409);
      assert.match(refused.message, /holidays/);
      await rejectsWithCode(deployer.promote('shop', 'production', { deployment: b.id, force: true, reason: 'please' }), 'FORBIDDEN');
      assert.equal(await production(), a.id, 'refusals change nothing');

      await deployer.unfreeze('shop', 'production');
      await eventually('the release the freeze held to go live', async () => ((await production()) === b.id ? true : undefined));
      assert.deepEqual((await viewer.listFreezes('shop')).freezes, []);
      const actions = (await t.client.listEvents({ project: 'shop', environment: 'production' })).events.map((e) => e.action);
      assert.ok(actions.includes('environment.freeze'));
      assert.ok(actions.includes('environment.unfreeze'));
    });

    test('a freeze ends by itself: the timed job looks at what it held at its end', async () => {
      const f = await deployer.freeze('shop', 'production', { until: '2026-12-21T12:00Z', reason: 'incident' });
      const c = await deployCommit(t.client, 'shop', commit('f3'));
      await t.client.promote('shop', 'staging', { deployment: c.id });
      assert.equal((await latest())?.recheckAt, '2026-12-21T12:00:00.000Z');
      clock.set('2026-12-21T12:00:01Z');
      await eventually('the release to go live when the freeze ends', async () => ((await production()) === c.id ? true : undefined));
      await rejectsWithCode(deployer.unfreeze('shop', 'production', f.id), 'FREEZE_NOT_FOUND', 404);
    });

    test('an admin breaks glass during a freeze, audited; several freezes must be named to lift', async () => {
      clock.set('2026-12-22T10:00:00Z');
      const one = await deployer.freeze('shop', 'production', { until: '2026-12-23T00:00', reason: 'one' });
      const two = await deployer.freeze('shop', 'production', { from: '2026-12-24T00:00', until: '2026-12-27T00:00', reason: 'two' });
      const staged = (await t.client.getEnvironment('shop', 'staging')).deployment ?? '';
      const previous = (await t.client.listReleases('shop', 'production', { limit: 5 })).releases.find((r) => r.state === 'superseded');
      assert.ok(previous);
      const forced = await t.client.promote('shop', 'production', { deployment: previous.deployment, force: true, reason: 'revert by hand' });
      assert.equal(forced.state, 'live');
      assert.notEqual(await production(), staged);
      const glass = (await t.client.listEvents({ project: 'shop', environment: 'production' })).events.find((e) => e.action === 'freeze.break_glass');
      assert.equal(glass?.reason, 'revert by hand');

      const several = await rejectsWithCode(deployer.unfreeze('shop', 'production'), 'FREEZE_INVALID', 400);
      assert.match(several.message, new RegExp(`${one.id}.*${two.id}`));
      await rejectsWithCode(deployer.unfreeze('shop', 'staging', one.id), 'FREEZE_NOT_FOUND', 404);
      await deployer.unfreeze('shop', 'production', one.id);
      await deployer.unfreeze('shop', 'production', two.id);
    });
  });
}
