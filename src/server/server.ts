import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyServerFactory } from 'fastify';
import { pino } from 'pino';
import { FsBlobs } from '../blobs/fs/fs-blobs.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import { controlHostnames, isIpLiteral, normalizeHost } from '../core/hosts.ts';
import { defaultManifestLimits, type ManifestLimits } from '../core/manifest.ts';
import type { UrlConfig } from '../core/urls.ts';
import { createEdge } from '../edge/edge.ts';
import { openStore } from '../store/open-store.ts';
import { loadSecretKey } from './secret-key.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { agentVersionReader } from './http/agent.ts';
import { buildApp } from './http/app.ts';
import { createMetrics } from './metrics.ts';
import type { ServiceDeps } from './services/deps.ts';
import { jobHandlers } from './jobs/handlers.ts';
import { createJobWorker } from './jobs/job-queue.ts';
import { ChangeFeed } from './services/change-feed.ts';
import { resumePipelines } from './services/pipeline.ts';
import { removeDeletedRepositories } from './services/project-deletion.ts';
import { queueAllPendingDeliveries } from './webhooks/deliveries.ts';
import { Signal } from './services/signal.ts';
import { ensureAdminToken, hashToken } from './services/tokens.ts';
import { startRunner } from '../runner/runner.ts';
import { prepareSandbox, resolveBwrapPath } from '../runner/sandbox.ts';

export interface ServerOptions {
  /** Where SQLite and blobs live; default `./.slipway`. */
  dataDir?: string;
  /** The agent bundle it publishes at /agent/ (default: dist/agent of this package). */
  agentDir?: string;
  /** Default 7070; 0 picks a free port. */
  port?: number;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** `postgres://…` or a SQLite path; default `SLIPWAY_DATABASE_URL`, else `<dataDir>/slipway.db`. */
  databaseUrl?: string;
  /** Admin token to create on first start; default `SLIPWAY_ADMIN_TOKEN`, else a random one. */
  adminToken?: string;
  /** Parent domain of edge URLs; default `localhost`. */
  baseDomain?: string;
  /** Port shown in edge URLs when a proxy fronts Slipway; default the listening port. */
  publicPort?: number | null;
  logLevel?: string;
  /** Log only warnings and errors (tests). */
  quiet?: boolean;
  clock?: Clock;
  manifestLimits?: Partial<ManifestLimits>;
  maxBlobBytes?: number;
  /** How often blob journals a full disk stopped are written out again; 10 s (tests shorten it). */
  blobRetryMs?: number;
  /** How often agents are asked to report; two missed and an agent is lost. Default 15 s (tests shorten it). */
  agentHeartbeatMs?: number;
  /** Default build timeout when slipway.yaml sets none; 15 minutes. */
  buildTimeoutSeconds?: number;
  /** Builds this server runs at once with its own runner; 0 leaves building to `slipway runner` processes. Default 1. */
  runners?: number;
  /** bubblewrap for the in-process runner's sandbox; default `SLIPWAY_BWRAP`, else /usr/bin/bwrap. */
  bwrapPath?: string;
  /** Run builds without a sandbox (`--unsafe-builds`): a build can then read the data directory and the server's environment. */
  unsafeBuilds?: boolean;
  /**
   * `--allow-local-repos`: projects may build from local paths, `file://` and hosts that are or
   * resolve to loopback, private or link-local addresses. Off by default: a deployer could
   * otherwise make the server fetch its own disk or reach services on its network.
   */
  allowLocalRepos?: boolean;
  /**
   * Key that webhook secrets and repository credentials are sealed with: 32 bytes as base64 or
   * hex. Default `SLIPWAY_SECRET_KEY`, else `<dataDir>/secret.key` (made on the first start).
   * Replicas sharing a database need the same key.
   */
  secretKey?: string;
  /**
   * URLs the control plane (API, dashboard, git, webhooks) is reached at; it answers only on
   * their hostnames and on loopback names. Default: the listen address (and loopback).
   */
  publicUrls?: string[];
  /**
   * Addresses of proxies in front of Slipway (one terminating TLS, say): the X-Forwarded-For,
   * -Proto and -Host they send are passed on to service instances. Anyone else's are replaced.
   */
  trustedProxies?: string[];
  /** Open connections at most (default 10,000); more are refused. */
  maxConnections?: number;
  /** Dashboards' change streams open at once (default 1,000) and per token or session (default 32); more are refused with TOO_MANY_STREAMS. */
  maxStreams?: { total?: number; perCredential?: number };
  /** Connection timeouts; the defaults suit production, tests shorten them. */
  timeouts?: Partial<ConnectionTimeouts>;
}

export interface ConnectionTimeouts {
  /** An idle keep-alive connection is closed after this long (default 5 s). */
  keepAliveMs: number;
  /** A request's headers must have arrived this long after it started (default 10 s). */
  headersMs: number;
  /** A whole request must have arrived this long after it started (default 30 min: large uploads). */
  requestMs: number;
  /** How often the two above are checked (default 1 s). */
  checkIntervalMs: number;
}

export const DEFAULT_TIMEOUTS: ConnectionTimeouts = { keepAliveMs: 5_000, headersMs: 10_000, requestMs: 30 * 60_000, checkIntervalMs: 1_000 };

/**
 * What the log never holds, should anything log it: request bodies (config vars' values,
 * passwords) and credentials in headers. Fastify's request log has none of these today.
 */
const LOG_REDACT = {
  paths: ['body', 'req.body', 'request.body', 'req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie'],
  censor: '[redacted]',
};

/** A plain 404 for a Host that is neither the control plane's nor a site's. */
function unknownHost(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }).end('Not found\n');
}

export interface RunningServer {
  url: string;
  port: number;
  /** The admin token, when it was created by this start. */
  adminToken: string | undefined;
  deps: ServiceDeps;
  close(): Promise<void>;
}

/**
 * Starts the control plane and the edge on one port. A request whose Host is one of the control
 * plane's hostnames goes to the API and dashboard — checked first, so no site is ever served on
 * the control plane's origin; any other Host is the edge's (`*.<base domain>`, custom domains),
 * and one the edge does not know gets a plain 404.
 */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const dataDir = resolve(options.dataDir ?? '.slipway');
  const databaseUrl = options.databaseUrl ?? process.env.SLIPWAY_DATABASE_URL ?? join(dataDir, 'slipway.db');
  // Logs go to stderr so that stdout stays for what the CLI prints (URLs, --json).
  const logger = pino({ level: options.quiet ? 'warn' : (options.logLevel ?? process.env.SLIPWAY_LOG_LEVEL ?? 'info'), redact: LOG_REDACT }, pino.destination(2));
  const listenHost = options.host ?? '127.0.0.1';
  const publicUrls = options.publicUrls ?? [];
  const controlHosts = controlHostnames(publicUrls, listenHost);
  // One server per data directory: refused here, before a journal is replayed or a temp file removed.
  const lock = await lockDataDir(dataDir);
  let blobs: FsBlobs;
  let store: Awaited<ReturnType<typeof openStore>>;
  try {
    // Replays blob batches a crash left unsettled before anything reads a blob; a full disk
    // leaves them served from their journals and the store refusing writes until space is back.
    blobs = await FsBlobs.open(join(dataDir, 'blobs'), { exclusive: true, log: logger, retryMs: options.blobRetryMs });
    if (blobs.storageFull) logger.warn('the disk is full: blobs are served, uploads are refused with STORAGE_FULL until space is freed');
    // Before the store opens: its key check and the sealing of old plaintext secrets need the key.
    const secretKey = await loadSecretKey(dataDir, options.secretKey ?? process.env.SLIPWAY_SECRET_KEY);
    store = await openStore(databaseUrl, { secretKey: secretKey.key });
  } catch (err) {
    await lock.release();
    throw err;
  }
  const urls: UrlConfig = { baseDomain: options.baseDomain ?? 'localhost', scheme: 'http', port: options.port ?? 7070, controlHosts };
  if (publicUrls[0] !== undefined) urls.controlUrl = new URL(publicUrls[0]).origin;
  const deps: ServiceDeps = {
    store,
    blobs,
    clock: options.clock ?? systemClock,
    urls,
    limits: {
      manifest: { ...defaultManifestLimits, ...options.manifestLimits },
      maxBlobBytes: options.maxBlobBytes ?? 512 * 1024 * 1024,
      buildTimeoutSeconds: options.buildTimeoutSeconds ?? 15 * 60,
      streams: { max: options.maxStreams?.total, perCredential: options.maxStreams?.perCredential },
    },
    dataDir,
    buildsQueued: new Signal(),
    agentsChanged: new Signal(),
    allowLocalRepos: options.allowLocalRepos ?? false,
  };
  deps.startedAt = deps.clock.now();
  if (options.agentHeartbeatMs !== undefined) deps.agentHeartbeatMs = options.agentHeartbeatMs;
  deps.agentVersion = agentVersionReader({ dir: options.agentDir });
  // Dashboards hear of changes through the audit log (any replica's) and this process's touches.
  deps.changes = new ChangeFeed({ store, clock: deps.clock, log: logger });
  // Assignments committed by any service or job of this process wake the agents long-polling it.
  const stopAgentsChanged = store.onAgentsChanged((agentIds) => deps.agentsChanged.notify(agentIds));
  const internalToken = `slw_internal_${randomBytes(32).toString('base64url')}`;
  deps.internalTokenHash = hashToken(internalToken);
  const metrics = createMetrics();
  const edge = createEdge({ store, blobs: deps.blobs, urls, registry: metrics.registry, log: logger, proxy: { trustedProxies: options.trustedProxies ?? [] } });
  deps.forgetProject = (projectId) => edge.forgetProject(projectId);
  deps.instanceLoad = edge.instanceLoad;
  deps.routesChanged = () => edge.routesChanged();
  // A store without concurrent writers (SQLite) is this server process's alone (its data dir is locked): no other edge.
  deps.soleEdge = !store.capabilities.concurrentWriters;
  const isControlHost = controlHostMatcher(controlHosts, listenHost);
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  // Fastify applies its own timeout options only to a server it creates, so they are set here.
  const serverFactory: FastifyServerFactory = (fastifyHandler) => {
    const server = createServer(
      {
        headersTimeout: timeouts.headersMs,
        requestTimeout: timeouts.requestMs,
        keepAliveTimeout: timeouts.keepAliveMs,
        connectionsCheckingInterval: timeouts.checkIntervalMs,
      },
      (req: IncomingMessage, res: ServerResponse) => {
        if (isControlHost(req.headers.host)) {
          fastifyHandler(req, res);
          return;
        }
        edge.handle(req, res).then(
          (served) => {
            if (!served) unknownHost(res);
          },
          (err: unknown) => {
            logger.error({ err }, 'edge failed');
            if (!res.headersSent) res.writeHead(500).end();
          },
        );
      },
    );
    server.maxConnections = options.maxConnections ?? 10_000;
    return server;
  };
  try {
    const adminToken = await ensureAdminToken(deps, options.adminToken ?? process.env.SLIPWAY_ADMIN_TOKEN);
    // Also queues the clean-up of deletions a crash or a failure cut short.
    await removeDeletedRepositories(deps);
    await queueAllPendingDeliveries(deps.store, deps.clock);
    const app = await buildApp({ deps, metrics, logger, serverFactory, agentDir: options.agentDir });
    await app.listen({ port: options.port ?? 7070, host: listenHost });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 7070);
    urls.port = options.publicPort === undefined ? port : options.publicPort;
    // Background work (webhook pushes, the build reaper, upload expiry, purges) from the job
    // queue; what an earlier run left queued is due at once.
    const jobs = createJobWorker({ deps, handlers: jobHandlers, log: logger });
    // Every project with a release still open (pending, waiting, rolling out) gets a look: a
    // release is never left open without a job that will look at it again.
    await resumePipelines(deps);
    await jobs.start();
    const runners = options.runners ?? 1;
    let runner: ReturnType<typeof startRunner> | undefined;
    if (runners > 0) {
      const workDir = join(dataDir, 'builds');
      const sandbox = await prepareSandbox({ bwrapPath: resolveBwrapPath(options.bwrapPath, process.env), workDir, unsafe: options.unsafeBuilds ?? false });
      if (sandbox.mode === 'unsafe') {
        logger.warn('builds run WITHOUT a sandbox (--unsafe-builds): a build can read the data directory, the database and this server\'s environment');
      } else if (sandbox.mode === 'unavailable') {
        logger.error(`no build sandbox: ${sandbox.reason}; every build of the in-process runner fails until bubblewrap works (or start with --unsafe-builds)`);
      }
      runner = startRunner({
        serverUrl: `http://127.0.0.1:${port}`,
        token: internalToken,
        name: `${hostname()}/internal`,
        concurrency: runners,
        workDir,
        sandbox,
        hiddenPaths: [dataDir],
        allowLocalRepos: options.allowLocalRepos ?? false,
        log: (line) => logger.info({ runner: 'internal' }, line),
      });
    }
    return {
      url: `http://localhost:${port}`,
      port,
      adminToken,
      deps,
      async close() {
        // Open change streams end first: app.close() would otherwise cut them off mid-stream.
        deps.changes?.close();
        // Long-polling claims (the internal runner's among them) answer now instead of holding close() up.
        deps.buildsQueued.close();
        stopAgentsChanged();
        deps.agentsChanged.close();
        await runner?.stop();
        await app.close();
        edge.close();
        // After the last answer, before the store: the jobs in flight finish, nothing new starts.
        await jobs.stop();
        await blobs.flush();
        blobs.close();
        await store.close();
        await lock.release();
      },
    };
  } catch (err) {
    deps.changes.close();
    edge.close();
    blobs.close();
    await store.close();
    await lock.release();
    throw err;
  }
}

/**
 * Whether a Host header names the control plane: one of its hostnames, whatever the port. A
 * request without a Host (HTTP/1.0) is the control plane's, as no site can be addressed without
 * one. Listening on a wildcard address, any IP address is the control plane's too: the machine's
 * addresses are not known in advance, and no site is ever served on an IP address.
 */
function controlHostMatcher(hostnames: readonly string[], listenHost: string): (host: string | undefined) => boolean {
  const names = new Set(hostnames);
  const wildcard = ['0.0.0.0', '::', '[::]'].includes(listenHost);
  const memo = new Map<string, boolean>();
  return (host) => {
    if (host === undefined) return true;
    let known = memo.get(host);
    if (known === undefined) {
      const name = normalizeHost(host);
      known = names.has(name) || (wildcard && isIpLiteral(name));
      // Host headers are chosen by clients: the memo stays small.
      if (memo.size >= 4096) memo.clear();
      memo.set(host, known);
    }
    return known;
  };
}
