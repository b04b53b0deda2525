// `slipway pipeline` for a large project: 20 environments in a from: chain and 10,000
// releases (500 each, 2 of them waiting with their gates), 600 commits of history on main,
// seeded straight into the store. Measured: the service (describePipeline + presentPipeline,
// in process, with its store calls counted) and the HTTP round trip of
// GET /api/v1/projects/:p/pipeline. Baseline in the same run, interleaved round by round:
// GET /api/v1/projects/:p/environments (the same 20 environments, no releases).
// SQLite, then PostgreSQL (a fresh database on 127.0.0.1:5432; BENCH_POSTGRES=0 skips it).
// Target (issue): under 100 ms server time.
//   node --import tsx bench/pipeline-view.ts   (BENCH_ROUNDS=200)
import { presentPipeline } from '../src/server/http/present-pipeline.ts';
import { describePipeline } from '../src/server/services/pipeline-view.ts';
import type { ServiceDeps } from '../src/server/services/deps.ts';
import type { Store } from '../src/store/store.ts';
import { seedLargeProject } from './large-project.ts';
import { benchServer, percentile, table, withPostgresDatabase } from './support.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);
const ENVIRONMENTS = 20;
const RELEASES = 10_000;
const COMMITS = 600;
const WAITING_PER_ENV = 2;

/** A store whose method calls are counted and timed (by method): each call is one query, or a few for batched reads. */
function counting(store: Store): { store: Store; calls: () => number; reset: () => void; time: Map<string, number> } {
  let calls = 0;
  const time = new Map<string, number>();
  const proxy = new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        calls++;
        const t = performance.now();
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          time.set(String(key), (time.get(String(key)) ?? 0) + performance.now() - t);
        }
      };
    },
  });
  return { store: proxy, calls: () => calls, reset: () => (calls = 0), time };
}

async function measure(label: string, databaseUrl?: string): Promise<(string | number)[][]> {
  const { server, client, dispose } = await benchServer(databaseUrl);
  try {
    const t0 = performance.now();
    await seedLargeProject(server, client, 'shop', { environments: ENVIRONMENTS, releases: RELEASES, commits: COMMITS, waitingPerEnv: WAITING_PER_ENV, shape: { kind: 'chain' } });
    const seeded = performance.now() - t0;
    const counted = counting(server.deps.store);
    const deps: ServiceDeps = { ...server.deps, store: counted.store };
    const view = await client.getPipeline('shop');
    const waiting = view.stages.reduce((sum, s) => sum + s.waiting.length, 0);
    if (view.stages.length !== ENVIRONMENTS || waiting !== ENVIRONMENTS * WAITING_PER_ENV) throw new Error(`unexpected view: ${view.stages.length} stages, ${waiting} waiting`);
    const service: number[] = [];
    const http: number[] = [];
    const baseline: number[] = [];
    let calls = 0;
    for (let i = 0; i < ROUNDS + 5; i++) {
      const warm = i >= 5;
      let t = performance.now();
      await client.listEnvironments('shop');
      if (warm) baseline.push(performance.now() - t);
      counted.reset();
      t = performance.now();
      presentPipeline(deps.urls, await describePipeline(deps, 'shop'), deps.clock.now());
      if (warm) service.push(performance.now() - t);
      calls = counted.calls();
      t = performance.now();
      await client.getPipeline('shop');
      if (warm) http.push(performance.now() - t);
    }
    const row = (what: string, values: number[]): (string | number)[] => [
      label,
      what,
      percentile(values, 50),
      percentile(values, 99),
      percentile(values, 50) / percentile(baseline, 50),
    ];
    const split = [...counted.time].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${(v / (ROUNDS + 5)).toFixed(2)}`);
    console.error(`${label}: store time per view by method (ms): ${split.join(', ')}`);
    console.error(`${label}: seeded ${ENVIRONMENTS} environments, ${RELEASES} releases, ${COMMITS} commits in ${(seeded / 1000).toFixed(1)} s; ${calls} store calls per view`);
    return [
      row('GET …/environments (baseline)', baseline),
      row(`pipeline service, in process (${calls} store calls)`, service),
      row('GET …/pipeline, HTTP round trip', http),
    ];
  } finally {
    await dispose();
  }
}

const rows = await measure('sqlite');
if (process.env.BENCH_POSTGRES !== '0') rows.push(...(await withPostgresDatabase((url) => measure('postgres', url))));
console.log(`\n## slipway pipeline: ${ENVIRONMENTS} environments, ${RELEASES.toLocaleString('en-US')} releases (${ROUNDS} rounds, ms)\n`);
console.log(table(['store', 'what', 'p50', 'p99', 'p50 / baseline p50'], rows));
console.log('\nTarget: pipeline server time < 100 ms.');
