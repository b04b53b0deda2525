import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rejectsWithCode } from './support/assert.ts';
import { backends } from './support/backends.ts';
import { createPerson } from './support/people.ts';
import { deployFiles, startTestServer, type TestServer } from './support/server.ts';

/**
 * GET /api/v1/events?project=&release=: the timeline of one release — made, held, approved,
 * live, superseded by the next — and nothing about other releases; the release page shows it.
 */

for (const backend of backends) {
  describe(`events of one release on ${backend.name}`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
    });
    after(() => t.dispose());

    test('lists what happened to the release, newest first, including its being superseded; names the release by id or vN', async () => {
      const c = t.client;
      await c.createProject('shop');
      await c.createProject('other');
      const ana = await createPerson(t, 'ana', 'approver');
      await c.setPolicy('shop', 'production', { approvals: { count: 1 } });
      const d1 = await deployFiles(c, 'shop', { 'index.html': 'one' });
      const d2 = await deployFiles(c, 'shop', { 'index.html': 'two' });
      const v1 = await c.promote('shop', 'production', { deployment: d1.id, reason: 'first one' });
      assert.equal(v1.state, 'waiting');
      await ana.client.approve('shop', v1.id, { reason: 'looks good' });
      const v2 = await c.promote('shop', 'production', { deployment: d2.id });
      await ana.client.approve('shop', v2.id, {});
      await c.promote('shop', 'staging', { deployment: d1.id });

      const events = (await c.listEvents({ project: 'shop', release: v1.id })).events;
      assert.deepEqual(
        events.map((e) => e.action),
        ['release.superseded', 'release.live', 'release.rolling_out', 'release.approve', 'release.waiting', 'release.promote'],
      );
      assert.ok(events.every((e) => e.target === v1.id && e.project === 'shop' && e.environment === 'production'));
      assert.equal(events.at(-1)?.reason, 'first one');
      assert.equal(events.find((e) => e.action === 'release.approve')?.actor, 'ana');

      // v2's timeline has its own events and v1's being superseded by it (its after names v2), nothing of staging's.
      const second = (await c.listEvents({ project: 'shop', release: v2.id })).events;
      assert.deepEqual(
        second.map((e) => [e.action, e.target]),
        [
          ['release.superseded', v1.id],
          ['release.live', v2.id],
          ['release.rolling_out', v2.id],
          ['release.approve', v2.id],
          ['release.waiting', v2.id],
          ['release.promote', v2.id],
        ],
      );
      assert.deepEqual(
        (await c.listEvents({ project: 'shop', environment: 'production', release: 'v2' })).events.map((e) => e.id),
        second.map((e) => e.id),
        'vN with its environment names the same release',
      );
      assert.deepEqual((await c.listEvents({ project: 'shop', release: v2.id, limit: 2 })).events.map((e) => e.id), second.slice(0, 2).map((e) => e.id));

      await rejectsWithCode(c.listEvents({ project: 'other', release: v1.id }), 'RELEASE_NOT_FOUND', 404);
      await rejectsWithCode(c.listEvents({ release: v1.id }), 'INVALID_REQUEST', 400);
      for (const hostile of ['%', '_', "' OR 1=1 --", 'rel-%', `${v1.id}"`, 'x'.repeat(65)]) {
        await rejectsWithCode(c.listEvents({ project: 'shop', release: hostile }), 'INVALID_REQUEST', 400);
      }
      await rejectsWithCode(c.listEvents({ project: 'shop', release: 'rel-nosuchrelease' }), 'RELEASE_NOT_FOUND', 404);
    });
  });
}
