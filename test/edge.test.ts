import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { FsBlobs } from '../src/blobs/fs/fs-blobs.ts';
import { canonicalManifest } from '../src/core/manifest.ts';
import type { ManifestEntry } from '../src/core/manifest.ts';
import type { UrlConfig } from '../src/core/urls.ts';
import { createEdge } from '../src/edge/edge.ts';
import { openStore } from '../src/store/open-store.ts';
import { newEnvironmentRow, newReleaseRow, type DeploymentMetaRow, type Store } from '../src/store/store.ts';
import { backends } from './support/backends.ts';
import type { TestBackend } from './support/backends.ts';

const urls: UrlConfig = { baseDomain: 'localhost', scheme: 'http', port: 7070 };
const NOW = '2025-01-01T00:00:00.000Z';
const BIG = randomBytes(300 * 1024 + 17);
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 1, 2, 3]);

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

/**
 * One store, one blob dir and one edge behind a real HTTP server on loopback. The store is
 * wrapped only to count the calls the edge makes, so tests can show which requests cost a query.
 */
class Fixture {
  store!: Store;
  blobs!: FsBlobs;
  registry = new Registry();
  errors: unknown[] = [];
  storeCalls: string[] = [];
  #server!: Server;
  #port = 0;
  #dispose: (() => Promise<void>)[] = [];
  #seq = 0;

  async start(backend: TestBackend): Promise<void> {
    const db = await backend.create();
    this.#dispose.push(() => db.dispose());
    const store = await openStore(db.url);
    this.#dispose.push(() => store.close());
    this.store = store;
    const blobDir = await mkdtemp(join(tmpdir(), 'slipway-edge-blobs-'));
    this.#dispose.push(() => rm(blobDir, { recursive: true, force: true }));
    this.blobs = new FsBlobs(blobDir);
    const counted = new Proxy(store, {
      get: (target, prop, receiver) => {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          this.storeCalls.push(String(prop));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const edge = createEdge({
      store: counted,
      blobs: this.blobs,
      urls,
      registry: this.registry,
      log: { error: (obj) => this.errors.push(obj) },
    });
    this.#server = createServer((req, res) => {
      void edge.handle(req, res).then((handled) => {
        if (!handled) {
          res.statusCode = 418;
          res.end('control plane');
        }
      });
    });
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
    this.#dispose.push(
      () =>
        new Promise<void>((resolve, reject) => {
          this.#server.closeAllConnections();
          this.#server.close((err) => (err ? reject(err) : resolve()));
        }),
    );
  }

  async close(): Promise<void> {
    for (const dispose of this.#dispose.reverse()) await dispose();
  }

  id(prefix: string): string {
    this.#seq += 1;
    return `${prefix}${this.#seq}${randomBytes(4).toString('hex')}`;
  }

  async project(name: string): Promise<string> {
    const id = this.id('prj-');
    await this.store.insertProject({ id, name, createdAt: NOW, createdBy: 'test', repoUrl: null, webhookSecret: null });
    return id;
  }

  async deployment(projectId: string, files: Record<string, string | Buffer>, meta: DeploymentMetaRow = {}): Promise<string> {
    const entries: ManifestEntry[] = [];
    for (const [path, content] of Object.entries(files)) {
      const bytes = typeof content === 'string' ? Buffer.from(content) : content;
      entries.push({ path, sha256: await this.blobs.putBytes(bytes), size: bytes.byteLength, mode: 0o644 });
    }
    return this.deploymentOf(projectId, entries, meta);
  }

  /** A deployment from manifest entries as given, whose bodies may be missing from the blob store. */
  async deploymentOf(projectId: string, entries: ManifestEntry[], meta: DeploymentMetaRow = {}): Promise<string> {
    const id = this.id('dpl-');
    const manifestDigest = await this.blobs.putBytes(Buffer.from(canonicalManifest(entries)));
    const totalBytes = entries.reduce((n, e) => n + e.size, 0);
    await this.store.insertDeployment({ id, projectId, manifestDigest, fileCount: entries.length, totalBytes, meta, createdAt: NOW, createdBy: 'test' });
    return id;
  }

  async environment(projectId: string, name: string): Promise<void> {
    await this.store.ensureEnvironment(newEnvironmentRow({ id: this.id('env-'), projectId, name, createdAt: NOW }));
  }

  /** Moves an environment's pointer the way a promotion does: a new release, compare-and-set. */
  async point(projectId: string, name: string, deploymentId: string): Promise<void> {
    await this.environment(projectId, name);
    const env = await this.store.findEnvironment(projectId, name);
    assert.ok(env);
    const release = newReleaseRow({
      id: this.id('rel-'),
      projectId,
      environmentId: env.id,
      number: env.releaseNumber + 1,
      kind: 'promote',
      state: 'live',
      deploymentId,
      previousDeploymentId: env.deploymentId,
      replacesReleaseId: env.releaseId,
      reason: null,
      forced: false,
      createdAt: NOW,
      createdBy: 'test',
    });
    await this.store.insertRelease(release);
    await this.store.moveEnvironmentTo(env.id, env.releaseNumber, { deploymentId, releaseId: release.id, releaseNumber: release.number, pin: null });
  }

  async domain(hostname: string, projectId: string, environment: string): Promise<void> {
    await this.store.insertDomain({ hostname, projectId, environment, createdAt: NOW, createdBy: 'test' });
  }

  fetch(host: string, path = '/', options: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: this.#port, path, method: options.method ?? 'GET', headers: { host, ...options.headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  }
}

function sha256(bytes: string | Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

for (const backend of backends) {
  describe(`edge routing (${backend.name})`, () => {
    const f = new Fixture();
    let shop = '';
    let a = '';
    let b = '';
    let other = '';

    before(async () => {
      await f.start(backend);
      shop = await f.project('shop');
      const blog = await f.project('blog');
      a = await f.deployment(shop, { 'index.html': 'shop A' });
      b = await f.deployment(shop, { 'index.html': 'shop B' });
      other = await f.deployment(blog, { 'index.html': 'blog' });
      await f.point(shop, 'production', a);
      await f.point(shop, 'staging', b);
      await f.environment(shop, 'dev');
      await f.domain('www.shop.test', shop, 'production');
      await f.domain('dev.shop.test', shop, 'dev');
    });
    after(() => f.close());

    it('serves a deployment at its own host, and only within its project', async () => {
      assert.equal((await f.fetch(`${a}--shop.localhost:7070`)).text, 'shop A');
      assert.equal((await f.fetch(`${b}--shop.localhost`)).text, 'shop B');
      const foreign = await f.fetch(`${other}--shop.localhost:7070`);
      assert.equal(foreign.status, 404);
      assert.match(foreign.text, new RegExp(`no deployment ${other} of project &#34;shop&#34;`));
      const head = await f.fetch(`${other}--shop.localhost`, '/', { method: 'HEAD' });
      assert.equal(head.status, 404);
      assert.equal(head.body.length, 0);
      const unknown = await f.fetch('dpl-nope--shop.localhost:7070');
      assert.equal(unknown.status, 404);
      assert.match(unknown.headers['content-type'] ?? '', /^text\/html/);
      assert.match(unknown.text, /dpl-nope/);
    });

    it('serves production at the project host, other environments at theirs', async () => {
      assert.equal((await f.fetch('shop.localhost:7070')).text, 'shop A');
      assert.equal((await f.fetch('production--shop.localhost:7070')).text, 'shop A');
      assert.equal((await f.fetch('staging--shop.localhost:7070')).text, 'shop B');
      assert.equal((await f.fetch('SHOP.LOCALHOST.')).text, 'shop A');
    });

    it('serves a custom domain from its environment', async () => {
      const reply = await f.fetch('www.shop.test');
      assert.equal(reply.status, 200);
      assert.equal(reply.text, 'shop A');
      assert.equal(reply.headers['cache-control'], 'public, max-age=0, must-revalidate');
      assert.equal((await f.fetch('WWW.Shop.Test:8443')).text, 'shop A');
    });

    it('answers 404 with a page naming what is missing', async () => {
      const cases: [string, RegExp][] = [
        ['nosuch.localhost', /no project &#34;nosuch&#34;/],
        ['qa--shop.localhost', /no environment &#34;qa&#34;/],
        ['dev--shop.localhost', /&#34;dev&#34; of project &#34;shop&#34; has no deployment yet/],
        ['dev.shop.test', /&#34;dev&#34; of dev.shop.test has no deployment yet/],
      ];
      for (const [host, message] of cases) {
        const reply = await f.fetch(host);
        assert.equal(reply.status, 404, host);
        assert.equal(reply.headers['content-type'], 'text/html; charset=utf-8');
        assert.match(reply.text, message, host);
      }
    });

    it('hands control-plane hosts and unknown hosts back to the caller', async () => {
      for (const host of ['localhost:7070', '127.0.0.1:7070', '[::1]:7070', 'localhost', '10.0.0.1']) {
        f.storeCalls.length = 0;
        const reply = await f.fetch(host, '/api/v1/projects', { method: 'POST' });
        assert.equal(reply.status, 418, host);
        assert.deepEqual(f.storeCalls, [], `${host} must not cost a query`);
      }
      const unknown = await f.fetch('unknown.example.org');
      assert.equal(unknown.status, 418);
      assert.equal((await f.fetch('a.b.localhost')).status, 418);
    });

    it('looks the environment up on every request, and nothing for a deployment URL', async () => {
      await f.fetch(`${a}--shop.localhost`);
      f.storeCalls.length = 0;
      await f.fetch(`${a}--shop.localhost`, '/');
      assert.deepEqual(f.storeCalls, []);
      await f.fetch('shop.localhost');
      await f.fetch('shop.localhost');
      assert.deepEqual(f.storeCalls, ['findLiveDeploymentId', 'findLiveDeploymentId']);
    });

    it('answers a burst of concurrent requests to an environment, with no more reads than requests', async () => {
      f.storeCalls.length = 0;
      const replies = await Promise.all(Array.from({ length: 30 }, () => f.fetch('shop.localhost', '/')));
      assert.deepEqual(new Set(replies.map((r) => `${r.status} ${r.text}`)), new Set(['200 shop A']));
      const reads = f.storeCalls.filter((c) => c === 'findLiveDeploymentId').length;
      assert.ok(reads >= 1 && reads <= 30, `${reads} reads`);
    });

    it('shows a repoint on the very next request', async () => {
      const project = await f.project('flip');
      const one = await f.deployment(project, { 'index.html': 'one' });
      const two = await f.deployment(project, { 'index.html': 'two' });
      await f.point(project, 'production', one);
      await f.domain('flip.test', project, 'production');
      assert.equal((await f.fetch('flip.localhost')).text, 'one');
      assert.equal((await f.fetch('flip.test')).text, 'one');
      await f.point(project, 'production', two);
      assert.equal((await f.fetch('flip.localhost')).text, 'two');
      assert.equal((await f.fetch('flip.test')).text, 'two');
      await f.point(project, 'production', one);
      assert.equal((await f.fetch('flip.localhost')).text, 'one');
    });
  });
}

describe('edge serving files', () => {
  const f = new Fixture();
  const files = {
    'index.html': '<h1>home</h1>',
    'about.html': 'about',
    'docs/index.html': 'docs',
    'app.js': 'console.log(1)',
    'style.css': 'body{}',
    'data.json': '{"a":1}',
    'hello world.txt': 'spaced',
    'logo.png': PNG,
    'big.bin': BIG,
  };
  let dpl = '';
  let host = '';

  before(async () => {
    const sqlite = backends.find((x) => x.name === 'sqlite');
    assert.ok(sqlite);
    await f.start(sqlite);
    const project = await f.project('site');
    dpl = await f.deployment(project, files);
    host = `${dpl}--site.localhost:7070`;
    await f.point(project, 'production', dpl);
    const spa = await f.project('spa');
    await f.point(spa, 'production', await f.deployment(spa, { 'index.html': 'spa shell', 'app.js': 'app' }, { spa: true }));
    const custom = await f.project('custom');
    await f.point(custom, 'production', await f.deployment(custom, { 'index.html': 'home', '404.html': '<p>lost</p>' }));
    const broken = await f.project('broken');
    const missing = (size: number) => ({ sha256: sha256(randomBytes(8)), size, mode: 0o644 });
    await f.point(broken, 'production', await f.deploymentOf(broken, [{ path: 'small.txt', ...missing(10) }, { path: 'large.bin', ...missing(1024 * 1024) }]));
  });
  after(() => f.close());

  it('resolves index files and pretty URLs, ignoring the query', async () => {
    const expected: [string, string][] = [
      ['/', '<h1>home</h1>'],
      ['/index.html', '<h1>home</h1>'],
      ['/docs/', 'docs'],
      ['/about', 'about'],
      ['/about.html?x=1', 'about'],
      ['/app.js?v=123#frag', 'console.log(1)'],
      ['/hello%20world.txt', 'spaced'],
    ];
    for (const [path, body] of expected) {
      const reply = await f.fetch(host, path);
      assert.equal(reply.status, 200, path);
      assert.equal(reply.text, body, path);
    }
    const missing = await f.fetch(host, '/nope');
    assert.equal(missing.status, 404);
    assert.match(missing.text, /no file at \/nope/);
    assert.equal((await f.fetch(host, '/about/')).status, 404);
    // A directory without its slash redirects to it, so the page's relative links resolve.
    const docs = await f.fetch(host, '/docs?x=1');
    assert.equal(docs.status, 301);
    assert.equal(docs.headers.location, '/docs/?x=1');
  });

  it('sends content types from the extension, with a charset for text, and nosniff', async () => {
    const expected: [string, string][] = [
      ['/', 'text/html; charset=utf-8'],
      ['/app.js', 'text/javascript; charset=utf-8'],
      ['/style.css', 'text/css; charset=utf-8'],
      ['/data.json', 'application/json; charset=utf-8'],
      ['/logo.png', 'image/png'],
      ['/big.bin', 'application/octet-stream'],
    ];
    for (const [path, type] of expected) {
      const reply = await f.fetch(host, path, { method: 'HEAD' });
      assert.equal(reply.headers['content-type'], type, path);
      assert.equal(reply.headers['x-content-type-options'], 'nosniff', path);
    }
    assert.deepEqual((await f.fetch(host, '/logo.png')).body, PNG);
  });

  it('sends a strong ETag and cache headers by URL kind', async () => {
    const deployment = await f.fetch(host, '/app.js');
    assert.equal(deployment.headers.etag, `"${sha256('console.log(1)')}"`);
    assert.equal(deployment.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(deployment.headers['accept-ranges'], 'bytes');
    const production = await f.fetch('site.localhost', '/app.js');
    assert.equal(production.headers.etag, deployment.headers.etag);
    assert.equal(production.headers['cache-control'], 'public, max-age=0, must-revalidate');
  });

  it('answers a matching If-None-Match with 304 and no body', async () => {
    const etag = `"${sha256('console.log(1)')}"`;
    for (const header of [etag, `"other", ${etag}`, `W/${etag}`, '*']) {
      const reply = await f.fetch('site.localhost', '/app.js', { headers: { 'if-none-match': header } });
      assert.equal(reply.status, 304, header);
      assert.equal(reply.body.length, 0);
      assert.equal(reply.headers.etag, etag);
      assert.equal(reply.headers['cache-control'], 'public, max-age=0, must-revalidate');
    }
    const stale = await f.fetch(host, '/app.js', { headers: { 'if-none-match': '"other"' } });
    assert.equal(stale.status, 200);
    assert.equal(stale.text, 'console.log(1)');
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const reply = await f.fetch(host, '/big.bin', { method: 'HEAD' });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-length'], String(BIG.length));
    assert.equal(reply.body.length, 0);
    const small = await f.fetch(host, '/', { method: 'HEAD' });
    assert.equal(small.headers['content-length'], String(Buffer.byteLength(files['index.html'])));
    assert.equal(small.body.length, 0);
  });

  it('answers other methods with 405 and Allow', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const reply = await f.fetch(host, '/', { method });
      assert.equal(reply.status, 405, method);
      assert.equal(reply.headers.allow, 'GET, HEAD');
    }
    assert.equal((await f.fetch('site.localhost', '/', { method: 'PATCH' })).status, 405);
  });

  it('rejects traversal, NUL and malformed escapes with 400', async () => {
    for (const path of ['/../etc/passwd', '/docs/%2e%2e/%2e%2e/x', '/a%00.html', '/%E0%A4%A', '/..%2f..%2fsecret']) {
      const reply = await f.fetch(host, path);
      assert.equal(reply.status, 400, path);
    }
    assert.equal((await f.fetch('site.localhost', '/../x')).status, 400);
  });

  it('serves single byte ranges with 206, and 416 when unsatisfiable', async () => {
    const text = files['app.js'];
    const first = await f.fetch(host, '/app.js', { headers: { range: 'bytes=0-6' } });
    assert.equal(first.status, 206);
    assert.equal(first.text, text.slice(0, 7));
    assert.equal(first.headers['content-range'], `bytes 0-6/${text.length}`);
    assert.equal(first.headers['content-length'], '7');
    const suffix = await f.fetch(host, '/app.js', { headers: { range: 'bytes=-3' } });
    assert.equal(suffix.text, text.slice(-3));
    const open = await f.fetch(host, '/app.js', { headers: { range: 'bytes=8-' } });
    assert.equal(open.text, text.slice(8));
    const beyond = await f.fetch(host, '/app.js', { headers: { range: `bytes=${text.length}-` } });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers['content-range'], `bytes */${text.length}`);
    const multi = await f.fetch(host, '/app.js', { headers: { range: 'bytes=0-1,3-4' } });
    assert.equal(multi.status, 200);
    assert.equal(multi.text, text);
    const changed = await f.fetch(host, '/app.js', { headers: { range: 'bytes=0-1', 'if-range': '"not-this"' } });
    assert.equal(changed.status, 200);
    const same = await f.fetch(host, '/app.js', { headers: { range: 'bytes=0-1', 'if-range': `"${sha256(text)}"` } });
    assert.equal(same.status, 206);
  });

  it('streams files larger than the memory cache, whole and by range', async () => {
    const whole = await f.fetch(host, '/big.bin');
    assert.equal(whole.status, 200);
    assert.equal(whole.headers['content-length'], String(BIG.length));
    assert.ok(whole.body.equals(BIG));
    const part = await f.fetch(host, '/big.bin', { headers: { range: 'bytes=100000-250000' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], `bytes 100000-250000/${BIG.length}`);
    assert.ok(part.body.equals(BIG.subarray(100000, 250001)));
    const tail = await f.fetch(host, '/big.bin', { headers: { range: 'bytes=-5' } });
    assert.ok(tail.body.equals(BIG.subarray(-5)));
  });

  it('serves index.html for missing paths of a single-page app', async () => {
    const route = await f.fetch('spa.localhost', '/settings/profile');
    assert.equal(route.status, 200);
    assert.equal(route.text, 'spa shell');
    assert.equal(route.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal((await f.fetch('spa.localhost', '/app.js')).text, 'app');
  });

  it('serves a deployment’s own 404.html with status 404', async () => {
    const reply = await f.fetch('custom.localhost', '/missing');
    assert.equal(reply.status, 404);
    assert.equal(reply.text, '<p>lost</p>');
    assert.equal(reply.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal((await f.fetch('custom.localhost', '/')).text, 'home');
  });

  it('answers 502 and logs when a body is missing from the blob store', async () => {
    f.errors.length = 0;
    for (const path of ['/small.txt', '/large.bin']) {
      const reply = await f.fetch('broken.localhost', path);
      assert.equal(reply.status, 502, path);
      assert.match(reply.text, /could not read/);
    }
    assert.equal(f.errors.length, 2);
  });

  it('counts answers by status', async () => {
    const metrics = await f.registry.getSingleMetricAsString('slipway_edge_requests_total');
    assert.match(metrics, /slipway_edge_requests_total\{status="200"\} \d+/);
    assert.match(metrics, /slipway_edge_requests_total\{status="404"\} \d+/);
  });
});
