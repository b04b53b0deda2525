// Promotion → agents notified, and control-plane memory per idle connected agent.
//
// A Slipway server runs in its own process (so its memory is its own); N lightweight simulated
// agents enroll over the real protocol and each keeps one long-poll open
// (GET /api/v1/agent/assignment?wait=30). Then a service deployment is promoted and every agent's
// open poll answers with its new assignment; latency is measured from the promote call's start
// to each agent's answer. Memory: the server's RSS and V8 heap (from /metrics) with N agents
// polling minus the same server with none, divided by N. Baseline in the same run: N plain HTTP
// GETs of /healthz answered at once, their spread from first to last.
// Targets (issue): p99 < 1 s for 1,000 agents; ≤ 20 KB per idle connected agent.
//   node --import tsx bench/agents-notify.ts   (BENCH_AGENTS=1000)
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SlipwayClient } from '../src/protocol/client.ts';
import { BENCH_TOKEN, freePort, percentile, table } from './support.ts';

const AGENTS = Number(process.env.BENCH_AGENTS ?? 1000);
const httpAgent = new Agent({ keepAlive: true, maxSockets: Infinity });

interface Answer {
  status: number;
  body: string;
}

function call(port: number, method: string, path: string, token: string | undefined, body?: unknown, again = true): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: httpAgent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      // A kept-alive connection the server closed (idle for 5 s) just as it was reused: the
      // request never reached the server, so it is sent once more on a new connection.
      if (again && req.reusedSocket && err.code === 'ECONNRESET') call(port, method, path, token, body, false).then(resolve, reject);
      else reject(err);
    });
    req.end(payload);
  });
}

async function json<T>(port: number, method: string, path: string, token: string | undefined, body?: unknown): Promise<T> {
  const answer = await call(port, method, path, token, body);
  if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${answer.body.slice(0, 300)}`);
  return JSON.parse(answer.body) as T;
}


async function metric(port: number, name: string): Promise<number> {
  const text = (await call(port, 'GET', '/metrics', BENCH_TOKEN)).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return Number(line?.split(' ').pop() ?? NaN);
}

/**
 * Asks the server's V8 for a full garbage collection through its inspector (the server runs
 * with --inspect on a loopback port), so heap figures count what is retained, not garbage.
 */
async function collectGarbage(inspectPort: number): Promise<void> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (url === undefined) throw new Error('no inspector target');
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  await new Promise<void>((resolve) => {
    socket.onmessage = () => resolve();
    socket.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
  });
  socket.close();
}

/** RSS and heap used after a full collection (a few samples, the lowest). */
async function memory(port: number, inspectPort: number): Promise<{ rss: number; heap: number }> {
  let rss = Infinity;
  let heap = Infinity;
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 300));
    await collectGarbage(inspectPort);
    rss = Math.min(rss, await metric(port, 'slipway_process_resident_memory_bytes'));
    heap = Math.min(heap, await metric(port, 'slipway_nodejs_heap_size_used_bytes'));
  }
  return { rss, heap };
}

// Node 20 has WebSocket behind a flag: run again with it.
if (typeof WebSocket === 'undefined') {
  const again = spawn(process.execPath, ['--experimental-websocket', ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(await new Promise<number>((resolve) => again.on('exit', (code) => resolve(code ?? 1))));
}

const dataDir = await mkdtemp(join(tmpdir(), 'slipway-bench-agents-'));
const port = await freePort();
const inspectPort = await freePort();
const server = spawn(process.execPath, [`--inspect=127.0.0.1:${inspectPort}`, '--import', 'tsx', new URL('../src/cli/main.ts', import.meta.url).pathname, 'server', '--port', String(port), '--data', dataDir], {
  env: { ...process.env, SLIPWAY_ADMIN_TOKEN: BENCH_TOKEN },
  stdio: 'ignore',
});
try {
  for (let i = 0; ; i++) {
    const up = await call(port, 'GET', '/healthz', undefined).catch(() => undefined);
    if (up?.status === 200) break;
    if (i > 200) throw new Error('the server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const client = new SlipwayClient({ url: `http://127.0.0.1:${port}`, token: BENCH_TOKEN });
  await client.createProject('shop');
  const body = 'require("http").createServer((q, s) => s.end("ok")).listen(process.env.PORT)';
  const digest = createHash('sha256').update(body).digest('hex');
  const upload = await client.createUpload('shop', {
    files: [{ path: 'server.js', sha256: digest, size: Buffer.byteLength(body), mode: 0o644 }],
    meta: { service: { start: 'node server.js', health: '/' } },
  });
  if (upload.missing.length) await client.putBlob(digest, Buffer.from(body));
  const deployment = (await client.finalizeUpload('shop', upload.id)).id;

  // Baseline: N requests answered at once, sent together.
  const baseline: number[] = [];
  const b0 = performance.now();
  await Promise.all(Array.from({ length: AGENTS }, () => call(port, 'GET', '/healthz', undefined).then(() => baseline.push(performance.now() - b0))));

  // Enroll the agents, then measure the server's memory before any of them polls.
  const credentials: string[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const enrollment = await json<{ token: string }>(port, 'POST', '/api/v1/projects/shop/environments/production/agents/enrollments', BENCH_TOKEN, {});
    const enrolled = await json<{ credential: string }>(port, 'POST', '/api/v1/agent/enroll', undefined, {
      token: enrollment.token,
      name: `host-${i}`,
      version: 'bench',
      address: '127.0.0.1',
      port: 10_000 + i,
    });
    credentials.push(enrolled.credential);
  }
  const idle = await memory(port, inspectPort);

  // Every agent opens its long-poll (after its current rev) and keeps it open.
  const revs = await Promise.all(credentials.map((c) => json<{ rev: number }>(port, 'GET', '/api/v1/agent/assignment?wait=0', c).then((a) => a.rev)));
  let started = 0;
  const answered: number[] = [];
  const polls = credentials.map((credential, i) =>
    json<{ rev: number; prepare: unknown; run: unknown }>(port, 'GET', `/api/v1/agent/assignment?after=${revs[i] ?? 0}&wait=30`, credential).then((a) => {
      answered.push(performance.now() - started);
      return a;
    }),
  );
  await new Promise((r) => setTimeout(r, 1500));
  const polling = await memory(port, inspectPort);
  const early = answered.length;

  started = performance.now();
  await client.promote('shop', 'production', { deployment, reason: 'bench' });
  const promoteMs = performance.now() - started;
  const answers = await Promise.all(polls);
  const changed = answers.filter((a) => a.prepare !== null || a.run !== null).length;

  console.log(`\n## Promotion → agents notified (${AGENTS} simulated agents, long-polling; ms)\n`);
  console.log(
    table(
      ['measure', 'p50', 'p99', 'max', 'ratio p99 / baseline p99'],
      [
        ['baseline: GET /healthz × N sent at once, answered after', percentile(baseline, 50), percentile(baseline, 99), Math.max(...baseline), 1],
        [`promote call start → poll answered (${changed} of ${AGENTS} with a new assignment)`, percentile(answered, 50), percentile(answered, 99), Math.max(...answered), percentile(answered, 99) / percentile(baseline, 99)],
      ],
    ),
  );
  console.log(`\npromote call itself: ${promoteMs.toFixed(0)} ms; polls that answered before the promotion: ${early}`);
  console.log(`\n## Control-plane memory per idle connected agent (${AGENTS} agents)\n`);
  console.log(
    table(
      ['measure', 'enrolled, not polling', 'all polling', 'difference', 'per agent B'],
      [
        ['RSS', idle.rss, polling.rss, polling.rss - idle.rss, (polling.rss - idle.rss) / AGENTS],
        ['V8 heap used', idle.heap, polling.heap, polling.heap - idle.heap, (polling.heap - idle.heap) / AGENTS],
      ],
    ),
  );
} finally {
  httpAgent.destroy();
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  await rm(dataDir, { recursive: true, force: true });
}
