// Check reported → environment live, in gate mode: a release waits in `staging` (checks:
// [ci/test], mode: gate) until its commit's ci/test is green; the clock starts when the bench
// sends POST /api/v1/projects/:p/checks and stops when staging's pointer is the new deployment
// (read from the store in the same process, every millisecond). In between: the check
// and a pipeline.evaluate job are written in one transaction, the server's worker is woken,
// evaluates the project and moves the pointer. Baseline in the same run, interleaved round by
// round: a plain promote of the same deployment into an environment without gates (its call
// returns once the pointer moved). SQLite, then PostgreSQL (a fresh database on 127.0.0.1:5432;
// BENCH_POSTGRES=0 skips it). Target (issue): p99 ≤ 100 ms.
//   node --import tsx bench/check-to-live.ts   (BENCH_ROUNDS=200)
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SlipwayClient } from '../src/protocol/client.ts';
import type { Store } from '../src/store/store.ts';
import { benchServer, percentile, table, withPostgresDatabase } from './support.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);
const WARMUP = 5;
const TIMEOUT_MS = 10_000;

async function deployCommit(client: SlipwayClient, round: number): Promise<{ id: string; commit: string }> {
  const body = `check to live ${round}`;
  const digest = createHash('sha256').update(body).digest('hex');
  const commit = createHash('sha1').update(body).digest('hex');
  const upload = await client.createUpload('shop', {
    files: [{ path: 'index.html', sha256: digest, size: Buffer.byteLength(body), mode: 0o644 }],
    meta: { commit, branch: 'main' },
  });
  if (upload.missing.length > 0) await client.putBlob(digest, Buffer.from(body));
  return { id: (await client.finalizeUpload('shop', upload.id)).id, commit };
}

/**
 * Resolves when the environment's pointer is `deploymentId`: one store read every millisecond
 * (reading on every event-loop turn competed with the worker it waits for and slowed it).
 */
async function pointerAt(store: Store, projectId: string, environment: string, deploymentId: string): Promise<void> {
  const deadline = performance.now() + TIMEOUT_MS;
  for (;;) {
    if ((await store.findEnvironment(projectId, environment))?.deploymentId === deploymentId) return;
    if (performance.now() > deadline) throw new Error(`${environment} did not go live with ${deploymentId} within ${TIMEOUT_MS} ms`);
    await sleep(1);
  }
}

async function measure(label: string, databaseUrl?: string): Promise<(string | number)[][]> {
  const { server, client, dispose } = await benchServer(databaseUrl);
  try {
    await client.createProject('shop');
    await client.setPolicy('shop', 'staging', { checks: ['ci/test'], mode: 'gate' });
    const project = await server.deps.store.findProjectByName('shop');
    if (!project) throw new Error('no project');
    const store = server.deps.store;
    const toLive: number[] = [];
    const checkCall: number[] = [];
    const baseline: number[] = [];
    for (let round = 0; round < ROUNDS + WARMUP; round++) {
      const warm = round >= WARMUP;
      const deployment = await deployCommit(client, round);
      const waiting = await client.promote('shop', 'staging', { deployment: deployment.id });
      if (waiting.state !== 'waiting') throw new Error(`expected a waiting release, got ${waiting.state}`);

      let t0 = performance.now();
      const reported = client.reportCheck('shop', { commit: deployment.commit, name: 'ci/test', state: 'success' }).then(() => performance.now() - t0);
      await pointerAt(store, project.id, 'staging', deployment.id);
      const live = performance.now() - t0;
      const call = await reported;
      if (warm) {
        toLive.push(live);
        checkCall.push(call);
      }

      t0 = performance.now();
      const plain = await client.promote('shop', 'plain', { deployment: deployment.id });
      if (warm) baseline.push(performance.now() - t0);
      if (plain.state !== 'live') throw new Error(`plain promote is ${plain.state}`);
    }
    const row = (what: string, values: number[]): (string | number)[] => [
      label,
      what,
      percentile(values, 50),
      percentile(values, 99),
      Math.max(...values),
      percentile(values, 99) / percentile(baseline, 99),
    ];
    return [row('plain promote, call (baseline)', baseline), row('check POST, call', checkCall), row('check POST → staging live', toLive)];
  } finally {
    await dispose();
  }
}

const rows = await measure('sqlite');
if (process.env.BENCH_POSTGRES !== '0') rows.push(...(await withPostgresDatabase((url) => measure('postgres', url))));
console.log(`\n## Check reported → environment live, gate mode (${ROUNDS} rounds, ms)\n`);
console.log(table(['store', 'what', 'p50', 'p99', 'max', 'p99 / baseline p99'], rows));
console.log('\nTarget: check POST → live p99 ≤ 100 ms.');
