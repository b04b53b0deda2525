import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import type { Deployment } from '../src/protocol/api.ts';
import { backends } from './support/backends.ts';
import { ensureDashboardBuilt, launchBrowser, NO_BROWSER, openPage, screenshotPath, scrollsSideways, signIn, signInWithPassword } from './support/dashboard.ts';
import { createPerson, recordAuthoredChain } from './support/people.ts';
import { commit, declarePipeline, deployCommit } from './support/pipeline.ts';
import { ADMIN_TOKEN, startTestServer, type TestServer } from './support/server.ts';

/**
 * The whole path to production from the browser alone, at 1280 px and at 390 px, against a real
 * server: a promotion dev → staging → production whose confirmations say what will change, an
 * approval by two people (each signed in with email and password), a rollback, a lock and an
 * unlock, a freeze and an unfreeze — every change through the shared confirmation dialog, no
 * page error, nothing off-screen sideways.
 */

const sqlite = backends.find((b) => b.name === 'sqlite');
assert.ok(sqlite, 'the sqlite test backend exists');

const PASSWORD = 'a long and unguessable phrase 42';

/** `YYYY-MM-DDTHH:mm` in this machine's zone (the browser's): what a datetime-local input takes. */
function localInput(at: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
}

describe('the path to production, clicked through in a browser', { skip: NO_BROWSER }, () => {
  let t: TestServer;
  let browser: Browser;

  before(async () => {
    const dashboard = ensureDashboardBuilt();
    t = await startTestServer(sqlite, { runners: 0 });
    await createPerson(t, 'ana', 'approver', ['ana@example.com'], PASSWORD);
    await createPerson(t, 'bo', 'approver', ['bo@example.com'], PASSWORD);
    await dashboard;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await t?.dispose();
  });

  for (const width of [1280, 390]) {
    it(`promotes dev → staging → production with two approvals, rolls back, locks and freezes at ${width} px`, async () => {
      const project = `shop-${width}`;
      const c = t.client;
      await c.createProject(project);
      await declarePipeline(c, project, { dev: { auto: false }, staging: { from: 'dev', auto: false }, production: { from: 'staging', auto: false } });
      const base = commit(`${project}-0`);
      const next = commit(`${project}-1`);
      await recordAuthoredChain(t, project, [
        { sha: base, email: 'grace@example.com', name: 'Grace' },
        { sha: next, email: 'ada@example.com', name: 'Ada' },
      ]);
      const d1 = await deployCommit(c, project, base);
      const d2: Deployment = await deployCommit(c, project, next);
      for (const env of ['dev', 'staging', 'production']) await c.promote(project, env, { deployment: d1.id });
      await c.setPolicy(project, 'production', { approvals: { count: 2 } });
      await c.promote(project, 'dev', { deployment: d2.id });

      const { page, problems } = await openPage(browser, width, 844);
      const column = (p: Page, env: string): Locator => p.locator(`[data-environment="${env}"]`);
      const dialog = (p: Page, name: string): Locator => p.getByRole('dialog', { name });
      const open = async (p: Page) => {
        await p.getByRole('link', { name: project, exact: true }).click();
        await column(p, 'production').waitFor();
      };
      /** No control of the pipeline lies beyond the right edge of the viewport. */
      const nothingOffScreen = async (p: Page) => {
        assert.equal(await scrollsSideways(p), false, 'the page does not scroll sideways');
        const off = await p.locator('.pipeline-columns button, .pipeline-columns a, dialog[open] button').evaluateAll((els) =>
          els.filter((e) => e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().right > window.innerWidth + 1).map((e) => e.textContent),
        );
        assert.deepEqual(off, [], 'every control is on screen');
      };
      try {
        await signIn(page, t.server.url, ADMIN_TOKEN);
        await open(page);

        // dev → staging: the confirmation says what changes before anything is written.
        await column(page, 'staging').getByRole('button', { name: 'Promote v2 from dev to staging' }).click();
        const toStaging = dialog(page, `Promote ${d2.id}`);
        await toStaging.locator('[data-plan-state]').waitFor();
        assert.equal(await toStaging.locator('.plan-words').innerText(), 'staging v1 → v2, carries 1 commit by 1 author.');
        assert.match(await toStaging.innerText(), /Goes live at once/);
        await nothingOffScreen(page);
        await toStaging.getByRole('button', { name: 'Promote to staging' }).click();
        await toStaging.waitFor({ state: 'detached' });
        await column(page, 'staging').locator('.env-deployment', { hasText: d2.id }).waitFor();

        // staging → production waits for two approvals, and says so first.
        await column(page, 'production').getByRole('button', { name: 'Promote v2 from staging to production' }).click();
        const toProduction = dialog(page, `Promote ${d2.id}`);
        await toProduction.locator('[data-plan-state="waiting"]').waitFor();
        assert.equal(await toProduction.locator('.plan-words').innerText(), 'production v1 → v2, carries 1 commit by 1 author.');
        assert.match(await toProduction.innerText(), /Waits to enter production/);
        await toProduction.getByLabel('Reason (optional)').fill('ship <b>Ada</b>’s change');
        await toProduction.getByRole('button', { name: 'Promote to production' }).click();
        await toProduction.waitFor({ state: 'detached' });
        const waiting = page.getByRole('region', { name: 'Waiting to enter production' });
        await waiting.locator('li.waiting-release').waitFor();
        assert.match(await waiting.innerText(), /ship <b>Ada<\/b>’s change/, 'a reason is text, never markup');
        assert.equal((await c.getEnvironment(project, 'production')).deployment, d1.id);

        // Two approvers, each signed in with email and password in a browser of their own.
        for (const [who, email, after] of [
          ['ana', 'ana@example.com', `Approved production v2.`],
          ['bo', 'bo@example.com', `Approved production v2: it is live.`],
        ] as const) {
          const person = await openPage(browser, width, 844);
          try {
            await signInWithPassword(person.page, t.server.url, email, PASSWORD);
            await open(person.page);
            await person.page.getByLabel('Approvals of production v2').getByRole('button', { name: 'Approve v2' }).click();
            const approve = dialog(person.page, 'Approve production v2');
            await nothingOffScreen(person.page);
            await approve.getByRole('button', { name: 'Approve', exact: true }).click();
            await person.page.getByText(after).waitFor();
            assert.deepEqual(person.problems, [], `${who} saw no page error`);
          } finally {
            await person.page.close();
          }
        }
        await column(page, 'production').locator('.env-deployment', { hasText: d2.id }).waitFor();
        assert.equal((await c.getEnvironment(project, 'production')).deployment, d2.id);

        // Roll back: back to d1, pinned.
        await column(page, 'production').getByRole('button', { name: 'Roll back production' }).click();
        const rollback = dialog(page, 'Roll back production');
        await rollback.locator('[data-plan-state="live"]').waitFor();
        assert.equal(await rollback.locator('.plan-words').innerText(), 'production v2 → v3, pins it there until the next promotion.');
        await rollback.getByLabel('Reason (optional)').fill('errors after v2');
        await rollback.getByRole('button', { name: 'Roll back' }).click();
        await column(page, 'production').locator('.badge-pinned').waitFor();
        assert.equal((await c.getEnvironment(project, 'production')).deployment, d1.id);

        // Promoting again says it clears the pin.
        await column(page, 'production').getByRole('button', { name: 'Promote v2 from staging to production' }).click();
        const again = dialog(page, `Promote ${d2.id}`);
        await again.locator('[data-plan-state]').waitFor();
        assert.match(await again.locator('.plan-words').innerText(), /^production v3 → v4, clears its pin, carries \d+ commits? by \d+ authors?\.$/);
        await page.keyboard.press('Escape');
        await again.waitFor({ state: 'detached' });
        assert.equal((await c.getEnvironment(project, 'production')).release?.number, 3, 'cancelling changed nothing');

        // Lock, with a reason; then unlock.
        await column(page, 'production').getByRole('button', { name: 'Lock production' }).click();
        const lock = dialog(page, 'Lock production');
        assert.equal(await lock.getByRole('button', { name: 'Lock' }).isDisabled(), true, 'a lock needs a reason');
        await lock.getByLabel('Reason (required)').fill('database migration');
        await lock.getByRole('button', { name: 'Lock' }).click();
        await column(page, 'production').locator('.badge-locked').waitFor();
        assert.equal((await c.getEnvironment(project, 'production')).lock?.reason, 'database migration');
        await column(page, 'production').getByRole('button', { name: 'Unlock production' }).click();
        await dialog(page, 'Unlock production').getByRole('button', { name: 'Unlock' }).click();
        await column(page, 'production').locator('.badge-locked').waitFor({ state: 'detached' });
        assert.equal((await c.getEnvironment(project, 'production')).lock, null);

        // Freeze staging for two hours; an end before the start is refused with its code.
        await column(page, 'staging').getByRole('button', { name: 'Freeze staging' }).click();
        const freeze = dialog(page, 'Freeze staging');
        await freeze.getByLabel('Until').fill(localInput(new Date(Date.now() - 3_600_000)));
        await freeze.getByLabel('Reason (required)').fill('end of quarter');
        await freeze.getByRole('button', { name: 'Freeze' }).click();
        await freeze.getByRole('alert').filter({ hasText: 'FREEZE_INVALID' }).waitFor();
        await freeze.getByLabel('Until').fill(localInput(new Date(Date.now() + 2 * 3_600_000)));
        await freeze.getByRole('button', { name: 'Freeze' }).click();
        await column(page, 'staging').locator('.badge-frozen').waitFor();
        assert.equal((await c.listFreezes(project, 'staging')).freezes.length, 1);

        await nothingOffScreen(page);
        await page.mouse.move(0, 0);
        await page.screenshot({ path: screenshotPath(`flows-pipeline-${width}`), fullPage: true });

        // The projects page: production at a glance.
        await page.getByRole('link', { name: 'Projects', exact: true }).first().click();
        const card = page.locator(`[data-project="${project}"]`);
        await card.locator('[data-production="production"]').waitFor();
        assert.match(await card.locator('[data-production]').innerText(), /production runs v3/);
        assert.match(await card.innerText(), /PINNED by admin — “errors after v2”/);
        assert.equal(await scrollsSideways(page), false);
        await page.screenshot({ path: screenshotPath(`flows-projects-${width}`), fullPage: true });
        await page.goBack();
        await column(page, 'staging').waitFor();

        await column(page, 'staging').getByRole('button', { name: 'Unfreeze staging' }).click();
        await dialog(page, 'Unfreeze staging').getByRole('button', { name: 'Unfreeze' }).click();
        await column(page, 'staging').locator('.badge-frozen').waitFor({ state: 'detached' });
        assert.equal((await c.listFreezes(project, 'staging')).freezes.length, 0);

        const events = (await c.listEvents({ project, limit: 100 })).events.map((e) => e.action);
        for (const action of ['release.promote', 'release.approve', 'release.rollback', 'environment.lock', 'environment.unlock', 'environment.freeze', 'environment.unfreeze']) {
          assert.ok(events.includes(action), `${action} is in the audit log (${events.join(', ')})`);
        }
        assert.deepEqual(problems, []);
      } finally {
        await page.close();
      }
    });
  }
});
