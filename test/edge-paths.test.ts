import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Deployment } from '../src/protocol/api.ts';
import { backends } from './support/backends.ts';
import { deployFiles, edgeGet, hostOf, startTestServer, type TestServer } from './support/server.ts';

/** Paths and hosts the edge answers without serving a file: directory redirects, retired environments. */
for (const backend of backends) {
  describe(`edge paths on ${backend.name}`, () => {
    let t: TestServer;
    let deployment: Deployment;
    before(async () => {
      t = await startTestServer(backend);
      await t.client.createProject('site');
      deployment = await deployFiles(t.client, 'site', {
        'index.html': '<h1>home</h1>',
        'docs/index.html': '<link rel="stylesheet" href="style.css"><h1>docs</h1>',
        'docs/style.css': 'h1{}',
        'evil.com/index.html': 'not a redirect target',
        'about.html': '<h1>about</h1>',
      });
      await t.client.promote('site', 'production', { deployment: deployment.id });
    });
    after(() => t.dispose());

    const get = (host: string, path: string) => edgeGet(t.server.port, host, path);

    test('a directory named without its trailing slash redirects (301) to it, keeping the query string', async () => {
      for (const host of [hostOf(deployment.url), `site.localhost:${t.server.port}`]) {
        const docs = await get(host, '/docs?lang=en&x=%2F');
        assert.equal(docs.status, 301, host);
        assert.equal(docs.headers.location, '/docs/?lang=en&x=%2F');
        assert.equal(docs.body, '');
        const page = await get(host, '/docs/');
        assert.equal(page.status, 200);
        assert.match(page.body, /<h1>docs<\/h1>/);
      }
      // Files and pretty .html URLs are served as before.
      assert.equal((await get(hostOf(deployment.url), '/about')).body, '<h1>about</h1>');
      assert.equal((await get(hostOf(deployment.url), '/docs/style.css')).body, 'h1{}');
      assert.equal((await get(hostOf(deployment.url), '/')).body, '<h1>home</h1>');
    });

    test('no request path makes the redirect leave the site', async () => {
      const host = hostOf(deployment.url);
      for (const path of ['//evil.com', '//evil.com/', '/%2Fevil.com', '/%2F%2Fevil.com', '/\\evil.com', '/%5Cevil.com', '///evil.com', '/.//evil.com', '/evil.com', '/docs?//evil.com']) {
        const reply = await get(host, path);
        const location = reply.headers.location;
        if (location === undefined) continue;
        assert.equal(typeof location, 'string');
        assert.match(location as string, /^\/[^/\\]/, `${path} → ${String(location)}`);
        assert.equal(new URL(location as string, 'http://site.example/').host, 'site.example', `${path} → ${String(location)}`);
      }
      // The one redirect among them stays on the site.
      assert.equal((await get(host, '/evil.com')).headers.location, '/evil.com/');
    });

    test('a retired environment serves nothing, and its 404 page says it was retired and when', async () => {
      await t.client.promote('site', 'preview-old', { deployment: deployment.id });
      const host = `preview-old--site.localhost:${t.server.port}`;
      assert.equal((await get(host, '/')).status, 200);
      const project = await t.server.deps.store.findProjectByName('site');
      const environment = project && (await t.server.deps.store.findEnvironment(project.id, 'preview-old'));
      assert.ok(environment);
      await t.server.deps.store.retireEnvironment(environment.id, '2026-03-04T05:06:07.000Z');
      const retired = await get(host, '/');
      assert.equal(retired.status, 404);
      assert.match(retired.body, /preview-old/);
      assert.match(retired.body, /retired on 2026-03-04 05:06:07 UTC/);
      // Other missing hosts keep their own explanations.
      assert.match((await get(`nothing--site.localhost:${t.server.port}`, '/')).body, /has no environment &#34;nothing&#34;/);
    });

    test('a custom domain of a retired environment stops serving it', async () => {
      await t.client.promote('site', 'preview-domain', { deployment: deployment.id });
      await t.client.addDomain('site', { hostname: 'preview.site.test', environment: 'preview-domain' });
      assert.equal((await get('preview.site.test', '/')).body, '<h1>home</h1>');
      const project = await t.server.deps.store.findProjectByName('site');
      const environment = project && (await t.server.deps.store.findEnvironment(project.id, 'preview-domain'));
      assert.ok(environment);
      await t.server.deps.store.retireEnvironment(environment.id, '2026-03-04T05:06:07.000Z');
      const retired = await get('preview.site.test', '/');
      assert.equal(retired.status, 404);
      assert.match(retired.body, /preview\.site\.test/);
      assert.match(retired.body, /retired on 2026-03-04 05:06:07 UTC/);
      assert.doesNotMatch(retired.body, /home/);
    });
  });
}
