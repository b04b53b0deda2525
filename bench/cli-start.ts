// How fast `slipway` starts: `--version` and `status` of the packaged CLI next to `git --version`,
// Node's own start (`node -e 0`) and the TypeScript-loader start the CLI had before it was
// compiled (the sources through tsx, SLIPWAY_FROM_SOURCE=1); then the server from start to
// listening, the same ways and through `npm start`. Medians of repeated runs in one run, with
// hyperfine when it is installed (`apt-get install -y hyperfine`), else a loop of spawns.
//
//   node --import tsx bench/cli-start.ts          (or: npm run bench -- cli-start)
//   BENCH_RUNS=30 BENCH_ROUNDS=5 node --import tsx bench/cli-start.ts
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_TOKEN, table } from './support.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function hasHyperfine(): boolean {
  return spawnSync('hyperfine', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A package as `npm install -g` lays it out (bin/, dist/, package.json, node_modules; no src/). */
function packageLayout(): string {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-bench-pkg-'));
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(root, 'bin', 'slipway'), join(dir, 'bin', 'slipway'));
  copyFileSync(join(root, 'bin', 'start.mjs'), join(dir, 'bin', 'start.mjs'));
  copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
  for (const name of ['dist', 'node_modules', 'web']) symlinkSync(join(root, name), join(dir, name));
  return dir;
}

interface Case {
  name: string;
  argv: string[];
  env?: Record<string, string>;
}

/** Median wall time (ms) of each case, and its peak RSS (MB) in one run under /usr/bin/time. */
function timeCommands(cases: Case[], env: Record<string, string>): { median: number; rssMb: number | undefined }[] {
  const medians: number[] = [];
  if (hasHyperfine()) {
    const out = join(mkdtempSync(join(tmpdir(), 'slipway-bench-hf-')), 'out.json');
    const commands = cases.map((c) => [...(c.env ? ['env', ...Object.entries(c.env).map(([k, v]) => `${k}=${v}`)] : []), ...c.argv].join(' '));
    const result = spawnSync('hyperfine', ['-N', '--warmup', '3', '--runs', String(RUNS), '--export-json', out, ...commands], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (result.status !== 0) throw new Error('hyperfine failed');
    const json = JSON.parse(spawnSync('cat', [out], { encoding: 'utf8' }).stdout) as { results: { median: number }[] };
    for (const r of json.results) medians.push(r.median * 1000);
  } else {
    const times: number[][] = cases.map(() => []);
    for (let run = 0; run < RUNS + 3; run++) {
      cases.forEach((c, i) => {
        const t0 = performance.now();
        spawnSync(c.argv[0]!, c.argv.slice(1), { cwd: root, env: { ...process.env, ...env, ...c.env }, stdio: 'ignore' });
        if (run >= 3) times[i]!.push(performance.now() - t0);
      });
    }
    medians.push(...times.map(median));
  }
  return cases.map((c, i) => {
    const timed = spawnSync('/usr/bin/time', ['-f', '%M', ...c.argv], { cwd: root, env: { ...process.env, ...env, ...c.env }, encoding: 'utf8' });
    const kb = Number(timed.stderr.trim().split('\n').at(-1));
    return { median: medians[i]!, rssMb: Number.isFinite(kb) && kb > 0 ? kb / 1024 : undefined };
  });
}

/** Starts `slipway server` one way; resolves once it printed its URL (ms since the spawn). */
async function startChild(argv: string[], env: Record<string, string>, dataDir: string): Promise<{ port: number; listening: number; stop: () => Promise<void> }> {
  const t0 = performance.now();
  const child = spawn(argv[0]!, [...argv.slice(1), '--port', '0', '--data', dataDir, '--log-level', 'warn', '--json'], {
    cwd: root,
    env: { ...process.env, ...env, SLIPWAY_ADMIN_TOKEN: BENCH_TOKEN },
    stdio: ['ignore', 'pipe', 'ignore'],
    detached: true,
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // npm start runs the server under npm and a shell: stop the whole process group.
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
  };
  try {
    const started = await new Promise<{ port: number; listening: number }>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve({ port: (JSON.parse(line) as { port: number }).port, listening: performance.now() - t0 });
      });
      child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited with ${code}: ${out}`)));
    });
    return { ...started, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Starts a server one way; ms until it printed its URL, and until /healthz answered. */
async function serverStart(argv: string[], env: Record<string, string>, dataDir: string): Promise<{ listening: number; healthy: number }> {
  const t0 = performance.now();
  const child = await startChild(argv, env, dataDir);
  try {
    const health = await fetch(`http://127.0.0.1:${child.port}/healthz`);
    if (health.status !== 200) throw new Error(`healthz ${health.status}`);
    return { listening: child.listening, healthy: performance.now() - t0 };
  } finally {
    await child.stop();
  }
}

const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
if (build.status !== 0) throw new Error('npm run build:server failed');
const pkg = packageLayout();
// The server `status` asks runs in its own process: hyperfine blocks this one while it measures.
const statusData = mkdtempSync(join(tmpdir(), 'slipway-bench-status-'));
const statusServer = await startChild([process.execPath, join(pkg, 'bin', 'slipway'), 'server'], {}, statusData);
const serverEnv = { SLIPWAY_URL: `http://127.0.0.1:${statusServer.port}`, SLIPWAY_TOKEN: BENCH_TOKEN, SLIPWAY_PROJECT: 'bench', HOME: tmpdir() };
await fetch(`http://127.0.0.1:${statusServer.port}/api/v1/projects`, {
  method: 'POST',
  headers: { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'application/json' },
  body: JSON.stringify({ name: 'bench' }),
});
const nodeVersion = process.version;
const gitVersion = spawnSync('git', ['--version'], { encoding: 'utf8' }).stdout.trim();

try {
  const node = process.execPath;
  const packaged = join(pkg, 'bin', 'slipway');
  const checkout = join(root, 'bin', 'slipway');
  const source = { SLIPWAY_FROM_SOURCE: '1' };
  const cases: Case[] = [
    { name: '`git --version`', argv: ['git', '--version'] },
    { name: '`node -e 0` (Node alone)', argv: [node, '-e', '0'] },
    { name: '`slipway --version`, installed package', argv: [node, packaged, '--version'] },
    { name: '`slipway --version`, checkout (bin/slipway)', argv: [node, checkout, '--version'] },
    { name: '`slipway --version`, TypeScript loader (before)', argv: [node, checkout, '--version'], env: source },
    { name: '`slipway status`, installed package', argv: [node, packaged, 'status'] },
    { name: '`slipway status`, TypeScript loader (before)', argv: [node, checkout, 'status'], env: source },
  ];
  const results = timeCommands(cases, serverEnv);
  const base = results[1]!.median;
  console.log(`\nCLI start (${hasHyperfine() ? 'hyperfine' : 'spawn loop'}, median of ${RUNS} runs; ${nodeVersion}, ${gitVersion})\n`);
  console.log(
    table(
      ['command', 'median', 'vs node -e 0', 'peak RSS'],
      cases.map((c, i) => [c.name, `${results[i]!.median.toFixed(1)} ms`, `${(results[i]!.median / base).toFixed(2)}×`, results[i]!.rssMb === undefined ? '–' : `${results[i]!.rssMb.toFixed(0)} MB`]),
    ),
  );

  const ways: { name: string; argv: string[]; env?: Record<string, string> }[] = [
    { name: 'installed package (`slipway server`)', argv: [node, packaged, 'server'] },
    { name: '`npm start` in a checkout', argv: ['npm', 'start', '--silent', '--'] },
    { name: 'compiled, one file per module (no bundle)', argv: [node, join(root, 'dist', 'cli', 'main.js'), 'server'] },
    { name: 'TypeScript loader (before)', argv: [node, checkout, 'server'], env: source },
  ];
  const fresh = ways.map(() => [] as number[]);
  const again = ways.map(() => [] as number[]);
  const healthy = ways.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, way] of ways.entries()) {
      const dataDir = mkdtempSync(join(tmpdir(), 'slipway-bench-start-'));
      try {
        fresh[i]!.push((await serverStart(way.argv, way.env ?? {}, dataDir)).listening);
        const second = await serverStart(way.argv, way.env ?? {}, dataDir);
        again[i]!.push(second.listening);
        healthy[i]!.push(second.healthy);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  }
  const before = median(again[3]!);
  console.log(`\nServer start to listening (median of ${ROUNDS} rounds, ways interleaved; SQLite)\n`);
  console.log(
    table(
      ['server', 'new data dir', 'existing data dir', '/healthz answered', 'vs before'],
      ways.map((w, i) => [w.name, `${median(fresh[i]!).toFixed(0)} ms`, `${median(again[i]!).toFixed(0)} ms`, `${median(healthy[i]!).toFixed(0)} ms`, `${(median(again[i]!) / before).toFixed(2)}×`]),
    ),
  );
} finally {
  await statusServer.stop();
  rmSync(statusData, { recursive: true, force: true });
  rmSync(pkg, { recursive: true, force: true });
}

