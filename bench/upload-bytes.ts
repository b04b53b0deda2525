// Bytes a redeploy sends: a 5,000-file site is deployed, one file changes, and it is deployed
// again with the real CLI through a counting TCP proxy. The baseline in the same run is the
// first (full) deploy. Target (issue): bytes uploaded ≤ 1.1 × (changed file + manifest).
//   node --import tsx bench/upload-bytes.ts   (BENCH_FILES=5000 by default)
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { BENCH_TOKEN, benchServer, countingProxy, table } from './support.ts';

const FILES = Number(process.env.BENCH_FILES ?? 5000);
const run = promisify(execFile);
const bin = new URL('../bin/slipway', import.meta.url).pathname;

async function deploy(dir: string, url: string): Promise<{ missing: number }> {
  const { stdout } = await run(process.execPath, [bin, 'deploy', dir, '--project', 'site', '--json'], {
    env: { ...process.env, SLIPWAY_URL: url, SLIPWAY_TOKEN: BENCH_TOKEN, HOME: dirname(dir) },
    maxBuffer: 64 * 1024 * 1024,
  });
  const answer = JSON.parse(stdout) as { upload?: { missing?: unknown[] } };
  return { missing: answer.upload?.missing?.length ?? -1 };
}

const work = await mkdtemp(join(tmpdir(), 'slipway-bench-upload-'));
const { server, client, dispose } = await benchServer();
const proxy = await countingProxy(server.port);
try {
  await client.createProject('site');
  const site = join(work, 'site');
  const sizes: number[] = [];
  for (let i = 0; i < FILES; i++) {
    const path = join(site, `section-${i % 50}`, `page-${i}.html`);
    await mkdir(dirname(path), { recursive: true });
    const body = `<!doctype html><title>page ${i}</title><p>${randomBytes(600 + (i % 1400)).toString('base64')}</p>\n`;
    sizes.push(Buffer.byteLength(body));
    await writeFile(path, body);
  }
  const url = `http://127.0.0.1:${proxy.port}`;
  proxy.reset();
  const full = await deploy(site, url);
  const fullBytes = proxy.sent();

  const changed = join(site, 'section-7', 'page-7.html');
  const changedBody = `<!doctype html><title>page 7, edited</title><p>${randomBytes(900).toString('base64')}</p>\n`;
  await writeFile(changed, changedBody);
  proxy.reset();
  const again = await deploy(site, url);
  const redeployBytes = proxy.sent();

  // The manifest as the CLI sends it: one JSON entry per file.
  const manifestBytes = Buffer.byteLength(
    JSON.stringify({
      files: sizes.map((size, i) => ({ path: `section-${i % 50}/page-${i}.html`, sha256: createHash('sha256').update(String(i)).digest('hex'), size, mode: 0o644 })),
    }),
  );
  const budget = Buffer.byteLength(changedBody) + manifestBytes;
  const siteBytes = sizes.reduce((a, b) => a + b, 0);
  console.log(`\n## Redeploy after a 1-file change (${FILES} files, ${(siteBytes / 1e6).toFixed(1)} MB site)\n`);
  console.log(
    table(
      ['deploy', 'blobs uploaded', 'bytes on the wire', 'ratio vs full deploy', 'ratio vs (file + manifest)'],
      [
        ['first (full)', full.missing, fullBytes, 1, fullBytes / budget],
        ['after 1-file change', again.missing, redeployBytes, redeployBytes / fullBytes, redeployBytes / budget],
      ],
    ),
  );
  console.log(`\nchanged file ${Buffer.byteLength(changedBody)} B, manifest ≈ ${manifestBytes} B; target: ratio vs (file + manifest) ≤ 1.1 (bytes on the wire include HTTP headers of every request).`);
} finally {
  await proxy.close();
  await dispose();
  await rm(work, { recursive: true, force: true });
}
