import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import type { Deployment, MovedRelease } from '../src/protocol/api.ts';
import { backends } from './support/backends.ts';
import { ensureDashboardBuilt, launchBrowser, NO_BROWSER, openPage, screenshotPath, scrollsSideways, signIn } from './support/dashboard.ts';
import { eventually } from './support/eventually.ts';
import { git } from './support/git-repo.ts';
import { createPerson } from './support/people.ts';
import { ADMIN_TOKEN, deployFiles, startTestServer, type TestServer } from './support/server.ts';
import { SimAgent } from './support/sim-agent.ts';

/**
 * A release's own page and the deployments tab, in a real Chromium against a real server: the
 * batch of a waiting release (two authors, their messages and checks), its gates, who still has
 * to approve and the approval given from the page, its timeline; a service release rolling out
 * across three simulated agents, followed live; deployments searched, paged and linked. At
 * 1280 and 390 px, with screenshots.
 */

const sqlite = backends.find((b) => b.name === 'sqlite');
assert.ok(sqlite, 'the sqlite test backend exists');

const CI = 'https://ci.example.com/runs';
const SERVICE = { start: 'node server.js', port: 8080, health: '/healthz' };

describe('the release page and the deployments tab', { skip: NO_BROWSER }, () => {
  let t: TestServer;
  let home: string;
  let browser: Browser;
  let ana: { secret: string };
  const sha: Record<'c0' | 'c1' | 'c2', string> = { c0: '', c1: '', c2: '' };
  let d2: Deployment;
  let waiting: MovedRelease;
  const agents: SimAgent[] = [];

  before(async () => {
    const dashboard = ensureDashboardBuilt();
    process.env.SLIPWAY_PUSH_WAIT_SECONDS = '0';
    t = await startTestServer(sqlite, { runners: 0, agentHeartbeatMs: 1000 });
    const c = t.client;
    await c.createProject('shop');
    ana = await createPerson(t, 'ana', 'approver', ['ana@example.com']);
    home = await mkdtemp(join(tmpdir(), 'slipway-dash-release-'));
    const work = join(home, 'work');
    await git(home, ['init', '-q', '-b', 'main', work]);
    const remote = `http://x:${ADMIN_TOKEN}@127.0.0.1:${t.server.port}/git/shop.git`;
    const commit = async (message: string, author: string) => {
      await git(work, ['commit', '-q', '--allow-empty', '--author', author, '-m', message]);
      return git(work, ['rev-parse', 'HEAD']);
    };
    sha.c0 = await commit('Start the shop', 'Grace Hopper <grace@example.com>');
    await git(work, ['push', '-q', remote, 'main']);
    const d0 = await deployFiles(c, 'shop', { 'index.html': 'zero' }, { commit: sha.c0, branch: 'main', message: 'Start the shop', author: 'Grace Hopper' });
    await c.promote('shop', 'staging', { deployment: d0.id });
    await c.setPolicy('shop', 'staging', { checks: ['ci/test', 'ci/e2e'], approvals: { count: 1 } });

    sha.c1 = await commit('Add the checkout page', 'Grace Hopper <grace@example.com>');
    sha.c2 = await commit('Escape <b>totals</b> in the cart\n\nAnd say why.', 'Ada Lovelace <ada@example.com>');
    await git(work, ['push', '-q', remote, 'main']);
    d2 = await deployFiles(c, 'shop', { 'index.html': 'two' }, { commit: sha.c2, branch: 'main', message: 'Escape totals in the cart', author: 'Ada Lovelace' });
    await c.reportCheck('shop', { commit: sha.c1, name: 'ci/test', state: 'success', url: `${CI}/1` });
    await c.reportCheck('shop', { commit: sha.c2, name: 'ci/test', state: 'success', url: `${CI}/2` });
    await c.reportCheck('shop', { commit: sha.c2, name: 'ci/e2e', state: 'pending', url: `${CI}/3` });
    waiting = await c.promote('shop', 'staging', { deployment: d2.id, reason: 'ship the cart fix' });
    assert.equal(waiting.state, 'waiting');

    // A project with many deployments, for paging.
    await c.createProject('catalog');
    const catalog = await t.server.deps.store.findProjectByName('catalog');
    assert.ok(catalog);
    const base = Date.now() - 3_600_000;
    for (let i = 0; i < 40; i++) {
      await t.server.deps.store.insertDeployment({
        id: `dpl-catalog${String(i).padStart(3, '0')}`,
        projectId: catalog.id,
        manifestDigest: 'e'.repeat(64),
        fileCount: 1,
        totalBytes: 10,
        meta: { branch: i % 2 ? 'main' : 'feature/search', author: i % 2 ? 'Ada Lovelace' : 'Grace Hopper', message: `Catalog change ${i}` },
        createdAt: new Date(base + i * 1000).toISOString(),
        createdBy: 'admin',
      });
    }
    await dashboard;
    browser = await launchBrowser();
  });

  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await browser?.close();
    await t?.dispose();
    if (home) await rm(home, { recursive: true, force: true });
  });

  const releaseUrl = (project: string, id: string) => `${t.server.url}/#/projects/${project}/releases/${id}`;
  const region = (p: Page, name: string): Locator => p.getByRole('region', { name, exact: true });

  async function openRelease(p: Page, token: string, project: string, id: string): Promise<void> {
    await signIn(p, t.server.url, token);
    await p.goto(releaseUrl(project, id));
    await p.locator('.release-page[data-release]').waitFor();
  }

  async function fits(p: Page, selectors: string[]): Promise<void> {
    assert.equal(await scrollsSideways(p), false, 'the page does not scroll sideways');
    for (const selector of selectors) {
      const overflowing = await p.locator(selector).evaluateAll((elements) =>
        elements.filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1).map((e) => e.outerHTML.slice(0, 120)),
      );
      assert.deepEqual(overflowing, [], `${selector} fits the width`);
    }
  }

  it('shows a waiting release: its batch by two authors with their checks, what holds it, who still has to approve, its timeline (1280 px)', async () => {
    const { page, problems } = await openPage(browser, 1280);
    try {
      await openRelease(page, ana.secret, 'shop', waiting.id);
      await page.getByRole('heading', { name: 'Release v2 to staging', level: 2 }).waitFor();
      assert.equal(await page.locator('.release-head [data-state]').getAttribute('data-state'), 'waiting');
      assert.equal(await page.title(), 'v2 to staging · shop · Slipway');

      const about = region(page, 'About');
      assert.match(await about.innerText(), new RegExp(d2.id));
      assert.match(await about.innerText(), /admin .*— ship the cart fix/);

      const commits = region(page, 'Commits');
      await commits.locator('li.batch-commit').nth(1).waitFor();
      assert.deepEqual(await commits.locator('li.batch-commit').evaluateAll((items) => items.map((i) => i.getAttribute('data-commit'))), [sha.c2, sha.c1]);
      assert.match(await commits.locator('.batch-title').innerText(), new RegExp(`^2 commits since ${sha.c0.slice(0, 7)}`));
      const head = commits.locator(`li[data-commit="${sha.c2}"]`);
      assert.equal(await head.locator('.batch-message').innerText(), 'Escape <b>totals</b> in the cart', 'a message is text, its first line');
      assert.match(await head.innerText(), /Ada Lovelace/);
      assert.equal(await head.locator('li[data-check="ci/test"]').getAttribute('data-state'), 'success');
      assert.equal(await head.locator('li[data-check="ci/e2e"]').getAttribute('data-state'), 'pending');
      assert.equal(await head.getByRole('link', { name: 'ci/e2e' }).getAttribute('href'), `${CI}/3`);
      const older = commits.locator(`li[data-commit="${sha.c1}"]`);
      assert.match(await older.innerText(), /Add the checkout page/);
      assert.match(await older.innerText(), /Grace Hopper/);
      assert.equal(await older.getByRole('link', { name: 'ci/test' }).getAttribute('href'), `${CI}/1`);

      const gates = region(page, 'What holds it');
      assert.equal(await gates.locator('li[data-code="CHECKS_PENDING"] .gate-text').innerText(), 'Waiting for check ci/e2e (pending) to pass.');
      assert.equal(await gates.locator('li[data-code="APPROVALS_PENDING"]').count(), 1);

      const approvals = region(page, 'Approvals');
      assert.match(await approvals.innerText(), /Nobody has approved or rejected it yet/);
      assert.match(await approvals.locator('li[data-missing="count"]').innerText(), /^1 more of 1 \(approver or above/);
      await approvals.getByRole('button', { name: 'Approve v2' }).waitFor();

      const timeline = region(page, 'Timeline');
      assert.deepEqual(await timeline.locator('li[data-action]').evaluateAll((items) => items.map((i) => i.getAttribute('data-action'))), ['release.waiting', 'release.promote']);
      assert.match(await timeline.locator('li[data-action="release.promote"]').innerText(), /admin promoted it\s+ship the cart fix/);
      assert.equal(await region(page, 'Rollout across instances').count(), 0, 'a static site has no rollout');

      await page.mouse.move(0, 0);
      await page.screenshot({ path: screenshotPath('release-1280'), fullPage: true });
      await fits(page, ['.release-card']);
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  });

  it('fits a 390 px phone: one column, no sideways scrolling, Approve on screen (screenshot)', async () => {
    const { page, problems } = await openPage(browser, 390, 844);
    try {
      await openRelease(page, ana.secret, 'shop', waiting.id);
      await region(page, 'Commits').locator('li.batch-commit').nth(1).waitFor();
      await region(page, 'Timeline').locator('li[data-action]').first().waitFor();
      await fits(page, ['.release-card', '.batch-commit', '.timeline-event', '.approval-panel button']);
      await page.mouse.move(0, 0);
      await page.screenshot({ path: screenshotPath('release-390'), fullPage: true });
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  });

  it('approves from the page: the release goes live, the decision and the timeline show it without a reload', async () => {
    const { page, problems } = await openPage(browser, 1280);
    try {
      await t.client.reportCheck('shop', { commit: sha.c2, name: 'ci/e2e', state: 'success', url: `${CI}/3` });
      await openRelease(page, ana.secret, 'shop', waiting.id);
      const approvals = region(page, 'Approvals');
      await approvals.getByRole('button', { name: 'Approve v2' }).click();
      const dialog = page.getByRole('form', { name: 'Approve staging v2' });
      await dialog.getByLabel('Reason (optional)').fill('checked on staging');
      await dialog.getByRole('button', { name: 'Approve', exact: true }).click();
      await page.getByRole('status').filter({ hasText: 'Approved staging v2: it is live.' }).waitFor();
      await page.locator('.release-head [data-state="live"]').waitFor();
      await approvals.locator('li[data-decision="approve"][data-user="ana"]').waitFor();
      assert.match(await approvals.innerText(), /ana approved\s+as approver .* — checked on staging/);
      const timeline = region(page, 'Timeline');
      await timeline.locator('li[data-action="release.live"]').waitFor();
      assert.deepEqual(await timeline.locator('li[data-action]').evaluateAll((items) => items.map((i) => i.getAttribute('data-action'))), [
        'release.superseded',
        'release.live',
        'release.rolling_out',
        'release.approve',
        'release.waiting',
        'release.promote',
      ]);
      // v1, which it replaced, is named and links to its own page.
      const superseded = timeline.locator('li[data-action="release.superseded"]');
      assert.match(await superseded.innerText(), /superseded v1 with it/);
      assert.match((await superseded.getByRole('link', { name: 'v1' }).getAttribute('href')) ?? '', /^#\/projects\/shop\/releases\/rel-/);
      assert.equal(await region(page, 'What holds it').count(), 0, 'nothing holds a live release');
      await page.mouse.move(0, 0);
      await page.screenshot({ path: screenshotPath('release-approved-1280'), fullPage: true });
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  });

  it('follows a service release rolling out across three instances, live, to done (1280 and 390 px screenshots)', async () => {
    const c = t.client;
    await c.createProject('api');
    const v1 = await deployFiles(c, 'api', { 'server.js': 'v1' }, { service: SERVICE });
    assert.equal((await c.promote('api', 'production', { deployment: v1.id })).state, 'live');
    await c.setPolicy('api', 'production', { rollout: { maxUnavailable: 1, drain: '1s', healthTimeout: '10s' } });
    const url = () => `http://127.0.0.1:${t.server.port}`;
    for (let i = 1; i <= 3; i++) agents.push(await SimAgent.enroll(url, 'api', 'production', `host-${i}`, { switchMs: 700 }));
    await eventually('every agent runs v1', async () => {
      const list = (await c.listAgents('api')).agents;
      return list.length === 3 && list.every((a) => a.current?.deploymentId === v1.id && a.healthy && a.rotation === 'in') ? true : undefined;
    });
    const v2 = await deployFiles(c, 'api', { 'server.js': 'v2' }, { service: SERVICE, message: 'Serve v2', branch: 'main' });
    const release = await c.promote('api', 'production', { deployment: v2.id });
    assert.equal(release.state, 'rolling_out');

    const { page, problems } = await openPage(browser, 1280);
    try {
      await openRelease(page, ADMIN_TOKEN, 'api', release.id);
      const rollout = region(page, 'Rollout across instances');
      // Mid-rollout: one instance switched while the others wait or switch.
      await rollout.locator('.rollout[data-rollout-state="switching"] tr[data-step="in"]').first().waitFor({ timeout: 20_000 });
      assert.equal(await rollout.locator('tr[data-instance]').count(), 3);
      assert.equal(await page.locator('.release-head [data-state]').getAttribute('data-state'), 'rolling_out');
      await page.mouse.move(0, 0);
      await page.screenshot({ path: screenshotPath('rollout-1280'), fullPage: true });
      // Done, without a reload: every instance in, the release live.
      await rollout.locator('.rollout[data-rollout-state="done"]').waitFor({ timeout: 30_000 });
      assert.deepEqual(await rollout.locator('tr[data-instance]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-step'))), ['in', 'in', 'in']);
      await page.locator('.release-head [data-state="live"]').waitFor();
      assert.match(await rollout.locator('.rollout-progress').innerText(), /3 of 3 instances switched/);
      await region(page, 'Timeline').locator('li[data-action="rollout.done"]').waitFor();
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }

    const phone = await openPage(browser, 390, 844);
    try {
      await openRelease(phone.page, ADMIN_TOKEN, 'api', release.id);
      await region(phone.page, 'Rollout across instances').locator('tr[data-instance]').nth(2).waitFor();
      await fits(phone.page, ['.release-card', '.rollout-instances td']);
      await phone.page.mouse.move(0, 0);
      await phone.page.screenshot({ path: screenshotPath('rollout-390'), fullPage: true });
      // The agents tab counts them.
      await phone.page.getByRole('navigation', { name: 'api pages' }).getByRole('link', { name: 'Agents', exact: true }).click();
      assert.match(await phone.page.locator('.agents-summary').innerText(), /3 agents\s+3 healthy\s+3 in rotation\s+none lost\s+version sim-1/);
      await fits(phone.page, ['table.agents td']);
      assert.deepEqual(phone.problems, []);
    } finally {
      await phone.page.close();
    }
  });

  it('searches deployments by author, branch, commit and message; the search is in the address; each deployment links to its own', async () => {
    const { page, problems } = await openPage(browser, 1280);
    try {
      await signIn(page, t.server.url, ADMIN_TOKEN);
      await page.goto(`${t.server.url}/#/projects/shop`);
      await page.getByRole('navigation', { name: 'shop pages' }).getByRole('link', { name: 'Deployments', exact: true }).click();
      const table = page.getByRole('table', { name: 'Deployments' });
      await table.locator('tr[data-deployment]').nth(1).waitFor();
      const rows = () => table.locator('tr[data-deployment]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-deployment')));
      const box = page.getByRole('searchbox', { name: 'Branch, commit, author, message or id' });

      // "lovelace", not "ada": a commit's sha or a deployment's id may hold "ada" by chance (the search reads both).
      await box.fill('lovelace');
      await page.waitForURL(/deployments\?q=lovelace$/);
      await eventually('only Ada’s deployment is listed', async () => ((await rows()).join() === d2.id ? true : undefined), 10_000).catch(async (err: unknown) => {
        throw new Error(`${String(err)}: listed ${(await rows()).join()} (d2 ${d2.id}) at ${page.url()}`);
      });
      assert.match(await page.getByRole('status').filter({ hasText: 'matching' }).innerText(), /1 deployment matching “lovelace”/);

      // The address keeps the search: a reload shows the same.
      await page.reload();
      await table.locator(`tr[data-deployment="${d2.id}"]`).waitFor();
      assert.equal(await box.inputValue(), 'lovelace');
      assert.deepEqual(await rows(), [d2.id]);

      await box.fill(sha.c2.slice(0, 8));
      await box.press('Enter');
      await page.waitForURL(new RegExp(`q=${sha.c2.slice(0, 8)}$`));
      await eventually('found by commit', async () => ((await rows()).join() === d2.id ? true : undefined));

      for (const hostile of ['%', '_', "' OR 1=1 --", '<script>alert(1)</script>']) {
        await box.fill(hostile);
        await box.press('Enter');
        await page.getByText('No deployment matches').waitFor();
        assert.match(await page.locator('.empty[role="status"]').innerText(), new RegExp(`No deployment matches “${hostile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}”`));
      }
      await box.press('Escape');
      await box.press('Enter');
      await table.locator('tr[data-deployment]').nth(1).waitFor();

      // Every deployment has its own address in the dashboard, and its own URL.
      const row = table.locator(`tr[data-deployment="${d2.id}"]`);
      assert.equal(await row.getByRole('link', { name: `Open ${d2.id}` }).getAttribute('target'), '_blank');
      await row.getByRole('link', { name: d2.id, exact: true }).click();
      await page.waitForURL(new RegExp(`deployments\\?q=${d2.id}$`));
      await eventually('the deployment alone', async () => ((await rows()).join() === d2.id ? true : undefined));
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  });

  it('pages older deployments in (load more) and fits a phone with every action on screen (390 px screenshot)', async () => {
    const { page, problems } = await openPage(browser, 390, 844);
    try {
      await signIn(page, t.server.url, ADMIN_TOKEN);
      await page.goto(`${t.server.url}/#/projects/catalog/deployments`);
      const table = page.getByRole('table', { name: 'Deployments' });
      await table.locator('tr[data-deployment]').nth(29).waitFor();
      assert.equal(await table.locator('tr[data-deployment]').count(), 30);
      await page.getByRole('button', { name: 'Load older deployments' }).click();
      await table.locator('tr[data-deployment="dpl-catalog000"]').waitFor();
      assert.equal(await table.locator('tr[data-deployment]').count(), 40);
      assert.equal(await page.getByRole('button', { name: 'Load older deployments' }).count(), 0, 'nothing older');
      await fits(page, ['table.deployments td', 'table.deployments button', '.deployments-search']);
      await page.screenshot({ path: screenshotPath('deployments-390') });

      // With a search, the pages are of what matches.
      await page.getByRole('searchbox', { name: 'Branch, commit, author, message or id' }).fill('grace feature/search');
      await page.waitForURL(/q=grace/);
      await eventually('Grace’s 20 on feature/search', async () => ((await table.locator('tr[data-deployment]').count()) === 20 ? true : undefined));
      assert.equal(await page.getByRole('button', { name: 'Load older deployments' }).count(), 0);
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  });
});
