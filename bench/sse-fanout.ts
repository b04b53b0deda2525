// Change stream fan-out: N open dashboards, one promotion, every dashboard told.
//
// A Slipway server runs in its own process (SQLite), so the clients' parsing does not share its
// event loop. N raw HTTP clients each open GET /api/v1/stream?project=shop with a token of
// their own (N people's dashboards), then a deployment is promoted ROUNDS times; latency runs
// from the promote call's start to each stream's `change` message naming `environments`.
// Baseline in the same run: N `GET /healthz` sent at once, each timed from the send to its answer.
// Target (issue): 200 dashboards, one promotion → all updated, p99 < 1 s.
//   node --import tsx bench/sse-fanout.ts   (BENCH_STREAMS=200, BENCH_ROUNDS=5)
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SlipwayClient } from '../src/protocol/client.ts';
import { openChangeStream, type ChangeStreamClient } from '../test/support/change-stream.ts';
import { deployFiles } from '../test/support/server.ts';
import { BENCH_TOKEN, freePort, percentile, table } from './support.ts';

const STREAMS = Number(process.env.BENCH_STREAMS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);


function healthz(port: number, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

const dataDir = await mkdtemp(join(tmpdir(), 'slipway-bench-sse-'));
const port = await freePort();
const server = spawn(process.execPath, ['--import', 'tsx', new URL('../src/cli/main.ts', import.meta.url).pathname, 'server', '--port', String(port), '--data', dataDir], {
  env: { ...process.env, SLIPWAY_ADMIN_TOKEN: BENCH_TOKEN },
  stdio: 'ignore',
});
const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
const streams: ChangeStreamClient[] = [];
try {
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const up = await healthz(port, agent).catch(() => 0);
    if (up === 200) break;
    if (i > 200) throw new Error('the server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const client = new SlipwayClient({ url, token: BENCH_TOKEN });
  await client.createProject('shop');
  const tokens: string[] = [];
  for (let i = 0; i < STREAMS; i++) tokens.push((await client.createToken({ name: `dashboard-${i}`, role: 'viewer' })).secret);
  const deployments = [(await deployFiles(client, 'shop', { 'index.html': 'one' })).id, (await deployFiles(client, 'shop', { 'index.html': 'two' })).id];

  const loadBefore = loadavg()[0] ?? NaN;
  // Baseline: N requests sent at once, each timed from its send to its answer.
  const baseline: number[] = [];
  await Promise.all(
    Array.from({ length: STREAMS }, async () => {
      const start = performance.now();
      await healthz(port, agent);
      baseline.push(performance.now() - start);
    }),
  );

  const opened = performance.now();
  streams.push(...(await Promise.all(tokens.map((token) => openChangeStream(url, { token, project: 'shop', agent })))));
  const openMs = performance.now() - opened;
  const refused = streams.filter((s) => s.status !== 200).length;
  if (refused > 0) throw new Error(`${refused} streams were refused`);

  const latencies: number[] = [];
  const roundMax: number[] = [];
  const promoteMs: number[] = [];
  let missed = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Let the previous round's follow-up changes (release live) arrive first.
    await new Promise((r) => setTimeout(r, 1_500));
    const since = streams.map((s) => s.received.length);
    const start = performance.now();
    const told = streams.map((s, i) => s.next((m) => m.project === 'shop' && m.topics.includes('environments'), 10_000, since[i]).then((r) => r.at - start));
    await client.promote('shop', 'production', { deployment: deployments[round % 2]!, reason: `round ${round}` });
    promoteMs.push(performance.now() - start);
    const results = await Promise.allSettled(told);
    const round_ = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    missed += results.length - round_.length;
    latencies.push(...round_);
    roundMax.push(Math.max(...round_));
  }
  const loadAfter = loadavg()[0] ?? NaN;
  const row = (name: string, values: number[]) => [name, percentile(values, 50), percentile(values, 99), Math.max(...values)];
  console.log(`${STREAMS} streams, ${ROUNDS} promotions; streams opened in ${openMs.toFixed(0)} ms; load average ${loadBefore.toFixed(2)} → ${loadAfter.toFixed(2)} (ms)\n`);
  console.log(
    table(
      ['measure', 'p50', 'p99', 'max'],
      [
        row(`baseline: GET /healthz × ${STREAMS} sent at once, send → answer`, baseline),
        row('promote call (start → answer)', promoteMs),
        row(`promote call start → change message on each stream (${latencies.length} of ${STREAMS * ROUNDS}${missed ? `, ${missed} missed` : ''})`, latencies),
        row('slowest stream of each promotion', roundMax),
      ],
    ),
  );
} finally {
  for (const s of streams) s.close();
  agent.destroy();
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
  await rm(dataDir, { recursive: true, force: true });
}
