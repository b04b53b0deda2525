import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Browser, Locator, Page } from 'playwright-core';
import type { Deployment, DeploymentMeta } from '../src/protocol/api.ts';
import { SlipwayClient } from '../src/protocol/client.ts';
import { registerDashboard } from '../src/server/http/dashboard.ts';
import { startServer, type RunningServer } from '../src/server/server.ts';
import { ensureDashboardBuilt, launchBrowser, NO_BROWSER, openPage, screenshotPath, setTabHidden } from './support/dashboard.ts';

const ADMIN_TOKEN = 'dash-admin-token';
const SCREENSHOT = screenshotPath('project');

/** Uploads files as a new deployment through the real API, the way `slipway deploy` does. */
async function deploy(client: SlipwayClient, project: string, files: Record<string, string>, meta: DeploymentMeta): Promise<Deployment> {
  const entries = Object.entries(files).map(([path, text]) => {
    const bytes = Buffer.from(text);
    return { path, bytes, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, mode: 0o644 };
  });
  const upload = await client.createUpload(project, {
    files: entries.map(({ path, sha256, size, mode }) => ({ path, sha256, size, mode })),
    meta,
  });
  for (const digest of upload.missing) {
    const entry = entries.find((e) => e.sha256 === digest);
    assert.ok(entry, `server asked for an unknown digest ${digest}`);
    await client.putBlob(digest, entry.bytes);
  }
  return client.finalizeUpload(project, upload.id);
}

/** A raw GET, so the path reaches the server exactly as written (fetch would normalize `..`). */
function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dashboard files', () => {
  let dir: string;
  let app: FastifyInstance;
  let missing: FastifyInstance;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-dash-files-'));
    const dist = join(dir, 'dist');
    await mkdir(join(dist, 'assets'), { recursive: true });
    await writeFile(join(dir, 'outside.txt'), 'OUTSIDE-BYTES');
    await writeFile(join(dist, 'secret.txt'), 'DIST-BYTES');
    await writeFile(join(dist, 'index.html'), '<!doctype html><title>built</title><script type="module" src="/assets/app-1a2b.js"></script>');
    await writeFile(join(dist, 'assets', 'app-1a2b.js'), 'console.log("app")');
    await writeFile(join(dist, 'assets', 'app-1a2b.css'), 'body{}');
    await writeFile(join(dist, 'assets', '.hidden'), 'HIDDEN-BYTES');
    app = Fastify();
    await registerDashboard(app, { distDir: dist });
    missing = Fastify();
    await registerDashboard(missing, { distDir: join(dir, 'not-built') });
  });

  after(async () => {
    await app.close();
    await missing.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves index.html at / with no-cache and a strict CSP', async () => {
    const res = await app.inject({ url: '/' });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /^text\/html/);
    assert.equal(res.headers['cache-control'], 'no-cache');
    assert.match(res.headers['content-security-policy'] as string, /frame-ancestors 'none'/);
    assert.match(res.body, /<title>built<\/title>/);
  });

  it('serves hashed assets with a long immutable cache and their content type', async () => {
    const js = await app.inject({ url: '/assets/app-1a2b.js' });
    assert.equal(js.statusCode, 200);
    assert.match(js.headers['content-type'] as string, /^(text|application)\/javascript/);
    assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(js.body, 'console.log("app")');
    const css = await app.inject({ url: '/assets/app-1a2b.css' });
    assert.match(css.headers['content-type'] as string, /^text\/css/);
    const head = await app.inject({ method: 'HEAD', url: '/assets/app-1a2b.js' });
    assert.equal(head.statusCode, 200);
  });

  it('answers 404 for unknown assets and for every way of naming a file outside assets/', async () => {
    for (const url of [
      '/assets/nope.js',
      '/assets/.hidden',
      '/assets/..%2Fsecret.txt',
      '/assets/..%2F..%2Foutside.txt',
      '/assets/%2e%2e%2fsecret.txt',
      '/assets/..%5Csecret.txt',
      '/assets/../secret.txt',
      '/assets/',
      '/assets/%00',
      '/secret.txt',
      '/index.html',
    ]) {
      const res = await app.inject({ url });
      assert.equal(res.statusCode, 404, url);
      assert.doesNotMatch(res.body, /OUTSIDE-BYTES|DIST-BYTES|HIDDEN-BYTES/, url);
    }
  });

  it('says how to build the dashboard when web/dist is missing', async () => {
    const res = await missing.inject({ url: '/' });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /^text\/html/);
    assert.match(res.body, /dashboard not built: run <code>npm run build:web<\/code>/);
    assert.equal((await missing.inject({ url: '/assets/app.js' })).statusCode, 404);
  });
});

describe('dashboard in a browser', { skip: NO_BROWSER }, () => {
  let dataDir: string;
  let server: RunningServer;
  let client: SlipwayClient;
  let browser: Browser;
  let page: Page;
  let first: Deployment;
  let second: Deployment;
  let problems: string[];

  before(async () => {
    await ensureDashboardBuilt();
    dataDir = await mkdtemp(join(tmpdir(), 'slipway-dash-'));
    server = await startServer({ dataDir, databaseUrl: join(dataDir, 'slipway.db'), port: 0, adminToken: ADMIN_TOKEN, quiet: true, allowLocalRepos: true });
    client = new SlipwayClient({ url: server.url, token: ADMIN_TOKEN });
    await client.createProject('shop');
    first = await deploy(
      client,
      'shop',
      { 'index.html': '<h1>shop one</h1>', 'app.js': 'console.log(1)' },
      { commit: '3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39', branch: 'main', message: 'Add the checkout page\n\nLonger body.', author: 'ada' },
    );
    second = await deploy(
      client,
      'shop',
      { 'index.html': '<h1>shop two</h1>', 'app.js': 'console.log(2)', 'style.css': 'h1{color:red}' },
      { commit: '9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b', branch: 'main', message: 'Make the buy button red' },
    );
    await client.promote('shop', 'production', { deployment: first.id, expectRelease: 0 });
    await client.promote('shop', 'staging', { deployment: second.id });

    browser = await launchBrowser();
    ({ page, problems } = await openPage(browser));
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const card = (environment: string): Locator => page.locator(`[data-environment="${environment}"]`);
  const showsDeployment = async (environment: string, id: string) => {
    await goTab('Pipeline');
    await card(environment).locator('.env-deployment', { hasText: id }).waitFor();
  };
  /** Opens one of the project's pages (its tabs). */
  const goTab = (name: string) => page.getByRole('navigation', { name: 'shop pages' }).getByRole('link', { name, exact: true }).click();

  it('serves the built dashboard at / and keeps the API and edge paths its own', async () => {
    const res = await fetch(`${server.url}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const html = await res.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, 'index.html names its bundle');
    const asset = await fetch(`${server.url}${script}`);
    assert.equal(asset.status, 200);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    const api = await fetch(`${server.url}/api/v1/projects`);
    assert.equal(api.status, 401);
    assert.equal(((await api.json()) as { error: { code: string } }).error.code, 'UNAUTHENTICATED');
    for (const path of ['/assets/../../package.json', '/assets/..%2F..%2F..%2Fpackage.json', '/assets/%2e%2e/%2e%2e/%2e%2e/package.json']) {
      const res = await rawGet(server.port, path);
      assert.equal(res.status, 404, path);
      assert.doesNotMatch(res.body, /"name": "slipway"/, path);
    }
  });

  it('signs in with a token, and shows the API error code for a wrong one', async () => {
    await page.goto(`${server.url}/`);
    await page.getByRole('button', { name: 'Use an API token instead' }).click();
    await page.getByLabel('API token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'UNAUTHENTICATED' }).waitFor();
    await page.getByLabel('API token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    assert.equal(await page.evaluate(() => localStorage.getItem('slipway.token')), ADMIN_TOKEN);
    // The stored token survives a reload.
    await page.reload();
    await page.getByRole('link', { name: 'shop', exact: true }).click();
    await page.getByRole('heading', { name: 'shop', level: 1 }).waitFor();
  });

  it('shows production on the deployment it points at, with deployments and their metadata', async () => {
    await showsDeployment('production', first.id);
    assert.match(await card('production').innerText(), /v1/);
    await showsDeployment('staging', second.id);
    await goTab('Deployments');
    const row = page.locator(`tr[data-deployment="${first.id}"]`);
    const text = await row.innerText();
    assert.match(text, /3f2a9c1/);
    assert.match(text, /Add the checkout page/);
    assert.match(text, /2 files/);
    assert.equal(await row.getByRole('link', { name: `Open ${first.id}` }).getAttribute('href'), first.url);
  });

  it('promotes a deployment to production from the deployments table', async () => {
    await page.locator(`tr[data-deployment="${second.id}"]`).getByRole('button', { name: 'Promote to…' }).click();
    const form = page.getByRole('form', { name: `Promote ${second.id}` });
    await form.getByLabel('Target environment').selectOption('production');
    await form.getByLabel('Reason (optional)').fill('ship the red button');
    await form.getByRole('button', { name: 'Promote to production' }).click();
    await showsDeployment('production', second.id);
    const production = await client.getEnvironment('shop', 'production');
    assert.equal(production.deployment, second.id);
    assert.equal(production.release?.number, 2);
  });

  it('refuses a promotion with RELEASE_CONFLICT when production moved after the form was opened', async () => {
    await goTab('Deployments');
    await page.locator(`tr[data-deployment="${first.id}"]`).getByRole('button', { name: 'Promote to…' }).click();
    const form = page.getByRole('form', { name: `Promote ${first.id}` });
    await form.getByLabel('Target environment').selectOption('production');
    await form.getByText('production v2 → v3', { exact: false }).waitFor();
    // Someone else moves production meanwhile (v2 → v3), unheard: the tab is hidden, so the page stays as it was.
    await setTabHidden(page, true);
    await client.promote('shop', 'production', { deployment: first.id, expectRelease: 2, reason: 'from the CLI' });
    await form.getByRole('button', { name: 'Promote to production' }).click();
    const alert = form.getByRole('alert');
    await alert.filter({ hasText: 'RELEASE_CONFLICT' }).waitFor();
    assert.match(await alert.innerText(), /now at v3 \(you saw v2\)/);
    await form.getByRole('button', { name: 'Cancel' }).click();
    await setTabHidden(page, false);
    const production = await client.getEnvironment('shop', 'production');
    assert.equal(production.release?.number, 3, 'the refused promotion changed nothing');
    await showsDeployment('production', first.id);
  });

  it('rolls production back and shows it PINNED', async () => {
    await card('production').getByRole('button', { name: 'Roll back production' }).click();
    const form = page.getByRole('form', { name: 'Roll back production' });
    await form.locator('[data-plan-state="live"]').waitFor();
    assert.match(await form.locator('[data-summary]').innerText(), new RegExp(`Back to ${second.id}, live here in v2`));
    assert.match(await form.locator('[data-summary]').innerText(), /production v3 → v4, pins it there until the next promotion/);
    await form.getByLabel(/Reason/).fill('checkout errors');
    await form.getByRole('button', { name: 'Roll back' }).click();
    await card('production').locator('.badge-pinned', { hasText: 'PINNED' }).waitFor();
    await showsDeployment('production', second.id);
    assert.match(await card('production').innerText(), /Pinned by admin/);
    const production = await client.getEnvironment('shop', 'production');
    assert.equal(production.deployment, second.id);
    assert.equal(production.release?.number, 4);
    assert.equal(production.pin?.by, 'admin');
  });

  it('locks production with a reason and shows it LOCKED; a promotion is then refused with its code', async () => {
    await card('production').getByRole('button', { name: 'Lock' }).click();
    const form = page.getByRole('form', { name: 'Lock production' });
    await form.getByLabel('Reason').fill('launch freeze');
    await form.getByLabel('Until (optional)').fill('2h');
    await form.getByRole('button', { name: 'Lock' }).click();
    await card('production').locator('.badge-locked', { hasText: 'LOCKED' }).waitFor();
    assert.match(await card('production').innerText(), /Locked by admin — “launch freeze” until/);
    const production = await client.getEnvironment('shop', 'production');
    assert.equal(production.lock?.reason, 'launch freeze');
    assert.ok(production.lock?.until, 'the lock has an end');
    await goTab('Deployments');

    await page.locator(`tr[data-deployment="${first.id}"]`).getByRole('button', { name: 'Promote to…' }).click();
    const promote = page.getByRole('form', { name: `Promote ${first.id}` });
    await promote.getByLabel('Target environment').selectOption('production');
    await promote.getByRole('button', { name: 'Promote to production' }).click();
    await promote.getByRole('alert').filter({ hasText: 'ENVIRONMENT_LOCKED' }).waitFor();
    await promote.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await client.getEnvironment('shop', 'production')).release?.number, 4);
  });

  it('lists the releases of production and the audit log of these actions', async () => {
    await goTab('Pipeline');
    await page.getByRole('tab', { name: 'production' }).click();
    const releases = page.getByRole('table', { name: 'Releases of production' });
    const v4 = releases.locator('tr[data-release="4"]');
    await v4.waitFor();
    const v4Text = await v4.innerText();
    assert.match(v4Text, /rollback/);
    assert.match(v4Text, /checkout errors/);
    assert.match(await releases.locator('tr[data-release="2"]').innerText(), /ship the red button/);
    assert.equal(await releases.locator('tbody tr').count(), 4);

    await goTab('Activity');
    const audit = page.getByRole('table', { name: 'Audit log' });
    for (const action of ['project.create', 'release.promote', 'release.rollback', 'environment.pin', 'environment.lock']) {
      await audit.locator(`tr[data-action="${action}"]`).first().waitFor();
    }
    assert.match(await audit.locator('tr[data-action="environment.lock"]').innerText(), /launch freeze/);
    assert.equal(await audit.locator('tr[data-action="release.promote"]').count(), 4);
  });

  it('looks right (screenshot) and logged no page errors', async () => {
    await page.mouse.move(0, 0);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.deepEqual(problems, []);
  });

  it('signs out and forgets the token', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Email').waitFor();
    assert.equal(await page.evaluate(() => localStorage.getItem('slipway.token')), null);
  });

  it('signs in with email and password: an HttpOnly SameSite cookie survives a reload, writes carry the CSRF token, a project role comes from the membership', async () => {
    await client.createUser({ name: 'pat', emails: ['pat@example.com'], role: 'viewer', password: 'a long enough password' });
    await page.goto(`${server.url}/`);
    await page.getByLabel('Email').fill('pat@example.com');
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'SIGN_IN_FAILED' }).waitFor();
    await page.getByLabel('Password').fill('a long enough password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    const [cookie] = (await page.context().cookies()).filter((c) => c.name === 'slipway_session');
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie), '', 'the page cannot read the session');
    await page.reload();
    await page.getByRole('heading', { name: 'Projects' }).waitFor();

    // A global viewer: the lock button is disabled until a membership makes pat a deployer on shop.
    await page.getByRole('link', { name: 'shop', exact: true }).click();
    await card('staging').waitFor();
    assert.equal(await card('staging').getByRole('button', { name: 'Lock' }).isDisabled(), true);
    await client.setMember('shop', 'pat', { role: 'deployer' });
    await page.reload();
    await card('staging').getByRole('button', { name: 'Lock' }).click();
    const form = page.getByRole('form', { name: 'Lock staging' });
    await form.getByLabel('Reason').fill('pat checks the release');
    await form.getByRole('button', { name: 'Lock' }).click();
    await card('staging').locator('.badge-locked', { hasText: 'LOCKED' }).waitFor();
    assert.equal((await client.getEnvironment('shop', 'staging')).lock?.by, 'pat');

    // The same cookie without the CSRF token is refused, and changes nothing.
    const forged = await page.evaluate(async () => {
      const res = await fetch('/api/v1/projects/shop/environments/staging/unlock', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      return { status: res.status, body: await res.text() };
    });
    assert.equal(forged.status, 403);
    assert.match(forged.body, /CSRF_FAILED/);
    assert.equal((await client.getEnvironment('shop', 'staging')).lock?.by, 'pat');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Email').waitFor();
    await page.reload();
    await page.getByLabel('Email').waitFor();
    const after = await page.evaluate(async () => (await fetch('/api/v1/whoami')).status);
    assert.equal(after, 401, 'the session ended on the server, not only in the page');
  });
});
