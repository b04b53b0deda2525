import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FsBlobs } from '../src/blobs/fs/fs-blobs.ts';
import { canonicalManifest } from '../src/core/manifest.ts';
import type { UrlConfig } from '../src/core/urls.ts';
import { createEdge } from '../src/edge/edge.ts';
import type { Edge } from '../src/edge/edge.ts';
import { ROUTES_MAX_AGE_MS } from '../src/edge/routing-table.ts';
import { openStore } from '../src/store/open-store.ts';
import { newEnvironmentRow, newReleaseRow, type AgentRow, type DeploymentMetaRow, type Store } from '../src/store/store.ts';
import { backends } from './support/backends.ts';
import type { TestBackend } from './support/backends.ts';
import { eventually } from './support/eventually.ts';
import { fetchVia, startEcho, startHttpUpstream } from './support/upstreams.ts';
import type { Echo, Upstream } from './support/upstreams.ts';

const urls: UrlConfig = { baseDomain: 'localhost', scheme: 'http', port: 7070 };
const NOW = '2026-01-01T00:00:00.000Z';
const SERVICE: DeploymentMetaRow = { service: { start: 'node server.js', port: 8080 } };

/** A real store, blob dir and edge behind a real HTTP server; agents are rows, their instances tiny HTTP servers. */
class Fixture {
  store!: Store;
  edge!: Edge;
  port = 0;
  reads: string[] = [];
  #blobs!: FsBlobs;
  #server!: Server;
  #dispose: (() => Promise<void>)[] = [];
  #seq = 0;

  async start(backend: TestBackend): Promise<void> {
    const db = await backend.create();
    this.#dispose.push(() => db.dispose());
    const store = await openStore(db.url);
    this.#dispose.push(() => store.close());
    this.store = store;
    const blobDir = await mkdtemp(join(tmpdir(), 'slipway-edge-proxy-'));
    this.#dispose.push(() => rm(blobDir, { recursive: true, force: true }));
    this.#blobs = new FsBlobs(blobDir);
    // Counts the agent reads the edge makes, to show they are shared within a window.
    const counted = new Proxy(store, {
      get: (target, prop, receiver) => {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (prop !== 'listRoutableAgents' || typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          this.reads.push(String(args[0]));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    this.edge = createEdge({ store: counted, blobs: this.#blobs, urls, proxy: { timeoutMs: 30_000 } });
    this.#dispose.push(async () => this.edge.close());
    this.#server = createServer((req, res) => {
      void this.edge.handle(req, res).then((handled) => {
        if (!handled) res.writeHead(418).end('control plane');
      });
    });
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
    this.#dispose.push(
      () =>
        new Promise<void>((resolve) => {
          this.#server.closeAllConnections();
          this.#server.close(() => resolve());
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

  async deployment(projectId: string, files: Record<string, string>, meta: DeploymentMetaRow = {}): Promise<string> {
    const entries = [];
    for (const [path, content] of Object.entries(files)) {
      entries.push({ path, sha256: await this.#blobs.putBytes(Buffer.from(content)), size: Buffer.byteLength(content), mode: 0o644 });
    }
    const id = this.id('dpl-');
    const manifestDigest = await this.#blobs.putBytes(Buffer.from(canonicalManifest(entries)));
    await this.store.insertDeployment({ id, projectId, manifestDigest, fileCount: entries.length, totalBytes: 0, meta, createdAt: NOW, createdBy: 'test' });
    return id;
  }

  async environment(projectId: string, name: string): Promise<string> {
    const env = await this.store.ensureEnvironment(newEnvironmentRow({ id: this.id('env-'), projectId, name, createdAt: NOW }));
    return env.id;
  }

  async point(projectId: string, name: string, deploymentId: string): Promise<string> {
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
    return env.id;
  }

  /** An enrolled agent of the environment, its instance at `port`. */
  async agent(projectId: string, environmentId: string, port: number, fields: Partial<AgentRow> = {}): Promise<string> {
    const id = this.id('agt-');
    const tokenId = this.id('tok-');
    await this.store.insertToken({ id: tokenId, name: `agent ${id}`, role: 'agent', hash: randomBytes(32).toString('hex'), createdAt: NOW, createdBy: 'test', lastUsedAt: null, revokedAt: null, userId: null, projectId, expiresAt: null, agentId: id });
    await this.store.insertAgent({
      id,
      projectId,
      environmentId,
      name: `host-${id}`,
      address: '127.0.0.1',
      port,
      version: '0.1.0',
      tokenId,
      state: 'idle',
      currentReleaseId: null,
      currentDeploymentId: null,
      prepared: [],
      healthy: true,
      pid: null,
      error: null,
      rotation: 'in',
      drainingSince: null,
      rev: 1,
      run: null,
      prepare: null,
      releasePhase: null,
      lastSeenAt: NOW,
      lostAt: null,
      enrolledAt: NOW,
      retiredAt: null,
      ...fields,
    });
    return id;
  }

  fetch(host: string, path = '/', options: Parameters<typeof fetchVia>[3] = {}) {
    return fetchVia(this.port, host, path, options);
  }
}

function echoOf(text: string): Echo {
  return JSON.parse(text) as Echo;
}

for (const backend of backends) {
  describe(`edge proxies service environments to their agents' instances (${backend.name})`, () => {
    const f = new Fixture();
    const upstreams: Upstream[] = [];
    let shop = '';
    let production = '';
    let staging = '';
    let service = '';
    let site = '';

    const echo = async (name: string) => {
      const up = await startEcho(name);
      upstreams.push(up);
      return up;
    };

    before(async () => {
      await f.start(backend);
      shop = await f.project('shop');
      service = await f.deployment(shop, { 'server.js': 'the service code, never served', '.env': 'SECRET=1' }, SERVICE);
      site = await f.deployment(shop, { 'index.html': 'static site' });
      production = await f.point(shop, 'production', service);
      staging = await f.point(shop, 'staging', service);
      await f.point(shop, 'docs', site);
      await f.store.insertDomain({ hostname: 'www.shop.test', projectId: shop, environment: 'production', createdAt: NOW, createdBy: 'test' });
    });
    beforeEach(() => f.edge.routesChanged());
    after(async () => {
      for (const up of upstreams) await up.close();
      await f.close();
    });

    it('answers 503 "no healthy instance" while a service environment has none in rotation', async () => {
      const reply = await f.fetch('staging--shop.localhost');
      assert.equal(reply.status, 503);
      assert.match(reply.text, /No healthy instance of environment &#34;staging&#34; of project &#34;shop&#34;/);
    });

    it('balances every method over the healthy in-rotation instances, with the forwarding headers', async () => {
      const a = await echo('a');
      const b = await echo('b');
      const agentA = await f.agent(shop, production, a.port);
      await f.agent(shop, production, b.port);
      const seen = new Map<string, number>();
      for (let i = 0; i < 10; i++) {
        const reply = await f.fetch('shop.localhost', `/api/orders?i=${i}`, { method: i % 2 === 0 ? 'GET' : 'POST', body: i % 2 === 0 ? undefined : `{"i":${i}}` });
        assert.equal(reply.status, 200);
        const e = echoOf(reply.text);
        assert.equal(e.url, `/api/orders?i=${i}`);
        assert.equal(e.headers['x-forwarded-host'], 'shop.localhost');
        assert.equal(e.headers['x-forwarded-proto'], 'http');
        assert.equal(e.headers['x-forwarded-for'], '127.0.0.1');
        seen.set(e.name, (seen.get(e.name) ?? 0) + 1);
      }
      assert.deepEqual(Object.fromEntries(seen), { a: 5, b: 5 });
      assert.equal(f.edge.instanceLoad.inFlight(agentA), 0);
    });

    it('serves a custom domain of a service environment through the same instances', async () => {
      const reply = await f.fetch('www.shop.test', '/cart', { method: 'PUT', body: 'x' });
      assert.equal(reply.status, 200);
      const e = echoOf(reply.text);
      assert.equal(e.headers.host, 'www.shop.test');
      assert.equal(e.headers['x-forwarded-host'], 'www.shop.test');
    });

    it('never routes to an instance draining, out, unhealthy, lost, retired, or of another environment', async () => {
      const good = await echo('good');
      const bad = await echo('bad');
      const env = await f.environment(shop, 'qa');
      await f.point(shop, 'qa', service);
      await f.agent(shop, env, good.port);
      await f.agent(shop, env, bad.port, { rotation: 'draining', drainingSince: NOW });
      await f.agent(shop, env, bad.port, { rotation: 'out' });
      await f.agent(shop, env, bad.port, { healthy: false });
      await f.agent(shop, env, bad.port, { lostAt: NOW });
      await f.agent(shop, env, bad.port, { retiredAt: NOW });
      await f.agent(shop, staging, bad.port, { rotation: 'out' });
      for (let i = 0; i < 12; i++) assert.equal(echoOf((await f.fetch('qa--shop.localhost')).text).name, 'good');
      assert.equal(bad.seen, 0);
    });

    it('sees a rotation change within the routing window, and at once after routesChanged', async () => {
      const one = await echo('one');
      const two = await echo('two');
      const env = await f.environment(shop, 'canary');
      await f.point(shop, 'canary', service);
      const first = await f.agent(shop, env, one.port);
      const second = await f.agent(shop, env, two.port, { rotation: 'out' });
      assert.equal(echoOf((await f.fetch('canary--shop.localhost')).text).name, 'one');
      await f.store.setAgentRotation(second, 'in', null);
      await f.store.setAgentRotation(first, 'draining', NOW);
      // Whatever the edge read before the change is too old to serve once a window has passed.
      await sleep(ROUTES_MAX_AGE_MS);
      for (let i = 0; i < 5; i++) assert.equal(echoOf((await f.fetch('canary--shop.localhost')).text).name, 'two');
      await f.store.setAgentRotation(second, 'out', null);
      await f.store.setAgentRotation(first, 'in', null);
      f.edge.routesChanged();
      assert.equal(echoOf((await f.fetch('canary--shop.localhost')).text).name, 'one');
    });

    it('reads the instances once per window for a burst of requests', async () => {
      const up = await echo('burst');
      const env = await f.environment(shop, 'burst');
      await f.point(shop, 'burst', service);
      await f.agent(shop, env, up.port);
      await f.fetch('burst--shop.localhost');
      f.reads.length = 0;
      const began = performance.now();
      const replies = await Promise.all(Array.from({ length: 50 }, () => f.fetch('burst--shop.localhost')));
      assert.ok(replies.every((r) => r.status === 200));
      // At most one read per window the burst spanned (however slow this machine is today).
      const windows = Math.ceil((performance.now() - began) / ROUTES_MAX_AGE_MS);
      assert.ok(f.reads.length <= windows + 1, `${f.reads.length} reads for 50 requests over ${windows} windows`);
    });

    it('counts in-flight requests per agent until they finish (what a drain waits for)', async () => {
      const held: (() => void)[] = [];
      const slow = await startHttpUpstream((_req, res) => held.push(() => res.end('done')));
      upstreams.push(slow);
      const env = await f.environment(shop, 'slow');
      await f.point(shop, 'slow', service);
      const agent = await f.agent(shop, env, slow.port);
      const pending = [1, 2, 3].map(() => f.fetch('slow--shop.localhost'));
      await eventually('3 held by the instance', async () => (held.length === 3 ? true : undefined), 10_000);
      assert.equal(f.edge.instanceLoad.inFlight(agent), 3);
      for (const release of held.splice(0)) release();
      assert.deepEqual((await Promise.all(pending)).map((r) => r.status), [200, 200, 200]);
      await eventually('drained', async () => (f.edge.instanceLoad.inFlight(agent) === 0 ? true : undefined), 5_000);
    });

    it('never serves a service deployment\'s files, at its own URL or anywhere', async () => {
      for (const path of ['/server.js', '/.env', '/']) {
        const reply = await f.fetch(`${service}--shop.localhost`, path);
        assert.equal(reply.status, 404);
        assert.match(reply.text, /is a service/);
        assert.doesNotMatch(reply.text, /SECRET|service code/);
      }
      const viaEnv = await f.fetch('staging--shop.localhost', '/server.js');
      assert.equal(viaEnv.status, 503);
      assert.doesNotMatch(viaEnv.text, /service code/);
    });

    it('proxies a first rollout\'s instances while nothing is live, and says "no deployment yet" when there are none', async () => {
      const up = await echo('first');
      const env = await f.environment(shop, 'fresh');
      assert.match((await f.fetch('fresh--shop.localhost')).text, /has no deployment yet/);
      await f.agent(shop, env, up.port);
      f.edge.routesChanged();
      const reply = await f.fetch('fresh--shop.localhost', '/', { method: 'POST', body: 'x' });
      assert.equal(reply.status, 200);
      assert.equal(echoOf(reply.text).name, 'first');
    });

    it('keeps serving static environments from files, GET and HEAD only', async () => {
      const reply = await f.fetch('docs--shop.localhost');
      assert.equal(reply.status, 200);
      assert.equal(reply.text, 'static site');
      assert.equal((await f.fetch('docs--shop.localhost', '/', { method: 'POST', body: 'x' })).status, 405);
    });

    it('answers 502 when every instance listed is gone, and recovers when one comes back', async () => {
      const up = await echo('comes-back');
      const port = up.port;
      const env = await f.environment(shop, 'flaky');
      await f.point(shop, 'flaky', service);
      await f.agent(shop, env, port);
      assert.equal((await f.fetch('flaky--shop.localhost')).status, 200);
      await up.close();
      const gone = await f.fetch('flaky--shop.localhost');
      assert.equal(gone.status, 502);
      assert.match(gone.text, /could be reached/);
      const back = await startHttpUpstream((_req, res) => res.end('back'));
      upstreams.push(back);
      // The address moved (a new port): the agent's report updates its row.
      await f.store.recordAgentReport((await f.store.listAgents(env))[0]?.id ?? '', { state: 'idle', currentReleaseId: null, currentDeploymentId: null, prepared: [], healthy: true, pid: null, error: null, version: '0.1.0', port: back.port }, NOW);
      await sleep(ROUTES_MAX_AGE_MS + 20);
      assert.equal((await f.fetch('flaky--shop.localhost')).text, 'back');
    });
  });
}
