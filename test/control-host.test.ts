import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createMemoryContext } from '../src/cli/memory-context.ts';
import { ExitCode } from '../src/cli/exit-codes.ts';
import { run } from '../src/cli/program.ts';
import { rejectsWithCode } from './support/assert.ts';
import { backends } from './support/backends.ts';
import { ADMIN_TOKEN, deployFiles, edgeGet, startTestServer, type TestServer } from './support/server.ts';

/**
 * The control plane keeps its own host: the API and dashboard answer only on their configured
 * hostnames (and loopback), no custom domain may name them, and the edge never serves a site
 * there — before this, a deployer mapped the dashboard's hostname to a site of its own and
 * served JavaScript on the origin where the admin token sits in localStorage.
 */

for (const backend of backends) {
  describe(`the control plane's hosts on ${backend.name}`, () => {
    let t: TestServer;
    before(async () => {
      // admin.localhost is under the base domain (localhost): it would otherwise be project admin's production URL.
      t = await startTestServer(backend, { publicUrls: ['https://Slipway.Example.com', 'http://admin.localhost'] });
      await t.client.createProject('admin');
      const page = await deployFiles(t.client, 'admin', { 'index.html': '<script>steal(localStorage)</script>' });
      await t.client.promote('admin', 'production', { deployment: page.id, reason: 'bait' });
    });
    after(() => t.dispose());

    const api = { authorization: `Bearer ${ADMIN_TOKEN}` };

    test('the API and dashboard answer on the public URLs’ hostnames and on loopback names', async () => {
      for (const host of ['slipway.example.com', 'SLIPWAY.example.com.:443', 'admin.localhost', `localhost:${t.server.port}`, `127.0.0.1:${t.server.port}`, `[::1]:${t.server.port}`]) {
        const health = await edgeGet(t.server.port, host, '/healthz');
        assert.equal(health.status, 200, host);
        const projects = await edgeGet(t.server.port, host, '/api/v1/projects', api);
        assert.equal(projects.status, 200, host);
      }
    });

    test('any other Host gets a plain 404 from the edge, never the API', async () => {
      for (const host of ['evil.test', 'slipway.example.com.evil.test', '10.0.0.1', '127.1', '2130706433', 'nosuch.example.com']) {
        const projects = await edgeGet(t.server.port, host, '/api/v1/projects', api);
        assert.equal(projects.status, 404, host);
        assert.equal(projects.headers['content-type'], 'text/plain; charset=utf-8', host);
        assert.equal(projects.body, 'Not found\n', host);
        assert.equal((await edgeGet(t.server.port, host, '/healthz')).status, 404, host);
      }
    });

    test('a site whose name is a control host is never served there', async () => {
      // The project's production URL is admin.localhost, which is also the control plane's.
      const there = await edgeGet(t.server.port, 'admin.localhost', '/');
      assert.ok(!there.body.includes('steal('), 'the dashboard, not the site');
      assert.equal((await edgeGet(t.server.port, 'admin.localhost', '/healthz')).status, 200);
      // A mapping from before the rules (written to the store directly) does not take the host either.
      const project = await t.server.deps.store.findProjectByName('admin');
      assert.ok(project);
      await t.server.deps.store.insertDomain({ hostname: 'slipway.example.com', projectId: project.id, environment: 'production', createdAt: new Date().toISOString(), createdBy: 'legacy' });
      const root = await edgeGet(t.server.port, 'slipway.example.com', '/');
      assert.ok(!root.body.includes('steal('), 'the control plane, not the site');
      assert.equal((await edgeGet(t.server.port, 'slipway.example.com', '/healthz')).status, 200);
      await t.server.deps.store.deleteDomain('slipway.example.com');
      // The same site is served on its other names.
      const other = await edgeGet(t.server.port, `production--admin.localhost:${t.server.port}`, '/');
      assert.ok(other.body.includes('steal('));
    });

    test('custom domains may not be control hosts, localhost, IP addresses or names under the base domain (DOMAIN_RESERVED)', async () => {
      for (const hostname of [
        'slipway.example.com',
        'SLIPWAY.EXAMPLE.COM.',
        'admin.localhost',
        'localhost',
        'localhost.',
        'LocalHost',
        'x.localhost',
        '127.0.0.1',
        '127.1',
        '2130706433',
        '0x7f.1',
        '0177.0.0.1',
        '[::1]',
        '::1',
        '[::ffff:127.0.0.1]',
        '192.168.1.10',
      ]) {
        await rejectsWithCode(t.client.addDomain('admin', { hostname, environment: 'production' }), 'DOMAIN_RESERVED', 400);
      }
      assert.deepEqual((await t.client.listDomains('admin')).domains, [], 'nothing was stored');
      const ok = await t.client.addDomain('admin', { hostname: 'www.admin-site.test', environment: 'production' });
      assert.equal(ok.hostname, 'www.admin-site.test');
      assert.ok((await edgeGet(t.server.port, 'www.admin-site.test', '/')).body.includes('steal('));
      await t.client.removeDomain('admin', 'www.admin-site.test');
    });
  });
}

describe('slipway server --public-url and --max-connections', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-control-host-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('refuse what is not an http(s) URL or a positive count', async () => {
    for (const argv of [
      ['--public-url', 'ftp://slipway.example.com'],
      ['--public-url', 'not a url'],
      ['--max-connections', '0'],
      ['--max-connections', 'many'],
    ]) {
      const ctx = createMemoryContext({ SLIPWAY_ADMIN_TOKEN: ADMIN_TOKEN });
      assert.equal(await run(['server', '--port', '0', '--data', join(dir, 'data'), ...argv], ctx), ExitCode.USAGE, argv.join(' '));
      assert.match(ctx.stderr(), argv[0] === '--public-url' ? /--public-url/ : /--max-connections/);
    }
  });

  test('start with them', async () => {
    const ctx = createMemoryContext({ SLIPWAY_ADMIN_TOKEN: ADMIN_TOKEN, SLIPWAY_DATABASE_URL: '' });
    const argv = ['server', '--port', '0', '--data', join(dir, 'ok'), '--public-url', 'https://a.example.com', '--public-url', 'https://b.example.com', '--max-connections', '50'];
    assert.equal(await run(argv, ctx), ExitCode.OK, ctx.stderr());
    assert.match(ctx.stdout(), /Slipway is listening on /);
  });
});
