import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyServerFactory } from 'fastify';
import { pino } from 'pino';
import { FsBlobs } from '../blobs/fs/fs-blobs.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import { defaultManifestLimits, type ManifestLimits } from '../core/manifest.ts';
import type { UrlConfig } from '../core/urls.ts';
import { createEdge } from '../edge/edge.ts';
import { openStore } from '../store/open-store.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { buildApp } from './http/app.ts';
import { createMetrics } from './metrics.ts';
import type { ServiceDeps } from './services/deps.ts';
import { reapBuilds } from './services/builds.ts';
import { expireUploads } from './services/deployments.ts';
import { purgeDeletedProjects, removeDeletedRepositories } from './services/project-deletion.ts';
import { Signal } from './services/signal.ts';
import { ensureAdminToken, hashToken } from './services/tokens.ts';
import { createDeliveryQueue } from './webhooks/delivery-queue.ts';
import { startRunner } from '../runner/runner.ts';
import { prepareSandbox, resolveBwrapPath } from '../runner/sandbox.ts';

export interface ServerOptions {
  /** Where SQLite and blobs live; default `./.slipway`. */
  dataDir?: string;
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
 * Starts the control plane and the edge on one port: requests whose Host is an edge host
 * (`*.localhost`, custom domains) are served by the edge, all others by the API.
 */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const dataDir = resolve(options.dataDir ?? '.slipway');
  const databaseUrl = options.databaseUrl ?? process.env.SLIPWAY_DATABASE_URL ?? join(dataDir, 'slipway.db');
  // Logs go to stderr so that stdout stays for what the CLI prints (URLs, --json).
  const logger = pino({ level: options.quiet ? 'warn' : (options.logLevel ?? process.env.SLIPWAY_LOG_LEVEL ?? 'info') }, pino.destination(2));
  // One server per data directory: refused here, before a journal is replayed or a temp file removed.
  const lock = await lockDataDir(dataDir);
  let blobs: FsBlobs;
  let store: Awaited<ReturnType<typeof openStore>>;
  try {
    // Replays blob batches a crash left unsettled before anything reads a blob; a full disk
    // leaves them served from their journals and the store refusing writes until space is back.
    blobs = await FsBlobs.open(join(dataDir, 'blobs'), { exclusive: true, log: logger, retryMs: options.blobRetryMs });
    if (blobs.storageFull) logger.warn('the disk is full: blobs are served, uploads are refused with STORAGE_FULL until space is freed');
    store = await openStore(databaseUrl);
  } catch (err) {
    await lock.release();
    throw err;
  }
  const urls: UrlConfig = { baseDomain: options.baseDomain ?? 'localhost', scheme: 'http', port: options.port ?? 7070 };
  const deps: ServiceDeps = {
    store,
    blobs,
    clock: options.clock ?? systemClock,
    urls,
    limits: {
      manifest: { ...defaultManifestLimits, ...options.manifestLimits },
      maxBlobBytes: options.maxBlobBytes ?? 512 * 1024 * 1024,
      buildTimeoutSeconds: options.buildTimeoutSeconds ?? 15 * 60,
    },
    dataDir,
    buildsQueued: new Signal(),
    allowLocalRepos: options.allowLocalRepos ?? false,
  };
  const internalToken = `slw_internal_${randomBytes(32).toString('base64url')}`;
  deps.internalTokenHash = hashToken(internalToken);
  const metrics = createMetrics();
  const edge = createEdge({ store, blobs: deps.blobs, urls, registry: metrics.registry, log: logger });
  deps.forgetProject = (projectId) => edge.forgetProject(projectId);
  const serverFactory: FastifyServerFactory = (fastifyHandler) =>
    createServer((req: IncomingMessage, res: ServerResponse) => {
      edge.handle(req, res).then(
        (served) => {
          if (!served) fastifyHandler(req, res);
        },
        (err: unknown) => {
          logger.error({ err }, 'edge failed');
          if (!res.headersSent) res.writeHead(500).end();
        },
      );
    });
  try {
    const adminToken = await ensureAdminToken(deps, options.adminToken ?? process.env.SLIPWAY_ADMIN_TOKEN);
    // Webhook pushes are recorded from a queue after the ack; its worker starts once the server listens.
    await removeDeletedRepositories(deps);
    const deliveries = createDeliveryQueue(deps, logger);
    const app = await buildApp({ deps, metrics, logger, serverFactory, deliveries });
    await app.listen({ port: options.port ?? 7070, host: options.host ?? '127.0.0.1' });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 7070);
    urls.port = options.publicPort === undefined ? port : options.publicPort;
    // Builds whose runner went silent go back to the queue even when no runner is claiming.
    const finishDeletions = () =>
      purgeDeletedProjects(deps).then(
        () => undefined,
        (err: unknown) => logger.error({ err }, 'finishing project deletions failed'),
      );
    let purging: Promise<void> = Promise.resolve();
    let ticks = 0;
    const reaper = setInterval(() => {
      reapBuilds(deps).catch((err: unknown) => logger.error({ err }, 'reaping expired builds failed'));
      // Every ten minutes: uploads a day old that were never finalized.
      if (ticks++ % 60 === 0) {
        expireUploads(deps).catch((err: unknown) => logger.error({ err }, 'expiring stale uploads failed'));
        // and a deletion whose clean-up failed is tried again.
        if (ticks > 1) purging = purging.then(finishDeletions);
      }
    }, 10_000);
    reaper.unref();
    // Deliveries queued before this start (a crash, a restart) are processed first.
    deliveries.start();
    // Deletions whose clean-up (repository, unshared blobs) a crash or a failure cut short.
    purging = finishDeletions();
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
        clearInterval(reaper);
        // Long-polling claims (the internal runner's among them) answer now instead of holding close() up.
        deps.buildsQueued.close();
        await runner?.stop();
        await app.close();
        // After the last ack, before the store: the delivery in flight finishes, nothing new starts.
        await deliveries.stop();
        await purging;
        await blobs.flush();
        blobs.close();
        await store.close();
        await lock.release();
      },
    };
  } catch (err) {
    blobs.close();
    await store.close();
    await lock.release();
    throw err;
  }
}
