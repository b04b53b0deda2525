import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isSlipwayError } from '../src/core/errors.ts';
import type { Actor } from '../src/core/release-planner.ts';
import { lock, promote, rollback } from '../src/server/services/environments.ts';
import { backends } from './support/backends.ts';
import { deployFiles, startTestServer, type TestServer } from './support/server.ts';

const automation: Actor = { name: 'auto-deploy', role: 'deployer', trigger: 'automation' };
const person: Actor = { name: 'pat', role: 'deployer', trigger: 'user' };

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'OK';
  } catch (err) {
    assert.ok(isSlipwayError(err), String(err));
    return err.code;
  }
}

for (const backend of backends) {
  describe(`pins and locks against automation on ${backend.name}`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
      await t.client.createProject('shop');
    });
    after(() => t.dispose());

    test('a rolled-back environment is pinned: automation cannot move it until a person promotes', async () => {
      const deps = t.server.deps;
      const [a, b, c] = [
        await deployFiles(t.client, 'shop', { 'index.html': 'a' }),
        await deployFiles(t.client, 'shop', { 'index.html': 'b' }),
        await deployFiles(t.client, 'shop', { 'index.html': 'c' }),
      ];
      await promote(deps, automation, 'shop', 'production', { deployment: a.id });
      await promote(deps, automation, 'shop', 'production', { deployment: b.id });
      await rollback(deps, person, 'shop', 'production', { reason: 'b is broken' });

      assert.equal(await codeOf(promote(deps, automation, 'shop', 'production', { deployment: c.id })), 'ENVIRONMENT_PINNED');
      const env = await deps.store.findEnvironment((await deps.store.findProjectByName('shop'))?.id ?? '', 'production');
      assert.equal(env?.deploymentId, a.id, 'the refused move changed nothing');
      assert.equal(env?.releaseNumber, 3);

      await promote(deps, person, 'shop', 'production', { deployment: c.id, reason: 'fixed in c' });
      await promote(deps, automation, 'shop', 'production', { deployment: b.id });
    });

    test('a lock stops automation too, and automation never breaks glass', async () => {
      const deps = t.server.deps;
      const d = await deployFiles(t.client, 'shop', { 'index.html': 'locked' });
      await lock(deps, person, 'shop', 'production', { reason: 'freeze' });
      assert.equal(await codeOf(promote(deps, automation, 'shop', 'production', { deployment: d.id })), 'ENVIRONMENT_LOCKED');
      assert.equal(await codeOf(promote(deps, automation, 'shop', 'production', { deployment: d.id, force: true, reason: 'x' })), 'FORBIDDEN');
    });
  });
}
