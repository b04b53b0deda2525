import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, connect, type Server } from 'node:net';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../src/server/server.ts';
import { SlipwayClient } from '../src/protocol/client.ts';
import { backends } from '../test/support/backends.ts';

export const BENCH_TOKEN = 'slw_bench_admin_token';

/** A real server on a free loopback port with its own temp data dir (SQLite unless a database URL is given). */
export async function benchServer(databaseUrl?: string): Promise<{ server: RunningServer; client: SlipwayClient; dispose: () => Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-bench-'));
  const server = await startServer({ dataDir, port: 0, adminToken: BENCH_TOKEN, quiet: true, runners: 0, ...(databaseUrl ? { databaseUrl } : {}) });
  return {
    server,
    client: new SlipwayClient({ url: `http://127.0.0.1:${server.port}`, token: BENCH_TOKEN }),
    dispose: async () => {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)));
  const line = (r: string[]) => `| ${r.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...cells.map(line)].join('\n');
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  return n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toFixed(3);
}

/** Runs `fn` with the URL of a fresh PostgreSQL database (the tests' backend), dropped afterwards. */
export async function withPostgresDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const postgres = backends.find((b) => b.name === 'postgres');
  if (!postgres) throw new Error('no PostgreSQL backend');
  const db = await postgres.create();
  try {
    return await fn(db.url);
  } finally {
    await db.dispose();
  }
}

/** Forwards loopback TCP to `port`, counting the bytes clients send (`sent`) and receive (`received`). */
export async function countingProxy(port: number): Promise<{ port: number; sent(): number; received(): number; reset(): void; close(): Promise<void> }> {
  let sent = 0;
  let received = 0;
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    client.on('data', (chunk: Buffer) => (sent += chunk.length));
    upstream.on('data', (chunk: Buffer) => (received += chunk.length));
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    sent: () => sent,
    received: () => received,
    reset: () => {
      sent = 0;
      received = 0;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A TCP port nothing listens on at this moment, on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
