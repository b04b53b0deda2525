import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createInstanceProxy } from '../src/edge/instance-proxy.ts';
import type { Instance, InstanceProxy, InstanceProxyOptions, InstancePool } from '../src/edge/instance-proxy.ts';
import { writePage } from '../src/edge/pages.ts';
import { eventually } from './support/eventually.ts';
import { closedPort, fetchVia, rawExchange, startEcho, startHttpUpstream, startTcpUpstream } from './support/upstreams.ts';
import type { Echo, Upstream } from './support/upstreams.ts';

const HOST = 'production--shop.localhost';

/** The proxy core behind a real HTTP server on loopback, serving whatever pool a test sets. */
class ProxyFixture {
  proxy!: InstanceProxy;
  pool: InstancePool = { instances: [], cursor: -1 };
  port = 0;
  errors: unknown[] = [];
  statuses: number[] = [];
  #server!: Server;
  #upstreams: Upstream[] = [];

  /** Set by a test: the proxy starts only once the client has gone (as when a route lookup outlasts a client's patience). */
  lateStart = false;

  async start(options: Partial<InstanceProxyOptions> = {}): Promise<void> {
    this.proxy = createInstanceProxy({
      scheme: 'https',
      sendPage: writePage,
      onStatus: (status) => this.statuses.push(status),
      log: { error: (obj) => this.errors.push(obj) },
      ...options,
    });
    this.#server = createServer((req, res) => {
      const label = 'environment "production" of project "shop"';
      if (this.lateStart) res.once('close', () => void this.proxy.proxy(req, res, this.pool, label));
      else void this.proxy.proxy(req, res, this.pool, label);
    });
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
  }

  /** Serves the pool from these upstreams (agent ids `a0`, `a1`, … in order). */
  use(...upstreams: (Upstream | number)[]): Instance[] {
    const instances = upstreams.map((u, i) => ({ agentId: `a${i}`, address: '127.0.0.1', port: typeof u === 'number' ? u : u.port }));
    this.pool.instances = instances;
    return instances;
  }

  async upstream(u: Promise<Upstream>): Promise<Upstream> {
    const started = await u;
    this.#upstreams.push(started);
    return started;
  }

  fetch(path = '/', options: Parameters<typeof fetchVia>[3] = {}) {
    return fetchVia(this.port, HOST, path, options);
  }

  async closeUpstreams(): Promise<void> {
    for (const u of this.#upstreams.splice(0)) await u.close();
    this.pool.instances = [];
  }

  async close(): Promise<void> {
    await this.closeUpstreams();
    this.proxy.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

function echoOf(text: string): Echo {
  return JSON.parse(text) as Echo;
}

describe('edge proxy to service instances', () => {
  const f = new ProxyFixture();
  before(() => f.start());
  afterEach(() => f.closeUpstreams());
  after(() => f.close());

  it('answers 503 with the edge page when no instance is in rotation', async () => {
    const reply = await f.fetch('/');
    assert.equal(reply.status, 503);
    assert.equal(reply.headers['retry-after'], '1');
    assert.match(reply.headers['content-type'] ?? '', /text\/html/);
    assert.match(reply.text, /503 Service unavailable/);
    assert.match(reply.text, /No healthy instance of environment &#34;production&#34; of project &#34;shop&#34;/);
  });

  it('balances round-robin over the instances', async () => {
    const names = ['one', 'two', 'three'];
    const ups = await Promise.all(names.map((n) => f.upstream(startEcho(n))));
    f.use(...ups);
    const counts = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const reply = await f.fetch(`/hello?i=${i}`);
      assert.equal(reply.status, 200);
      const echo = echoOf(reply.text);
      assert.equal(echo.url, `/hello?i=${i}`);
      counts.set(echo.name, (counts.get(echo.name) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(counts), { one: 10, two: 10, three: 10 });
  });

  it('sets X-Forwarded-For/Proto/Host itself, keeps the Host and repeated headers, and strips hop-by-hop headers both ways', async () => {
    const up = await f.upstream(
      startEcho('one', (_req, res) => {
        res.setHeader('Set-Cookie', ['a=1', 'b=2']);
        res.setHeader('Connection', 'keep-alive, X-Upstream-Private');
        res.setHeader('X-Upstream-Private', 'internal');
        res.setHeader('Keep-Alive', 'timeout=77');
        res.setHeader('Proxy-Authenticate', 'Basic');
        res.setHeader('X-App', 'kept');
      }),
    );
    f.use(up);
    const reply = await f.fetch('/', {
      headers: {
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-host': 'evil.test',
        'x-forwarded-proto': 'http',
        'x-real-ip': '6.6.6.6',
        forwarded: 'for=6.6.6.6',
        connection: 'keep-alive, X-Hop',
        'x-hop': 'secret',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        te: 'trailers',
        'keep-alive': 'timeout=100',
        'x-multi': ['1', '2'],
        authorization: 'Bearer app-token',
      },
    });
    assert.equal(reply.status, 200);
    const echo = echoOf(reply.text);
    assert.equal(echo.headers.host, HOST);
    assert.equal(echo.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(echo.headers['x-forwarded-proto'], 'https');
    assert.equal(echo.headers['x-forwarded-host'], HOST);
    assert.equal(echo.headers.authorization, 'Bearer app-token');
    assert.equal(echo.headers['x-multi'], '1, 2');
    for (const gone of ['x-real-ip', 'forwarded', 'x-hop', 'proxy-authorization', 'te', 'keep-alive']) assert.equal(echo.headers[gone], undefined, gone);
    // Only the proxy's own connection header (its keep-alive agent) reaches the instance.
    assert.equal(echo.headers.connection, 'keep-alive');
    assert.deepEqual(reply.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(reply.headers['x-app'], 'kept');
    assert.equal(reply.headers['x-upstream-private'], undefined);
    assert.equal(reply.headers['proxy-authenticate'], undefined);
    assert.notEqual(reply.headers['keep-alive'], 'timeout=77');
  });

  it('streams request bodies up (chunked and sized) and answers down as they come', async () => {
    const up = await f.upstream(startEcho('one'));
    f.use(up);
    const body = randomBytes(3 * 1024 * 1024 + 5);
    const sized = echoOf((await f.fetch('/upload', { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } })).text);
    assert.equal(sized.bodyBytes, body.byteLength);
    assert.equal(sized.bodySha256, createHash('sha256').update(body).digest('hex'));
    assert.equal(sized.headers['content-length'], String(body.byteLength));

    // Chunked from the client: written in parts while the request is open.
    const chunked = await new Promise<Echo>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: f.port, path: '/upload', method: 'PUT', headers: { host: HOST }, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve(echoOf(text)));
      });
      req.on('error', reject);
      req.write('part one,');
      setTimeout(() => req.end('part two'), 50);
    });
    assert.equal(chunked.bodyBytes, 'part one,part two'.length);
    assert.equal(chunked.headers['transfer-encoding'], 'chunked');

    // Down: the first chunk reaches the client while the instance still holds the rest.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const streaming = await f.upstream(
      startHttpUpstream((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first;');
        void released.then(() => res.end('rest'));
      }),
    );
    f.use(streaming);
    const text = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: f.port, path: '/', headers: { host: HOST }, agent: false }, (res) => {
        let got = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (got === '') release();
          got += c;
        });
        res.on('end', () => resolve(got));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(text, 'first;rest');
  });

  it('retries a refused connection once on another instance; two refusals are a 502', async () => {
    const up = await f.upstream(startEcho('alive'));
    const dead = await closedPort();
    f.use(dead, up);
    for (let i = 0; i < 6; i++) {
      const reply = await f.fetch('/', { method: 'POST', body: 'order' });
      assert.equal(reply.status, 200, `request ${i}`);
      assert.equal(echoOf(reply.text).bodyBytes, 5);
    }
    assert.equal(up.seen, 6);
    assert.equal(f.proxy.inFlight('a0'), 0);

    f.use(dead, await closedPort(), up);
    f.pool.cursor = -1;
    const reply = await f.fetch('/');
    assert.equal(reply.status, 502);
    assert.match(reply.text, /502 Bad gateway/);
  });

  it('answers 504 when an instance accepts and never answers, and cuts an answer that stalls mid-body', async () => {
    // Its own proxy, with a short timeout: the shared one waits as long as production does.
    const quick = new ProxyFixture();
    await quick.start({ timeoutMs: 300 });
    try {
      const silent = await quick.upstream(startTcpUpstream(() => undefined));
      quick.use(silent);
      const reply = await quick.fetch('/');
      assert.equal(reply.status, 504);
      assert.match(reply.text, /504 Gateway timeout/);
      assert.equal(silent.seen, 1, 'a timeout is not retried: the instance may be working on it');

      const stalls = await quick.upstream(
        startHttpUpstream((_req, res) => {
          res.writeHead(200, { 'content-length': '100' });
          res.write('only part');
        }),
      );
      quick.use(stalls);
      await assert.rejects(quick.fetch('/'), /aborted|socket hang up|ECONNRESET/);
      await eventually('in-flight back to zero', async () => (quick.proxy.inFlight('a0') === 0 ? true : undefined), 5_000);
    } finally {
      await quick.close();
    }
  });

  it('answers 502 for an instance that closes the connection, speaks garbage, sends a huge or invalid header, or frames ambiguously', async () => {
    const behaviours: [string, (socket: Socket) => void][] = [
      ['closes', (s) => s.destroy()],
      ['ends after reading', (s) => s.once('data', () => s.end())],
      ['garbage', (s) => s.once('data', () => s.end('SSH-2.0-OpenSSH_9.6\r\n\r\n'))],
      ['binary', (s) => s.once('data', () => s.end(randomBytes(4096)))],
      ['huge header', (s) => s.once('data', () => s.end(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\nContent-Length: 2\r\n\r\nok`))],
      ['header injection', (s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\nX-Bad: a\rSet-Cookie: stolen=1\r\nContent-Length: 2\r\n\r\nok'))],
      ['TE and CL', (s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'))],
      ['two lengths', (s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\nok'))],
      ['bad status', (s) => s.once('data', () => s.end('HTTP/1.1 99999 Nope\r\nContent-Length: 0\r\n\r\n'))],
      ['switching protocols', (s) => s.once('data', () => s.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\nxx'))],
    ];
    for (const [what, behave] of behaviours) {
      const up = await f.upstream(startTcpUpstream(behave));
      f.use(up);
      const reply = await f.fetch('/');
      assert.equal(reply.status, 502, what);
      assert.match(reply.text, /502 Bad gateway/, what);
      assert.equal(reply.headers['set-cookie'], undefined, what);
      assert.equal(f.proxy.inFlight('a0'), 0, what);
    }
    const good = await f.upstream(startEcho('good'));
    f.use(good);
    assert.equal((await f.fetch('/')).status, 200, 'the edge is still up');
  });

  it('refuses a smuggling attempt, a huge header and an absolute-form target before any instance sees them', async () => {
    const up = await f.upstream(startEcho('one'));
    f.use(up);
    const smuggle = await rawExchange(
      f.port,
      `POST / HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
    );
    assert.match(smuggle, /^HTTP\/1\.1 400 /);
    assert.doesNotMatch(smuggle, /HTTP\/1\.1 200/);
    const clClash = await rawExchange(f.port, `POST / HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 1\r\nContent-Length: 30\r\n\r\nx`);
    assert.match(clClash, /^HTTP\/1\.1 400 /);
    const teObfuscated = await rawExchange(f.port, `POST / HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`);
    assert.match(teObfuscated, /^HTTP\/1\.1 400 /);
    const huge = await rawExchange(f.port, `GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-Big: ${'a'.repeat(40 * 1024)}\r\n\r\n`);
    assert.match(huge, /^HTTP\/1\.1 431 /);
    const injected = await rawExchange(f.port, `GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-A: a\rX-Forwarded-For: 1.2.3.4\r\n\r\n`);
    assert.match(injected, /^HTTP\/1\.1 400 /);
    const absolute = await rawExchange(f.port, `GET http://admin--shop.localhost/ HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`);
    assert.match(absolute, /^HTTP\/1\.1 400 /);
    assert.equal(up.seen, 0);
    assert.equal((await f.fetch('/')).status, 200, 'the edge is still up');
  });

  it('retries a bodiless GET whose kept-alive connection the instance closed under it, and not a POST', async () => {
    // Answers the first request on each connection, then closes it on the next one without answering.
    const closesSecond = () =>
      startTcpUpstream((socket) => {
        let requests = 0;
        socket.on('data', () => {
          requests++;
          if (requests === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=30\r\n\r\nok');
          else socket.destroy();
        });
      });
    const up = await f.upstream(closesSecond());
    f.use(up);
    assert.equal((await f.fetch('/')).status, 200);
    // Same pooled connection for the next request: closed under it, the GET goes again on a new one.
    assert.equal((await f.fetch('/')).status, 200);
    assert.equal(up.seen, 2);
    const post = await f.fetch('/', { method: 'POST', body: 'charge card' });
    assert.equal(post.status, 502);
  });

  it('counts in-flight requests per instance and drains to zero as they finish or their clients go away', async () => {
    const waiting: (() => void)[] = [];
    const slow = await f.upstream(
      startHttpUpstream((_req, res) => {
        waiting.push(() => res.end('done'));
      }),
    );
    const other = await f.upstream(startEcho('other'));
    f.use(slow, other);
    f.pool.cursor = -1;
    // Three requests to the slow one (round-robin: 0, 1, 0, 1, 0), two quick ones to the other.
    const replies = [0, 1, 2, 3, 4].map(() => f.fetch('/'));
    await eventually('three requests held', async () => (waiting.length === 3 ? true : undefined), 5_000);
    assert.equal(f.proxy.inFlight('a0'), 3);
    await eventually('the quick ones done', async () => (f.proxy.inFlight('a1') === 0 ? true : undefined), 5_000);
    waiting.shift()?.();
    await eventually('one finished', async () => (f.proxy.inFlight('a0') === 2 ? true : undefined), 5_000);
    for (const done of waiting.splice(0)) done();
    const statuses = (await Promise.all(replies)).map((r) => r.status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200]);
    assert.equal(f.proxy.inFlight('a0'), 0);

    // A client that gives up mid-request leaves no count behind.
    const gone = request({ host: '127.0.0.1', port: f.port, path: '/', headers: { host: HOST }, agent: false });
    gone.on('error', () => undefined);
    gone.end();
    f.pool.cursor = -1;
    await eventually('held', async () => (waiting.length === 1 ? true : undefined), 5_000);
    assert.equal(f.proxy.inFlight('a0'), 1);
    gone.destroy();
    await eventually('drained', async () => (f.proxy.inFlight('a0') === 0 ? true : undefined), 5_000);
  });

  it('does not start a request whose client went away while its route was looked up', async () => {
    const up = await f.upstream(startEcho('one'));
    f.use(up);
    f.lateStart = true;
    try {
      for (const method of ['POST', 'GET']) {
        const gone = request({ host: '127.0.0.1', port: f.port, path: '/', method, headers: { host: HOST, 'content-length': '5' }, agent: false });
        gone.on('error', () => undefined);
        gone.end('hello');
        await sleep(50);
        gone.destroy();
      }
      await sleep(100);
      assert.equal(f.proxy.inFlight('a0'), 0);
      assert.equal(up.seen, 0);
    } finally {
      f.lateStart = false;
    }
  });

  it('passes HEAD, 204, 304 and error statuses of the service through as they are', async () => {
    const up = await f.upstream(
      startHttpUpstream((req, res) => {
        const status = Number(req.url?.slice(1));
        res.writeHead(status, { 'content-type': 'text/plain', 'x-status': String(status) });
        res.end(status === 204 || status === 304 || req.method === 'HEAD' ? undefined : `status ${status}`);
      }),
    );
    f.use(up);
    for (const status of [204, 304, 404, 500, 503]) {
      const reply = await f.fetch(`/${status}`);
      assert.equal(reply.status, status);
      assert.equal(reply.headers['x-status'], String(status));
    }
    const head = await f.fetch('/200', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body.byteLength, 0);
  });
});
