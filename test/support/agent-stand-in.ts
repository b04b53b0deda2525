import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { canonicalManifest, validateManifest } from '../../src/core/manifest.ts';
import type { Assignment, Report, RunTarget, ServiceSpec } from '../../src/agent/wire.ts';

/**
 * A small HTTP server that speaks the agent protocol's wire (/api/v1/agent/*) from memory: it
 * holds deployments and their blobs and lets a test set the assignment and fail blobs on
 * purpose. The agent's own machinery (downloads, verification, layout, switching, processes,
 * recovery) is tested against it; the protocol against the real server is tested in
 * test/agent-e2e.test.ts.
 */

export interface StandInDeployment {
  id: string;
  service: ServiceSpec | null;
  files: Record<string, string | { body: string | Buffer; mode: number }>;
}

export interface StandIn {
  url: string;
  port: number;
  reports: Report[];
  credential: string;
  /** Counts of GET /blobs/<digest> per digest. */
  blobGets: Map<string, number>;
  addDeployment(d: StandInDeployment): void;
  /** Changes the assignment (rev + 1) and wakes long polls. */
  assign(change: Partial<Pick<Assignment, 'run' | 'prepare' | 'releasePhase' | 'keep' | 'heartbeatMs' | 'agentVersion' | 'service'>>): void;
  assignment(): Assignment;
  vars: Map<string, Record<string, string>>;
  /** The next `times` answers for this digest have their bytes changed (flipped: a bit; truncated: short). */
  corrupt(digest: string, how: 'flip' | 'truncate', times: number): void;
  /** Answers 503 to everything while down. */
  down: boolean;
  /** Each blob answer waits this long first. */
  blobDelayMs: number;
  /** Each report's answer waits this long first. */
  reportDelayMs: number;
  /** Answers for these digests wait this long first (instead of blobDelayMs). */
  slowBlobs: Map<string, number>;
  /** Extra routes (the agent bundle of an upgrade). */
  files: Map<string, Buffer>;
  lastReport(): Report | undefined;
  close(): Promise<void>;
}

export const sha256 = (bytes: string | Buffer): string => createHash('sha256').update(bytes).digest('hex');

export async function startStandIn(): Promise<StandIn> {
  const deployments = new Map<string, { id: string; manifestDigest: string; service: ServiceSpec | null; files: { path: string; sha256: string; size: number; mode: number }[] }>();
  const blobs = new Map<string, Buffer>();
  const corruptions = new Map<string, { how: 'flip' | 'truncate'; times: number }>();
  const waiters = new Set<() => void>();
  const credential = 'agent-credential-stand-in';
  let assignment: Assignment = { rev: 1, agent: { id: 'agt-standin', name: 'stand-in' }, project: 'shop', environment: 'production', run: null, prepare: null, releasePhase: null, service: null, keep: 5, heartbeatMs: 1_000, agentVersion: null };

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const readBody = async (req: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') as unknown;
  };

  const standIn: StandIn = {
    url: '',
    port: 0,
    reports: [],
    credential,
    blobGets: new Map(),
    vars: new Map(),
    down: false,
    blobDelayMs: 0,
    slowBlobs: new Map(),
    reportDelayMs: 0,
    files: new Map(),
    addDeployment(d) {
      const files = Object.entries(d.files).map(([path, value]) => {
        const body = typeof value === 'string' ? Buffer.from(value) : Buffer.from(value.body);
        const digest = sha256(body);
        blobs.set(digest, body);
        return { path, sha256: digest, size: body.length, mode: typeof value === 'string' ? 0o644 : value.mode };
      });
      let sorted = files;
      try {
        sorted = validateManifest(files).entries;
      } catch {
        // Hostile manifests are served as they are: the agent must refuse them itself.
      }
      deployments.set(d.id, { id: d.id, manifestDigest: sha256(canonicalManifest(sorted)), service: d.service, files });
    },
    assign(change) {
      assignment = { ...assignment, ...change, rev: assignment.rev + 1 };
      for (const wake of waiters) wake();
      waiters.clear();
    },
    assignment: () => assignment,
    corrupt(digest, how, times) {
      corruptions.set(digest, { how, times });
    },
    lastReport() {
      return standIn.reports[standIn.reports.length - 1];
    },
    async close() {
      for (const wake of waiters) wake();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    if (standIn.down) return send(res, 503, { error: { code: 'UNAVAILABLE', message: 'down for the test' } });
    const file = standIn.files.get(url.pathname);
    if (file !== undefined) {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(file);
      return;
    }
    if (url.pathname === '/api/v1/agent/enroll' && req.method === 'POST') {
      const body = (await readBody(req)) as { token?: string; name?: string };
      if (body.token !== 'enroll-me') return send(res, 401, { error: { code: 'ENROLLMENT_INVALID', message: 'the enrollment token is not valid' } });
      return send(res, 201, { agent: { id: 'agt-standin', name: body.name }, project: 'shop', environment: 'production', credential });
    }
    if (req.headers.authorization !== `Bearer ${credential}`) return send(res, 401, { error: { code: 'UNAUTHENTICATED', message: 'no valid credential' } });
    if (url.pathname === '/api/v1/agent/assignment') {
      const after = Number(url.searchParams.get('after'));
      const wait = Number(url.searchParams.get('wait'));
      if (assignment.rev <= after && wait > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait * 1000);
          waiters.add(() => {
            clearTimeout(timer);
            resolve();
          });
          req.on('close', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return send(res, 200, assignment);
    }
    if (url.pathname === '/api/v1/agent/report' && req.method === 'POST') {
      standIn.reports.push((await readBody(req)) as Report);
      if (standIn.reportDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, standIn.reportDelayMs));
      return send(res, 200, { rev: assignment.rev });
    }
    const deployment = /^\/api\/v1\/agent\/deployments\/([^/]+)$/.exec(url.pathname);
    if (deployment) {
      const found = deployments.get(decodeURIComponent(deployment[1] as string));
      return found ? send(res, 200, found) : send(res, 404, { error: { code: 'DEPLOYMENT_NOT_FOUND', message: 'no such deployment' } });
    }
    const blob = /^\/api\/v1\/agent\/blobs\/([0-9a-f]{64})$/.exec(url.pathname);
    if (blob) {
      const digest = blob[1] as string;
      standIn.blobGets.set(digest, (standIn.blobGets.get(digest) ?? 0) + 1);
      const d = deployments.get(url.searchParams.get('deployment') ?? '');
      let bytes = blobs.get(digest);
      if (bytes === undefined || d === undefined || !d.files.some((f) => f.sha256 === digest)) return send(res, 404, { error: { code: 'BLOB_NOT_FOUND', message: 'no such blob' } });
      const delay = standIn.slowBlobs.get(digest) ?? standIn.blobDelayMs;
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      const fault = corruptions.get(digest);
      if (fault !== undefined && fault.times > 0) {
        fault.times -= 1;
        bytes = fault.how === 'truncate' ? bytes.subarray(0, Math.floor(bytes.length / 2)) : Buffer.from(bytes.map((b, i) => (i === 0 ? b ^ 1 : b)));
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(bytes);
      return;
    }
    const config = /^\/api\/v1\/agent\/releases\/([^/]+)\/config$/.exec(url.pathname);
    if (config) return send(res, 200, { version: 1, vars: standIn.vars.get(decodeURIComponent(config[1] as string)) ?? {} });
    send(res, 404, { error: { code: 'NOT_FOUND', message: `no route ${url.pathname}` } });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 500, { error: { code: 'INTERNAL', message: String(err) } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  standIn.port = (server.address() as AddressInfo).port;
  standIn.url = `http://127.0.0.1:${standIn.port}`;
  return standIn;
}

export function runOf(releaseId: string, releaseNumber: number, deploymentId: string): RunTarget {
  return { releaseId, releaseNumber, deploymentId };
}
