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

const BERLIN = 'Mon-Thu 09:00-16:00 Europe/Berlin';

for (const backend of backends) {
  describe(`deploy windows on ${backend.name}`, () => {
    let t: TestServer;
    let deployer: SlipwayClient;
    const clock = new SetClock();
    before(async () => {
      // Friday 2026-12-04 13:00 in Berlin: the windows are closed until Monday 09:00 CET.
      clock.set('2026-12-04T12:00:00Z');
      t = await startTestServer(backend, { clock });
      await t.client.createProject('shop');
      deployer = t.clientWith((await t.client.createToken({ name: 'dep', role: 'deployer' })).secret);
      // The history is known, so batches are counted (max_commits holds nothing here).
      await recordChain(t, 'shop', [commit('w1'), commit('w2'), commit('w3')]);
      await t.client.setPolicy('shop', 'staging', {});
      await t.client.setPolicy('shop', 'production', { from: 'staging', auto: true, windows: [BERLIN] });
    });
    after(() => t.dispose());

    test('bad windows are refused with POLICY_INVALID and change nothing', async () => {
      for (const windows of [['Mon-Thu 9-16 Europe/Berlin'], ['Mon-Thu 09:00-16:00 Europe/Atlantis'], ['Mon 16:00-09:00 UTC'], [BERLIN, 'Fry 09:00-12:00 UTC']]) {
        const refused = await rejectsWithCode(t.client.setPolicy('shop', 'production', { windows }), 'POLICY_INVALID', 400);
        assert.match(refused.message, /^windows: /);
      }
      const pipeline = await t.client.getPipeline('shop');
      assert.deepEqual(pipeline.stages.find((s) => s.name === 'production')?.policy.windows, [BERLIN]);
    });

    test('automation outside the windows waits, says when the next opens, and goes live when it does', async () => {
      const a = await deployCommit(t.client, 'shop', commit('w1'));
      await t.client.promote('shop', 'staging', { deployment: a.id });
      const [waiting] = (await t.client.listReleases('shop', 'production', { limit: 1 })).releases;
      assert.equal(waiting?.state, 'waiting');
      assert.equal(waiting?.gates?.outcome, 'wait');
      if (waiting?.gates?.outcome !== 'wait') return;
      assert.deepEqual(
        waiting.gates.reasons.map((r) => [r.gate, r.code, r.message]),
        [['window', 'OUTSIDE_WINDOW', `outside the deploy windows (${BERLIN}): next opens Mon 09:00 CET`]],
      );
      assert.equal(waiting.recheckAt, '2026-12-07T08:00:00.000Z');
      assert.equal((await t.client.getEnvironment('shop', 'production').catch(() => undefined))?.deployment ?? null, null);

      // A minute before it opens, the release still waits.
      clock.set('2026-12-07T07:59:00Z');
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      assert.equal((await t.client.listReleases('shop', 'production', { limit: 1 })).releases[0]?.state, 'waiting');

      // Monday 09:00 in Berlin: the timed job looks at it without any request.
      clock.set('2026-12-07T08:00:01Z');
      const live = await eventually('the release to go live when the window opens', async () => {
        const [release] = (await t.client.listReleases('shop', 'production', { limit: 1 })).releases;
        return release?.state === 'live' ? release : undefined;
      });
      assert.equal(live.deployment, a.id);
    });

    test('a person outside the windows is refused with WINDOW_CLOSED; an admin may break glass, audited', async () => {
      clock.set('2026-12-07T16:30:00Z'); // Monday 17:30 CET
      const b = await deployCommit(t.client, 'shop', commit('w2'));
      await t.client.promote('shop', 'staging', { deployment: b.id });
      const before = (await t.client.getEnvironment("shop", "production")).release?.number;
      const refused = await rejectsWithCode(deployer.promote('shop', 'production', { deployment: b.id }), 'WINDOW_CLOSED', 409);
      assert.match(refused.message, /next opens Tue 09:00 CET/);
      await rejectsWithCode(deployer.promote('shop', 'production', { deployment: b.id, force: true, reason: 'please' }), 'FORBIDDEN');
      await rejectsWithCode(t.client.promote('shop', 'production', { deployment: b.id, force: true }), 'REASON_REQUIRED');
      assert.equal((await t.client.getEnvironment("shop", "production")).release?.number, before, 'refusals change nothing');

      const forced = await t.client.promote('shop', 'production', { deployment: b.id, force: true, reason: 'security fix' });
      assert.equal(forced.state, 'live');
      assert.equal((await t.client.getEnvironment('shop', 'production')).deployment, b.id);
      const events = (await t.client.listEvents({ project: 'shop', environment: 'production' })).events;
      const glass = events.find((e) => e.action === 'window.break_glass');
      assert.ok(glass, 'the break-glass is audited');
      assert.equal(glass.reason, 'security fix');
    });

    test('inside a window a person promotes as usual', async () => {
      clock.set('2026-12-08T10:00:00Z'); // Tuesday 11:00 CET
      const c = await deployCommit(t.client, 'shop', commit('w3'));
      await t.client.promote('shop', 'staging', { deployment: c.id });
      const env = await eventually('automation to take it inside the window', async () => {
        const e = await t.client.getEnvironment('shop', 'production');
        return e.deployment === c.id ? e : undefined;
      });
      assert.equal(env.deployment, c.id);
    });
  });
}
