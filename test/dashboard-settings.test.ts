import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { backends } from './support/backends.ts';
import { ensureDashboardBuilt, launchBrowser, NO_BROWSER, openPage, screenshotPath, scrollsSideways, signIn } from './support/dashboard.ts';
import { startNotifyReceiver, type NotifyReceiver } from './support/notify-receiver.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { postHook } from './support/webhook-payloads.ts';

/**
 * A project's Settings page against a real server, at a laptop's width and a phone's: each
 * section clicked through end to end — repository, webhook secret rotation, members, notification
 * targets, tokens, deleting the project — with the server's state read through the API after
 * every click; hostile input refused with its code and nothing changed; and a viewer, who sees
 * every form disabled with the reason.
 */

const sqlite = backends.find((b) => b.name === 'sqlite');
assert.ok(sqlite, 'the sqlite test backend exists');

/** A GitHub `ping` to `project` signed with `secret`; answers the status. */
async function ping(t: TestServer, project: string, secret: string): Promise<number> {
  const body = JSON.stringify({ zen: 'Anything added dilutes everything else.', hook_id: 1 });
  const answer = await postHook(t.server.port, `/hooks/github?project=${project}`, body, {
    'content-type': 'application/json',
    'x-github-event': 'ping',
    'x-github-delivery': randomUUID(),
    'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
  });
  return answer.status;
}

async function openSettings(page: Page, t: TestServer, token: string, project: string): Promise<void> {
  await signIn(page, t.server.url, token);
  await page.getByRole('link', { name: project, exact: true }).click();
  await page.getByRole('navigation', { name: `${project} pages` }).getByRole('link', { name: 'Settings', exact: true }).click();
  await page.getByRole('heading', { name: 'Repository' }).waitFor();
}

/** The error shown in `section` names `code`. */
async function expectRefusal(page: Page, section: string, code: string): Promise<void> {
  const alert = page.getByRole('region', { name: section }).getByRole('alert');
  await alert.filter({ hasText: code }).waitFor();
}

describe('the project settings page', { skip: NO_BROWSER }, () => {
  let t: TestServer;
  let browser: Browser;
  let receiver: NotifyReceiver;
  let root: string;
  let viewer: string;

  before(async () => {
    await ensureDashboardBuilt();
    // As in production: a repository must be http(s) on a public host.
    t = await startTestServer(sqlite, { allowLocalRepos: false });
    receiver = await startNotifyReceiver();
    await t.client.createUser({ name: 'root', emails: ['root@example.com'], role: 'admin' });
    await t.client.createUser({ name: 'ana', emails: ['ana@example.com'], role: 'viewer' });
    await t.client.createUser({ name: 'bo', emails: ['bo@example.com'], role: 'viewer' });
    root = (await t.client.createToken({ name: 'root-laptop', user: 'root' })).secret;
    viewer = (await t.client.createToken({ name: 'ana-laptop', user: 'ana' })).secret;
    for (const width of [1280, 390]) await t.client.createProject(`shop-${width}`, { repo: 'https://git.example.com/acme/shop.git' });
    await t.client.createProject('shop');
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await receiver?.close();
    await t?.dispose();
  });

  for (const width of [1280, 390]) {
    it(`an admin changes every setting and deletes the project, at ${width} px`, async () => {
      const project = `shop-${width}`;
      const { page, problems } = await openPage(browser, width);
      await openSettings(page, t, root, project);

      // Repository: hostile URLs are refused with the server's code and change nothing.
      const repository = page.getByRole('region', { name: 'Repository' });
      const repoField = repository.getByLabel('Repository URL');
      for (const hostile of ['file:///etc/passwd', 'https://user:hunter2@127.0.0.1/acme/shop.git']) {
        await repoField.fill(hostile);
        await repository.getByLabel('Default branch').fill('trunk');
        await repository.getByRole('button', { name: 'Save repository' }).click();
        await expectRefusal(page, 'Repository', 'REPO_URL_FORBIDDEN');
        const now = (await t.client.getProjectStatus(project)).project;
        assert.equal(now.repo, 'https://git.example.com/acme/shop', `${hostile} changed nothing`);
        assert.equal(now.defaultBranch, 'main', `${hostile} changed nothing, not even the branch`);
      }
      // Credentials are accepted, as by the CLI, stored sealed and never shown back.
      await repoField.fill('https://deploy:s3cr3t-tok3n@git.example.com/acme/storefront.git');
      await repository.getByRole('button', { name: 'Save repository' }).click();
      await repository.getByLabel('Repository URL').and(page.locator('[value="https://***@git.example.com/acme/storefront"]')).waitFor();
      const saved = (await t.client.getProjectStatus(project)).project;
      assert.equal(saved.repo, 'https://***@git.example.com/acme/storefront');
      assert.equal(saved.defaultBranch, 'trunk');
      assert.ok(!(await page.content()).includes('s3cr3t-tok3n'), 'the credentials are not on the page');

      // Webhook secret: made by the server, shown once, and the hook verifies with it.
      const webhook = page.getByRole('region', { name: 'Webhook secret' });
      await webhook.getByText('None', { exact: true }).waitFor();
      await webhook.getByRole('button', { name: 'Make webhook secret' }).click();
      await webhook.getByRole('button', { name: 'Yes, make one' }).click();
      const shown = page.getByTestId('webhook-secret');
      await shown.waitFor();
      const secret = (await shown.innerText()).trim();
      assert.match(secret, /^whsec_/);
      assert.equal((await t.client.getProjectStatus(project)).project.hasWebhookSecret, true);
      assert.equal(await ping(t, project, secret), 200, 'the shown secret verifies deliveries');
      await webhook.getByText(`${t.server.url}/hooks/github`).waitFor();
      await webhook.getByRole('button', { name: 'Copy webhook secret' }).waitFor();
      await webhook.getByText('Set', { exact: true }).waitFor();
      // Rotating again: the old one stops verifying.
      await webhook.getByRole('button', { name: 'Rotate webhook secret' }).click();
      await webhook.getByRole('button', { name: 'Yes, rotate' }).click();
      await page.getByTestId('webhook-secret').filter({ hasNotText: secret }).waitFor();
      const rotated = (await page.getByTestId('webhook-secret').innerText()).trim();
      assert.equal(await ping(t, project, secret), 401);
      assert.equal(await ping(t, project, rotated), 200);

      // Members: an unknown user is refused; a real one is added, changed and removed.
      const members = page.getByRole('region', { name: 'Members and roles' });
      await members.getByLabel('User').fill('nobody-here');
      await members.getByRole('button', { name: 'Add member' }).click();
      await expectRefusal(page, 'Members and roles', 'USER_NOT_FOUND');
      assert.deepEqual((await t.client.listMembers(project)).members, []);
      await members.getByRole('button', { name: 'Dismiss error' }).click();
      await members.getByLabel('User').fill('bo');
      await members.getByLabel('Role', { exact: true }).selectOption('approver');
      await members.getByRole('button', { name: 'Add member' }).click();
      await members.getByLabel('Role of bo').waitFor();
      assert.deepEqual(
        (await t.client.listMembers(project)).members.map((m) => [m.user, m.role]),
        [['bo', 'approver']],
      );
      await members.getByLabel('Role of bo').selectOption('admin');
      await page.getByRole('status').filter({ hasText: 'bo is admin' }).waitFor();
      assert.equal((await t.client.listMembers(project)).members[0]?.role, 'admin');
      await members.getByRole('button', { name: 'Remove bo' }).click();
      await members.getByRole('button', { name: 'Yes, remove' }).click();
      await members.getByText('No members').waitFor();
      assert.deepEqual((await t.client.listMembers(project)).members, []);

      // Notification targets: a file:// URL is refused; a receiver is added, tested, removed.
      const notifications = page.getByRole('region', { name: 'Notification targets' });
      await notifications.getByLabel('URL').fill('file:///etc/passwd');
      await notifications.getByRole('button', { name: 'Add target' }).click();
      await expectRefusal(page, 'Notification targets', 'URL_FORBIDDEN');
      assert.deepEqual((await t.client.listNotifyTargets(project)).targets, []);
      await notifications.getByLabel('URL').fill(receiver.url(`/${project}`));
      await notifications.getByLabel('Allow a loopback or private-network address (admins only)').check();
      await notifications.getByRole('button', { name: 'Add target' }).click();
      await page.getByRole('region', { name: 'New notification target secret' }).waitFor();
      const [target] = (await t.client.listNotifyTargets(project)).targets;
      assert.ok(target);
      assert.equal(target.url, receiver.url(`/${project}`));
      await notifications.getByRole('button', { name: `Test ${target.id}` }).click();
      await notifications.getByText('Test delivered: answered 200').waitFor();
      assert.ok(receiver.received.some((r) => r.path === `/${project}`), 'the receiver got the test');
      await notifications.getByRole('button', { name: `Remove ${target.id}` }).click();
      await notifications.getByRole('button', { name: 'Yes, remove' }).click();
      await notifications.getByText('No notification targets').waitFor();
      assert.deepEqual((await t.client.listNotifyTargets(project)).targets, []);

      // Tokens: a personal token for this project only, and a service token, revoked.
      const tokens = page.getByRole('region', { name: 'Tokens' });
      await tokens.getByLabel('Token name').fill(`laptop-${width}`);
      await tokens.getByRole('button', { name: 'Create token' }).click();
      const tokenSecret = (await page.getByTestId('token-secret').innerText()).trim();
      const personal = (await t.client.listTokens()).tokens.find((tk) => tk.name === `laptop-${width}`);
      assert.equal(personal?.user, 'root');
      assert.equal(personal?.project, project);
      assert.equal((await t.clientWith(tokenSecret).whoami()).scope, project, 'the shown secret is the token');
      await tokens.getByRole('button', { name: 'I have copied it' }).click();
      await tokens.getByLabel('Service (a role, this project only)').check();
      await tokens.getByLabel('Token name').fill(`ci-${width}`);
      await tokens.getByLabel('Role', { exact: true }).selectOption('deployer');
      await tokens.getByRole('button', { name: 'Create token' }).click();
      await tokens.getByRole('list', { name: 'Service tokens of this project' }).getByText(`ci-${width}`).waitFor();
      const service = (await t.client.listTokens()).tokens.find((tk) => tk.name === `ci-${width}`);
      assert.equal(service?.role, 'deployer');
      assert.equal(service?.user, null);
      assert.equal(service?.project, project);
      await tokens.getByRole('button', { name: `Revoke ci-${width}` }).click();
      await tokens.getByRole('button', { name: 'Yes, revoke' }).click();
      await tokens.getByText('No service tokens scoped to this project.').waitFor();
      assert.notEqual((await t.client.listTokens()).tokens.find((tk) => tk.id === service?.id)?.revokedAt, null);

      assert.equal(await scrollsSideways(page), false, 'nothing is off-screen sideways');
      await page.screenshot({ path: screenshotPath(`settings-${width}`), fullPage: true });

      // Delete: a wrong name is refused by the server and deletes nothing; the right one deletes.
      const danger = page.getByRole('region', { name: 'Delete project' });
      await danger.getByLabel(`Type ${project} to confirm`).fill('shop');
      await danger.getByRole('button', { name: `Delete ${project}` }).click();
      await expectRefusal(page, 'Delete project', 'CONFIRMATION_MISMATCH');
      assert.equal((await t.client.getProjectStatus(project)).project.name, project, 'still there');
      assert.equal((await t.client.getProjectStatus('shop')).project.name, 'shop', 'the other project too');
      await danger.getByLabel(`Type ${project} to confirm`).fill(project);
      await danger.getByRole('button', { name: `Delete ${project}` }).click();
      await page.getByRole('heading', { name: 'Projects' }).waitFor();
      await page.waitForURL((url) => url.hash === '#/');
      await assert.rejects(t.client.getProjectStatus(project), (err: Error & { code?: string }) => err.code === 'PROJECT_NOT_FOUND');
      assert.equal(await page.getByRole('link', { name: project, exact: true }).count(), 0);
      assert.deepEqual(problems, []);
      await page.close();
    });
  }

  for (const width of [1280, 390]) {
    it(`a viewer sees every form disabled, with the reason, at ${width} px`, async () => {
      // The reasons shown are the server's verdicts (Project.actions), not the browser's guess.
      const actions = (await t.clientWith(viewer).getProjectStatus('shop')).project.actions;
      assert.equal(actions?.edit.allowed, false);
      assert.equal(actions?.edit.reason, 'Only a deployer, approver or admin can change the project; you are a viewer on this project');
      const { page, problems } = await openPage(browser, width);
      await openSettings(page, t, viewer, 'shop');
      const repository = page.getByRole('region', { name: 'Repository' });
      assert.equal(await repository.getByLabel('Repository URL').isDisabled(), true);
      assert.equal(await repository.getByLabel('Default branch').isDisabled(), true);
      await repository.getByText('Only a deployer, approver or admin can change the project; you are a viewer on this project.').waitFor();
      await repository.getByText('Only a deployer, approver or admin can change the default branch; you are a viewer on this project.').waitFor();
      const webhook = page.getByRole('region', { name: 'Webhook secret' });
      assert.equal(await webhook.getByRole('button', { name: 'Make webhook secret' }).isDisabled(), true);
      await webhook.getByText('Only a deployer, approver or admin can rotate the webhook secret; you are a viewer on this project.').waitFor();
      const members = page.getByRole('region', { name: 'Members and roles' });
      assert.equal(await members.getByLabel('User').isDisabled(), true);
      assert.equal(await members.getByRole('button', { name: 'Add member' }).isDisabled(), true);
      await members.getByText('Only an admin can change members; you are a viewer on this project.').waitFor();
      await page.getByRole('region', { name: 'Notification targets' }).getByText('Only a deployer, approver or admin can see notification targets; you are a viewer on this project.').waitFor();
      const danger = page.getByRole('region', { name: 'Delete project' });
      assert.equal(await danger.getByLabel('Type shop to confirm').isDisabled(), true);
      await danger.getByText('Only an admin can delete the project; you are a viewer on this project.').waitFor();
      // A personal token is anyone's to make; a service token is not.
      const tokens = page.getByRole('region', { name: 'Tokens' });
      assert.equal(await tokens.getByLabel('Token name').isDisabled(), false);
      await tokens.getByLabel('Service (a role, this project only)').check();
      assert.equal(await tokens.getByLabel('Token name').isDisabled(), true);
      await tokens.getByText(/Only an admin can make service tokens; you are a viewer/).waitFor();
      assert.equal(await scrollsSideways(page), false, 'nothing is off-screen sideways');
      await page.screenshot({ path: screenshotPath(`settings-viewer-${width}`), fullPage: true });
      // The server says the same, whatever the page shows.
      await assert.rejects(t.clientWith(viewer).rotateWebhookSecret('shop'), (err: Error & { code?: string }) => err.code === 'FORBIDDEN');
      assert.equal((await t.client.getProjectStatus('shop')).project.hasWebhookSecret, false);
      assert.deepEqual(problems, []);
      await page.close();
    });
  }
});
