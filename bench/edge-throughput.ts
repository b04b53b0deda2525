/**
 * Edge throughput: nginx vs Slipway's edge serving the same 1 KB file, on the same machine,
 * with the same wrk connections and duration, in the same run. Loopback only.
 *
 *   node --import tsx bench/edge-throughput.ts
 *
 * Environment: BENCH_DURATION (seconds per measurement, default 10), BENCH_ROUNDS (default 3),
 * BENCH_WARMUP (seconds, default 2), BENCH_CONNECTIONS (default 50), BENCH_THREADS (default 2).
 *
 * The targets are measured in turn, round after round, so that a change in background load
 * hits them alike; the table shows medians over the rounds, and each ratio is taken within
 * one round before its median is.
 *
 * Installs nginx and wrk with apt-get when they are missing (it expects to run as root).
 * Every child process is stopped at the end, on failure, on Ctrl-C and when the run
 * overstays its time budget.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalManifest } from '../src/core/manifest.ts';
import { newEnvironmentRow, newReleaseRow } from '../src/store/store.ts';
import { benchServer, freePort } from './support.ts';

const duration = positive('BENCH_DURATION', 10);
const warmup = Number(process.env.BENCH_WARMUP ?? 2);
const connections = positive('BENCH_CONNECTIONS', 50);
const threads = positive('BENCH_THREADS', 2);
const rounds = positive('BENCH_ROUNDS', 3);
const FILE = 'kb.html';
const BODY = Buffer.from(`<!doctype html><title>1 KB</title><p>${'x'.repeat(1024)}`).subarray(0, 1024);
const NOW = new Date().toISOString();

function positive(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
}

interface WrkResult {
  requestsPerSecond: number;
  p50: string;
  p99: string;
  errors: string | undefined;
}

interface Target {
  name: string;
  port: number;
  host: string;
}

const children = new Set<ChildProcess>();
const cleanups: (() => Promise<void>)[] = [];

async function cleanup(): Promise<void> {
  for (const child of children) child.kill('SIGTERM');
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch (err) {
      console.error('cleanup failed:', err);
    }
  }
  cleanups.length = 0;
}

function ensureTools(): void {
  const missing = ['nginx', 'wrk'].filter((tool) => spawnSync('which', [tool]).status !== 0);
  if (missing.length === 0) return;
  console.error(`installing ${missing.join(' ')} with apt-get…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let install = spawnSync('apt-get', ['install', '-y', ...missing], { stdio: 'inherit', env, timeout: 300_000 });
  if (install.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env, timeout: 300_000 });
    install = spawnSync('apt-get', ['install', '-y', ...missing], { stdio: 'inherit', env, timeout: 300_000 });
  }
  if (install.status !== 0) throw new Error(`could not install ${missing.join(' ')}; install them and run again`);
}


function get(target: Target): Promise<{ status: number; length: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: target.port, path: `/${FILE}`, headers: { host: target.host }, timeout: 2000 }, (res) => {
      let length = 0;
      res.on('data', (chunk: Buffer) => (length += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, length }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Waits until the target answers 200 with the 1 KB body. */
async function waitReady(target: Target): Promise<void> {
  const deadline = Date.now() + 10_000;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const reply = await get(target);
      if (reply.status === 200 && reply.length === BODY.length) return;
      last = new Error(`status ${reply.status}, ${reply.length} bytes`);
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${target.name} did not become ready: ${String(last)}`);
}

async function startNginx(dir: string): Promise<Target> {
  const root = join(dir, 'www');
  await mkdir(root, { recursive: true });
  await writeFile(join(root, FILE), BODY);
  // nginx workers run as an unprivileged user when the master is root; they must read the tree.
  await chmod(dir, 0o755);
  await chmod(root, 0o755);
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  await writeFile(
    conf,
    `daemon off;
worker_processes auto;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types { text/html html; }
  default_type application/octet-stream;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`,
  );
  const child = spawn('nginx', ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf], { stdio: ['ignore', 'inherit', 'inherit'] });
  children.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => children.delete(child));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  const target = { name: 'nginx', port, host: `127.0.0.1:${port}` };
  await waitReady(target);
  return target;
}

/** Starts Slipway (startServer: control plane and edge on one port) and publishes the 1 KB file as project "bench". */
async function startSlipway(): Promise<{ deployment: Target; production: Target }> {
  const { server, dispose } = await benchServer();
  cleanups.push(dispose);
  const { store, blobs } = server.deps;
  const projectId = `prj-${randomBytes(8).toString('hex')}`;
  const deploymentId = `dpl-${randomBytes(8).toString('hex')}`;
  await store.insertProject({ id: projectId, name: 'bench', createdAt: NOW, createdBy: 'bench', repoUrl: null, webhookSecret: null });
  const entries = [{ path: FILE, sha256: await blobs.putBytes(BODY), size: BODY.length, mode: 0o644 }];
  const manifestDigest = await blobs.putBytes(Buffer.from(canonicalManifest(entries)));
  await store.insertDeployment({ id: deploymentId, projectId, manifestDigest, fileCount: 1, totalBytes: BODY.length, meta: {}, createdAt: NOW, createdBy: 'bench' });
  const env = await store.ensureEnvironment(newEnvironmentRow({ id: `env-${randomBytes(8).toString('hex')}`, projectId, name: 'production', createdAt: NOW }));
  const release = newReleaseRow({
    id: `rel-${randomBytes(8).toString('hex')}`,
    projectId,
    environmentId: env.id,
    number: 1,
    kind: 'promote',
    state: 'live',
    deploymentId,
    previousDeploymentId: null,
    replacesReleaseId: null,
    reason: null,
    forced: false,
    createdAt: NOW,
    createdBy: 'bench',
  });
  await store.insertRelease(release);
  await store.moveEnvironmentTo(env.id, 0, { deploymentId, releaseId: release.id, releaseNumber: release.number, pin: null });
  const deployment = { name: 'slipway edge, deployment URL', port: server.port, host: `${deploymentId}--bench.localhost:${server.port}` };
  const production = { name: 'slipway edge, production URL', port: server.port, host: `bench.localhost:${server.port}` };
  await waitReady(deployment);
  await waitReady(production);
  return { deployment, production };
}

function wrk(target: Target, seconds: number): Promise<WrkResult> {
  const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--latency', '-H', `Host: ${target.host}`, `http://127.0.0.1:${target.port}/${FILE}`];
  return new Promise((resolve, reject) => {
    const child = execFile('wrk', args, { timeout: (seconds + 30) * 1000 }, (err, stdout) => {
      children.delete(child);
      if (err) return reject(new Error(`wrk against ${target.name} failed: ${err.message}`));
      const rps = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
      if (!rps?.[1]) return reject(new Error(`cannot read wrk output:\n${stdout}`));
      const errors = [/Non-2xx or 3xx responses: \d+/.exec(stdout)?.[0], /Socket errors:.*/.exec(stdout)?.[0]].filter((x) => x !== undefined);
      resolve({
        requestsPerSecond: Number(rps[1]),
        p50: /^\s+50%\s+(\S+)/m.exec(stdout)?.[1] ?? '?',
        p99: /^\s+99%\s+(\S+)/m.exec(stdout)?.[1] ?? '?',
        errors: errors.length > 0 ? errors.join('; ') : undefined,
      });
    });
    children.add(child);
  });
}

async function main(): Promise<void> {
  ensureTools();
  const dir = await mkdtemp(join(tmpdir(), 'slipway-bench-edge-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const nginx = await startNginx(dir);
  const slipway = await startSlipway();
  const targets = [nginx, slipway.deployment, slipway.production];
  if (warmup > 0) {
    for (const target of targets) {
      console.error(`${target.name}: warm-up ${warmup}s`);
      await wrk(target, warmup);
    }
  }
  const runs: WrkResult[][] = targets.map(() => []);
  for (let round = 1; round <= rounds; round++) {
    for (const [i, target] of targets.entries()) {
      console.error(`round ${round}/${rounds}: ${target.name}, ${duration}s`);
      runs[i]?.push(await wrk(target, duration));
    }
  }
  const nginxRuns = runs[0] ?? [];
  const rows = targets.map((target, i) => {
    const mine = runs[i] ?? [];
    const byRps = [...mine].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
    const typical = byRps[Math.floor((byRps.length - 1) / 2)];
    const ratios = mine.map((r, round) => r.requestsPerSecond / (nginxRuns[round]?.requestsPerSecond ?? NaN));
    return { target, typical, ratio: median(ratios), low: Math.min(...ratios), high: Math.max(...ratios), errors: mine.map((r) => r.errors).filter((e) => e !== undefined) };
  });
  const lines = [
    `Edge throughput: 1 KB file, wrk -t${threads} -c${connections} -d${duration}s --latency, loopback; median of ${rounds} interleaved round(s)`,
    '',
    '| server | requests/s | p50 | p99 | vs nginx | range |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(({ target, typical, ratio, low, high }) =>
      typical === undefined
        ? `| ${target.name} | – | – | – | – | – |`
        : `| ${target.name} | ${Math.round(typical.requestsPerSecond).toLocaleString('en-US')} | ${typical.p50} | ${typical.p99} | ${ratio.toFixed(2)}× | ${low.toFixed(2)}–${high.toFixed(2)}× |`,
    ),
  ];
  console.log(lines.join('\n'));
  for (const row of rows) for (const e of row.errors) console.log(`\nwarning: ${row.target.name}: ${e}`);
  const worst = Math.min(...rows.slice(1).map((r) => r.ratio));
  console.log(`\ntarget: ≥ 0.50× nginx; lowest edge ratio ${worst.toFixed(2)}× → ${worst >= 0.5 ? 'met' : 'NOT met'}`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

// A run that overstays its budget is stuck: stop everything rather than hang.
const budget = setTimeout(
  () => {
    console.error('benchmark exceeded its time budget; stopping');
    void cleanup().finally(() => process.exit(1));
  },
  (3 * (rounds * duration + warmup) + 40 * (rounds + 1) + 420) * 1000,
);
budget.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cleanup().finally(() => process.exit(130)));
}

try {
  await main();
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await cleanup();
  clearTimeout(budget);
}
