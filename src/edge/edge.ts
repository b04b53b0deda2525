import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Blobs } from '../blobs/blobs.ts';
import { ErrorCode, SlipwayError } from '../core/errors.ts';
import { parseEdgeHost } from '../core/urls.ts';
import type { UrlConfig } from '../core/urls.ts';
import type { AgentStore, DeploymentStore, DomainRow, DomainStore, EnvironmentStore, ProjectStore } from '../store/store.ts';
import { matchesIfNoneMatch, matchesIfRange } from './conditional.ts';
import { FileCache } from './file-cache.ts';
import { FreshLookup } from './fresh-lookup.ts';
import type { FileCacheOptions } from './file-cache.ts';
import { CACHE_CONTROL, CacheMode, ManifestCache } from './manifest-cache.ts';
import type { EdgeDeployment, EdgeFile } from './manifest-cache.ts';
import { directoryRedirect } from './directory-redirect.ts';
import { describeMissingEnvironment, describeRetiredDomain, findMissingEnvironment } from './missing-environment.ts';
import type { MissingEnvironment } from './missing-environment.ts';
import { PAGE_HEADERS_TAIL, writePage } from './pages.ts';
import { createInstanceProxy } from './instance-proxy.ts';
import type { Instance, InstanceProxyOptions } from './instance-proxy.ts';
import { parseRange } from './range.ts';
import { parseRequestPath, resolveFile } from './request-path.ts';
import { RoutingTable } from './routing-table.ts';

export interface EdgeLog {
  error(obj: unknown, msg: string): void;
}

/** The families the edge reads (of agents: the ones in rotation); it writes nothing. */
export type EdgeStore = ProjectStore & DeploymentStore & EnvironmentStore & DomainStore & Pick<AgentStore, 'listRoutableAgents'>;

export interface EdgeDeps {
  store: EdgeStore;
  blobs: Blobs;
  urls: UrlConfig;
  registry?: Registry;
  /** Where failures of the store or blob store are reported (a pino logger fits). */
  log?: EdgeLog;
  /** Deployments whose manifests stay in memory; 256 by default. */
  maxDeployments?: number;
  fileCache?: FileCacheOptions;
  /** Timeouts of proxied requests to service instances (instance-proxy.ts has the defaults), and the proxies in front of the edge it trusts. */
  proxy?: Pick<InstanceProxyOptions, 'connectTimeoutMs' | 'timeoutMs' | 'idleSocketMs' | 'trustedProxies'>;
}

export interface Edge {
  /**
   * Serves req if its Host is an edge host (a *.<baseDomain> deployment/environment/production
   * host, or a custom domain in the store) and resolves true; resolves false without touching
   * res otherwise, so the caller hands the request to the control plane. Never rejects.
   */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** Stops serving a deleted project's deployments at once (its environments stop through the store). */
  forgetProject(projectId: string): void;
  /** Requests in flight to each agent's instance, through this process: a rollout's drain waits for 0. */
  instanceLoad: { inFlight(agentId: string): number };
  /** Reads every environment's instances again on its next request (this process changed a rotation). */
  routesChanged(): void;
  /** Closes the kept-alive connections to instances. */
  close(): void;
}

/** What a Host header names. Parsing is pure, so results are kept per header value. */
type HostRoute = { kind: 'control' } | DeploymentRoute | EnvironmentRoute | DomainRoute;
interface DeploymentRoute {
  kind: 'deployment';
  project: string;
  deploymentId: string;
}
interface EnvironmentRoute {
  kind: 'environment';
  project: string;
  environment: string;
}
interface DomainRoute {
  kind: 'domain';
  hostname: string;
}
interface DomainTarget {
  domain: DomainRow | undefined;
  deploymentId: string | null | undefined;
  /** When the domain's environment was retired: it then serves nothing, like its own host. */
  retiredAt: string | null | undefined;
}

const CONTROL: HostRoute = { kind: 'control' };
const TRUE = Promise.resolve(true);
const FALSE = Promise.resolve(false);
/** Host headers are chosen by clients; the memo of parsed ones must stay small. */
const MAX_HOST_ROUTES = 4096;
const ALLOW = ['Allow', 'GET, HEAD'];

export function createEdge(deps: EdgeDeps): Edge {
  const { store, blobs, log } = deps;
  const baseDomain = deps.urls.baseDomain.toLowerCase();
  const manifests = new ManifestCache(store, blobs, deps.maxDeployments);
  const bodies = new FileCache(blobs, deps.fileCache);
  const countStatus = statusCounter(deps.registry);
  const hostRoutes = new Map<string, HostRoute>();
  // Pointers are read from the store for every request (never cached), but concurrent
  // requests share a read that started after they arrived; see FreshLookup. Routes are
  // memoized per Host header, so the route object itself is the key.
  const livePointers = new FreshLookup((route: EnvironmentRoute) => store.findLiveDeploymentId(route.project, route.environment));
  const domainTargets = new FreshLookup(async (route: DomainRoute): Promise<DomainTarget> => {
    const domain = await store.findDomain(route.hostname);
    if (domain === undefined) return { domain, deploymentId: undefined, retiredAt: undefined };
    const environment = await store.findEnvironment(domain.projectId, domain.environment);
    return { domain, deploymentId: environment?.deploymentId, retiredAt: environment?.retiredAt };
  });
  const instances = createInstanceProxy({ ...deps.proxy, scheme: deps.urls.scheme, sendPage, onStatus: countStatus, log });
  // Keyed by project id and environment name: both a host and a custom domain lead there.
  const routes = new RoutingTable(async (key: string): Promise<Instance[] | undefined> => {
    const [projectId, name] = key.split('\n') as [string, string];
    const environment = await store.findEnvironment(projectId, name);
    if (environment === undefined || environment.retiredAt !== null) return undefined;
    const agents = await store.listRoutableAgents(environment.id);
    return agents.map((agent) => ({ agentId: agent.id, address: agent.address, port: agent.port }));
  });
  const routeKey = (projectId: string, environment: string) => `${projectId}\n${environment}`;

  function routeOf(hostHeader: string | undefined): HostRoute {
    if (hostHeader === undefined || hostHeader === '') return CONTROL;
    let route = hostRoutes.get(hostHeader);
    if (route === undefined) {
      route = parseRoute(hostHeader, baseDomain);
      if (hostRoutes.size >= MAX_HOST_ROUTES) hostRoutes.clear();
      hostRoutes.set(hostHeader, route);
    }
    return route;
  }

  /**
   * Answers that need no lookup are written together, once per turn of the event loop, after
   * every request that arrived in it was parsed: under load a burst of writes costs the kernel
   * far less than the same writes interleaved with reads (on loopback the hot path measured
   * 14–20k requests/s written one by one, 30–32k batched). When idle, a request waits for
   * nothing but the end of its own turn. The production URL gets the same effect from its
   * coalesced pointer reads (fresh-lookup.ts).
   */
  let thisTurn: (() => void)[] = [];
  function inThisTurn(res: ServerResponse, answer: () => Promise<boolean>): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      thisTurn.push(() => {
        try {
          resolve(answer());
        } catch (err) {
          resolve(fail(res, err));
        }
      });
      if (thisTurn.length === 1) setImmediate(answerTurn);
    });
  }
  function answerTurn(): void {
    const batch = thisTurn;
    thisTurn = [];
    for (const answer of batch) answer();
  }

  function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    try {
      const route = routeOf(req.headers.host);
      if (route.kind === 'control') return FALSE;
      // The hot path: a deployment URL whose manifest is in memory needs no lookup at all.
      if (route.kind === 'deployment' && (req.method === 'GET' || req.method === 'HEAD')) {
        const deployment = manifests.peek(route.deploymentId);
        const path = parseRequestPath(req.url ?? '/');
        if (deployment !== undefined && path !== undefined && deployment.projectName === route.project && !deployment.service) {
          return inThisTurn(res, () => {
            const pending = serveDeployment(req, res, deployment, path, CacheMode.immutable);
            return pending === undefined ? TRUE : pending.then(() => true, (err: unknown) => fail(res, err));
          });
        }
      }
      return handleRoute(req, res, route).catch((err: unknown) => fail(res, err));
    } catch (err) {
      return Promise.resolve(fail(res, err));
    }
  }

  async function handleRoute(req: IncomingMessage, res: ServerResponse, route: Exclude<HostRoute, { kind: 'control' }>): Promise<boolean> {
    if (route.kind === 'deployment') {
      if (!isReadMethod(req, res)) return true;
      const path = requestPath(req, res);
      if (path === undefined) return true;
      const deployment = await manifests.find(route.deploymentId);
      if (deployment === undefined || deployment.projectName !== route.project) {
        sendPage(res, 404, 'Not found', `There is no deployment ${route.deploymentId} of project "${route.project}".`);
      } else if (deployment.service) {
        // Its files are the service's code, not a site: never served.
        sendPage(res, 404, 'Not found', `Deployment ${route.deploymentId} is a service: it is served at its environments' URLs, by their instances.`);
      } else {
        await serveDeployment(req, res, deployment, path, CacheMode.immutable);
      }
      return true;
    }
    // Only a custom domain needs the store to know whether the request is the edge's at all.
    const target = route.kind === 'domain' ? await domainTargets.get(route) : undefined;
    if (route.kind === 'domain' && target?.domain === undefined) return false;
    let id: string | null | undefined;
    let label: string;
    if (route.kind === 'environment') {
      id = await livePointers.get(route);
      label = `environment "${route.environment}" of project "${route.project}"`;
    } else {
      const domain = target?.domain as DomainRow;
      if (typeof target?.retiredAt === 'string') {
        sendPage(res, 404, 'Not found', describeRetiredDomain(route.hostname, domain.environment, target.retiredAt));
        return true;
      }
      id = target?.deploymentId;
      label = route.hostname;
    }
    if (typeof id !== 'string') {
      // Nothing live yet, but a service's first rollout may already have instances in rotation.
      if (id === null && (await proxyToInstances(req, res, route, target?.domain, undefined, label, false))) return true;
      if (route.kind === 'environment') await sendMissingEnvironment(res, route.project, route.environment, id);
      else sendPage(res, 404, 'Not found', `Environment "${(target?.domain as DomainRow).environment}" of ${route.hostname} has no deployment yet.`);
      return true;
    }
    const deployment = manifests.peek(id) ?? (await manifests.find(id));
    if (deployment === undefined) {
      const where = route.kind === 'environment' ? `Environment "${route.environment}" of project "${route.project}"` : route.hostname;
      sendPage(res, 404, 'Not found', `${where} points at deployment ${id}, which no longer exists.`);
      return true;
    }
    if (deployment.service) {
      await proxyToInstances(req, res, route, target?.domain, deployment.projectId, label, true);
      return true;
    }
    if (!isReadMethod(req, res)) return true;
    const path = requestPath(req, res);
    if (path === undefined) return true;
    await serveDeployment(req, res, deployment, path, CacheMode.revalidate);
    return true;
  }

  /**
   * Proxies to the environment's instances in rotation and resolves true; with `always` false
   * (nothing live) only when there are some, else resolves false having touched nothing.
   */
  async function proxyToInstances(
    req: IncomingMessage,
    res: ServerResponse,
    route: EnvironmentRoute | DomainRoute,
    domain: DomainRow | undefined,
    projectId: string | undefined,
    label: string,
    always: boolean,
  ): Promise<boolean> {
    let key: string;
    if (route.kind === 'domain') {
      key = routeKey((domain as DomainRow).projectId, (domain as DomainRow).environment);
    } else {
      // The live deployment names its project; with nothing live, the name is looked up.
      const id = projectId ?? (await store.findProjectByName(route.project))?.id;
      if (id === undefined) return false;
      key = routeKey(id, route.environment);
    }
    const pool = await routes.get(key);
    if (!always && (pool === undefined || pool.instances.length === 0)) return false;
    await instances.proxy(req, res, pool ?? { instances: [], cursor: -1 }, label);
    return true;
  }

  /** The edge serves files with GET and HEAD only; anything else gets a 405 here. */
  function isReadMethod(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method === 'GET' || req.method === 'HEAD') return true;
    sendPage(res, 405, 'Method not allowed', `The edge serves files with GET and HEAD, not ${req.method ?? 'this method'}.`, ALLOW);
    return false;
  }

  function requestPath(req: IncomingMessage, res: ServerResponse): string | undefined {
    const path = parseRequestPath(req.url ?? '/');
    if (path === undefined) sendPage(res, 400, 'Bad request', 'The request path is malformed or leaves the deployment.');
    return path;
  }

  async function sendMissingEnvironment(res: ServerResponse, project: string, environment: string, id: null | undefined): Promise<void> {
    const missing: MissingEnvironment = id === null ? { kind: 'no-deployment' } : await findMissingEnvironment(store, project, environment);
    sendPage(res, 404, 'Not found', describeMissingEnvironment(project, environment, missing));
  }

  /** Answers from a loaded deployment; returns a promise only when the body is not in memory. */
  function serveDeployment(req: IncomingMessage, res: ServerResponse, deployment: EdgeDeployment, path: string, mode: CacheMode): Promise<void> | undefined {
    const file = resolveFile(deployment.files, path);
    if (file !== undefined) {
      // A directory's index.html named without the trailing slash: redirect, so relative links work.
      const location = file.path === path ? undefined : directoryRedirect(deployment.files, path, req.url ?? '/');
      if (location !== undefined) {
        sendRedirect(res, location, mode);
        return undefined;
      }
      return serveFile(req, res, file, mode);
    }
    if (deployment.spa && deployment.index !== undefined) return serveFile(req, res, deployment.index, mode);
    if (deployment.notFound !== undefined) return serveNotFoundFile(req, res, deployment.notFound);
    sendPage(res, 404, 'Not found', `There is no file at /${path} in deployment ${deployment.id}.`);
    return undefined;
  }

  function serveFile(req: IncomingMessage, res: ServerResponse, file: EdgeFile, mode: CacheMode): Promise<void> | undefined {
    const ifNoneMatch = req.headers['if-none-match'];
    if (ifNoneMatch !== undefined && matchesIfNoneMatch(ifNoneMatch, file.etag)) {
      res.writeHead(304, file.notModifiedHeaders(mode));
      res.end();
      countStatus(304);
      return undefined;
    }
    const rangeHeader = req.headers.range;
    if (rangeHeader !== undefined && matchesIfRange(req.headers['if-range'], file.etag)) {
      const range = parseRange(rangeHeader, file.size);
      if (range.kind === 'unsatisfiable') {
        res.writeHead(416, ['Content-Range', `bytes */${file.size}`, 'Content-Length', '0', ...file.notModifiedHeaders(mode)]);
        res.end();
        countStatus(416);
        return undefined;
      }
      if (range.kind === 'partial') {
        const headers = file.okHeaders(mode).slice();
        headers[3] = String(range.end - range.start + 1);
        headers.push('Content-Range', `bytes ${range.start}-${range.end}/${file.size}`);
        return sendBody(req, res, file, 206, headers, range.start, range.end);
      }
    }
    return sendBody(req, res, file, 200, file.okHeaders(mode), 0, file.size - 1);
  }

  function serveNotFoundFile(req: IncomingMessage, res: ServerResponse, file: EdgeFile): Promise<void> | undefined {
    const headers = ['Content-Type', file.contentType, 'Content-Length', String(file.size), ...PAGE_HEADERS_TAIL];
    return sendBody(req, res, file, 404, headers, 0, file.size - 1);
  }

  /** Writes head and bytes start..end (inclusive) of a file's body. */
  function sendBody(req: IncomingMessage, res: ServerResponse, file: EdgeFile, status: number, headers: string[], start: number, end: number): Promise<void> | undefined {
    if (req.method === 'HEAD' || end < start) {
      res.writeHead(status, headers);
      res.end();
      countStatus(status);
      return undefined;
    }
    if (!bodies.isCacheable(file.size)) return streamBody(res, file, status, headers, start, end);
    const body = bodies.peek(file.sha256);
    if (body === undefined) {
      return bodies.load(file.sha256).then((loaded) => {
        checkSize(file, loaded.byteLength);
        writeBody(res, status, headers, loaded, start, end, file.size);
      });
    }
    checkSize(file, body.byteLength);
    writeBody(res, status, headers, body, start, end, file.size);
    return undefined;
  }

  function writeBody(res: ServerResponse, status: number, headers: string[], body: Buffer, start: number, end: number, size: number): void {
    res.writeHead(status, headers);
    res.end(start === 0 && end === size - 1 ? body : body.subarray(start, end + 1));
    countStatus(status);
  }

  async function streamBody(res: ServerResponse, file: EdgeFile, status: number, headers: string[], start: number, end: number): Promise<void> {
    // Content-Length comes from the manifest: it is sent only once the blob is known to have exactly that many bytes.
    if (!file.sizeChecked) checkSize(file, await blobs.size(file.sha256));
    const body = blobs.stream(file.sha256, start === 0 && end === file.size - 1 ? undefined : { start, end });
    // Wait for the first bytes before committing to a status: a missing blob still gets a 502.
    await whenReadable(body);
    res.writeHead(status, headers);
    countStatus(status);
    try {
      await pipeline(body, res);
    } catch (err) {
      // A client that goes away mid-body is not a failure of the edge; a blob that breaks is.
      if (body.errored !== null || !res.destroyed) throw err;
    }
  }

  /**
   * A manifest's declared size is a claim: a body of another length under `Content-Length:
   * <declared>` would cut the response short or run into the next one on a keep-alive
   * connection. A mismatch (a deployment finalized before sizes were checked) is a 502.
   */
  function checkSize(file: EdgeFile, actual: number | undefined): void {
    if (actual === file.size) {
      file.sizeChecked = true;
      return;
    }
    throw new SlipwayError(ErrorCode.BLOB_SIZE_MISMATCH, `${file.path} is declared as ${file.size} bytes but its blob has ${actual ?? 'no'} bytes`, {
      path: file.path,
      declared: file.size,
      actual: actual ?? null,
    });
  }

  function sendRedirect(res: ServerResponse, location: string, mode: CacheMode): void {
    res.writeHead(301, ['Location', location, 'Content-Length', '0', 'Cache-Control', CACHE_CONTROL[mode]]);
    res.end();
    countStatus(301);
  }

  function sendPage(res: ServerResponse, status: number, title: string, message: string, extra: readonly string[] = []): void {
    writePage(res, status, title, message, extra);
    countStatus(status);
  }

  function fail(res: ServerResponse, err: unknown): true {
    log?.error({ err, url: res.req.url, host: res.req.headers.host }, 'edge could not serve a request');
    if (res.headersSent) {
      res.destroy();
    } else {
      sendPage(res, 502, 'Bad gateway', 'The edge could not read this deployment from storage. Try again shortly.');
    }
    return true;
  }

  return {
    handle,
    forgetProject: (projectId) => manifests.forgetProject(projectId),
    instanceLoad: { inFlight: (agentId) => instances.inFlight(agentId) },
    routesChanged: () => routes.invalidate(),
    close: () => instances.close(),
  };
}

function parseRoute(hostHeader: string, baseDomain: string): HostRoute {
  const host = parseEdgeHost(hostHeader, baseDomain);
  if (host.kind !== 'other') return host;
  const name = host.hostname;
  // The control plane is reached through these constantly; they must never cost a query.
  if (name === '' || name === baseDomain || name === 'localhost' || isIP(name.startsWith('[') ? name.slice(1, -1) : name) !== 0) return CONTROL;
  return { kind: 'domain', hostname: name };
}

function whenReadable(stream: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (err?: Error) => {
      stream.off('readable', settle);
      stream.off('error', settle);
      if (err === undefined) resolve();
      else reject(err);
    };
    stream.on('readable', settle);
    stream.on('error', settle);
  });
}

/** `slipway_edge_requests_total{status}`, one child per status code, looked up without allocating. */
function statusCounter(registry: Registry | undefined): (status: number) => void {
  if (registry === undefined) return () => undefined;
  const name = 'slipway_edge_requests_total';
  const counter =
    (registry.getSingleMetric(name) as Counter<'status'> | undefined) ??
    new Counter({ name, help: 'Requests answered by the edge, by HTTP status.', labelNames: ['status'], registers: [registry] });
  const children = new Map<number, Counter.Internal>();
  return (status) => {
    let child = children.get(status);
    if (child === undefined) {
      child = counter.labels(String(status));
      children.set(status, child);
    }
    child.inc();
  };
}
