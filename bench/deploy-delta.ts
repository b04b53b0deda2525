// Redeploys that send only what changed, next to rsync: a site of 5,000 (and 50,000) files is
// deployed with the real CLI (`bin/slipway`; run `npm run build:server` first, or the CLI and the
// server run from the sources through tsx) to a `slipway server` process, then deployed again
// unchanged, after a 1-file change and after a 50-file change; after each step `rsync -a --stats`
// pushes the same tree to an `rsync --daemon` on loopback. Both talk through a TCP proxy that
// counts every byte each way (HTTP bodies and headers, or rsync's protocol). Baseline in the same
// run: rsync.
//   node --import tsx bench/deploy-delta.ts      BENCH_SIZES=5000,50000 BENCH_ROUNDS=3
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { SlipwayClient } from '../src/protocol/client.ts';
import { BENCH_TOKEN, countingProxy, freePort, percentile, table } from './support.ts';

const SIZES = (process.env.BENCH_SIZES ?? '5000,50000').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const run = promisify(execFile);
const bin = new URL('../bin/slipway', import.meta.url).pathname;
const compiled = existsSync(new URL('../dist/.built', import.meta.url));

interface Step {
  sent: number;
  received: number;
  ms: number;
}

const median = (values: number[]): number => percentile(values, 50);


async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createServer().listen(port, '127.0.0.1');
      socket.once('listening', () => socket.close(() => resolve(false)));
      socket.once('error', () => resolve(true));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${port}`);
}

/** An rsync daemon with one writable module `site` in `dir`, as a child process (stopped by the caller). */
async function rsyncDaemon(dir: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const port = await freePort();
  await mkdir(join(dir, 'dest'), { recursive: true });
  const config = join(dir, 'rsyncd.conf');
  const ids = process.getuid?.() === 0 ? 'uid = root\ngid = root\n' : '';
  await writeFile(config, `port = ${port}\naddress = 127.0.0.1\nuse chroot = no\npid file = ${join(dir, 'rsyncd.pid')}\nlog file = ${join(dir, 'rsyncd.log')}\n${ids}[site]\n  path = ${join(dir, 'dest')}\n  read only = no\n`);
  const child = spawn('rsync', ['--daemon', '--no-detach', `--config=${config}`], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort(port);
  return {
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * `slipway server` as its own process, as people run it (the compiled build when current): in
 * this process a large base's worker thread would load the sources through tsx first.
 */
async function serverProcess(data: string): Promise<{ port: number; client: SlipwayClient; dispose: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [bin, 'server', '--port', String(port), '--host', '127.0.0.1', '--data', data], {
    env: { ...process.env, SLIPWAY_ADMIN_TOKEN: BENCH_TOKEN },
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort(port);
  return {
    port,
    client: new SlipwayClient({ url: `http://127.0.0.1:${port}`, token: BENCH_TOKEN }),
    dispose: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function page(i: number, edit: number): string {
  return `<!doctype html><title>page ${i}${edit ? `, edit ${edit}` : ''}</title><p>${randomBytes(600 + (i % 1400)).toString('base64')}</p>\n`;
}

async function benchSize(files: number, startMs: number): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'slipway-bench-delta-'));
  const { port, client, dispose } = await serverProcess(join(work, 'data'));
  const proxy = await countingProxy(port);
  const daemon = await rsyncDaemon(join(work, 'rsync'));
  const rsyncProxy = await countingProxy(daemon.port);
  try {
    await client.createProject('site');
    const site = join(work, 'site');
    const pathOf = (i: number): string => join(site, `section-${i % 50}`, `page-${i}.html`);
    let siteBytes = 0;
    for (let i = 0; i < files; i++) {
      await mkdir(dirname(pathOf(i)), { recursive: true });
      const body = page(i, 0);
      siteBytes += Buffer.byteLength(body);
      await writeFile(pathOf(i), body);
    }
    // The hash cache trusts a file only once its times are 2 s in the past (a write within the
    // same timestamp tick would not show): a build output is usually older than that.
    await sleep(2_100);

    const home = join(work, 'home');
    const slipway = async (): Promise<Step & { hashed: number; delta: boolean }> => {
      proxy.reset();
      const started = performance.now();
      const { stdout } = await run(process.execPath, [bin, 'deploy', site, '--project', 'site', '--json'], {
        env: { PATH: process.env.PATH, HOME: home, SLIPWAY_URL: `http://127.0.0.1:${proxy.port}`, SLIPWAY_TOKEN: BENCH_TOKEN },
        maxBuffer: 256 * 1024 * 1024,
      });
      const ms = performance.now() - started;
      const answer = JSON.parse(stdout) as { upload: { hashed: number; delta: unknown } };
      return { sent: proxy.sent(), received: proxy.received(), ms, hashed: answer.upload.hashed, delta: answer.upload.delta !== null };
    };
    const rsync = async (): Promise<Step> => {
      rsyncProxy.reset();
      const started = performance.now();
      await run('rsync', ['-a', '--stats', `${site}/`, `rsync://127.0.0.1:${rsyncProxy.port}/site/`], { maxBuffer: 64 * 1024 * 1024 });
      const ms = performance.now() - started;
      return { sent: rsyncProxy.sent(), received: rsyncProxy.received(), ms };
    };
    let edit = 0;
    const change = async (count: number): Promise<void> => {
      edit += 1;
      for (let k = 0; k < count; k++) {
        const i = (edit * 7919 + k * 97) % files;
        await writeFile(pathOf(i), page(i, edit));
      }
    };

    const rows: (string | number)[][] = [];
    const add = (what: string, s: Step[], r: Step[]): void => {
      const sSent = median(s.map((x) => x.sent));
      const rSent = median(r.map((x) => x.sent));
      const sMs = median(s.map((x) => x.ms));
      const rMs = median(r.map((x) => x.ms));
      rows.push([what, sSent, median(s.map((x) => x.received)), sMs, Math.max(0, sMs - startMs), rSent, median(r.map((x) => x.received)), rMs, sSent / rSent, sMs / rMs]);
    };

    const first = await slipway();
    add('first deploy (full)', [first], [await rsync()]);
    const steps: Record<string, { s: Step[]; r: Step[] }> = { unchanged: { s: [], r: [] }, one: { s: [], r: [] }, fifty: { s: [], r: [] } };
    for (let round = 0; round < ROUNDS; round++) {
      const unchanged = await slipway();
      if (!unchanged.delta) throw new Error('the unchanged redeploy did not send a delta');
      steps.unchanged?.s.push(unchanged);
      steps.unchanged?.r.push(await rsync());
      await change(1);
      steps.one?.s.push(await slipway());
      steps.one?.r.push(await rsync());
      await change(50);
      steps.fifty?.s.push(await slipway());
      steps.fifty?.r.push(await rsync());
    }
    add('unchanged redeploy', steps.unchanged?.s ?? [], steps.unchanged?.r ?? []);
    add('1-file change', steps.one?.s ?? [], steps.one?.r ?? []);
    add('50-file change', steps.fifty?.s ?? [], steps.fifty?.r ?? []);

    console.log(`\n## ${files.toLocaleString('en-US')} files (${(siteBytes / 1e6).toFixed(1)} MB), medians of ${ROUNDS} rounds\n`);
    console.log(
      table(
        ['step', 'slipway sent B', 'slipway received B', 'slipway wall ms', 'minus CLI start ms', 'rsync sent B', 'rsync received B', 'rsync wall ms', 'sent vs rsync', 'wall vs rsync'],
        rows,
      ),
    );
  } finally {
    await daemon.stop();
    await rsyncProxy.close();
    await proxy.close();
    await dispose();
    await rm(work, { recursive: true, force: true });
  }
}

try {
  await run('rsync', ['--version']);
} catch {
  console.error('bench/deploy-delta.ts compares with rsync: install it first (apt-get install -y rsync)');
  process.exit(1);
}

// Process start of the CLI measured in the same run, so that the deploy's own work shows apart.
const starts: number[] = [];
for (let i = 0; i < 11; i++) {
  const started = performance.now();
  await run(process.execPath, [bin, '--version']);
  starts.push(performance.now() - started);
}
const startMs = median(starts);
console.log(
  `\nCLI: ${compiled ? 'compiled (dist/)' : 'sources through tsx (run `npm run build:server` for the compiled CLI)'}; \`slipway --version\` median ${startMs.toFixed(0)} ms; ` +
    `${availableParallelism()} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
);
for (const files of SIZES) await benchSize(files, startMs);
