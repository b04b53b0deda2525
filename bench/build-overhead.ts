// Slipway's overhead around a build, for a 1,000-file output pushed with the real git client
// to Slipway's own git server and built by the in-process runner:
//   push received (build queued) → build command starts, and
//   build command ends → preview URL serves the new deployment.
// Baseline in the same run: the build command's own duration (it writes the 1,000 files).
// Target (issue): < 1 s each.   node --import tsx bench/build-overhead.ts  (BENCH_ROUNDS=5)
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServer } from '../src/server/server.ts';
import { SlipwayClient } from '../src/protocol/client.ts';
import { percentile, table } from './support.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** Pause before each push of the idle-server rounds, after its background work finished. */
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 2000);
const TOKEN = 'slw_bench_admin_token';
const run = promisify(execFile);

function status(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/f/0.txt', headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const dir = await mkdtemp(join(tmpdir(), 'slipway-bench-build-'));
const server = await startServer({ dataDir: join(dir, 'data'), port: 0, adminToken: TOKEN, quiet: true, runners: 1 });
const client = new SlipwayClient({ url: `http://127.0.0.1:${server.port}`, token: TOKEN });
try {
  await client.createProject('site');
  const repo = join(dir, 'repo');
  const git = (...args: string[]) => run('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.test', ...args], { cwd: repo });
  await run('git', ['init', '-q', '-b', 'main', repo]);
  let round = 0;
  /** One push, built and live; returns its three times. */
  const measure = async (): Promise<{ command: number; queuedToStart: number; endToLive: number }> => {
    round += 1;
    await writeFile(
      join(repo, 'slipway.yaml'),
      `build:\n  command: "echo start; mkdir -p out/f; for i in $(seq 0 999); do echo round-${round}-$i > out/f/$i.txt; done; echo end"\n  output: out\n`,
    );
    await git('add', '-A');
    await git('commit', '-q', '-m', `round ${round}`);
    const head = (await git('rev-parse', 'HEAD')).stdout.trim();
    // The preview URL is polled while `git push` runs: the push itself stays open, printing the
    // build's progress, until the build ends (as it does for a user).
    const host = `preview-main--site.localhost:${server.port}`;
    const polling = (async () => {
      for (let i = 0; i < 12_000; i++) {
        const answer = await status(server.port, host);
        if (answer.status === 200 && answer.body.startsWith(`round-${round}-`)) return Date.now();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return 0;
    })();
    await run('git', ['push', '-q', `http://bench:${TOKEN}@127.0.0.1:${server.port}/git/site.git`, 'main'], { cwd: repo });
    const live = await polling;
    const build = (await client.listBuilds('site')).builds.find((b) => b.commit === head);
    if (!build || live === 0) throw new Error(`round ${round}: the build did not go live (${build?.state ?? 'no build'} ${build?.error ?? ''})`);
    const lines = (await client.getBuildLogs('site', build.id)).lines;
    const start = lines.find((l) => l.text === 'start');
    const end = lines.find((l) => l.text === 'end');
    if (!start || !end) throw new Error('build log lacks its start/end lines');
    return {
      command: Date.parse(end.at) - Date.parse(start.at),
      queuedToStart: Date.parse(start.at) - Date.parse(build.createdAt),
      endToLive: live - Date.parse(end.at),
    };
  };

  // Pushes minutes apart find the server idle; pushes back to back land on the previous
  // build's background work (its blobs settling into files, its temp dir being removed).
  const modes = { 'one push at a time (server idle)': [] as Awaited<ReturnType<typeof measure>>[], 'back to back': [] as Awaited<ReturnType<typeof measure>>[] };
  for (let i = 0; i < ROUNDS; i++) {
    await server.deps.blobs.flush();
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    modes['one push at a time (server idle)'].push(await measure());
  }
  for (let i = 0; i < ROUNDS; i++) modes['back to back'].push(await measure());

  const rows: (string | number)[][] = [];
  for (const [mode, runs] of Object.entries(modes)) {
    const command = runs.map((r) => r.command);
    const base = percentile(command, 50);
    rows.push([mode, 'build command itself (baseline)', base, Math.max(...command), 1]);
    for (const [label, key] of [
      ['push received → command starts', 'queuedToStart'],
      ['command ends → preview URL live', 'endToLive'],
    ] as const) {
      const values = runs.map((r) => r[key]);
      rows.push([mode, label, percentile(values, 50), Math.max(...values), percentile(values, 50) / base]);
    }
  }
  console.log(`\n## Overhead around a build (1,000-file output, ${ROUNDS} rounds each, ms)\n`);
  console.log(table(['pushes', 'step', 'p50', 'max', 'ratio p50 / build command p50'], rows));
  console.log('\nTarget: < 1,000 ms for each overhead step. Times come from the server clock (build created, log line timestamps) and the bench polling the preview URL every 5 ms from before the push starts.');
} finally {
  await server.close();
  await rm(dir, { recursive: true, force: true });
}
