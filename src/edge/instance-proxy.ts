import { Agent, request } from 'node:http';
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './forwarded-headers.ts';

/** One running instance of a service: the agent that runs it and where the edge reaches it. */
export interface Instance {
  agentId: string;
  address: string;
  port: number;
}

/**
 * The instances one environment is served by, and its round-robin position. The routing
 * table replaces `instances` when it reads them again and keeps the object, so the rotation
 * goes on where it was.
 */
export interface InstancePool {
  instances: readonly Instance[];
  cursor: number;
}

/** Writes one of the edge's own pages (edge.ts `sendPage`). */
export type SendPage = (res: ServerResponse, status: number, title: string, message: string, extra?: readonly string[]) => void;

export interface InstanceProxyOptions {
  /** The scheme clients reach the edge at, sent as X-Forwarded-Proto. */
  scheme: 'http' | 'https';
  /** Addresses of proxies in front of the edge whose X-Forwarded-* headers are kept (forwarded-headers.ts). */
  trustedProxies?: readonly string[];
  sendPage: SendPage;
  /** Called with the status of every proxied answer (the edge's request counter). */
  onStatus?: (status: number) => void;
  log?: { error(obj: unknown, msg: string): void };
  /** A connection not established by then counts as refused (and is retried); default 3 s. */
  connectTimeoutMs?: number;
  /** An instance silent this long (no response yet: 504; mid-body: the answer is cut); default 60 s. */
  timeoutMs?: number;
  /** Idle keep-alive connections to instances are closed after this long, before a Node app's default 5 s does it under a request; default 4 s. */
  idleSocketMs?: number;
}

export interface InstanceProxy {
  /**
   * Answers req from one of pool's instances (or with a 502/503/504 page naming `label`, like
   * `environment "production" of project "shop"`); never rejects.
   */
  proxy(req: IncomingMessage, res: ServerResponse, pool: InstancePool, label: string): Promise<void>;
  /** Requests this process has in flight to the agent's instance: a drain waits for 0. */
  inFlight(agentId: string): number;
  /** Closes the idle keep-alive connections to instances. */
  close(): void;
}

/**
 * How one attempt ended before anything of an answer reached the client:
 *   retry    nothing reached the instance (refused, unreachable, connect timeout) — or a
 *            kept-alive connection the instance had just closed, for a bodiless idempotent
 *            request — so another instance may take the request
 *   timeout  the instance accepted the request and went silent: 504
 *   failed   it broke or answered something that is not HTTP: 502
 */
type AttemptFailure = 'retry' | 'timeout' | 'failed';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

const PAGES = {
  unavailable: [503, 'Service unavailable'],
  failed: [502, 'Bad gateway'],
  timeout: [504, 'Gateway timeout'],
} as const;

export function createInstanceProxy(options: InstanceProxyOptions): InstanceProxy {
  const connectTimeoutMs = options.connectTimeoutMs ?? 3_000;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const agent = new Agent({ keepAlive: true, scheduling: 'lifo', timeout: options.idleSocketMs ?? 4_000 });
  const inFlight = new Map<string, number>();
  const countStatus = options.onStatus ?? (() => undefined);
  const trusted = new Set((options.trustedProxies ?? []).map(normalizeAddress));

  function enter(agentId: string): () => void {
    inFlight.set(agentId, (inFlight.get(agentId) ?? 0) + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const n = (inFlight.get(agentId) ?? 1) - 1;
      if (n <= 0) inFlight.delete(agentId);
      else inFlight.set(agentId, n);
    };
  }

  function pick(pool: InstancePool, except: Instance | undefined): Instance | undefined {
    const { instances } = pool;
    if (instances.length === 0) return undefined;
    for (let i = 0; i < instances.length; i++) {
      pool.cursor = (pool.cursor + 1) % instances.length;
      const candidate = instances[pool.cursor] as Instance;
      if (candidate !== except) return candidate;
    }
    return except;
  }

  function page(res: ServerResponse, kind: keyof typeof PAGES, message: string, extra?: readonly string[]): void {
    if (res.headersSent || isGone(res)) {
      res.destroy();
      return;
    }
    const [status, title] = PAGES[kind];
    options.sendPage(res, status, title, message, extra);
  }

  async function proxy(req: IncomingMessage, res: ServerResponse, pool: InstancePool, label: string): Promise<void> {
    const url = req.url ?? '';
    // Only origin-form targets: an absolute-form one (`GET http://other/ …`) would name
    // another host than the one the request was routed by.
    if (url.charCodeAt(0) !== 47 /* / */) {
      options.sendPage(res, 400, 'Bad request', 'The request target must be a path.');
      return;
    }
    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
    const headers = upstreamRequestHeaders({
      rawHeaders: req.rawHeaders,
      host: req.headers.host,
      contentLength: req.headers['content-length'],
      remoteAddress: req.socket.remoteAddress,
      scheme: options.scheme,
      trusted: trusted.size > 0 && trusted.has(normalizeAddress(req.socket.remoteAddress ?? '')),
    });
    // One retry, on another instance when there is one: enough to step over an instance the
    // routing table still lists a moment after it stopped.
    let instance = pick(pool, undefined);
    for (let attempt = 0; instance !== undefined; attempt++) {
      const failure = await forward(req, res, instance, headers, hasBody, attempt === 0);
      if (failure === undefined) return;
      if (failure === 'retry' && attempt === 0 && !res.destroyed) {
        instance = pick(pool, instance);
        continue;
      }
      if (failure === 'timeout') page(res, 'timeout', `No instance of ${label} answered in time.`);
      else page(res, 'failed', `No instance of ${label} could be reached or answered properly.`);
      return;
    }
    page(res, 'unavailable', `No healthy instance of ${label} is in rotation. Try again shortly.`, ['Retry-After', '1']);
  }

  /**
   * One attempt: connect, send the request (its body only once connected, so a refused
   * connection has consumed nothing and the request can go elsewhere), stream the answer.
   * Resolves undefined once the client has its answer (or went away), else how it failed.
   */
  function forward(
    req: IncomingMessage,
    res: ServerResponse,
    instance: Instance,
    headers: Record<string, string | string[]>,
    hasBody: boolean,
    mayRetryReused: boolean,
  ): Promise<AttemptFailure | undefined> {
    return new Promise((resolve) => {
      // A client that went away while the edge looked its route up has nothing left to answer;
      // its request must not be started (a body that never ends would hold the instance).
      if (isGone(res)) {
        resolve(undefined);
        return;
      }
      const leave = enter(instance.agentId);
      let upstream: ClientRequest;
      try {
        upstream = request({
          agent,
          host: instance.address.startsWith('[') ? instance.address.slice(1, -1) : instance.address,
          port: instance.port,
          method: req.method,
          path: req.url,
          headers,
          setHost: false,
        });
      } catch (err) {
        // A path or header Node refuses to send (it parsed them, so this is rare): the request's fault.
        leave();
        options.log?.error({ err, url: req.url }, 'edge could not build a request to an instance');
        options.sendPage(res, 400, 'Bad request', 'The request cannot be passed on to the service.');
        resolve(undefined);
        return;
      }
      let connected = false;
      let reused = false;
      let answered = false;
      let settled = false;
      const finish = (failure: AttemptFailure | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(connectTimer);
        res.off('close', onClientClose);
        if (failure !== undefined) {
          leave();
          req.unpipe(upstream);
          upstream.destroy();
        }
        resolve(failure);
      };
      const connectTimer = setTimeout(() => upstream.destroy(new Error(`connect timeout after ${connectTimeoutMs} ms`)), connectTimeoutMs);
      const onClientClose = () => {
        // The client went away before the answer began: nothing left to answer.
        if (!answered) {
          upstream.destroy();
          leave();
          settled = true;
          clearTimeout(connectTimer);
          resolve(undefined);
        }
      };
      res.once('close', onClientClose);

      const onConnected = () => {
        connected = true;
        clearTimeout(connectTimer);
        if (settled) return;
        if (hasBody) req.pipe(upstream);
        else upstream.end();
      };
      upstream.once('socket', (socket: Socket) => {
        reused = upstream.reusedSocket;
        if (socket.connecting) socket.once('connect', onConnected);
        else onConnected();
      });
      upstream.setTimeout(timeoutMs, () => upstream.destroy(new TimeoutError()));
      upstream.on('error', (err) => {
        if (answered) {
          // Mid-answer: the answer's own stream fails too, and the pipeline below cuts the client's.
          req.unpipe(upstream);
          return;
        }
        if (!connected) return finish('retry');
        if (err instanceof TimeoutError) return finish('timeout');
        if (reused && mayRetryReused && !hasBody && IDEMPOTENT.has(req.method ?? '')) return finish('retry');
        options.log?.error({ err, instance: instance.agentId }, 'an instance failed a request');
        finish('failed');
      });
      // The edge never asks for an upgrade (Upgrade is hop-by-hop): a 101 is not an answer it can pass on.
      upstream.once('upgrade', (_res: IncomingMessage, socket: Socket) => {
        socket.destroy();
        options.log?.error({ instance: instance.agentId }, 'an instance switched protocols unasked');
        finish('failed');
      });
      upstream.once('response', (upstreamRes: IncomingMessage) => {
        answered = true;
        clearTimeout(connectTimer);
        res.off('close', onClientClose);
        settled = true;
        res.once('close', () => {
          leave();
          if (!upstreamRes.complete) upstream.destroy();
        });
        const status = upstreamRes.statusCode ?? 502;
        try {
          res.writeHead(status, downstreamResponseHeaders(upstreamRes.rawHeaders));
        } catch (err) {
          // A header Node will not write (an invalid value that passed the parser): the instance's fault.
          options.log?.error({ err, instance: instance.agentId }, 'an instance answered with headers the edge cannot pass on');
          upstream.destroy();
          res.removeHeader('content-length');
          page(res, 'failed', 'The service answered with headers the edge cannot pass on.');
          resolve(undefined);
          return;
        }
        countStatus(status);
        pipeline(upstreamRes, res).then(
          () => resolve(undefined),
          () => {
            // Either side broke mid-body; pipeline destroyed both. The client sees a cut answer.
            resolve(undefined);
          },
        );
      });
    });
  }

  return {
    proxy: (req, res, pool, label) =>
      proxy(req, res, pool, label).catch((err: unknown) => {
        options.log?.error({ err, url: req.url }, 'edge could not proxy a request');
        page(res, 'failed', 'The edge could not pass this request on.');
      }),
    inFlight: (agentId) => inFlight.get(agentId) ?? 0,
    close: () => agent.destroy(),
  };
}

/** Whether the client's connection closed (a request's own stream ends, and is destroyed, once its body was read: no sign). */
function isGone(res: ServerResponse): boolean {
  return res.closed || res.destroyed || res.socket?.destroyed === true;
}

/** `::ffff:127.0.0.1` and `127.0.0.1` are one address; so are `[::1]` and `::1`. */
function normalizeAddress(address: string): string {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  return (bare.startsWith('::ffff:') && bare.includes('.') ? bare.slice(7) : bare).toLowerCase();
}

class TimeoutError extends Error {
  constructor() {
    super('the instance did not answer in time');
  }
}
