// Host rollback with the previous release on disk: from `slipway rollback`'s API call to the
// instance answering healthy on the old release, with one real agent (`bin/slipway agent`) and
// the end-to-end suite's service (test/fixtures/e2e-service). Baseline in the same run: the
// app's own start — `node server.mjs` spawned in a copy of its release until its health path
// answers 200. Target (issue): rollback ≤ 1 s plus the app's start.
//   node --import tsx bench/agent-rollback.ts   (BENCH_ROUNDS=5 by default)
import { spawn, execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { AgentView, Enrollment } from '../src/protocol/agents.ts';
import { SlipwayClient } from '../src/protocol/client.ts';
import { startServer } from '../src/server/server.ts';
import { freePort, killUnder } from '../test/support/agent-process.ts';
import { BENCH_TOKEN, percentile, table } from './support.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BIN = fileURLToPath(new URL('../bin/slipway', import.meta.url));
const APP = fileURLToPath(new URL('../test/fixtures/e2e-service', import.meta.url));

/** GET /healthz on the instance's port: the x-served-by header (`<VERSION>@<port>`) of a 200, else undefined. */
function probe(port: number, path = '/healthz'): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? String(res.headers['x-served-by']) : undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000, every = 5): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}

function cli(env: Record<string, string>, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), ...env } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`slipway ${args.join(' ')}: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

async function appDir(base: string, version: string): Promise<string> {
  const dir = join(base, `app-${version}`);
  await cp(APP, dir, { recursive: true });
  await writeFile(join(dir, 'VERSION'), `${version}\n`);
  return dir;
}

/** The app alone: spawn → health path answers 200, in a copy of its directory. */
async function appStart(dir: string): Promise<number> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, ['server.mjs'], { cwd: dir, env: { PATH: process.env.PATH ?? '', PORT: String(port) }, stdio: 'ignore' });
  try {
    await until('the app to answer', () => probe(port), 30_000, 5);
    return performance.now() - t0;
  } finally {
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

const base = await mkdtemp(join(tmpdir(), 'slipway-bench-agent-'));
const agentDir = join(base, 'agent');
await mkdir(agentDir);
const server = await startServer({ dataDir: join(base, 'data'), port: 0, adminToken: BENCH_TOKEN, quiet: true, runners: 0, agentHeartbeatMs: 5_000 });
const url = `http://127.0.0.1:${server.port}`;
const env = { SLIPWAY_URL: url, SLIPWAY_TOKEN: BENCH_TOKEN };
const client = new SlipwayClient({ url, token: BENCH_TOKEN });
let agent: ReturnType<typeof spawn> | undefined;
try {
  await client.createProject('shop');
  const [one, two] = [await appDir(base, '1'), await appDir(base, '2')];
  const deploy = async (dir: string) => (JSON.parse(await cli(env, ['deploy', dir, '--project', 'shop', '--no-cache', '--json'])) as { id: string }).id;
  const a = await deploy(one);
  const b = await deploy(two);
  const enrollment = await client.request<Enrollment>('POST', '/api/v1/projects/shop/environments/production/agents/enrollments', { body: {} });
  const port = await freePort();
  agent = spawn(process.execPath, [BIN, 'agent', '--server', url, '--token', enrollment.token, '--dir', agentDir, '--port', String(port), '--address', '127.0.0.1', '--name', 'bench-host'], {
    env: { PATH: process.env.PATH ?? '', HOME: agentDir },
    stdio: 'ignore',
  });
  const view = async () => (await client.request<{ agents: AgentView[] }>('GET', '/api/v1/projects/shop/agents')).agents[0];
  const healthyOn = (deployment: string) => until(`the instance healthy on ${deployment}`, async () => {
    const v = await view();
    return v?.current?.deploymentId === deployment && v.healthy && v.rotation === 'in' ? v : undefined;
  }, 120_000, 10);

  await client.promote('shop', 'production', { deployment: a, reason: 'bench' });
  await healthyOn(a);

  const baseline: number[] = [];
  const call: number[] = [];
  const answering: number[] = [];
  const reported: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    baseline.push(await appStart(one));
    await client.promote('shop', 'production', { deployment: b, reason: 'bench' });
    await healthyOn(b);
    await until('version 2 to answer', async () => ((await probe(port)) === `2@${port}` ? true : undefined));
    const t0 = performance.now();
    await client.rollback('shop', 'production', { reason: 'bench' });
    call.push(performance.now() - t0);
    await until('version 1 to answer healthy', async () => ((await probe(port)) === `1@${port}` ? true : undefined), 60_000, 2);
    answering.push(performance.now() - t0);
    await healthyOn(a);
    reported.push(performance.now() - t0);
  }
  const p50 = (xs: number[]) => percentile(xs, 50);
  console.log(`\n## Host rollback with the previous release on disk (${ROUNDS} rounds, ms, one agent, SQLite)\n`);
  console.log(
    table(
      ['what', 'p50', 'max', 'p50 minus app start p50'],
      [
        ['app start alone (baseline: spawn → /healthz 200)', p50(baseline), Math.max(...baseline), 0],
        ['rollback API call', p50(call), Math.max(...call), '—'],
        ['call → old release answers /healthz on the host', p50(answering), Math.max(...answering), p50(answering) - p50(baseline)],
        ['call → server sees it healthy and in rotation', p50(reported), Math.max(...reported), p50(reported) - p50(baseline)],
      ],
    ),
  );
  console.log('\nTarget: call → old release answers healthy ≤ 1,000 ms plus the app start. The rollout drains the instance first (at least 500 ms, the edge\'s routing cache) before it switches.');
} finally {
  if (agent && agent.exitCode === null) {
    agent.kill('SIGTERM');
    await Promise.race([new Promise((resolve) => agent?.once('exit', resolve)), sleep(10_000)]);
  }
  killUnder(agentDir);
  await server.close();
  await rm(base, { recursive: true, force: true });
}
