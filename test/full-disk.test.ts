import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { writeJournal } from '../src/blobs/fs/batch-journal.ts';
import { SlipwayClient } from '../src/protocol/client.ts';
import { startServer, type RunningServer } from '../src/server/server.ts';
import { rejectsWithCode } from './support/assert.ts';
import { ADMIN_TOKEN, deployFiles, edgeGet, hostOf, sha256 } from './support/server.ts';

/**
 * A real server whose data directory is a 4 MB tmpfs, filled to the last byte. Mounting needs
 * root (CI runs as root); elsewhere every test is skipped and says why.
 */
let mnt = '';
let dbDir = '';
let skipReason: string | undefined;

before(async () => {
  mnt = await mkdtemp(join(tmpdir(), 'slipway-full-'));
  dbDir = await mkdtemp(join(tmpdir(), 'slipway-full-db-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { stdio: 'pipe' });
  } catch (err) {
    skipReason = `cannot mount a tmpfs to fill (${String((err as { stderr?: Buffer }).stderr ?? err).trim()}); full-disk tests need root`;
    console.log(`# skipping full-disk tests: ${skipReason}`);
  }
});

after(async () => {
  if (skipReason === undefined) {
    try {
      execFileSync('umount', [mnt], { stdio: 'pipe' });
    } catch {
      execFileSync('umount', ['-l', mnt], { stdio: 'pipe' });
    }
  }
  await rm(mnt, { recursive: true, force: true });
  await rm(dbDir, { recursive: true, force: true });
});

function skipped(t: TestContext): boolean {
  if (skipReason === undefined) return false;
  t.skip(skipReason);
  return true;
}

/** Writes a filler file until the file system has not one byte left. */
async function fill(): Promise<void> {
  const file = await open(join(mnt, 'filler'), 'a');
  try {
    for (const size of [256 * 1024, 4096, 1]) {
      const chunk = Buffer.alloc(size, 0x5a);
      for (;;) {
        try {
          const { bytesWritten } = await file.write(chunk);
          if (bytesWritten < size) break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    await file.close();
  }
}

async function free(): Promise<void> {
  await rm(join(mnt, 'filler'), { force: true });
}

function start(): Promise<RunningServer> {
  return startServer({ dataDir: mnt, databaseUrl: join(dbDir, 'slipway.db'), port: 0, adminToken: ADMIN_TOKEN, quiet: true, runners: 0, blobRetryMs: 100 });
}

function clientOf(server: RunningServer): SlipwayClient {
  return new SlipwayClient({ url: `http://127.0.0.1:${server.port}`, token: ADMIN_TOKEN });
}

const blobsOf = (n: number, size: number) =>
  Array.from({ length: n }, () => {
    const bytes = randomBytes(size);
    return { digest: sha256(bytes), bytes };
  });

describe('a full disk', () => {
  test('a batch is refused with 507 STORAGE_FULL and nothing of it is stored; once space is back it is stored whole', async (t) => {
    if (skipped(t)) return;
    const server = await start();
    try {
      const client = clientOf(server);
      await client.createProject('shop');
      const site = await deployFiles(client, 'shop', { 'index.html': '<h1>before the disk filled</h1>' });
      await server.deps.blobs.flush();
      await fill();
      const batch = blobsOf(300, 1000);
      await rejectsWithCode(client.putBlobs(batch), 'STORAGE_FULL', 507);
      assert.deepEqual(await server.deps.blobs.missing(batch.map((b) => b.digest)), batch.map((b) => b.digest), 'not one blob of the batch was acknowledged');
      assert.deepEqual(await readdir(join(mnt, 'blobs', 'journal')), [], 'no journal was left');
      assert.deepEqual(await readdir(join(mnt, 'blobs', 'tmp')), [], 'no temp file was left');
      // One body by PUT, too.
      const one = blobsOf(1, 8000)[0]!;
      await rejectsWithCode(client.putBlob(one.digest, one.bytes), 'STORAGE_FULL', 507);
      assert.equal(await server.deps.blobs.has(one.digest), false);
      assert.deepEqual(await readdir(join(mnt, 'blobs', 'tmp')), []);
      // A manifest is a blob too.
      await rejectsWithCode(
        client.createUpload('shop', { files: batch.map((b, i) => ({ path: `f${i}.bin`, sha256: b.digest, size: 1000, mode: 0o644 })) }),
        'STORAGE_FULL',
        507,
      );
      // The server keeps serving: the API and what was deployed.
      assert.equal((await client.whoami()).actor.role, 'admin');
      assert.equal((await edgeGet(server.port, hostOf(site.url))).body, '<h1>before the disk filled</h1>');

      await free();
      const stored = await client.putBlobs(batch);
      assert.equal(stored.blobs.filter((b) => b.created).length, 300);
      assert.deepEqual(await server.deps.blobs.missing(batch.map((b) => b.digest)), []);
      assert.equal((await client.putBlob(one.digest, one.bytes)).created, true);
      const upload = await client.createUpload('shop', { files: batch.map((b, i) => ({ path: `f${i}.bin`, sha256: b.digest, size: 1000, mode: 0o644 })) });
      assert.deepEqual(upload.missing, []);
      const deployment = await client.finalizeUpload('shop', upload.id);
      await server.deps.blobs.flush();
      const page = await edgeGet(server.port, hostOf(deployment.url), '/f7.bin');
      assert.equal(page.status, 200);
      assert.equal(page.headers['content-length'], '1000');
    } finally {
      await server.close();
      await free();
    }
  });

  test('a server started on a full disk with a journal to replay serves reads, refuses writes, and replays once space is back', async (t) => {
    if (skipped(t)) return;
    // A crash after a batch was acknowledged and before its blobs were written out: only the journal has them.
    const first = await start();
    const client = clientOf(first);
    await client.createProject('journaled');
    const files = { 'index.html': `<h1>${randomBytes(8).toString('hex')}</h1>`, 'app.js': `console.log(${Date.now()})` };
    const site = await deployFiles(client, 'journaled', files);
    await first.close();
    const journaled = blobsOf(40, 5000);
    const siteBlobs = Object.values(files).map((body) => ({ digest: sha256(body), bytes: Buffer.from(body) }));
    await writeJournal(join(mnt, 'blobs', 'journal'), [...siteBlobs, ...journaled]);
    for (const { digest } of [...siteBlobs, ...journaled]) await rm(join(mnt, 'blobs', 'sha256', digest.slice(0, 2), digest), { force: true });
    await fill();

    let server: RunningServer | undefined;
    try {
      server = await start();
      assert.equal(server.deps.blobs.storageFull, true);
      const again = clientOf(server);
      // Reads: the site's files are served from the journal.
      const page = await edgeGet(server.port, hostOf(site.url));
      assert.equal(page.status, 200);
      assert.equal(page.body, files['index.html']);
      assert.deepEqual(await server.deps.blobs.read(journaled[3]!.digest), journaled[3]!.bytes);
      // Writes: refused, each after one more try at the replay.
      const extra = blobsOf(2, 100);
      await rejectsWithCode(again.putBlob(extra[0]!.digest, extra[0]!.bytes), 'STORAGE_FULL', 507);
      await rejectsWithCode(again.putBlobs(extra), 'STORAGE_FULL', 507);
      assert.equal((await readdir(join(mnt, 'blobs', 'journal'))).length, 1, 'the journal is kept');

      // Space is back: the next write replays the journal first, then goes through.
      await free();
      assert.equal((await again.putBlob(extra[0]!.digest, extra[0]!.bytes)).created, true);
      assert.equal(server.deps.blobs.storageFull, false);
      await server.deps.blobs.flush();
      assert.deepEqual(await readdir(join(mnt, 'blobs', 'journal')), []);
      for (const { digest, bytes } of [...siteBlobs, ...journaled]) {
        const path = join(mnt, 'blobs', 'sha256', digest.slice(0, 2), digest);
        assert.equal((await stat(path)).size, bytes.length);
      }
      assert.equal((await edgeGet(server.port, hostOf(site.url), '/app.js')).body, files['app.js']);
    } finally {
      await server?.close();
      await free();
    }
  });

  test('without a write, the replay is retried in the background until space is back', async (t) => {
    if (skipped(t)) return;
    const journaled = blobsOf(20, 5000);
    await writeJournal(join(mnt, 'blobs', 'journal'), journaled);
    await fill();
    let server: RunningServer | undefined;
    try {
      server = await start();
      assert.equal(server.deps.blobs.storageFull, true);
      await free();
      const deadline = Date.now() + 10_000;
      while (server.deps.blobs.storageFull && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(server.deps.blobs.storageFull, false, 'the timer replayed the journal');
      await server.deps.blobs.flush();
      assert.deepEqual(await readdir(join(mnt, 'blobs', 'journal')), []);
      assert.deepEqual(await server.deps.blobs.missing(journaled.map((b) => b.digest)), []);
    } finally {
      await server?.close();
      await free();
    }
  });
});
