import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { backends } from './support/backends.ts';
import { ensureDashboardBuilt, launchBrowser, NO_BROWSER, openPage, screenshotPath, scrollsSideways, signIn } from './support/dashboard.ts';
import { createPerson, recordAuthoredChain } from './support/people.ts';
import { commit, deployCommit } from './support/pipeline.ts';
import { startTestServer, type TestServer } from './support/server.ts';

/**
 * The dashboard shows the server's verdicts (Project.actions, Release.actions) and decides
 * nothing itself: a refused action's button is disabled and says why, in its title and in text
 * its aria-describedby points at; an allowed one works. In a real Chromium against a real
 * server, as a viewer, as the author of the waiting release and as another approver.
 */

const sqlite = backends.find((b) => b.name === 'sqlite');
assert.ok(sqlite, 'the sqlite test backend exists');

/** The text a control's aria-describedby points at. */
async function descriptionOf(page: Page, control: Locator): Promise<string> {
  const ids = (await control.getAttribute('aria-describedby')) ?? '';
  assert.ok(ids !== '', 'the refused control points at its reason');
  const texts = await Promise.all(ids.split(' ').map((id) => page.locator(`[id="${id}"]`).innerText()));
  return texts.join(' ');
}

describe('allowed actions in the dashboard', { skip: NO_BROWSER }, () => {
  let t: TestServer;
  let browser: Browser;
  const tokens: Record<string, string> = {};

  before(async () => {
    const dashboard = ensureDashboardBuilt();
    t = await startTestServer(sqlite);
    await t.client.createProject('shop');
    tokens.vic = (await createPerson(t, 'vic', 'viewer')).secret;
    tokens.ana = (await createPerson(t, 'ana', 'approver', ['ana@example.com'])).secret;
    tokens.ben = (await createPerson(t, 'ben', 'approver', ['ben@example.com'])).secret;
    await t.client.setPolicy('shop', 'staging', {});
    await t.client.setPolicy('shop', 'production', { from: 'staging', auto: true, approvals: { count: 1 } });
    const sha = commit('by-ana');
    await recordAuthoredChain(t, 'shop', [{ sha, email: 'ana@example.com' }]);
    const deployment = await deployCommit(t.client, 'shop', sha);
    await t.client.promote('shop', 'staging', { deployment: deployment.id });
    await t.client.addDomain('shop', { hostname: 'shop.example.com', environment: 'production' });
    await dashboard;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser.close();
    await t.dispose();
  });

  const url = () => `http://127.0.0.1:${t.server.port}/`;

  async function pageAs(who: string, width = 1280): Promise<{ page: Page; problems: string[] }> {
    const opened = await openPage(browser, width);
    await signIn(opened.page, url(), tokens[who] ?? '');
    return opened;
  }

  it('a viewer sees Approve, Reject, Add domain and Remove disabled, each with the server’s reason', async () => {
    const { page, problems } = await pageAs('vic', 390);
    await page.goto(`${url()}#/projects/shop`);
    const approve = page.getByRole('button', { name: /^Approve/ }).first();
    await approve.waitFor();
    assert.equal(await approve.isDisabled(), true);
    assert.match(await descriptionOf(page, approve), /approvals count from the approver role/);
    assert.match((await approve.getAttribute('title')) ?? '', /approvals count from the approver role/);
    const reject = page.getByRole('button', { name: /^Reject/ }).first();
    assert.equal(await reject.isDisabled(), true);
    assert.match(await descriptionOf(page, reject), /needs the approver role/);
    await page.screenshot({ path: screenshotPath('actions-viewer-pipeline-390'), fullPage: true });
    assert.equal(await scrollsSideways(page), false);

    await page.goto(`${url()}#/projects/shop/settings`);
    const add = page.getByRole('button', { name: 'Add domain' });
    await add.waitFor();
    assert.equal(await add.isDisabled(), true);
    assert.match(await descriptionOf(page, add), /Only a deployer, approver or admin can add custom domains; you are a viewer/);
    const remove = page.getByRole('button', { name: /Remove shop\.example\.com/ });
    assert.equal(await remove.isDisabled(), true);
    assert.match(await descriptionOf(page, remove), /can remove custom domains/);
    await page.screenshot({ path: screenshotPath('actions-viewer-settings-390'), fullPage: true });
    assert.equal(await scrollsSideways(page), false);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('the author of a commit in the batch may not approve it (four eyes); another approver approves it', async () => {
    const author = await pageAs('ana');
    await author.page.goto(`${url()}#/projects/shop`);
    const own = author.page.getByRole('button', { name: /^Approve/ }).first();
    await own.waitFor();
    assert.equal(await own.isDisabled(), true);
    assert.match(await descriptionOf(author.page, own), /four eyes/);
    assert.equal(await author.page.getByRole('button', { name: /^Reject/ }).first().isDisabled(), false, 'an approver may reject');
    assert.deepEqual(author.problems, []);
    await author.page.close();

    const other = await pageAs('ben');
    await other.page.goto(`${url()}#/projects/shop`);
    const approve = other.page.getByRole('button', { name: /^Approve/ }).first();
    await approve.waitFor();
    assert.equal(await approve.isDisabled(), false);
    assert.equal(await approve.getAttribute('aria-describedby'), null);
    await approve.click();
    await other.page.getByRole('dialog').getByRole('button', { name: 'Approve' }).click();
    await other.page.getByRole('status').filter({ hasText: /Approved production v\d+: it is live/ }).waitFor();
    assert.equal((await t.client.getEnvironment('shop', 'production')).release?.number, 1);
    assert.deepEqual(other.problems, []);
    await other.page.close();
  });
});
