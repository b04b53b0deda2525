import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SlipwayClient } from '../../src/protocol/client.ts';
import type { CreateUploadRequest, Deployment } from '../../src/protocol/api.ts';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server/server.ts';
import type { TestBackend } from './backends.ts';

export const ADMIN_TOKEN = 'slw_test_admin_token';

export interface TestServer {
  server: RunningServer;
  client: SlipwayClient;
  dataDir: string;
  /** The API as another token. */
  clientWith(token: string): SlipwayClient;
  /** The database the server runs on. */
  databaseUrl: string;
  /**
   * Stops the server and starts it again on the same data dir and database (a restart after a
   * crash); `server`, `client` and the port change. `whileStopped` runs in between, with no
   * server on the database: what a crash left behind can be written then.
   */
  restart(whileStopped?: () => Promise<void>): Promise<void>;
  dispose(): Promise<void>;
}

/** A real server on a free loopback port, on a fresh database of the given backend. */
export async function startTestServer(backend: TestBackend, options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const db = await backend.create();
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-test-'));
  // No runner unless a test asks for one: most tests play or drive the runner themselves. Tests
  // build from repositories in temp dirs, so local repositories are allowed unless a test says not.
  const start = () => startServer({ dataDir, port: 0, databaseUrl: db.url, adminToken: ADMIN_TOKEN, quiet: true, runners: 0, allowLocalRepos: true, ...options });
  let server = await start();
  const urlOf = (s: RunningServer) => `http://127.0.0.1:${s.port}`;
  const test: TestServer = {
    server,
    dataDir,
    databaseUrl: db.url,
    client: new SlipwayClient({ url: urlOf(server), token: ADMIN_TOKEN }),
    clientWith: (token) => new SlipwayClient({ url: urlOf(server), token }),
    async restart(whileStopped) {
      await server.close();
      await whileStopped?.();
      server = await start();
      test.server = server;
      test.client = new SlipwayClient({ url: urlOf(server), token: ADMIN_TOKEN });
    },
    async dispose() {
      await server.close();
      await db.dispose();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return test;
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Deploys files through the digest protocol, as the CLI does (with `meta`: the commit and branch it says it was built from). */
export async function deployFiles(client: SlipwayClient, project: string, files: Record<string, string>, meta?: CreateUploadRequest['meta']): Promise<Deployment> {
  const bodies = new Map(Object.values(files).map((body) => [sha256(body), body]));
  const upload = await client.createUpload(project, {
    files: Object.entries(files).map(([path, body]) => ({ path, sha256: sha256(body), size: Buffer.byteLength(body), mode: 0o644 })),
    ...(meta ? { meta } : {}),
  });
  for (const digest of upload.missing) await client.putBlob(digest, Buffer.from(bodies.get(digest) ?? ''));
  return client.finalizeUpload(project, upload.id);
}

export interface EdgeResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** GET through the edge: Node cannot resolve *.localhost here, so connect to loopback and send the Host. */
export function edgeGet(port: number, host: string, path = '/', headers: Record<string, string> = {}): Promise<EdgeResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host, ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export function hostOf(url: string): string {
  return new URL(url).host;
}
