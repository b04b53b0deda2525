import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SlipwayClient } from '../src/protocol/client.ts';
import { rejectsWithCode } from './support/assert.ts';
import { backends } from './support/backends.ts';
import { deployFiles, startTestServer, type TestServer } from './support/server.ts';

// GET /api/v1/projects/:project/releases: every environment's newest releases in one call,
// the same releases (and the same shape) as each environment's own release list.
for (const backend of backends) {
  describe(`recent releases of a project on ${backend.name}`, () => {
    let t: TestServer;
    let viewer: SlipwayClient;
    before(async () => {
      t = await startTestServer(backend);
      await t.client.createProject('shop');
      await t.client.createProject('other');
      viewer = t.clientWith((await t.client.createToken({ name: 'view', role: 'viewer' })).secret);
      const a = await deployFiles(t.client, 'shop', { 'index.html': 'a' });
      const b = await deployFiles(t.client, 'shop', { 'index.html': 'b' });
      // production: 25 releases (back and forth), staging: 2, qa: locked before any release, old: retired.
      for (let i = 0; i < 25; i++) await t.client.promote('shop', 'production', { deployment: i % 2 === 0 ? a.id : b.id });
      await t.client.promote('shop', 'staging', { deployment: a.id });
      await t.client.promote('shop', 'staging', { deployment: b.id });
      await t.client.lock('shop', 'qa', { reason: 'setting up' });
      await t.client.promote('shop', 'old', { deployment: a.id });
      const store = t.server.deps.store;
      const shop = await store.findProjectByName('shop');
      const old = shop && (await store.findEnvironment(shop.id, 'old'));
      if (!old) throw new Error('no environment old');
      await store.retireEnvironment(old.id, new Date().toISOString());
      const other = await deployFiles(t.client, 'other', { 'index.html': 'other' });
      await t.client.promote('other', 'production', { deployment: other.id });
    });
    after(() => t.dispose());

    test('each environment that is not retired, by name, with its newest 20 releases as its own list has them', async () => {
      const recent = await viewer.listRecentReleases('shop');
      assert.deepEqual(
        recent.environments.map((e) => [e.environment, e.releases.length]),
        [
          ['production', 20],
          ['qa', 0],
          ['staging', 2],
        ],
      );
      for (const { environment, releases } of recent.environments) {
        assert.deepEqual(releases, (await viewer.listReleases('shop', environment, { limit: 20 })).releases);
      }
      assert.deepEqual(
        recent.environments[0]?.releases.map((r) => r.number),
        Array.from({ length: 20 }, (_, i) => 25 - i),
      );
    });

    test('perEnvironment narrows or widens each list; out of range is refused', async () => {
      const one = await viewer.listRecentReleases('shop', { perEnvironment: 1 });
      assert.deepEqual(
        one.environments.map((e) => [e.environment, e.releases.map((r) => r.number)]),
        [
          ['production', [25]],
          ['qa', []],
          ['staging', [2]],
        ],
      );
      const all = await viewer.listRecentReleases('shop', { perEnvironment: 100 });
      assert.equal(all.environments[0]?.releases.length, 25);
      await rejectsWithCode(viewer.listRecentReleases('shop', { perEnvironment: 0 }), 'INVALID_REQUEST', 400);
      await rejectsWithCode(viewer.listRecentReleases('shop', { perEnvironment: 101 }), 'INVALID_REQUEST', 400);
    });

    test('another project, and one that does not exist', async () => {
      const other = await viewer.listRecentReleases('other');
      assert.deepEqual(
        other.environments.map((e) => [e.environment, e.releases.length, e.releases[0]?.project]),
        [['production', 1, 'other']],
      );
      await rejectsWithCode(viewer.listRecentReleases('nope'), 'PROJECT_NOT_FOUND', 404);
    });
  });
}
