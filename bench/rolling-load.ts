// Requests failed during a 3-instance rolling deploy under a steady load through the edge.
// Target (issue 10): 0.
//   node --import tsx bench/rolling-load.ts        (or: npm run bench -- rolling)
//
// A real server (control plane and edge on one port, SQLite, then PostgreSQL) serves a service
// environment from three instances, each a real child process (a small node:http app) owned
// by an agent row. A steady open-loop load (BENCH_RATE requests/s, a POST every 4th) runs
// through the edge, from a process of its own, while instances are replaced one at a time, the way a rollout with
// maxUnavailable 1 does it: out of rotation (draining), wait until the edge has nothing in
// flight to it and the rollout's minimum drain has passed, stop it (SIGTERM: the app exits at
// once, like most apps), start the new version on the same port, health-check it every 250 ms,
// back into rotation. Two ways, as rollouts drain: the edge is not told of the changes (as a
// replica would not be) and sees them through its routing reads alone, at least MIN_DRAIN_MS
// (300 ms; the edge reads routes at most every 200 ms); or it is told at once (routesChanged, as
// the rollout tells its own process's edge) and the drain lasts at least TOLD_DRAIN_MS (50 ms),
// as with SQLite, where that edge is the only one.
//
// The control row replaces instances without draining (stop at once, rotation untouched until
// the new one is healthy), to show the load does catch what a careless switch breaks.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MIN_DRAIN_MS, TOLD_DRAIN_MS } from '../src/core/rollout-planner.ts';
import { newEnvironmentRow, newReleaseRow, type Store } from '../src/store/store.ts';
import { closedPort } from '../test/support/upstreams.ts';
import type { LoadResult } from '../test/support/steady-load.ts';
import { startLoadProcess } from './steady-load-process.ts';
import { benchServer, percentile, table, withPostgresDatabase } from './support.ts';

const RATE = Number(process.env.BENCH_RATE ?? 50);
const DEPLOYS = Number(process.env.BENCH_DEPLOYS ?? 3);
const INSTANCES = 3;
const DRAIN_MS = 10_000;
const HEALTH_EVERY_MS = 250;

const APP = `
const http = require('node:http');
const version = process.env.VERSION;
// 2–20 ms of work per request, so that requests are in flight when an instance is drained.
http.createServer((req, res) => {
  let bytes = 0;
  req.on('data', (chunk) => (bytes += chunk.length));
  req.on('end', () => setTimeout(() => {
    res.writeHead(200, { 'content-type': 'text/plain', 'x-served-by': version });
    res.end(version + '\\n' + bytes + '\\n');
  }, 2 + Math.random() * 18));
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

interface RunningInstance {
  agentId: string;
  port: number;
  child: ChildProcess;
}

const children = new Set<ChildProcess>();

function startApp(dir: string, port: number, version: string): ChildProcess {
  const child = spawn(process.execPath, [join(dir, 'app.cjs')], { env: { PORT: String(port), VERSION: version }, stdio: 'ignore' });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

function stopApp(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** GET / every 250 ms until a 2xx/3xx, as an agent's health check does. */
async function untilHealthy(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const status = await new Promise<number>((resolve) => {
      const req = get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(0));
    });
    if (status >= 200 && status < 400) return;
    await sleep(HEALTH_EVERY_MS);
  }
  throw new Error(`the instance on port ${port} never became healthy`);
}

async function setUp(store: Store): Promise<string> {
  const now = new Date().toISOString();
  const project = await store.findProjectByName('shop');
  if (project === undefined) throw new Error('no project');
  const env = await store.ensureEnvironment(newEnvironmentRow({ id: `env-${randomBytes(6).toString('hex')}`, projectId: project.id, name: 'production', createdAt: now }));
  return env.id;
}

async function pointAt(store: Store, environmentId: string, projectId: string, deploymentId: string): Promise<{ releaseId: string; releaseNumber: number }> {
  const env = (await store.listEnvironments(projectId)).find((e) => e.id === environmentId);
  if (env === undefined) throw new Error('no environment');
  const release = newReleaseRow({
    id: `rel-${randomBytes(6).toString('hex')}`,
    projectId,
    environmentId,
    number: env.releaseNumber + 1,
    kind: 'promote',
    state: 'live',
    deploymentId,
    previousDeploymentId: env.deploymentId,
    replacesReleaseId: env.releaseId,
    reason: 'bench',
    forced: false,
    createdAt: new Date().toISOString(),
    createdBy: 'bench',
  });
  await store.insertRelease(release);
  await store.moveEnvironmentTo(environmentId, env.releaseNumber, { deploymentId, releaseId: release.id, releaseNumber: release.number, pin: null });
  return { releaseId: release.id, releaseNumber: release.number };
}

/** An agent row as the server sees an enrolled agent running the live release (the simulated rollout plays the agent's part). */
async function insertAgent(store: Store, projectId: string, environmentId: string, port: number, live: { releaseId: string; releaseNumber: number; deploymentId: string }): Promise<string> {
  const id = `agt-${randomBytes(6).toString('hex')}`;
  const tokenId = `tok-${randomBytes(6).toString('hex')}`;
  const now = new Date().toISOString();
  await store.insertToken({ id: tokenId, name: `agent ${id}`, role: 'agent', hash: randomBytes(32).toString('hex'), createdAt: now, createdBy: 'bench', lastUsedAt: null, revokedAt: null, userId: null, projectId, expiresAt: null, agentId: id });
  await store.insertAgent({
    id, projectId, environmentId, name: `host-${port}`, address: '127.0.0.1', port, version: 'bench', tokenId, state: 'idle',
    currentReleaseId: live.releaseId, currentDeploymentId: live.deploymentId, prepared: [live.deploymentId], healthy: true, pid: null, error: null, rotation: 'in', drainingSince: null,
    rev: 1, run: live, prepare: null, releasePhase: null, lastSeenAt: now, lostAt: null, enrolledAt: now, retiredAt: null,
  });
  return id;
}

interface RunResult {
  load: LoadResult;
  rolloutMs: number[];
  drainWaitMs: number[];
}

/** How instances leave rotation: the edge told at once, not told (a replica's view), or no drain at all (the control). */
type Drain = 'told' | 'replica' | 'none';

async function run(label: string, how: Drain, databaseUrl?: string): Promise<(string | number)[]> {
  const drain = how !== 'none';
  const minDrainMs = how === 'told' ? TOLD_DRAIN_MS : MIN_DRAIN_MS;
  const { server, client, dispose } = await benchServer(databaseUrl);
  const dir = await mkdtemp(join(tmpdir(), 'slipway-rolling-'));
  const instances: RunningInstance[] = [];
  let heartbeat: NodeJS.Timeout | undefined;
  try {
    await writeFile(join(dir, 'app.cjs'), APP);
    const store = server.deps.store;
    const { id: projectId } = await client.createProject('shop');
    const body = 'require("./app.cjs")';
    const digest = createHash('sha256').update(body).digest('hex');
    const upload = await client.createUpload('shop', { files: [{ path: 'start.js', sha256: digest, size: body.length, mode: 0o644 }], meta: { service: { start: 'node start.js' } } });
    if (upload.missing.length) await client.putBlob(digest, Buffer.from(body));
    const deployment = await client.finalizeUpload('shop', upload.id);
    const environmentId = await setUp(store);
    const live = { ...(await pointAt(store, environmentId, projectId, deployment.id)), deploymentId: deployment.id };
    for (let i = 0; i < INSTANCES; i++) {
      const port = await closedPort();
      const child = startApp(dir, port, 'v1');
      await untilHealthy(port);
      instances.push({ agentId: await insertAgent(store, projectId, environmentId, port, live), port, child });
    }
    // The agents' heartbeats: silent agents are marked lost and leave rotation.
    heartbeat = setInterval(() => {
      for (const instance of instances) void store.touchAgent(instance.agentId, new Date().toISOString());
    }, 1_000);
    // Baselines in the same run: the same load for a while with nothing deploying, straight to one instance and through the edge.
    const direct = await steadyFor({ port: instances[0]?.port ?? 0, hostHeader: 'direct' });
    const quiet = await steadyFor({ port: server.port, hostHeader: `shop.localhost:${server.port}` });
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const load = await startLoadProcess({ port: server.port, hostHeader: `shop.localhost:${server.port}`, rate: RATE });
    await sleep(1_000);
    const result: RunResult = { load: undefined as unknown as LoadResult, rolloutMs: [], drainWaitMs: [] };
    const inFlight = (agentId: string) => server.deps.instanceLoad?.inFlight(agentId) ?? 0;
    for (let deploy = 2; deploy < 2 + DEPLOYS; deploy++) {
      const began = performance.now();
      for (const instance of instances) {
        if (drain) {
          await store.setAgentRotation(instance.agentId, 'draining', new Date().toISOString());
          if (how === 'told') server.deps.routesChanged?.();
          const drainBegan = performance.now();
          while (performance.now() - drainBegan < DRAIN_MS && (performance.now() - drainBegan < minDrainMs || inFlight(instance.agentId) > 0)) await sleep(5);
          result.drainWaitMs.push(performance.now() - drainBegan);
        }
        await stopApp(instance.child);
        instance.child = startApp(dir, instance.port, `v${deploy}`);
        await untilHealthy(instance.port);
        if (drain) await store.setAgentRotation(instance.agentId, 'in', null);
      }
      result.rolloutMs.push(performance.now() - began);
      await sleep(500);
    }
    await sleep(500);
    result.load = await load.stop();
    loopDelay.disable();
    const { load: l } = result;
    // An answer of 500 or more came from the edge (or the app); anything else is the client's connection failing or timing out.
    const answeredFailed = Object.entries(l.byStatus).reduce((n, [status, count]) => (Number(status) >= 500 ? n + count : n), 0);
    if (l.failures.length > 0) console.error(`${label}: first failures`, l.failures.slice(0, 5));
    return [
      label,
      how === 'told' ? `drain (edge told, ≥ ${TOLD_DRAIN_MS} ms), then switch` : how === 'replica' ? `drain (edge not told, ≥ ${MIN_DRAIN_MS} ms), then switch` : 'control: switch without draining',
      RATE,
      l.sent,
      l.failed,
      `${answeredFailed} / ${l.failed - answeredFailed}`,
      `${fmt(percentile(l.latenciesMs, 50))} / ${fmt(percentile(l.latenciesMs, 99))}`,
      `${fmt(percentile(quiet.latenciesMs, 50))} / ${fmt(percentile(quiet.latenciesMs, 99))}`,
      `${fmt(percentile(direct.latenciesMs, 50))} / ${fmt(percentile(direct.latenciesMs, 99))}`,
      `${fmt(loopDelay.percentile(99) / 1e6)} / ${fmt(loopDelay.max / 1e6)}`,
      percentile(result.rolloutMs, 50) / 1000,
      result.drainWaitMs.length > 0 ? percentile(result.drainWaitMs, 50) : '–',
      Object.entries(l.byServer)
        .map(([v, n]) => `${v}: ${n}`)
        .join(', '),
    ];
  } finally {
    clearInterval(heartbeat);
    for (const instance of instances) await stopApp(instance.child);
    await dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The steady load for BENCH_BASELINE_S seconds (default 3). */
async function steadyFor(options: { port: number; hostHeader: string }): Promise<LoadResult> {
  const load = await startLoadProcess({ ...options, rate: RATE });
  await sleep(Number(process.env.BENCH_BASELINE_S ?? 3) * 1000);
  return load.stop();
}

function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}

const stopAll = () => {
  for (const child of children) child.kill('SIGKILL');
};
process.on('SIGINT', () => {
  stopAll();
  process.exit(130);
});

try {
  // BENCH_STORES=postgres (or sqlite) narrows the run.
  const stores = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',');
  const rows: (string | number)[][] = [];
  if (stores.includes('sqlite')) rows.push(await run('sqlite', 'told'), await run('sqlite', 'replica'), await run('sqlite', 'none'));
  if (stores.includes('postgres')) rows.push(await withPostgresDatabase((url) => run('postgres', 'replica', url)));
  console.log(`\n## Rolling deploy under load (${INSTANCES} instances, ${DEPLOYS} deploys, simulated rollout in process)\n`);
  console.log(
    table(
      ['store', 'switch', 'requests/s', 'requests', 'failed', '5xx / client errors', 'p50 / p99 ms', 'no deploy: p50 / p99 ms', 'straight to an instance: p50 / p99 ms', 'server event-loop delay p99 / max ms', 'one rolling deploy s (p50)', 'drain wait ms (p50)', 'answered by'],
      rows,
    ),
  );
} finally {
  stopAll();
}
