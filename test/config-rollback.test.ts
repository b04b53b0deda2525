import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rejectsWithCode } from './support/assert.ts';
import { backends } from './support/backends.ts';
import { deployFiles, startTestServer, type TestServer } from './support/server.ts';

/**
 * Rolling back a service restores the config its target ran with, as Heroku's rollbacks do:
 * after a config change, `rollback` (no --to) returns to the same deployment with the config
 * from before. A static site's rollback still looks at deployments only.
 */

const sqlite = backends.find((b) => b.name === 'sqlite');
assert.ok(sqlite, 'the sqlite test backend exists');

describe('rolling back a config change', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(sqlite);
  });
  after(async () => {
    await t?.dispose();
  });

  it('returns a service to the same deployment with its earlier config version', async () => {
    await t.client.createProject('shop');
    const app = await deployFiles(t.client, 'shop', { 'server.js': 'listen()' }, { service: { start: 'node server.js' } });
    await t.client.changeConfig('shop', 'production', { set: { GREETING: 'hello' } });
    const v1 = await t.client.promote('shop', 'production', { deployment: app.id, reason: 'first' });
    assert.equal(v1.state, 'live', 'no agent serves production: nothing to roll out');
    await t.client.changeConfig('shop', 'production', { set: { GREETING: 'hi' } });
    const [v2] = (await t.client.listReleases('shop', 'production', { limit: 1 })).releases;
    assert.equal(v2?.kind, 'config');
    assert.equal(v2?.state, 'live');
    assert.notEqual(v2?.configVersion, v1.configVersion);

    const back = await t.client.rollback('shop', 'production', { reason: 'the greeting broke it' });
    assert.equal(back.kind, 'rollback');
    assert.equal(back.deployment, app.id);
    assert.equal(back.configVersion, v1.configVersion, 'the config v1 ran with');
    assert.equal(back.state, 'live');
    const env = await t.client.getEnvironment('shop', 'production');
    assert.ok(env.pin, 'a rollback pins');

    // Naming the release that is live is still "already live".
    await rejectsWithCode(t.client.rollback('shop', 'production', { to: `v${back.number}`, reason: 'again' }), 'ALREADY_LIVE', 409);
  });

  it('a static site with a config change still has no earlier deployment to go back to', async () => {
    await t.client.createProject('site');
    const page = await deployFiles(t.client, 'site', { 'index.html': 'one' });
    await t.client.promote('site', 'production', { deployment: page.id, reason: 'first' });
    await t.client.changeConfig('site', 'production', { set: { UNUSED: 'x' } });
    await rejectsWithCode(t.client.rollback('site', 'production', { reason: 'nothing to go to' }), 'NO_PREVIOUS_RELEASE');
  });
});
