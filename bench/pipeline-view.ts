// `slipway pipeline` for a large project: 20 environments in a from: chain and 10,000
// releases (500 each, 2 of them waiting with their gates), 600 commits of history on main,
// seeded straight into the store. Measured: the service (describePipeline + presentPipeline,
// in process, with its store calls counted) and the HTTP round trip of
// GET /api/v1/projects/:p/pipeline. Baseline in the same run, interleaved round by round:
// GET /api/v1/projects/:p/environments (the same 20 environments, no releases).
// SQLite, then PostgreSQL (a fresh database on 127.0.0.1:5432; BENCH_POSTGRES=0 skips it).
// Target (issue): under 100 ms server time.
//   node --import tsx bench/pipeline-view.ts   (BENCH_ROUNDS=200)
import { createHash } from 'node:crypto';
import type { CommitInfo } from '../src/core/git-log.ts';
import { DEFAULT_POLICY, type GateVerdict } from '../src/core/gates/index.ts';
import type { SlipwayClient } from '../src/protocol/client.ts';
import type { RunningServer } from '../src/server/server.ts';
import { presentPipeline } from '../src/server/http/present-pipeline.ts';
import { describePipeline } from '../src/server/services/pipeline-view.ts';
import type { ServiceDeps } from '../src/server/services/deps.ts';
import { newEnvironmentRow, newReleaseRow, type ReleaseState, type Store } from '../src/store/store.ts';
import { benchServer, percentile, table, withPostgresDatabase } from './support.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);
const ENVIRONMENTS = 20;
const RELEASES = 10_000;
const COMMITS = 600;
const WAITING_PER_ENV = 2;

const sha = (i: number): string => createHash('sha1').update(`commit ${i}`).digest('hex');
const at = (minutes: number): string => new Date(Date.UTC(2025, 0, 1) + minutes * 60_000).toISOString();

async function realDeployment(client: SlipwayClient): Promise<{ id: string; manifestDigest: string }> {
  const body = 'pipeline bench';
  const digest = createHash('sha256').update(body).digest('hex');
  const upload = await client.createUpload('shop', { files: [{ path: 'index.html', sha256: digest, size: body.length, mode: 0o644 }] });
  if (upload.missing.length > 0) await client.putBlob(digest, Buffer.from(body));
  const deployment = await client.finalizeUpload('shop', upload.id);
  return { id: deployment.id, manifestDigest: deployment.manifestDigest };
}

/** Seeds the project through the store: commits, one deployment per commit, 20 environments, 10,000 releases. */
async function seed(server: RunningServer, client: SlipwayClient): Promise<void> {
  await client.createProject('shop');
  const real = await realDeployment(client);
  const store: Store = server.deps.store;
  const project = await store.findProjectByName('shop');
  if (!project) throw new Error('no project');
  const commits: CommitInfo[] = [];
  for (let i = 0; i < COMMITS; i++) {
    commits.push({ sha: sha(i), parents: i === 0 ? [] : [sha(i - 1)], authorName: 'Ana', authorEmail: 'ana@example.com', message: `change ${i}`, committedAt: at(i) });
  }
  const perEnv = RELEASES / ENVIRONMENTS;
  // Deployments of the newest commits; release n of every environment takes deployment n.
  const deployments = Array.from({ length: perEnv }, (_, n) => ({ id: `dpl-bench${String(n).padStart(5, '0')}`, commit: COMMITS - perEnv + n }));
  await store.transaction(async (tx) => {
    await tx.insertCommits(project.id, commits, at(0));
    await tx.moveBranch(project.id, 'main', '0'.repeat(40), sha(COMMITS - 1), at(COMMITS));
    for (const d of deployments) {
      await tx.insertDeployment({
        id: d.id,
        projectId: project.id,
        manifestDigest: real.manifestDigest,
        fileCount: 1,
        totalBytes: 14,
        meta: { source: 'build', commit: sha(d.commit), branch: 'main', message: `change ${d.commit}` },
        createdAt: at(d.commit),
        createdBy: 'bench',
      });
    }
  });
  for (let e = 0; e < ENVIRONMENTS; e++) {
    const name = `env-${String(e + 1).padStart(2, '0')}`;
    await store.transaction(async (tx) => {
      const env = await tx.ensureEnvironment(newEnvironmentRow({ id: `env-bench${e}`, projectId: project.id, name, createdAt: at(0) }));
      const { follows: _follows, ...defaults } = DEFAULT_POLICY;
      const policy = { ...defaults, from: e === 0 ? null : `env-${String(e).padStart(2, '0')}`, auto: true, checks: ['ci/test'] };
      await tx.setEnvironmentPolicy(env.id, policy, 'user bench', at(0), []);
      if (e === 0) await tx.setEnvironmentFollow(env.id, 'main', false);
      // Downstream environments run older deployments, so the view walks the history for each.
      const liveUpTo = perEnv - WAITING_PER_ENV - e * 10;
      let live: { id: string; number: number; deploymentId: string } | undefined;
      for (let n = 0; n < perEnv; n++) {
        const number = n + 1;
        const deployment = deployments[n];
        if (!deployment) throw new Error('deployment index');
        const waiting = n >= perEnv - WAITING_PER_ENV;
        const state: ReleaseState = waiting ? 'waiting' : n === liveUpTo - 1 ? 'live' : n < liveUpTo ? 'superseded' : 'failed';
        const gates: GateVerdict | null = waiting
          ? { outcome: 'wait', reasons: [{ gate: 'checks', code: 'CHECKS_PENDING', message: 'waiting for checks: ci/test pending' }] }
          : { outcome: 'pass' };
        const id = `rel-bench${e}x${n}`;
        await tx.insertRelease(
          newReleaseRow({
            id,
            projectId: project.id,
            environmentId: env.id,
            number,
            kind: 'promote',
            state,
            deploymentId: deployment.id,
            createdAt: at(deployment.commit),
            createdBy: 'slipway',
            trigger: 'automation',
            commitSha: sha(deployment.commit),
            branch: 'main',
            gates,
            stateReason: waiting ? 'waiting for checks: ci/test pending' : null,
            liveAt: state === 'live' || state === 'superseded' ? at(deployment.commit) : null,
            batch: { base: sha(deployment.commit - 1), commits: [sha(deployment.commit)], truncated: false },
          }),
        );
        if (state === 'live') live = { id, number, deploymentId: deployment.id };
      }
      if (!live) throw new Error('no live release');
      await tx.moveEnvironmentTo(env.id, 0, { deploymentId: live.deploymentId, releaseId: live.id, releaseNumber: live.number, pin: null });
    });
  }
}

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
    await seed(server, client);
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
