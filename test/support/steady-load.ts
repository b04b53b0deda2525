import { Agent, request } from 'node:http';

/**
 * A steady stream of requests at a fixed rate (open loop: a slow answer does not slow the
 * stream down, so it cannot hide failures), through kept-alive connections, as a browser or
 * a load balancer in front of the edge would send them. Counts every answer by status and by
 * who answered (the `x-served-by` header, or the first line of the body), and every failure:
 * a connection error, a cut answer, or a status of 500 or more.
 */

export interface SteadyLoadOptions {
  /** Where the edge listens. */
  port: number;
  host?: string;
  /** The Host header: which environment is asked. */
  hostHeader: string;
  path?: string;
  /** Requests per second (default 200). */
  rate?: number;
  /** Requests open at most; past it a request counts as failed without being sent (default 1000). */
  maxOpen?: number;
  /** A request unanswered this long fails (default 10 s). */
  timeoutMs?: number;
  /** Every n-th request is a POST with a small body (default 4); 0 sends GETs only. */
  postEvery?: number;
}

export interface LoadFailure {
  at: number;
  what: string;
}

export interface LoadResult {
  sent: number;
  ok: number;
  failed: number;
  /** The first few failures, with the ms since the start they happened at. */
  failures: LoadFailure[];
  byStatus: Record<string, number>;
  /** Answers per server (`x-served-by`), in the order they first answered. */
  byServer: Record<string, number>;
  latenciesMs: number[];
  durationMs: number;
}

export interface SteadyLoad {
  /** Answers so far. */
  readonly answered: number;
  /** Stops sending, waits for the requests still open, and returns what happened. */
  stop(): Promise<LoadResult>;
}

export function startSteadyLoad(options: SteadyLoadOptions): SteadyLoad {
  const rate = options.rate ?? 200;
  const maxOpen = options.maxOpen ?? 1000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const postEvery = options.postEvery ?? 4;
  // Idle connections are dropped after 1 s, well before the server's keep-alive timeout (5 s)
  // closes them: otherwise a request sent just as the server closes one fails with a reset
  // that says nothing about the edge (a browser would silently retry it).
  const agent = new Agent({ keepAlive: true, maxSockets: maxOpen, timeout: 1_000 });
  const started = performance.now();
  const result: LoadResult = { sent: 0, ok: 0, failed: 0, failures: [], byStatus: {}, byServer: {}, latenciesMs: [], durationMs: 0 };
  let open = 0;
  let answered = 0;
  let stopped = false;
  const idle: (() => void)[] = [];

  const fail = (what: string) => {
    result.failed++;
    if (result.failures.length < 20) result.failures.push({ at: Math.round(performance.now() - started), what });
  };
  const settle = () => {
    open--;
    answered++;
    if (open === 0) for (const resolve of idle.splice(0)) resolve();
  };

  const send = () => {
    result.sent++;
    if (open >= maxOpen) {
      fail(`more than ${maxOpen} requests open`);
      return;
    }
    open++;
    const n = result.sent;
    const post = postEvery > 0 && n % postEvery === 0;
    const body = post ? `request ${n}` : undefined;
    const begin = performance.now();
    let done = false;
    const finish = (failure: string | undefined, status?: number, server?: string) => {
      if (done) return;
      done = true;
      if (status !== undefined) result.byStatus[status] = (result.byStatus[status] ?? 0) + 1;
      if (failure !== undefined) {
        fail(failure);
      } else {
        result.ok++;
        result.latenciesMs.push(performance.now() - begin);
        if (server !== undefined) result.byServer[server] = (result.byServer[server] ?? 0) + 1;
      }
      settle();
    };
    const req = request(
      {
        agent,
        host: options.host ?? '127.0.0.1',
        port: options.port,
        method: post ? 'POST' : 'GET',
        path: options.path ?? `/load/${n}`,
        headers: { host: options.hostHeader, ...(body === undefined ? {} : { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) }) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (err) => finish(`${res.statusCode ?? 0} cut: ${err.message}`, res.statusCode));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const served = res.headers['x-served-by'];
          const server = typeof served === 'string' ? served : Buffer.concat(chunks).toString('utf8').split('\n', 1)[0];
          finish(status >= 500 ? `${status} ${Buffer.concat(chunks).toString('utf8').replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').slice(0, 160)}` : undefined, status, server);
        });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', (err) => finish(`error: ${err.message}`));
    req.end(body);
  };

  // One tick per millisecond at most; each sends what the rate owes since the start, so timer drift does not lower the rate.
  const interval = Math.max(1, Math.floor(1000 / rate));
  const timer = setInterval(() => {
    const owed = Math.floor(((performance.now() - started) * rate) / 1000) - result.sent;
    for (let i = 0; i < owed; i++) send();
  }, interval);

  return {
    get answered() {
      return answered;
    },
    async stop() {
      if (!stopped) {
        stopped = true;
        clearInterval(timer);
        if (open > 0) await new Promise<void>((resolve) => idle.push(resolve));
        result.durationMs = performance.now() - started;
        agent.destroy();
      }
      return result;
    },
  };
}
