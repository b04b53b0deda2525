import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { LEASE_HEADER, type Build, type BuildLogLine } from '../src/protocol/builds.ts';
import type { SlipwayClient } from '../src/protocol/client.ts';
import { recordPush, ZERO_SHA, type RefUpdate } from '../src/server/services/pushes.ts';
import { signHex } from '../src/server/webhooks/signatures.ts';
import { backends } from './support/backends.ts';
import { ensureDashboardBuilt, launchBrowser, NO_BROWSER, openPage, screenshotPath } from './support/dashboard.ts';
import { ADMIN_TOKEN, deployFiles, startTestServer, type TestServer } from './support/server.ts';

/**
 * Builds, live build logs and branch previews in the dashboard, in a real Chromium against a
 * real server. Builds are queued by real pushes (recordPush) and this test plays the runner
 * over HTTP (claim, append logs, complete), so no build command runs and nothing races it.
 */

const SCREENSHOT = screenshotPath('builds');
const LOG_SCREENSHOT = screenshotPath('builds-log');
const DELIVERIES_SCREENSHOT = screenshotPath('deliveries');
const RUNNER = 'r1';

/** A commit id that looks like one (distinct short forms, for the screenshot). */
const sha = (n: number) => createHash('sha1').update(`commit ${n}`).digest('hex');
const pusher = { name: 'pat', role: 'deployer' as const, trigger: 'user' as const };
const branch = (name: string, after: string, before = ZERO_SHA): RefUpdate => ({ ref: `refs/heads/${name}`, before, after });

const sqlite = backends.find((b) => b.name === 'sqlite');
assert.ok(sqlite, 'the sqlite test backend exists');

describe('builds, live logs and previews in the dashboard', { skip: NO_BROWSER }, () => {
  let t: TestServer;
  let browser: Browser;
  let page: Page;
  /** Succeeded, failed, running and queued, oldest first. */
  let succeeded: Build;
  let failed: Build;
  let running: Build;
  let queued: Build;
  let problems: string[];

  const push = async (...updates: RefUpdate[]) =>
    (await recordPush(t.server.deps, pusher, 'shop', { updates, trigger: 'git-push', sourceUrl: null })).builds;

  /** The runner token's client, and each claimed build's lease. */
  let runner: SlipwayClient;
  const leases = new Map<string, string>();
  const as = (build: Build) => runner.withHeaders({ [LEASE_HEADER]: leases.get(build.id) ?? '' });

  async function claim(): Promise<Build> {
    const claimed = await runner.claimBuild({ runner: RUNNER, leaseSeconds: 60 });
    assert.ok(claimed, 'a build was queued');
    leases.set(claimed.build.id, claimed.lease);
    return claimed.build;
  }

  const log = (build: Build, lines: [BuildLogLine['stream'], string][]) =>
    as(build).appendBuildLogs(build.id, { runner: RUNNER, lines: lines.map(([stream, text]) => ({ at: new Date().toISOString(), stream, text })) });

  async function succeed(build: Build, body: string, report: object = {}): Promise<Build> {
    const deployment = await deployFiles(as(build), 'shop', { 'index.html': body });
    return as(build).completeBuild(build.id, { runner: RUNNER, state: 'succeeded', deployment: deployment.id, report });
  }

  before(async () => {
    await ensureDashboardBuilt();
    t = await startTestServer(sqlite, { runners: 0 });
    await t.client.createProject('shop');
    runner = t.clientWith((await t.client.createToken({ name: 'runner', role: 'runner' })).secret);

    await push(branch('main', sha(1)));
    const first = await claim();
    await log(first, [
      ['system', `checking out ${sha(1).slice(0, 7)}`],
      ['stdout', '> shop@1.0.0 build'],
      ['stdout', 'built 3 files in 412ms'],
    ]);
    succeeded = await succeed(first, 'main one', {
      author: 'ada',
      message: 'Add the checkout page\n\nLonger body.',
      environments: { dev: { follows: 'main' } },
    });

    await push(branch('feature/Blue', sha(2)));
    const second = await claim();
    await log(second, [
      ['stdout', '> shop@1.0.0 build'],
      ['stderr', "Error: Cannot find module './checkout'"],
    ]);
    failed = await as(second).completeBuild(second.id, {
      runner: RUNNER,
      state: 'failed',
      error: 'build command exited with code 1',
      report: { author: 'grace', message: 'Paint it blue' },
    });

    // A branch at an already built commit gets its preview at once; deleting the branch retires it.
    await push(branch('old-idea', sha(1)));
    await push(branch('old-idea', ZERO_SHA, sha(1)));

    await push(branch('main', sha(3), sha(1)));
    running = await claim();
    await log(running, [
      ['system', `checking out ${sha(3).slice(0, 7)}`],
      ['stdout', 'installing dependencies'],
    ]);

    const [side] = await push(branch('side', sha(4)));
    queued = await t.client.getBuild('shop', side?.id ?? '');
    assert.equal(queued.state, 'queued');

    browser = await launchBrowser();
    ({ page, problems } = await openPage(browser));
  });

  after(async () => {
    await browser?.close();
    await t?.dispose();
  });

  const row = (build: Build): Locator => page.locator(`tr[data-build="${build.id}"]`);
  const card = (environment: string): Locator => page.locator(`[data-environment="${environment}"]`);
  const openLog = (build: Build): Locator => page.locator(`[data-build-log="${build.id}"]`);
  /** Opens one of the project's pages (its tabs). */
  const goTab = (project: string, name: string) => page.getByRole('navigation', { name: `${project} pages` }).getByRole('link', { name, exact: true }).click();

  it('signs in and lists the builds newest first, with the git remote to push to', async () => {
    await page.goto(t.server.url);
    await page.getByRole('button', { name: 'Use an API token instead' }).click();
    await page.getByLabel('API token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'shop', exact: true }).click();
    await page.getByRole('heading', { name: 'shop', level: 1 }).waitFor();
    await goTab('shop', 'Builds');
    const builds = page.getByRole('table', { name: 'Builds' });
    await builds.locator('tbody tr').nth(3).waitFor();
    const order = await builds.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-build')));
    assert.deepEqual(order, [queued.id, running.id, failed.id, succeeded.id]);
    const { project } = await t.client.getProjectStatus('shop');
    assert.ok((await page.locator('.git-remote').innerText()).includes(`git push ${project.gitUrl} main`));
  });

  it('shows a succeeded build with its commit and deployment link, and a failed one with its error', async () => {
    const ok = row(succeeded);
    await ok.locator('.build-state', { hasText: 'succeeded' }).waitFor();
    const okText = await ok.innerText();
    assert.match(okText, new RegExp(sha(1).slice(0, 7)));
    assert.match(okText, /main/);
    assert.match(okText, /ada/);
    assert.match(okText, /Add the checkout page/);
    assert.match(okText, /git-push/);
    const done = await t.client.getBuild('shop', succeeded.id);
    assert.ok(done.deployment && done.deploymentUrl);
    assert.equal(await ok.getByRole('link', { name: new RegExp(done.deployment) }).getAttribute('href'), done.deploymentUrl);

    const bad = row(failed);
    await bad.locator('.build-state', { hasText: 'failed' }).waitFor();
    const badText = await bad.innerText();
    assert.match(badText, /build command exited with code 1/);
    assert.match(badText, /feature\/Blue/);
    assert.equal(await bad.getByRole('button', { name: 'Cancel' }).count(), 0, 'a finished build has no Cancel');
  });

  it('shows previews with PREVIEW and what they follow, and folds retired previews away', async () => {
    await goTab('shop', 'Pipeline');
    const preview = card('preview-main');
    await preview.locator('.badge-preview', { hasText: 'PREVIEW' }).waitFor();
    assert.match(await preview.innerText(), /follows main/);
    assert.match(await preview.locator('.env-deployment').innerText(), new RegExp(succeeded.deployment ?? 'missing'));
    assert.match(await card('dev').innerText(), /follows main/);
    assert.equal(await card('dev').locator('.badge-preview').count(), 0, 'dev follows main but is no preview');
    assert.match(await card('preview-feature-blue').innerText(), /waiting for the first successful build of feature\/Blue/);

    assert.equal(await card('preview-old-idea').count(), 0, 'a retired preview gets no card');
    const toggle = page.getByRole('button', { name: 'Retired previews (1)' });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    await toggle.click();
    const retired = page.locator('[data-retired-environment="preview-old-idea"]');
    await retired.waitFor();
    assert.match(await retired.innerText(), /old-idea/);
  });

  it('opens a running build’s log and follows new lines live, to the final state', async () => {
    await goTab('shop', 'Builds');
    await row(running).locator('td').nth(1).click();
    const panel = openLog(running);
    const body = panel.getByRole('log');
    await body.getByText('installing dependencies').waitFor();
    assert.match(await page.evaluate(() => window.location.hash), new RegExp(`/builds/${running.id}$`));
    assert.equal(await body.locator('.log-system').count(), 1, 'the system line is marked');
    await panel.locator('.log-end', { hasText: 'Running' }).waitFor();

    // Lines the runner sends after the page opened appear without a reload.
    await log(running, [['stderr', 'warning: peer dependency missing']]);
    await body.locator('.log-stderr', { hasText: 'warning: peer dependency missing' }).waitFor();

    // Enough output to scroll: the log stays at its end while following.
    await log(
      running,
      Array.from({ length: 60 }, (_, i): [BuildLogLine['stream'], string] => ['stdout', `compiling module ${i + 1} of 60`]),
    );
    await body.getByText('compiling module 60 of 60').waitFor();
    const atEnd = () => body.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 24);
    await page.waitForFunction((id) => {
      const el = document.querySelector(`[data-build-log="${id}"] [role="log"]`);
      return el !== null && el.scrollHeight - el.scrollTop - el.clientHeight < 24;
    }, running.id);
    assert.ok(await atEnd(), 'the log followed the new lines');

    // Scrolled up to read, the log stays put and offers the way back.
    await body.evaluate((el) => el.scrollTo({ top: 0 }));
    await log(running, [['stdout', 'one more line while reading']]);
    await panel.getByRole('button', { name: /jump to the end/ }).waitFor();
    assert.equal(await atEnd(), false, 'the log did not yank the reader down');
    await panel.screenshot({ path: LOG_SCREENSHOT });
    await panel.getByRole('button', { name: /jump to the end/ }).click();
    assert.ok(await atEnd());

    // The build finishes: the log ends with the outcome and the row updates.
    const done = await succeed(running, 'main three', { author: 'ada', message: 'Speed up the build' });
    assert.ok(done.deployment);
    await panel.locator('.log-end', { hasText: 'Build succeeded' }).waitFor();
    assert.match(await panel.locator('.log-end').innerText(), new RegExp(done.deployment));
    await row(running).locator('.build-state', { hasText: 'succeeded' }).waitFor();

    // The log's address survives a reload.
    await page.reload();
    await openLog(running).getByText('installing dependencies').waitFor();
  });

  it('cancels a queued build from the dashboard', async () => {
    const waiting = row(queued);
    await waiting.locator('.build-state', { hasText: 'queued' }).waitFor();
    await waiting.getByRole('button', { name: 'Cancel' }).click();
    await waiting.locator('.build-state', { hasText: 'canceled' }).waitFor();
    assert.equal(await waiting.getByRole('button', { name: 'Cancel' }).count(), 0);
    assert.equal((await t.client.getBuild('shop', queued.id)).state, 'canceled');
    await page.getByRole('status').filter({ hasText: `Canceled ${queued.id}` }).waitFor();
  });

  it('retries a canceled build from the dashboard, once', async () => {
    const canceled = row(queued);
    await canceled.getByRole('button', { name: 'Retry' }).click();
    await page.getByRole('status').filter({ hasText: 'Retrying' }).waitFor();
    const retry = (await t.client.listBuilds('shop', { limit: 100 })).builds.find((b) => b.retryOf === queued.id);
    assert.ok(retry, 'a retry was made');
    await row(retry).locator('.build-state', { hasText: 'queued' }).waitFor();
    // A second press is refused by the server and says why.
    await canceled.getByRole('button', { name: 'Retry' }).click();
    await canceled.getByText(/retried already/).waitFor();
    assert.equal((await t.client.listBuilds('shop', { limit: 100 })).builds.filter((b) => b.retryOf === queued.id).length, 1);
    await t.client.cancelBuild('shop', retry.id);
  });

  it('lists webhook deliveries with their state, refs and the builds they queued', async () => {
    const secret = 'whsec-dashboard-1234';
    await t.client.createProject('hooked', { repo: 'https://github.com/acme/hooked', webhookSecret: secret });
    const after = sha(40);
    const body = JSON.stringify({
      ref: 'refs/heads/main',
      before: ZERO_SHA,
      after,
      repository: { full_name: 'acme/hooked', clone_url: 'https://github.com/acme/hooked.git', html_url: 'https://github.com/acme/hooked' },
      head_commit: { id: after, message: 'Ship the hooks panel', author: { name: 'Mona' } },
      pusher: { name: 'mona' },
    });
    const delivery = 'c0ffee00-dash-4b1d-9e2f-000000000001';
    const sent = await fetch(`${t.server.url}/hooks/github`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': delivery, 'x-hub-signature-256': signHex(secret, body) },
      body,
    });
    assert.equal(sent.status, 202, await sent.text());

    await page.goto(`${t.server.url}/#/projects/hooked/activity`);
    const recorded = page.locator(`tr[data-delivery="${delivery}"][data-state="done"]`);
    await recorded.waitFor();
    const text = await recorded.innerText();
    assert.match(text, /github/);
    assert.match(text, new RegExp(`main → ${after.slice(0, 7)}`));
    const [build] = (await t.client.listBuilds('hooked')).builds;
    assert.ok(build);
    assert.equal(build.commit, after);
    await recorded.getByRole('link', { name: build.id }).click();
    await page.locator(`[data-build-log="${build.id}"]`).waitFor();
    await page.screenshot({ path: DELIVERIES_SCREENSHOT, fullPage: true });

    // A project that only takes pushes to Slipway's own git shows no deliveries section at all.
    await page.goto(`${t.server.url}/#/projects/shop/activity`);
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    assert.equal(await page.getByRole('heading', { name: 'Webhook deliveries' }).count(), 0);
  });

  it('looks right (screenshot) and logged no page errors', async () => {
    await page.mouse.move(0, 0);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.deepEqual(problems, []);
  });
});
