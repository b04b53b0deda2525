import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { backends } from './support/backends.ts';
import { slipway } from './support/cli.ts';
import { ensureDashboardBuilt, launchBrowser, NO_BROWSER, openPage, screenshotPath, signInWithPassword } from './support/dashboard.ts';
import { eventually } from './support/eventually.ts';
import { createPerson, recordAuthoredChain } from './support/people.ts';
import { commit, deployCommit, waitCodes } from './support/pipeline.ts';
import { ADMIN_TOKEN, startTestServer, type TestServer } from './support/server.ts';

/**
 * Approval by all involved, end to end: a batch of commits by three authors waits in front of
 * production until all three approve — two with the real `bin/slipway`, one with the Approve
 * button of the dashboard in a real Chromium — and goes live with the last approval, with no
 * other request (the approval carries the session's CSRF token). Then four eyes: an author's own approval does not count toward `count`.
 */

const CY_PASSWORD = 'a long and unguessable phrase 42';
const sqlite = backends.find((b) => b.name === 'sqlite');
assert.ok(sqlite, 'the sqlite test backend exists');


describe('approval by every author of the batch, from the CLI and the dashboard', { skip: NO_BROWSER }, () => {
  let t: TestServer;
  let browser: Browser;
  const tokens: Record<string, string> = {};

  before(async () => {
    const dashboard = ensureDashboardBuilt();
    t = await startTestServer(sqlite, { runners: 0 });
    await t.client.createProject('shop');
    for (const [name, role, email] of [
      ['ana', 'deployer', 'ana@example.com'],
      ['bo', 'viewer', 'bo@example.com'],
      ['cy', 'viewer', 'cy@example.com'],
      ['rita', 'approver', 'rita@example.com'],
    ] as const) {
      tokens[name] = (await createPerson(t, name, role, [email], name === 'cy' ? CY_PASSWORD : undefined)).secret;
    }
    await dashboard;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await t?.dispose();
  });

  it('waits until all three authors approve — two through the CLI, one through the dashboard — and goes live by itself', async () => {
    const admin = (args: string[]) => slipway(t, args);
    assert.equal((await admin(['env', 'set', 'staging', '--project', 'shop', '--no-auto'])).code, 0);
    assert.equal((await admin(['env', 'set', 'production', '--project', 'shop', '--from', 'staging', '--auto'])).code, 0);
    // Production runs a first commit: the next release's batch is what came after it.
    const base = commit('e2e-0');
    await recordAuthoredChain(t, 'shop', [{ sha: base, email: 'grace@example.com' }]);
    const running = await deployCommit(t.client, 'shop', base);
    await t.client.promote('shop', 'staging', { deployment: running.id });
    assert.equal((await t.client.getEnvironment('shop', 'production')).deployment, running.id);
    const set = await admin(['env', 'set', 'production', '--project', 'shop', '--approval-authors', 'all']);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /approvals all authors/);

    const chain = [
      { sha: commit('e2e-1'), email: 'ana@example.com' },
      { sha: commit('e2e-2'), email: 'bo@example.com' },
      { sha: commit('e2e-3'), email: 'Cy@Example.com' },
    ];
    await recordAuthoredChain(t, 'shop', chain, base);
    const deployment = await deployCommit(t.client, 'shop', chain[2]?.sha ?? '');
    const promoted = await admin(['promote', deployment.id, '--project', 'shop', '--env', 'staging']);
    assert.equal(promoted.code, 0, promoted.stderr);
    const waiting = (await t.client.listReleases('shop', 'production', { limit: 1 })).releases[0];
    assert.equal(waiting?.state, 'waiting');
    assert.deepEqual(waitCodes(waiting), ['APPROVALS_PENDING']);
    const id = waiting?.id ?? '';

    const pipeline = await admin(['pipeline', '--project', 'shop']);
    assert.match(pipeline.stdout, /approvals: waiting for approval: author cy; author bo; author ana/);

    const first = await slipway(t, ['approve', id, '--project', 'shop'], { token: tokens.ana ?? '' });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^ana approved production v2/m);
    assert.match(first.stdout, /still to approve:\n {2}author cy <cy@example.com>\n {2}author bo <bo@example.com>/);
    const second = await slipway(t, ['approve', 'v2', '--env', 'production', '--project', 'shop', '--reason', 'checked the copy'], { token: tokens.bo ?? '' });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /still to approve:\n {2}author cy <cy@example.com>\n$/);
    const shown = await slipway(t, ['releases', 'show', id, '--project', 'shop'], { token: ADMIN_TOKEN });
    assert.match(shown.stdout, /still to approve:\n {4}author cy <cy@example.com>/);
    assert.match(shown.stdout, /approved by ana \(deployer\)/);
    assert.match(shown.stdout, /approved by bo \(viewer\) at .*: checked the copy/);
    assert.equal((await t.client.getEnvironment('shop', 'production')).deployment, running.id);

    // The third author approves in the dashboard, signed in with email and password (a session
    // cookie; the approval is a write, so it carries the session's CSRF token).
    const { page, problems } = await openPage(browser);
    await signInWithPassword(page, t.server.url, 'cy@example.com', CY_PASSWORD);
    await page.getByRole('link', { name: 'shop', exact: true }).click();
    await page.getByRole('heading', { name: 'shop', level: 1 }).waitFor();
    const panel = page.getByLabel('Approvals of production v2');
    await panel.waitFor();
    assert.deepEqual(await panel.locator('li[data-missing]').evaluateAll((items) => items.map((li) => li.getAttribute('data-email'))), ['cy@example.com']);
    await page.screenshot({ path: screenshotPath('approvals-waiting'), fullPage: true });
    await panel.getByRole('button', { name: 'Approve v2' }).click();
    await page.getByRole('dialog', { name: 'Approve production v2' }).getByRole('button', { name: 'Approve', exact: true }).click();
    await page.getByText('Approved production v2: it is live.').waitFor();

    // Nothing else was asked of the server: the approval itself put the release live.
    const live = await eventually('production to run the batch', async () => {
      const env = await t.client.getEnvironment('shop', 'production');
      return env.deployment === deployment.id ? env : undefined;
    });
    assert.equal(live.release?.number, 2);
    const detail = await t.client.getRelease('shop', id);
    assert.equal(detail.state, 'live');
    assert.deepEqual(
      detail.approvals.map((a) => a.user),
      ['ana', 'bo', 'cy'],
    );
    assert.equal(await page.getByLabel('Approvals of production v2').count(), 0);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('four eyes: an author approving for count is refused with the reason; another approver lets it go', async () => {
    const set = await slipway(t, ['env', 'set', 'production', '--project', 'shop', '--approvals', '1', '--approval-authors', 'none'], { token: ADMIN_TOKEN });
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /approvals 1 \(approver\)/);
    const sha = commit('e2e-4');
    await recordAuthoredChain(t, 'shop', [{ sha, email: 'rita@example.com' }], commit('e2e-3'));
    const deployment = await deployCommit(t.client, 'shop', sha);
    await t.client.promote('shop', 'staging', { deployment: deployment.id });
    const waiting = (await t.client.listReleases('shop', 'production', { limit: 1 })).releases[0];
    assert.equal(waiting?.state, 'waiting');

    const own = await slipway(t, ['approve', waiting?.id ?? '', '--project', 'shop'], { token: tokens.rita ?? '' });
    assert.equal(own.code, 6);
    assert.match(own.stderr, /APPROVAL_NOT_ALLOWED/);
    assert.match(own.stderr, /you authored a commit of it, so your approval does not count \(four eyes\)/);
    assert.equal((await t.client.getRelease('shop', waiting?.id ?? '')).state, 'waiting');

    // Ana, a deployer who wrote none of it, cannot count either.
    const deployer = await slipway(t, ['approve', waiting?.id ?? '', '--project', 'shop'], { token: tokens.ana ?? '' });
    assert.equal(deployer.code, 6);
    assert.match(deployer.stderr, /approvals count from the approver role/);
    const lee = (await createPerson(t, 'lee', 'approver')).secret;
    const ok = await slipway(t, ['approve', waiting?.id ?? '', '--project', 'shop', '--json'], { token: lee });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as { release: { state: string } }).release.state, 'live');
  });
});
