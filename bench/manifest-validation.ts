// Edge latency while a 100,000-file manifest is uploaded: validation runs on a worker thread,
// so requests keep being answered. Prints one markdown table; see bench/README.md.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { prepareUploadRequest } from '../src/server/http/upload-request.ts';
import { defaultManifestLimits } from '../src/core/manifest.ts';
import { sha256 } from '../test/support/server.ts';
import { BENCH_TOKEN, benchServer, percentile, table } from './support.ts';

const FILES = Number(process.env.BENCH_FILES ?? 100_000);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE ?? 3);

const { server, client, dispose } = await benchServer();
try {
  await client.createProject('bench');
  const body = '<h1>bench</h1>';
  const upload = await client.createUpload('bench', { files: [{ path: 'index.html', sha256: sha256(body), size: body.length, mode: 0o644 }] });
  for (const digest of upload.missing) await client.putBlob(digest, Buffer.from(body));
  const deployment = await client.finalizeUpload('bench', upload.id);
  const host = new URL(deployment.url).host;

  // Built before anything is measured: the client's own JSON.stringify would block this process too.
  const manifest = Buffer.from(
    JSON.stringify({
      files: Array.from({ length: FILES }, (_, i) => ({
        path: `assets/chunk-${i % 500}/module-${i}-${'abcdef0123456789'.repeat(4)}.js`,
        sha256: sha256(`file ${i}`),
        size: 100 + (i % 1000),
        mode: 0o644,
      })),
    }),
  );

  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const get = () =>
    new Promise<number>((resolve, reject) => {
      const start = performance.now();
      const req = request({ host: '127.0.0.1', port: server.port, path: '/', headers: { host }, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(performance.now() - start));
      });
      req.on('error', reject);
      req.end();
    });

  /** Edge GETs back to back on 4 connections until `done` resolves; their latencies and the event loop's delay. */
  async function measure(done: Promise<unknown>): Promise<{ latencies: number[]; loopP99: number; loopMax: number; seconds: number }> {
    const latencies: number[] = [];
    const loop = monitorEventLoopDelay({ resolution: 5 });
    let finished = false;
    void done.finally(() => {
      finished = true;
    });
    const start = performance.now();
    loop.enable();
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!finished) latencies.push(await get());
      }),
    );
    loop.disable();
    return { latencies, loopP99: loop.percentile(99) / 1e6, loopMax: loop.max / 1e6, seconds: (performance.now() - start) / 1000 };
  }

  for (let i = 0; i < 200; i++) await get(); // warm-up
  const idle = await measure(new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000)));
  // The upload comes from another process, as it would: only the server's work is on this event loop.
  const bodyFile = join(await mkdtemp(join(tmpdir(), 'slipway-bench-manifest-')), 'manifest.json');
  await writeFile(bodyFile, manifest);
  const uploader = `
    const body = require('node:fs').readFileSync(process.argv[1]);
    fetch(process.argv[2], { method: 'POST', headers: { authorization: 'Bearer ${BENCH_TOKEN}', 'content-type': 'application/json' }, body })
      .then(async (res) => { const text = await res.text(); if (res.status !== 201) { console.error(res.status, text.slice(0, 300)); process.exit(1); }
        const n = JSON.parse(text).missing.length; if (n !== ${FILES}) { console.error('missing', n); process.exit(1); } });`;
  const uploading = await measure(
    new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', uploader, bodyFile, `http://127.0.0.1:${server.port}/api/v1/projects/bench/uploads`], { stdio: 'inherit' });
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the upload failed (exit ${code})`))));
    }),
  );
  await rm(dirname(bodyFile), { recursive: true, force: true });
  // What the event loop would be held for if the same body were validated on it.
  const t0 = performance.now();
  prepareUploadRequest(manifest, defaultManifestLimits);
  const inline = performance.now() - t0;
  agent.destroy();

  const row = (name: string, m: Awaited<ReturnType<typeof measure>>) => [
    name,
    m.seconds,
    m.latencies.length,
    `${percentile(m.latencies, 50).toFixed(2)} ms`,
    `${percentile(m.latencies, 99).toFixed(2)} ms`,
    `${Math.max(...m.latencies).toFixed(1)} ms`,
    `${m.loopP99.toFixed(1)} ms`,
    `${m.loopMax.toFixed(1)} ms`,
  ];
  console.log(`manifest: ${FILES.toLocaleString('en-US')} files, ${(manifest.length / 1e6).toFixed(1)} MB of JSON`);
  console.log(
    table(
      ['phase', 'seconds', 'edge requests', 'p50', 'p99', 'max', 'event-loop delay p99', 'event-loop delay max'],
      [row('idle (baseline)', idle), row('while the manifest uploads', uploading)],
    ),
  );
  console.log(`validating the same body on the event loop would hold it for ${inline.toFixed(0)} ms`);
  const target = uploading.loopP99 < 50 ? 'met' : 'MISSED';
  console.log(`target: event-loop delay p99 < 50 ms while uploading: ${target}`);
} finally {
  await dispose();
}
