import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { SlipwayClient } from '../src/protocol/client.ts';
import { backends } from './support/backends.ts';
import { ensureDashboardBuilt, launchBrowser, NO_BROWSER, openPage, screenshotPath, scrollsSideways, signIn } from './support/dashboard.ts';
import { ADMIN_TOKEN, deployFiles, startTestServer, type TestServer } from './support/server.ts';

/**
 * The project page's service directory: agents enrolled over the real protocol report what
 * they run, and the page lists them by environment with health, rotation and version, at a
 * laptop's width and a phone's. A static project shows no agents section.
 */

const sqlite = backends.find((b) => b.name === 'sqlite');
assert.ok(sqlite, 'the sqlite test backend exists');

describe('agents and instances on the project page', { skip: NO_BROWSER }, () => {
  let t: TestServer;
  let browser: Browser;

  before(async () => {
    await ensureDashboardBuilt();
    t = await startTestServer(sqlite);
    await t.client.createProject('shop');
    await t.client.createProject('site');
    await deployFiles(t.client, 'site', { 'index.html': 'static' });
    await deployFiles(t.client, 'shop', { 'server.js': 'listen(process.env.PORT)' }, { service: { start: 'node server.js', health: '/healthz' } });
    const url = `http://127.0.0.1:${t.server.port}`;
    for (const [name, port, healthy] of [
      ['web-1', 9101, true],
      ['web-2', 9102, false],
    ] as const) {
      const { token } = await t.client.createEnrollment('shop', 'production');
      const enrolled = await new SlipwayClient({ url }).enrollAgent({ token, name, version: '0.1.0', address: '10.0.0.7', port });
      const agent = new SlipwayClient({ url, token: enrolled.credential });
      await agent.agentReport({ state: healthy ? 'idle' : 'failed', current: null, prepared: [], healthy, pid: null, version: '0.1.0', ...(healthy ? {} : { error: 'health check of / timed out after 60s' }) });
    }
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await t?.dispose();
  });

  for (const width of [1280, 390]) {
    it(`lists each agent with its address, health and rotation at ${width} px`, async () => {
      const { page, problems } = await openPage(browser, width);
      await signIn(page, t.server.url, ADMIN_TOKEN);
      await page.getByRole('link', { name: 'shop', exact: true }).click();
      await page.getByRole('navigation', { name: 'shop pages' }).getByRole('link', { name: 'Agents', exact: true }).click();
      const table = page.getByRole('table', { name: 'Agents and their instances' });
      await table.locator('tbody tr').nth(1).waitFor();
      const rows = await table.locator('tbody tr').allInnerTexts();
      assert.equal(rows.length, 2);
      assert.match(rows[0] ?? '', /web-1[\s\S]*10\.0\.0\.7:9101[\s\S]*production[\s\S]*healthy[\s\S]*out of rotation/);
      assert.match(rows[1] ?? '', /web-2[\s\S]*not healthy[\s\S]*health check of \/ timed out/);
      assert.equal(await scrollsSideways(page), false, 'nothing is off-screen sideways');
      await page.locator('#agents').screenshot({ path: screenshotPath(`agents-${width}`) });
      assert.deepEqual(problems, []);
      await page.close();
    });
  }

  it('a static site has no agents, and its agents page says how to enroll one', async () => {
    const { page, problems } = await openPage(browser);
    await signIn(page, t.server.url, ADMIN_TOKEN);
    await page.getByRole('link', { name: 'site', exact: true }).click();
    await page.getByRole('navigation', { name: 'site pages' }).getByRole('link', { name: 'Agents', exact: true }).click();
    await page.getByText('No agents yet').waitFor();
    assert.match(await page.locator('#agents').innerText(), /slipway agents enroll --project site --env production/);
    assert.equal(await page.getByRole('table', { name: 'Agents and their instances' }).count(), 0);
    assert.deepEqual(problems, []);
    await page.close();
  });
});
