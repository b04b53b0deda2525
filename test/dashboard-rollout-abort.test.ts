import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { backends } from './support/backends.ts';
import { ensureDashboardBuilt, launchBrowser, NO_BROWSER, openPage, screenshotPath, scrollsSideways, signIn } from './support/dashboard.ts';
import { eventually } from './support/eventually.ts';
import { ADMIN_TOKEN, deployFiles, startTestServer, type TestServer } from './support/server.ts';
import { SimAgent } from './support/sim-agent.ts';

/**
 * Aborting a rollout from a release's page, in a real Chromium against a real server with two
 * simulated agents: the Abort button in the rollout card, the shared dialog with its reason, the
 * instances going back without a reload — at 390 px, with a screenshot.
 */

const sqlite = backends.find((b) => b.name === 'sqlite');
assert.ok(sqlite, 'the sqlite test backend exists');
const SERVICE = { start: 'node server.js', port: 8080, health: '/healthz' };

describe('aborting a rollout from the release page', { skip: NO_BROWSER }, () => {
  let t: TestServer;
  let browser: Browser;
  const agents: SimAgent[] = [];

  before(async () => {
    const dashboard = ensureDashboardBuilt();
    t = await startTestServer(sqlite, { runners: 0, agentHeartbeatMs: 1000 });
    await dashboard;
    browser = await launchBrowser();
  });

  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await browser?.close();
    await t?.dispose();
  });

  it('stops a rollout mid-batch with a reason: the switched instances go back, the release is rolled back and production pinned (390 px)', async () => {
    const c = t.client;
    await c.createProject('api');
    const v1 = await deployFiles(c, 'api', { 'server.js': 'v1' }, { service: SERVICE });
    assert.equal((await c.promote('api', 'production', { deployment: v1.id })).state, 'live');
    // host-2 never gets healthy on v2: the rollout stays switching while the page is used.
    await c.setPolicy('api', 'production', { rollout: { maxUnavailable: 1, drain: '1s', healthTimeout: '2m' } });
    const url = () => `http://127.0.0.1:${t.server.port}`;
    let v2Id = '';
    for (let i = 1; i <= 2; i++) {
      agents.push(await SimAgent.enroll(url, 'api', 'production', `host-${i}`, { switchMs: 100, health: (d) => (i === 2 && d === v2Id ? 'hang' : 'healthy') }));
    }
    await eventually('every agent runs v1', async () => {
      const list = (await c.listAgents('api')).agents;
      return list.length === 2 && list.every((a) => a.current?.deploymentId === v1.id && a.healthy && a.rotation === 'in') ? true : undefined;
    });
    const v2 = await deployFiles(c, 'api', { 'server.js': 'v2' }, { service: SERVICE });
    v2Id = v2.id;
    const release = await c.promote('api', 'production', { deployment: v2.id });
    assert.equal(release.state, 'rolling_out');

    const { page, problems } = await openPage(browser, 390, 844);
    try {
      await signIn(page, t.server.url, ADMIN_TOKEN);
      await page.goto(`${t.server.url}/#/projects/api/releases/${release.id}`);
      const rollout = page.getByRole('region', { name: 'Rollout across instances', exact: true });
      await rollout.locator('.rollout[data-rollout-state="switching"] tr[data-step="in"]').waitFor({ timeout: 20_000 });
      const abort = rollout.getByRole('button', { name: `Abort rollout… of v${release.number}` });
      await abort.waitFor();
      assert.equal(await scrollsSideways(page), false, 'the page does not scroll sideways');
      const box = await abort.boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 390, 'the Abort button is on screen');
      await abort.click();
      const dialog = page.getByRole('dialog', { name: `Abort the rollout of production v${release.number}` });
      await dialog.waitFor();
      const confirm = dialog.getByRole('button', { name: 'Abort rollout' });
      assert.equal(await confirm.isDisabled(), true, 'a reason is required');
      await dialog.getByRole('textbox').fill('error rate up');
      await page.mouse.move(0, 0);
      await page.screenshot({ path: screenshotPath('rollout-abort-390'), fullPage: true });
      await confirm.click();
      await dialog.waitFor({ state: 'detached' });
      // Without a reload: the rollout goes back, the release ends rolled back.
      await rollout.locator('.rollout[data-rollout-state="rolled_back"]').waitFor({ timeout: 20_000 });
      await page.locator('.release-head [data-state="rolled_back"]').waitFor({ timeout: 10_000 });
      assert.equal(await rollout.getByRole('button', { name: /Abort rollout/ }).count(), 0, 'nothing left to abort');
      const env = await c.getEnvironment('api', 'production');
      assert.equal(env.deployment, v1.id);
      assert.match(env.pin?.reason ?? '', /aborted by .+: error rate up/);
      for (const a of agents) assert.equal(a.current?.deploymentId, v1.id);
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  });
});
