import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { backends } from './support/backends.ts';
import { startTestServer, type TestServer } from './support/server.ts';

/**
 * Connection hygiene against a real server: idle sockets, idle keep-alive connections and
 * slow headers are closed within the configured times, and connections beyond the cap are
 * refused. Before, 2,000 idle sockets stayed open indefinitely and slow headers were cut only
 * after ~71 s. The times are shortened here; production defaults are 5 s keep-alive, 10 s
 * for headers and 30 min for a whole request.
 */

const sqlite = backends.find((b) => b.name === 'sqlite');
if (!sqlite) throw new Error('no sqlite backend');

const TIMEOUTS = { keepAliveMs: 500, headersMs: 1000, requestMs: 4000, checkIntervalMs: 100 };
/** What the kernel and the event loop may add on a loaded two-core machine. */
const SLACK_MS = 4000;

interface Opened {
  socket: Socket;
  closed: Promise<number>;
  received: () => string;
}

function open(port: number): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    // A refused or reset connection counts as closed too.
    socket.on('error', () => undefined);
    const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now() - started)));
    socket.once('connect', () => resolve({ socket, closed, received: () => data }));
    socket.once('error', (err) => {
      if (!socket.connecting) return;
      reject(err);
    });
  });
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still open after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('connection hygiene', () => {
  let t: TestServer;
  const sockets: Socket[] = [];
  before(async () => {
    t = await startTestServer(sqlite, { timeouts: TIMEOUTS });
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await t.dispose();
  });

  test('idle sockets that never send a byte are closed after the header timeout', async () => {
    const opened = await Promise.all(Array.from({ length: 60 }, () => open(t.server.port)));
    sockets.push(...opened.map((o) => o.socket));
    const times = await within(Promise.all(opened.map((o) => o.closed)), TIMEOUTS.headersMs + SLACK_MS, 'an idle socket');
    assert.ok(Math.max(...times) <= TIMEOUTS.headersMs + SLACK_MS);
  });

  test('headers that trickle in are cut at the header timeout', async () => {
    const slow = await open(t.server.port);
    sockets.push(slow.socket);
    slow.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n');
    const drip = setInterval(() => {
      if (!slow.socket.destroyed) slow.socket.write('X-Slow: 1\r\n');
    }, 100);
    try {
      const ms = await within(slow.closed, TIMEOUTS.headersMs + SLACK_MS, 'a slow-headers socket');
      assert.ok(ms >= TIMEOUTS.headersMs - 100, `closed after ${ms} ms, before the header timeout`);
      assert.doesNotMatch(slow.received(), /200 OK/);
    } finally {
      clearInterval(drip);
    }
  });

  test('a keep-alive connection idle after its response is closed after the keep-alive timeout', async () => {
    const conn = await open(t.server.port);
    sockets.push(conn.socket);
    conn.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n');
    const ms = await within(conn.closed, TIMEOUTS.keepAliveMs + SLACK_MS, 'an idle keep-alive connection');
    assert.match(conn.received(), /^HTTP\/1\.1 200 OK/);
    assert.ok(ms >= TIMEOUTS.keepAliveMs - 100, `closed after ${ms} ms`);
  });

  test('a body that arrives slowly but within the request timeout is not cut', async () => {
    const conn = await open(t.server.port);
    sockets.push(conn.socket);
    const body = '{"name":"slow-body"}';
    conn.socket.write(`POST /api/v1/projects HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
    // Longer than the header timeout in all, one byte at a time.
    for (const char of body) {
      await sleep((TIMEOUTS.headersMs * 1.5) / body.length);
      conn.socket.write(char);
    }
    await within(conn.closed, SLACK_MS + TIMEOUTS.requestMs, 'the slow-body request');
    // No token: the server read the whole body and answered 401, rather than cutting it off.
    assert.match(conn.received(), /^HTTP\/1\.1 401 /);
  });

  test('connections beyond the cap are refused at once; the server keeps answering', async () => {
    // Timeouts far away, so a socket that closes was refused, not timed out.
    const capped = await startTestServer(sqlite, { maxConnections: 20, timeouts: { headersMs: 60_000, requestMs: 60_000 } });
    const opened: Opened[] = [];
    try {
      opened.push(...(await Promise.all(Array.from({ length: 60 }, () => open(capped.server.port)))));
      const closed = () => opened.filter((o) => o.socket.destroyed || o.socket.closed).length;
      const until = Date.now() + 10_000;
      while (closed() < 40 && Date.now() < until) await sleep(50);
      assert.equal(closed(), 40, 'every connection beyond the 20 allowed was refused, and only those');
      for (const o of opened) o.socket.destroy();
      await Promise.all(opened.map((o) => o.closed));
      await sleep(200);
      const health = await fetch(`http://127.0.0.1:${capped.server.port}/healthz`);
      assert.equal(health.status, 200);
    } finally {
      for (const o of opened) o.socket.destroy();
      await capped.dispose();
    }
  });
});
