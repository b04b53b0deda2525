import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import type { Deployment } from '../src/protocol/api.ts';
import { backends } from './support/backends.ts';
import { ensureDashboardBuilt, launchBrowser, NO_BROWSER, openPage, screenshotPath, scrollsSideways, signIn } from './support/dashboard.ts';
import { git } from './support/git-repo.ts';
import { ADMIN_TOKEN, deployFiles, startTestServer, type TestServer } from './support/server.ts';

/**
 * Pipelines on the project page, in a real Chromium against a real server: environments in the
 * order of `from:` with their policy, the releases waiting to enter each with the gates that
 * hold them, a release's batch of commits and their checks, and a check reported later that
 * lets the waiting release go live while the page is open. Commits reach Slipway by a real
 * `git push` to its own repository; deployments are uploaded claiming those commits (no runner).
 */

const sqlite = backends.find((b) => b.name === 'sqlite');
assert.ok(sqlite, 'the sqlite test backend exists');

const CI = 'https://ci.example.com/runs';
/** "2:00 PM", or "Mar 2, 2026, 1:00 AM" when the time falls on another day. */
const CLOCK = '(?:[A-Z][a-z]{2} \\d{1,2}, \\d{4}, )?\\d{1,2}:\\d\\d\\s[AP]M';

describe('pipelines on the project page', { skip: NO_BROWSER }, () => {
  let t: TestServer;
  let home: string;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  /** main: c1 ← c2 ← c3; feature/x: c1 ← f1. */
  const sha: Record<'c1' | 'c2' | 'c3' | 'f1', string> = { c1: '', c2: '', c3: '', f1: '' };
  let d1: Deployment;
  let d3: Deployment;
  let noCommit: Deployment;
  let feature: Deployment;

  before(async () => {
    const dashboard = ensureDashboardBuilt();
    process.env.SLIPWAY_PUSH_WAIT_SECONDS = '0';
    t = await startTestServer(sqlite, { runners: 0 });
    const c = t.client;
    await c.createProject('shop');
    home = await mkdtemp(join(tmpdir(), 'slipway-dash-pipeline-'));
    const work = join(home, 'work');
    await git(home, ['init', '-q', '-b', 'main', work]);
    const remote = `http://x:${ADMIN_TOKEN}@127.0.0.1:${t.server.port}/git/shop.git`;
    const commit = async (message: string, author = 'Grace Hopper <grace@example.com>') => {
      await git(work, ['commit', '-q', '--allow-empty', '--author', author, '-m', message]);
      return git(work, ['rev-parse', 'HEAD']);
    };

    sha.c1 = await commit('Add the checkout page');
    await git(work, ['push', '-q', remote, 'main']);
    d1 = await deployFiles(c, 'shop', { 'index.html': 'one' }, { commit: sha.c1, branch: 'main', message: 'Add the checkout page' });
    await c.promote('shop', 'dev', { deployment: d1.id });
    await c.setPolicy('shop', 'staging', { from: 'dev', auto: true, checks: ['ci/test'], mode: 'gate' });
    await c.setPolicy('shop', 'production', { from: 'staging', checks: ['ci/test', 'ci/e2e'], mode: 'gate' });
    await c.reportCheck('shop', { commit: sha.c1, name: 'ci/test', state: 'success', url: `${CI}/1` });
    await c.promote('shop', 'staging', { deployment: d1.id });
    // A person promotes to production before ci/e2e has run: the release waits for it.
    const production = await c.promote('shop', 'production', { deployment: d1.id });
    assert.equal(production.state, 'waiting');

    // An upload that names no commit: staging can never see its checks pass, so it fails there; dev rolls it back.
    noCommit = await deployFiles(c, 'shop', { 'index.html': 'hand-made' });
    await c.promote('shop', 'dev', { deployment: noCommit.id });
    await c.rollback('shop', 'dev', { reason: 'uploaded by hand' });

    sha.c2 = await commit('Make the buy button red', 'Ada Lovelace <ada@example.com>');
    sha.c3 = await commit('Escape <b>totals</b> & "quotes" in the cart');
    await git(work, ['push', '-q', remote, 'main']);
    d3 = await deployFiles(c, 'shop', { 'index.html': 'three' }, { commit: sha.c3, branch: 'main', message: 'Escape totals' });
    await c.reportCheck('shop', { commit: sha.c2, name: 'ci/test', state: 'success', url: `${CI}/2` });
    await c.reportCheck('shop', { commit: sha.c3, name: 'ci/test', state: 'pending', url: `${CI}/3` });
    await c.lock('shop', 'staging', { reason: 'release freeze', until: '2h' });
    await c.promote('shop', 'dev', { deployment: d3.id });

    // A branch that main does not contain, red in CI: dev runs it (a warning), staging refuses it.
    // Branched from c1, so it does not contain (and supersede) the release of c3 waiting in staging.
    await git(work, ['checkout', '-q', '-b', 'feature/x', sha.c1]);
    sha.f1 = await commit('Try a one-page checkout');
    await git(work, ['push', '-q', remote, 'feature/x']);
    feature = await deployFiles(c, 'shop', { 'index.html': 'feature' }, { commit: sha.f1, branch: 'feature/x', message: 'Try a one-page checkout' });
    await c.reportCheck('shop', { commit: sha.f1, name: 'ci/test', state: 'failure', url: `${CI}/4` });
    await c.promote('shop', 'dev', { deployment: feature.id });

    await dashboard;
    browser = await launchBrowser();
    const opened = await openPage(browser, 1280);
    page = opened.page;
    problems = opened.problems;
  });

  after(async () => {
    await browser?.close();
    await t?.dispose();
    if (home) await rm(home, { recursive: true, force: true });
  });

  const card = (p: Page, environment: string): Locator => p.locator(`[data-environment="${environment}"]`);
  const waiting = (p: Page, environment: string): Locator => p.getByRole('region', { name: `Waiting to enter ${environment}` });

  async function openShop(p: Page): Promise<void> {
    await signIn(p, t.server.url, ADMIN_TOKEN);
    await p.getByRole('link', { name: 'shop', exact: true }).click();
    await p.getByRole('heading', { name: 'shop', level: 1 }).waitFor();
    await card(p, 'production').waitFor();
  }

  it('shows the environments in pipeline order, each with its policy in one line', async () => {
    await openShop(page);
    const order = await page.locator('.env-grid').first().locator('[data-environment]').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-environment')));
    assert.deepEqual(order, ['dev', 'staging', 'production']);
    assert.equal(await card(page, 'dev').locator('.policy-summary').textContent(), 'Policy: manual · no checks');
    assert.equal(await card(page, 'staging').locator('.policy-summary').textContent(), 'Policy: from dev · auto · checks ci/test (gate)');
    assert.equal(await card(page, 'production').locator('.policy-summary').textContent(), 'Policy: from staging · manual · checks ci/test, ci/e2e (gate)');
  });

  it('shows the release waiting to enter staging with each gate that holds it and when it is looked at again', async () => {
    const release = waiting(page, 'staging').locator('li.waiting-release');
    await release.first().waitFor();
    assert.equal(await release.count(), 1, 'only the release that can still go live waits');
    const text = await release.innerText();
    assert.match(text, new RegExp(d3.id));
    assert.match(text, new RegExp(`${sha.c3.slice(0, 7)}\\s+main`));
    assert.match(text, /waiting/);
    assert.match(text, /by automation/);
    assert.match(await release.locator('li[data-code="ENVIRONMENT_LOCKED"] .gate-text').innerText(), new RegExp(`^Locked by admin — “release freeze” until ${CLOCK}\\.$`));
    assert.equal(await release.locator('li[data-code="CHECKS_PENDING"] .gate-text').innerText(), 'Waiting for check ci/test (pending) to pass.');
    assert.match(await release.locator('.recheck').innerText(), new RegExp(`^Looked at again at ${CLOCK} \\(in 2 hours\\), or sooner`));

    const production = waiting(page, 'production').locator('li.waiting-release');
    assert.match(await production.innerText(), /by admin/);
    assert.equal(await production.locator('li[data-code="CHECKS_PENDING"] .gate-text').innerText(), 'Waiting for check ci/e2e (not reported yet) to pass.');
    assert.match(await production.locator('.recheck').innerText(), /as soon as what it waits for changes/);
  });

  it('warns that dev runs a commit main does not contain', async () => {
    const warning = card(page, 'dev').getByRole('note');
    assert.equal(
      await warning.innerText(),
      `Warning: dev runs feature/x @${sha.f1.slice(0, 7)}, not in main: merge it or it will be lost on the next deploy`,
    );
    assert.equal(await card(page, 'staging').getByRole('note').count(), 0);
  });

  it('links a waiting release to its page: its commits, their authors and their checks', async () => {
    await waiting(page, 'staging').getByRole('link', { name: '2 commits and their checks of v3' }).click();
    const detail = page.getByRole('region', { name: 'Release v3 to staging' });
    await detail.locator('li.batch-commit').nth(1).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'release-title', 'focus moves to the opened release');
    assert.match(await detail.locator('.batch-title').innerText(), new RegExp(`^2 commits since ${sha.c1.slice(0, 7)}, what staging ran when v3 was made$`));
    const commits = detail.locator('li.batch-commit');
    assert.deepEqual(await commits.evaluateAll((items) => items.map((i) => i.getAttribute('data-commit'))), [sha.c3, sha.c2]);

    const head = detail.locator(`li[data-commit="${sha.c3}"]`);
    // A commit message is text, never markup.
    assert.equal(await head.locator('.batch-message').innerText(), 'Escape <b>totals</b> & "quotes" in the cart');
    assert.equal(await head.locator('.batch-message b').count(), 0);
    assert.match(await head.innerText(), /Grace Hopper/);
    const pending = head.locator('li[data-check="ci/test"]');
    assert.equal(await pending.getAttribute('data-state'), 'pending');
    assert.match(await pending.innerText(), /ci\/test↗?\s+pending\s+required/);
    assert.equal(await pending.getByRole('link', { name: 'ci/test' }).getAttribute('href'), `${CI}/3`);

    const older = detail.locator(`li[data-commit="${sha.c2}"]`);
    assert.match(await older.innerText(), /Make the buy button red/);
    assert.match(await older.innerText(), /Ada Lovelace/);
    assert.equal(await older.locator('li[data-check="ci/test"]').getAttribute('data-state'), 'success');
    assert.equal(await older.getByRole('link', { name: 'ci/test' }).getAttribute('href'), `${CI}/2`);
    await page.goBack();
    await card(page, 'production').waitFor();
  });

  it('shows failed, rolled back and superseded releases in the releases list, superseded ones with the release that replaced them', async () => {
    await page.getByRole('tab', { name: 'staging' }).click();
    const staging = page.getByRole('table', { name: 'Releases of staging' });
    const row = (n: number) => staging.locator(`tr[data-release="${n}"]`);
    await row(4).waitFor();
    assert.equal(await row(2).getAttribute('data-state'), 'failed');
    assert.match(await row(2).innerText(), /failed\s+deployment has no commit, so its checks can never pass/);
    assert.equal(await row(4).getAttribute('data-state'), 'failed');
    assert.match(await row(4).innerText(), /check ci\/test failed/);
    assert.equal(await row(3).getAttribute('data-state'), 'waiting');

    await page.getByRole('tab', { name: 'dev' }).click();
    const dev = page.getByRole('table', { name: 'Releases of dev' });
    const devRow = (n: number) => dev.locator(`tr[data-release="${n}"]`);
    await devRow(5).waitFor();
    assert.equal(await devRow(2).getAttribute('data-state'), 'rolled_back');
    assert.match(await devRow(2).innerText(), /rolled back\s+rolled back by v3: uploaded by hand/);
    assert.equal(await devRow(4).getAttribute('data-state'), 'superseded');
    // The superseding release is named and links to its page.
    await devRow(4).getByRole('link', { name: 'v5' }).click();
    const detail = page.getByRole('region', { name: 'Release v5 to dev' });
    await detail.waitFor();
    assert.match(await detail.innerText(), /feature\/x/);
    await page.goBack();
    await detail.waitFor({ state: 'detached' });
    await card(page, 'production').waitFor();
  });

  it('looks right at 1280 px (screenshot) and logged no page errors', async () => {
    await waiting(page, 'staging').locator('li.waiting-release').waitFor();
    // Columns, left to right.
    const lefts = await page.locator('.pipeline-columns [data-environment]').evaluateAll((cards) => cards.map((c) => c.getBoundingClientRect().left));
    assert.ok(lefts.length === 3 && (lefts[0] ?? 0) < (lefts[1] ?? 0) && (lefts[1] ?? 0) < (lefts[2] ?? 0), `columns left to right: ${lefts.join(', ')}`);
    await page.mouse.move(0, 0);
    await page.screenshot({ path: screenshotPath('pipeline-1280'), fullPage: true });
    assert.equal(await scrollsSideways(page), false);
    assert.deepEqual(problems, []);
  });

  it('fits a 390 px phone without scrolling sideways (screenshot)', async () => {
    const phone = await openPage(browser, 390, 844);
    try {
      await openShop(phone.page);
      await waiting(phone.page, 'staging').locator('li.waiting-release').waitFor();
      // Columns become cards, one under the other.
      const tops = await phone.page.locator('.pipeline-columns [data-environment]').evaluateAll((cards) => cards.map((c) => c.getBoundingClientRect().top));
      assert.ok((tops[0] ?? 0) < (tops[1] ?? 0) && (tops[1] ?? 0) < (tops[2] ?? 0), `stacked: ${tops.join(', ')}`);
      await phone.page.getByRole('tab', { name: 'dev' }).click();
      await phone.page.getByRole('table', { name: 'Releases of dev' }).locator('tr[data-release="5"]').waitFor();
      assert.equal(await scrollsSideways(phone.page), false, 'the page does not scroll sideways');
      for (const selector of ['.policy-summary', '.waiting-release', '.env-card', '.env-actions .button', '.env-note', 'table.releases']) {
        const overflowing = await phone.page.locator(selector).evaluateAll((elements) =>
          elements.filter((e) => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > window.innerWidth).map((e) => e.outerHTML.slice(0, 120)),
        );
        assert.deepEqual(overflowing, [], `${selector} fits 390 px`);
      }
      await phone.page.mouse.move(0, 0);
      await phone.page.screenshot({ path: screenshotPath('pipeline-390'), fullPage: true });
      assert.deepEqual(phone.problems, []);
    } finally {
      await phone.page.close();
    }
  });

  it('shows the waiting release go live once its check passes and the lock is lifted, without a reload', async () => {
    await t.client.unlock('shop', 'staging', {});
    const release = waiting(page, 'staging').locator('li.waiting-release');
    await release.locator('li[data-code="ENVIRONMENT_LOCKED"]').waitFor({ state: 'detached' });
    assert.equal(await release.locator('li[data-code="CHECKS_PENDING"] .gate-text').innerText(), 'Waiting for check ci/test (pending) to pass.');

    await t.client.reportCheck('shop', { commit: sha.c3, name: 'ci/test', state: 'success', url: `${CI}/3` });
    await card(page, 'staging').locator('.env-deployment', { hasText: d3.id }).waitFor();
    await waiting(page, 'staging').waitFor({ state: 'detached' });
    await card(page, 'staging').getByRole('link', { name: 'Release v3 of staging' }).click();
    const detail = page.getByRole('region', { name: 'Release v3 to staging' });
    await detail.locator('.release-head [data-state="live"]').waitFor();
    await detail.locator(`li[data-commit="${sha.c3}"] li[data-check="ci/test"][data-state="success"]`).waitFor();
    await page.goBack();

    await page.getByRole('tab', { name: 'staging' }).click();
    const v1 = page.getByRole('table', { name: 'Releases of staging' }).locator('tr[data-release="1"]');
    await v1.locator('[data-state="superseded"]').waitFor();
    assert.match(await v1.innerText(), /superseded\s+by v3/);
    assert.equal((await t.client.getEnvironment('shop', 'staging')).deployment, d3.id);
    assert.deepEqual(problems, []);
  });
});
