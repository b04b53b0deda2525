import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { ChangeMessage } from '../src/protocol/changes.ts';
import { systemClock } from '../src/core/clock.ts';
import { ChangeFeed, type Change } from '../src/server/services/change-feed.ts';
import { recordEvent } from '../src/server/services/events.ts';
import { startServer } from '../src/server/server.ts';
import { backends } from './support/backends.ts';
import { openChangeStream, type ChangeStreamClient } from './support/change-stream.ts';
import { slipway } from './support/cli.ts';
import { ensureDashboardBuilt, launchBrowser, NO_BROWSER, openPage, screenshotPath, signIn } from './support/dashboard.ts';
import { ADMIN_TOKEN, deployFiles, startTestServer, type TestServer } from './support/server.ts';

/**
 * GET /api/v1/stream against a real server on loopback: changes made through the CLI and the
 * API reach a dashboard's stream, a stream hears only of what its caller may see, and streams
 * are refused over their limits and ended when the server stops.
 */

const [sqlite] = backends;
const backend = sqlite ?? backends[0]!;

const touches = (project: string, topic: string) => (m: ChangeMessage) => m.project === project && m.topics.includes(topic as ChangeMessage['topics'][number]);

describe('change stream', () => {
  let t: TestServer;
  const open: ChangeStreamClient[] = [];
  const stream = async (options: Parameters<typeof openChangeStream>[1] = {}) => {
    const s = await openChangeStream(t.server.url, { token: ADMIN_TOKEN, ...options });
    open.push(s);
    return s;
  };

  before(async () => {
    t = await startTestServer(backend);
    await t.client.createProject('shop');
    await t.client.createProject('blog');
  });
  after(async () => {
    for (const s of open) s.close();
    await t.dispose();
  });

  test('a promotion made with the CLI reaches the project stream within a second', async () => {
    const s = await stream({ project: 'shop' });
    assert.equal(s.status, 200);
    const deployment = await deployFiles(t.client, 'shop', { 'index.html': 'v1' });
    await s.next(touches('shop', 'deployments'));
    const since = s.received.length;
    const promoted = await slipway(t, ['promote', deployment.id, '--project', 'shop', '--env', 'production']);
    assert.equal(promoted.code, 0, promoted.stderr);
    const done = performance.now();
    const got = await s.next(touches('shop', 'environments'), 1_000, since);
    assert.ok(got.at - done < 1_000);
    assert.deepEqual(Object.keys(got.message).sort(), ['at', 'project', 'topics']);
    assert.ok(got.message.topics.includes('releases'));
    assert.ok(got.message.topics.includes('events'));
  });

  test('a promotion and a lock made through the API reach every stream of the project, and the all-projects stream', async () => {
    const a = await stream({ project: 'shop' });
    const b = await stream({ project: 'shop' });
    const everything = await stream();
    const deployment = await deployFiles(t.client, 'shop', { 'index.html': 'v2' });
    const since = [a, b, everything].map((s) => s.received.length);
    const start = performance.now();
    await t.client.promote('shop', 'staging', { deployment: deployment.id });
    for (const [i, s] of [a, b, everything].entries()) {
      const got = await s.next(touches('shop', 'environments'), 1_000, since[i]);
      assert.ok(got.at - start < 1_000);
    }
    const locked = a.received.length;
    await t.client.lock('shop', 'staging', { reason: 'migration' });
    await a.next(touches('shop', 'environments'), 1_000, locked);
    await t.client.unlock('shop', 'staging', {});
  });

  test('a stream of one project hears nothing of another', async () => {
    const blog = await stream({ project: 'blog' });
    const deployment = await deployFiles(t.client, 'shop', { 'index.html': 'v3' });
    await t.client.promote('shop', 'production', { deployment: deployment.id });
    await deployFiles(t.client, 'blog', { 'index.html': 'b1' });
    const first = await blog.next();
    assert.equal(first.message.project, 'blog');
    assert.deepEqual(
      blog.received.filter((r) => r.message.project !== 'blog'),
      [],
    );
  });

  test('a token scoped to one project hears of that project only, and another project does not exist for it', async () => {
    const { secret } = await t.client.createToken({ name: 'blog-viewer', role: 'viewer', project: 'blog' });
    const scoped = await stream({ token: secret });
    assert.equal(scoped.status, 200);
    const own = await stream({ token: secret, project: 'blog' });
    assert.equal(own.status, 200);
    for (const project of ['shop', 'no-such-project']) {
      const refused = await stream({ token: secret, project });
      assert.equal(refused.status, 404);
      // The same answer for a project that exists and one that does not: no oracle.
      assert.equal((JSON.parse(refused.body) as { error: { code: string } }).error.code, 'PROJECT_NOT_FOUND');
    }
    const shop = await deployFiles(t.client, 'shop', { 'index.html': 'v4' });
    await t.client.promote('shop', 'production', { deployment: shop.id });
    await t.client.lock('shop', 'production', { reason: 'secret work' });
    await deployFiles(t.client, 'blog', { 'index.html': 'b2' });
    await scoped.next(touches('blog', 'deployments'));
    await own.next(touches('blog', 'deployments'));
    assert.deepEqual(
      [...scoped.received, ...own.received].filter((r) => r.message.project !== 'blog'),
      [],
    );
    await t.client.unlock('shop', 'production', {});
  });

  test('no credentials, a bad token, a runner or an agent: refused before anything streams', async () => {
    const none = await openChangeStream(t.server.url);
    assert.equal(none.status, 401);
    assert.equal((JSON.parse(none.body) as { error: { code: string } }).error.code, 'UNAUTHENTICATED');
    const bad = await openChangeStream(t.server.url, { token: 'slw_nope' });
    assert.equal(bad.status, 401);
    const garbage = await openChangeStream(t.server.url, { token: 'x'.repeat(10_000) });
    assert.equal(garbage.status, 401);
    const cookie = await openChangeStream(t.server.url, { cookie: 'slipway_session=forged' });
    assert.equal(cookie.status, 401);
    const { secret } = await t.client.createToken({ name: 'ci-runner', role: 'runner' });
    const runner = await openChangeStream(t.server.url, { token: secret });
    assert.equal(runner.status, 403);
    const weird = await stream({ project: '../../etc/passwd' });
    assert.equal(weird.status, 404);
    const long = await stream({ project: 'x'.repeat(5_000) });
    assert.equal(long.status, 400);
  });

  test('a signed-in browser (session cookie) streams too', async () => {
    await t.client.createUser({ name: 'ana', emails: ['ana@example.com'], role: 'viewer', password: 'correct horse battery staple' });
    const response = await fetch(`${t.server.url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ana@example.com', password: 'correct horse battery staple' }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    const cookie = response.headers.getSetCookie().map((c) => c.split(';', 1)[0]).join('; ');
    const s = await stream({ cookie, token: undefined, project: 'blog' });
    assert.equal(s.status, 200);
    await deployFiles(t.client, 'blog', { 'index.html': 'b3' });
    await s.next(touches('blog', 'deployments'));
  });

  test('many streams at once; over the per-token limit, TOO_MANY_STREAMS', async () => {
    const agent = new Agent({ keepAlive: false, maxSockets: 100 });
    const { secret } = await t.client.createToken({ name: 'wall-display', role: 'viewer' });
    const streams = await Promise.all(Array.from({ length: 32 }, () => stream({ token: secret, project: 'shop', agent })));
    assert.deepEqual(new Set(streams.map((s) => s.status)), new Set([200]));
    const over = await stream({ token: secret, project: 'shop', agent });
    assert.equal(over.status, 429);
    assert.equal((JSON.parse(over.body) as { error: { code: string } }).error.code, 'TOO_MANY_STREAMS');
    const since = streams.map((s) => s.received.length);
    const deployment = await deployFiles(t.client, 'shop', { 'index.html': 'v5' });
    await t.client.promote('shop', 'staging', { deployment: deployment.id });
    await Promise.all(streams.map((s, i) => s.next(touches('shop', 'environments'), 5_000, since[i])));
    // A closed stream frees its place.
    streams[0]!.close();
    await streams[0]!.ended;
    let again: ChangeStreamClient | undefined;
    for (let i = 0; i < 50 && again?.status !== 200; i++) {
      again = await stream({ token: secret, project: 'shop', agent });
      if (again.status !== 200) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(again?.status, 200);
    for (const s of streams) s.close();
    agent.destroy();
  });
});

describe('change stream limits and shutdown', () => {
  test('over the server-wide limit, TOO_MANY_STREAMS; close() ends open streams and does not hang', async () => {
    const t = await startTestServer(backend, { maxStreams: { total: 3 } });
    try {
      const streams = await Promise.all([1, 2, 3].map(() => openChangeStream(t.server.url, { token: ADMIN_TOKEN })));
      assert.deepEqual(streams.map((s) => s.status), [200, 200, 200]);
      const over = await openChangeStream(t.server.url, { token: ADMIN_TOKEN });
      assert.equal(over.status, 429);
      const start = performance.now();
      await t.server.close();
      await Promise.all(streams.map((s) => s.ended));
      assert.ok(performance.now() - start < 5_000, 'close() did not wait for the streams');
    } finally {
      await t.dispose().catch(() => undefined);
    }
  });
});

const postgres = backends.find((b) => b.name === 'postgres');

describe('change feed and concurrent commits (PostgreSQL)', { skip: postgres === undefined ? 'no PostgreSQL backend' : false }, () => {
  test('an event that commits after one with a later id is still heard', async () => {
    const t = await startTestServer(postgres!);
    const feed = new ChangeFeed({ store: t.server.deps.store, clock: systemClock, tickMs: 50 });
    try {
      await t.client.createProject('shop');
      await t.client.createProject('blog');
      const [shop, blog] = await Promise.all(['shop', 'blog'].map(async (name) => (await t.server.deps.store.findProjectByName(name))!.id));
      const heard: Change[] = [];
      feed.subscribe({ projectId: null, reaches: () => true, send: (c) => heard.push(c), end: () => undefined });
      await new Promise((r) => setTimeout(r, 200));
      const actor = { name: 'ana', role: 'admin' as const, trigger: 'user' as const };
      let commit!: () => void;
      const held = new Promise<void>((r) => (commit = r));
      // shop's event takes its id first and commits last.
      const slow = t.server.deps.store.transaction(async (tx) => {
        await recordEvent(tx, new Date(), actor, 'environment.lock', { projectId: shop!, environment: 'production' });
        await held;
      });
      await new Promise((r) => setTimeout(r, 100));
      await recordEvent(t.server.deps.store, new Date(), actor, 'environment.lock', { projectId: blog!, environment: 'production' });
      for (let i = 0; i < 100 && !heard.some((c) => c.project === 'blog'); i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(heard.map((c) => c.project), ['blog']);
      commit();
      await slow;
      for (let i = 0; i < 100 && !heard.some((c) => c.project === 'shop'); i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(heard.map((c) => c.project), ['blog', 'shop']);
    } finally {
      feed.close();
      await t.dispose();
    }
  });
});

describe('change stream across replicas (PostgreSQL)', { skip: postgres === undefined ? 'no PostgreSQL backend' : false }, () => {
  test('a promotion made through one replica reaches a stream open on another', async () => {
    const t = await startTestServer(postgres!);
    const dataDir = await mkdtemp(join(tmpdir(), 'slipway-replica-'));
    const replica = await startServer({
      dataDir,
      port: 0,
      databaseUrl: t.databaseUrl,
      quiet: true,
      runners: 0,
      secretKey: (await readFile(join(t.dataDir, 'secret.key'), 'utf8')).trim(),
    });
    try {
      await t.client.createProject('shop');
      const s = await openChangeStream(`http://127.0.0.1:${replica.port}`, { token: ADMIN_TOKEN, project: 'shop' });
      assert.equal(s.status, 200);
      const deployment = await deployFiles(t.client, 'shop', { 'index.html': 'v1' });
      const start = performance.now();
      await t.client.promote('shop', 'production', { deployment: deployment.id });
      const got = await s.next(touches('shop', 'environments'), 2_000);
      assert.ok(got.at - start < 2_000);
      s.close();
    } finally {
      await replica.close();
      await rm(dataDir, { recursive: true, force: true });
      await t.dispose();
    }
  });
});

describe('the dashboard, live', { skip: NO_BROWSER }, () => {
  let t: TestServer;
  let browser: Browser;
  before(async () => {
    const built = ensureDashboardBuilt();
    t = await startTestServer(backend);
    await t.client.createProject('shop');
    await built;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await t?.dispose();
  });

  test('a promotion and a lock made with the CLI show on the open pipeline without a reload, and nothing polls meanwhile', async (ctx) => {
    const one = await deployFiles(t.client, 'shop', { 'index.html': 'one' });
    const two = await deployFiles(t.client, 'shop', { 'index.html': 'two' });
    await t.client.promote('shop', 'production', { deployment: one.id });
    const { page, problems } = await openPage(browser);
    const api: string[] = [];
    page.on('request', (r) => {
      const path = new URL(r.url()).pathname;
      if (path.startsWith('/api/')) api.push(path);
    });
    await signIn(page, t.server.url, ADMIN_TOKEN);
    await page.goto(`${t.server.url}/#/projects/shop`);
    const production = page.locator('[data-environment="production"]');
    await production.getByText(one.id).waitFor();
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

    // Quiet: the page holds its one stream open and asks for nothing else.
    await new Promise((r) => setTimeout(r, 5_000));
    const quiet = api.length;
    await new Promise((r) => setTimeout(r, 5_000));
    assert.deepEqual(api.slice(quiet), [], 'no polling while nothing changes');
    // One stream at a time: the projects page's (every project), then this project's.
    const streams = api.filter((p) => p === '/api/v1/stream').length;
    assert.ok(streams <= 2, `${streams} streams opened`);

    const promoted = await slipway(t, ['promote', two.id, '--project', 'shop', '--env', 'production']);
    assert.equal(promoted.code, 0, promoted.stderr);
    const cliDone = performance.now();
    await production.getByText(two.id).waitFor({ timeout: 5_000 });
    const shownAfter = performance.now() - cliDone;
    const locked = await slipway(t, ['lock', '--project', 'shop', '--env', 'production', '--reason', 'migration']);
    assert.equal(locked.code, 0, locked.stderr);
    const lockDone = performance.now();
    await production.locator('.note-locked', { hasText: 'migration' }).waitFor({ timeout: 5_000 });
    const lockShownAfter = performance.now() - lockDone;
    await page.screenshot({ path: screenshotPath('live-pipeline-after-cli') });
    ctx.diagnostic(`shown after the CLI returned: promotion ${shownAfter.toFixed(0)} ms, lock ${lockShownAfter.toFixed(0)} ms`);

    assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true, 'the page was not reloaded');
    assert.equal(api.filter((p) => p === '/api/v1/stream').length, streams, 'still the same stream');
    assert.ok(shownAfter < 1_000, `the promotion showed ${shownAfter.toFixed(0)} ms after the CLI returned`);
    assert.ok(lockShownAfter < 1_000, `the lock showed ${lockShownAfter.toFixed(0)} ms after the CLI returned`);
    assert.deepEqual(problems, []);
    await page.close();
  });
});
