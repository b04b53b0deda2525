// Webhook ack latency: 50 concurrent, correctly signed GitHub push deliveries (distinct
// delivery ids and commits), several rounds, from sending the request to its 202. Baseline in
// the same run: GET /healthz at the same concurrency, interleaved round by round so that
// background load hits both alike. SQLite, then PostgreSQL (a fresh database on 127.0.0.1:5432;
// BENCH_POSTGRES=0 skips it). Target (issue): p99 < 200 ms.
//   node --import tsx bench/webhook-ack.ts   (BENCH_ROUNDS=10, BENCH_CONCURRENCY=50)
//
// The senders run in a child process: GitHub does not share the server's event loop, and
// signing and parsing 50 requests on it would be counted as server latency.
import { fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { signHex } from '../src/server/webhooks/signatures.ts';
import { benchServer, percentile, table, withPostgresDatabase } from './support.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const WARMUP_ROUNDS = 2;
const SECRET = 'bench-webhook-secret';
const REPO = 'https://github.com/acme/shop';

interface Latencies {
  acks: number[];
  health: number[];
  deliveries: number;
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
    ref: 'refs/heads/main',
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
  const result: Latencies = { acks: [], health: [], deliveries: 0 };
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

async function measure(label: string, databaseUrl?: string): Promise<(string | number)[]> {
  const { server, client, dispose } = await benchServer(databaseUrl);
  try {
    await client.createProject('shop', { repo: `${REPO}.git`, webhookSecret: SECRET });
    const { acks, health, deliveries } = await inSenderProcess(server.port);
    // Every delivery queued exactly one build (each carried a new commit).
    const project = await server.deps.store.findProjectByName('shop');
    const queued = project ? (await server.deps.store.listBuilds(project.id, { limit: deliveries + 1 })).length : 0;
    if (queued !== deliveries) throw new Error(`expected ${deliveries} builds, found ${queued}`);
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
    table(['store', 'deliveries', 'GET /healthz p50', 'GET /healthz p99', 'ack p50', 'ack p95', 'ack p99', 'ack max', 'ack p99 / healthz p99'], rows),
  );
  console.log('\nTarget: ack p99 < 200 ms. An ack is a verified delivery recorded with its queued build in one transaction.');
}
