// Webhook ack latency: 50 concurrent, correctly signed GitHub push deliveries (distinct
// delivery ids and commits), several rounds, from sending the request to its 202. Baseline in
// the same run: GET /healthz at the same concurrency, interleaved round by round so that
// background load hits both alike. Afterwards it waits for the delivery queue to record every
// push, checks that each delivery queued exactly one build, and reports how fast the queue
// drained. SQLite, then PostgreSQL (a fresh database on 127.0.0.1:5432; BENCH_POSTGRES=0 skips
// it). Target (issue): ack p99 < 200 ms.
//   node --import tsx bench/webhook-ack.ts   (BENCH_ROUNDS=10, BENCH_CONCURRENCY=50)
//
// The senders run in a child process: GitHub does not share the server's event loop, and
// signing and parsing 50 requests on it would be counted as server latency.
import { fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { signHex } from '../src/server/webhooks/signatures.ts';
import type { Store } from '../src/store/store.ts';
import { benchServer, percentile, table, withPostgresDatabase } from './support.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const WARMUP_ROUNDS = 2;
const SECRET = 'bench-webhook-secret';
const REPO = 'https://github.com/acme/shop';
const DRAIN_TIMEOUT_MS = 120_000;

interface Latencies {
  acks: number[];
  health: number[];
  deliveries: number;
  /** Wall-clock time (ms) of the last 202. */
  lastAckAt: number;
}

function send(agent: Agent, port: number, method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A GitHub push payload shaped as GitHub sends it (~3 KB). */
function pushBody(after: string): string {
  const commitOf = (id: string) => ({
    id,
    tree_id: randomBytes(20).toString('hex'),
    distinct: true,
    message: 'Fix the checkout total\n\nRounding was off by a cent.',
    timestamp: new Date().toISOString(),
    url: `${REPO}/commit/${id}`,
    author: { name: 'Mona Lisa', email: 'mona@example.com', username: 'mona' },
    committer: { name: 'GitHub', email: 'noreply@github.com', username: 'web-flow' },
    added: [],
    removed: [],
    modified: ['src/checkout.ts', 'src/cart.ts'],
  });
  return JSON.stringify({
    // A branch of its own per delivery: concurrent pushes of one branch arrive in any order, and
    // the branch's compare-and-set on `before` would record all but one of them as stale.
    ref: `refs/heads/bench-${after.slice(0, 12)}`,
    before: randomBytes(20).toString('hex'),
    after,
    repository: {
      id: 1296269,
      name: 'shop',
      full_name: 'acme/shop',
      private: false,
      owner: { name: 'acme', login: 'acme', id: 1 },
      html_url: REPO,
      git_url: 'git://github.com/acme/shop.git',
      ssh_url: 'git@github.com:acme/shop.git',
      clone_url: `${REPO}.git`,
      default_branch: 'main',
    },
    pusher: { name: 'mona', email: 'mona@example.com' },
    sender: { login: 'mona', id: 2 },
    created: false,
    deleted: false,
    forced: false,
    base_ref: null,
    compare: `${REPO}/compare/a...b`,
    commits: [commitOf(after)],
    head_commit: commitOf(after),
  });
}

/** The senders (child process): per round, CONCURRENCY health checks at once, then CONCURRENCY deliveries at once. */
async function senders(port: number): Promise<Latencies> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const result: Latencies = { acks: [], health: [], deliveries: 0, lastAckAt: 0 };
  try {
    for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
      const healthRound = await Promise.all(Array.from({ length: CONCURRENCY }, () => send(agent, port, 'GET', '/healthz', {})));
      // Bodies and signatures are the sender's work: all made before the first request leaves.
      const deliveries = Array.from({ length: CONCURRENCY }, () => {
        const body = pushBody(randomBytes(20).toString('hex'));
        const headers = {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'x-github-event': 'push',
          'x-github-delivery': randomUUID(),
          'x-hub-signature-256': signHex(SECRET, body),
        };
        return { body, headers };
      });
      const ackRound = await Promise.all(deliveries.map((d) => send(agent, port, 'POST', '/hooks/github', d.headers, d.body)));
      const failed = ackRound.filter((a) => a.status !== 202);
      if (failed.length > 0) throw new Error(`${failed.length} deliveries answered ${failed[0]?.status}, not 202`);
      result.deliveries += ackRound.length;
      result.lastAckAt = Date.now();
      if (round < WARMUP_ROUNDS) continue;
      result.health.push(...healthRound.map((a) => a.ms));
      result.acks.push(...ackRound.map((a) => a.ms));
    }
    return result;
  } finally {
    agent.destroy();
  }
}

function inSenderProcess(port: number): Promise<Latencies> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, BENCH_SENDER_PORT: String(port) },
    });
    let result: Latencies | undefined;
    child.once('message', (m) => (result = m as Latencies));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 && result ? resolve(result) : reject(new Error(`sender process exited with ${code}`))));
  });
}

interface Drain {
  /** From the last 202 (sender's clock) to the last push recorded (server's clock; one machine). */
  afterLastAckMs: number;
  /** Pushes recorded per second, from the first delivery received to the last one recorded (server clock). */
  perSecond: number;
}

/**
 * Waits until the queue has recorded every delivery, then checks that each one is done with
 * exactly one build and that the project has one build per delivery.
 */
async function drained(store: Store, deliveries: number, lastAckAt: number): Promise<Drain> {
  const project = await store.findProjectByName('shop');
  if (!project) throw new Error('project shop is missing');
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  while ((await store.findNextPendingDelivery()) !== undefined) {
    if (Date.now() > deadline) throw new Error(`the queue did not drain within ${DRAIN_TIMEOUT_MS} ms`);
    await sleep(5);
  }
  const rows = await store.listWebhookDeliveries(project.id, { limit: deliveries + 1 });
  if (rows.length !== deliveries) throw new Error(`expected ${deliveries} deliveries, found ${rows.length}`);
  const wrong = rows.find((row) => row.state !== 'done' || row.builds.length !== 1);
  if (wrong) throw new Error(`delivery ${wrong.deliveryId} ended ${wrong.state} with builds ${JSON.stringify(wrong.builds)} ${wrong.error ?? ''}`);
  const builds = await store.listBuilds(project.id, { limit: deliveries + 1 });
  if (builds.length !== deliveries) throw new Error(`expected ${deliveries} builds, found ${builds.length}`);
  if (new Set(rows.map((row) => row.builds[0])).size !== deliveries) throw new Error('two deliveries name the same build');
  const first = Math.min(...rows.map((row) => Date.parse(row.receivedAt)));
  const last = Math.max(...rows.map((row) => Date.parse(row.processedAt ?? row.receivedAt)));
  return { afterLastAckMs: Math.max(0, last - lastAckAt), perSecond: (deliveries * 1000) / Math.max(1, last - first) };
}

async function measure(label: string, databaseUrl?: string): Promise<(string | number)[]> {
  const { server, client, dispose } = await benchServer(databaseUrl);
  try {
    await client.createProject('shop', { repo: `${REPO}.git`, webhookSecret: SECRET });
    const { acks, health, deliveries, lastAckAt } = await inSenderProcess(server.port);
    const drain = await drained(server.deps.store, deliveries, lastAckAt);
    return [
      label,
      acks.length,
      percentile(health, 50),
      percentile(health, 99),
      percentile(acks, 50),
      percentile(acks, 95),
      percentile(acks, 99),
      Math.max(...acks),
      percentile(acks, 99) / percentile(health, 99),
      drain.afterLastAckMs,
      drain.perSecond,
    ];
  } finally {
    await dispose();
  }
}

const senderPort = process.env.BENCH_SENDER_PORT;
if (senderPort !== undefined) {
  const latencies = await senders(Number(senderPort));
  await new Promise<void>((resolve, reject) => process.send?.(latencies, (err: Error | null) => (err ? reject(err) : resolve())));
  process.disconnect();
} else {
  const rows = [await measure('sqlite')];
  if (process.env.BENCH_POSTGRES !== '0') rows.push(await withPostgresDatabase((url) => measure('postgres', url)));
  console.log(`\n## Webhook ack latency (${CONCURRENCY} concurrent, ${ROUNDS} rounds after ${WARMUP_ROUNDS} warm-up, ms)\n`);
  console.log(
    table(
      [
        'store',
        'deliveries',
        'GET /healthz p50',
        'GET /healthz p99',
        'ack p50',
        'ack p95',
        'ack p99',
        'ack max',
        'ack p99 / healthz p99',
        'queue empty after last ack',
        'pushes recorded/s',
      ],
      rows,
    ),
  );
  console.log(
    '\nTarget: ack p99 < 200 ms. An ack verifies the delivery, finds the project and queues the delivery with the project’s webhook.deliver job in one transaction; the job records each push (build, branch, preview, audit event) after the ack. Every delivery was checked: done, with exactly one build.',
  );
}
