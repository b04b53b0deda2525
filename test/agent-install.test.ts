import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isComplete, layoutOf, readCurrent, switchCurrent, ensureLayout, type Layout } from '../src/agent/disk.ts';
import { InstallError, layOutRelease, markComplete } from '../src/agent/install.ts';
import { AgentClient, type DeploymentFiles } from '../src/agent/wire.ts';
import { sha256, startStandIn, type StandIn } from './support/agent-stand-in.ts';

/**
 * Laying out a release directory against a real HTTP server that serves blobs: only missing
 * files are fetched, every byte is verified, bad downloads are fetched again, hostile manifests
 * and what a crash or a hook left in a half-done directory never make it write outside.
 */

describe('the agent lays out releases', () => {
  let standIn: StandIn;
  let root: string;
  let layout: Layout;
  let client: AgentClient;
  let counter = 0;

  const deployment = (files: DeploymentFiles['files'], id = `dpl-${++counter}`): DeploymentFiles => ({ id, manifestDigest: 'x'.repeat(64), service: null, files });

  async function served(files: Record<string, string | { body: string; mode: number }>): Promise<DeploymentFiles> {
    const id = `dpl-${++counter}`;
    standIn.addDeployment({ id, service: null, files });
    const answer = await client.deployment(id);
    assert.ok(answer.ok);
    return answer.value;
  }

  before(async () => {
    standIn = await startStandIn();
    root = await mkdtemp(join(tmpdir(), 'slipway-agent-install-'));
    layout = layoutOf(join(root, 'agent'));
    await ensureLayout(layout);
    client = new AgentClient(standIn.url, standIn.credential);
  });

  after(async () => {
    await standIn.close();
    await rm(root, { recursive: true, force: true });
  });

  test('downloads each file, verifies it and keeps only the executable bit of its mode', async () => {
    const d = await served({ 'index.js': 'console.log(1)\n', 'bin/run': { body: '#!/bin/sh\necho hi\n', mode: 0o700 }, 'a/b/c.txt': { body: 'deep', mode: 0o666 } });
    const done = await layOutRelease(layout, d, client);
    assert.deepEqual(done, { copied: 0, downloaded: 3, kept: 0, refetched: 0 });
    const dir = join(layout.releases, d.id);
    assert.equal(await readFile(join(dir, 'index.js'), 'utf8'), 'console.log(1)\n');
    assert.equal((await stat(join(dir, 'bin/run'))).mode & 0o7777, 0o755);
    assert.equal((await stat(join(dir, 'a/b/c.txt'))).mode & 0o7777, 0o644);
    assert.equal(await isComplete(layout, d.id), false, 'complete only once markComplete says so');
    await markComplete(layout, d);
    assert.equal(await isComplete(layout, d.id), true);
  });

  test('a truncated or bit-flipped download is fetched again; three bad answers fail it and leave no file', async () => {
    const d = await served({ 'one.txt': 'the first file, long enough to cut', 'two.txt': 'the second file' });
    const [one, two] = [d.files.find((f) => f.path === 'one.txt')!, d.files.find((f) => f.path === 'two.txt')!];
    standIn.corrupt(one.sha256, 'truncate', 1);
    standIn.corrupt(two.sha256, 'flip', 2);
    const done = await layOutRelease(layout, d, client);
    assert.equal(done.refetched, 3);
    assert.equal(await readFile(join(layout.releases, d.id, 'two.txt'), 'utf8'), 'the second file');

    const bad = await served({ 'bad.txt': 'never right' });
    standIn.corrupt(bad.files[0]!.sha256, 'flip', 3);
    await assert.rejects(layOutRelease(layout, bad, client), (err: InstallError) => err.code === 'DOWNLOAD_FAILED');
    await assert.rejects(lstat(join(layout.releases, bad.id, 'bad.txt')), { code: 'ENOENT' });
  });

  test('traversal, absolute paths, NUL, backslashes and modes beyond 0o777 are refused before anything is written', async () => {
    const outside = join(root, 'outside');
    await mkdir(outside, { recursive: true });
    const body = 'owned';
    const file = (path: string, mode = 0o644) => ({ path, sha256: sha256(body), size: body.length, mode });
    const cases: [DeploymentFiles['files'], string][] = [
      [[file('../outside/x')], 'MANIFEST_PATH_TRAVERSAL'],
      [[file('a/../../outside/x')], 'MANIFEST_PATH_TRAVERSAL'],
      [[file(join(outside, 'x'))], 'MANIFEST_PATH_ABSOLUTE'],
      [[file('a\0b')], 'MANIFEST_PATH_NUL'],
      [[file('a\\..\\b')], 'MANIFEST_PATH_BACKSLASH'],
      [[file('setuid', 0o4755)], 'MANIFEST_INVALID_MODE'],
      [[file('dev', 0o20644)], 'MANIFEST_INVALID_MODE'],
      [[file('x'), file('x/y')], 'MANIFEST_PATH_CONFLICT'],
    ];
    for (const [files, code] of cases) {
      const d = deployment(files);
      await assert.rejects(layOutRelease(layout, d, client), (err: InstallError) => err instanceof InstallError && err.code === code, `${files[0]!.path}: ${code}`);
      await assert.rejects(lstat(join(layout.releases, d.id)), { code: 'ENOENT' }, 'nothing was made for a refused manifest');
    }
    assert.deepEqual(await readdir(outside), []);
  });

  test('a half-done directory is re-verified: good files stay, bad ones are fetched again, symlinks and fifos are replaced, never followed', async () => {
    const d = await served({ 'keep.txt': 'already here', 'wrong.txt': 'the real bytes', 'sub/inside.txt': 'into sub', 'fifo.txt': 'not a fifo', 'link.txt': 'not a link' });
    const dir = join(layout.releases, d.id);
    const outside = join(root, 'outside-dir');
    await mkdir(outside, { recursive: true });
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'keep.txt'), 'already here');
    await writeFile(join(dir, 'wrong.txt'), 'the fake bytes');
    await symlink(outside, join(dir, 'sub'));
    execFileSync('mkfifo', [join(dir, 'fifo.txt')]);
    await writeFile(join(outside, 'target.txt'), 'outside');
    await symlink(join(outside, 'target.txt'), join(dir, 'link.txt'));
    const keepDigest = d.files.find((f) => f.path === 'keep.txt')!.sha256;
    const before = standIn.blobGets.get(keepDigest) ?? 0;

    const done = await layOutRelease(layout, d, client);
    assert.equal(done.kept, 1);
    assert.equal(done.downloaded, 4);
    assert.equal(standIn.blobGets.get(keepDigest) ?? 0, before, 'a verified file is not downloaded again');
    assert.equal(await readFile(join(dir, 'wrong.txt'), 'utf8'), 'the real bytes');
    assert.ok((await lstat(join(dir, 'sub'))).isDirectory(), 'the symlink became a real directory');
    assert.ok((await lstat(join(dir, 'fifo.txt'))).isFile());
    assert.ok((await lstat(join(dir, 'link.txt'))).isFile());
    assert.deepEqual(await readdir(outside), ['target.txt'], 'nothing was written through the symlink');
    assert.equal(await readFile(join(outside, 'target.txt'), 'utf8'), 'outside');
  });

  test('files another complete release has are copied from it, not downloaded', async () => {
    const shared = 'x'.repeat(10_000);
    const first = await served({ 'lib/big.js': shared, 'a.txt': 'a' });
    await layOutRelease(layout, first, client);
    await markComplete(layout, first);
    const digest = sha256(shared);
    const gets = standIn.blobGets.get(digest);
    const second = await served({ 'vendor/big.js': shared, 'again/big.js': shared, 'b.txt': 'b' });
    const done = await layOutRelease(layout, second, client);
    assert.equal(standIn.blobGets.get(digest), gets, 'the shared file was not downloaded again');
    assert.equal(done.copied, 2);
    assert.equal(done.downloaded, 1);
    assert.equal(await readFile(join(layout.releases, second.id, 'again/big.js'), 'utf8'), shared);
  });

  test('a blob the server refuses fails the install with its code; a deployment of another id is refused', async () => {
    const d = await served({ 'x.txt': 'x' });
    const forged = { ...d, files: [{ path: 'y.txt', sha256: sha256('not served'), size: 10, mode: 0o644 }] };
    await assert.rejects(layOutRelease(layout, forged, client), (err: InstallError) => err.code === 'DOWNLOAD_FAILED' && /BLOB_NOT_FOUND/.test(err.message));
    await assert.rejects(switchCurrent(layout, '../etc'), /refusing deployment id/);
    await assert.rejects(layOutRelease(layout, { ...d, id: '../../escape' }, client), /refusing deployment id/);
  });

  test('current is switched by renaming a new link over it: a reader never finds it missing', async () => {
    const a = await served({ 'v.txt': 'a' });
    const b = await served({ 'v.txt': 'b' });
    for (const d of [a, b]) {
      await layOutRelease(layout, d, client);
      await markComplete(layout, d);
    }
    await switchCurrent(layout, a.id);
    let reads = 0;
    let missing = 0;
    let stop = false;
    const reader = (async () => {
      while (!stop) {
        try {
          await readlink(layout.current);
        } catch {
          missing += 1;
        }
        reads += 1;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    for (let i = 0; i < 200; i++) await switchCurrent(layout, i % 2 ? a.id : b.id);
    stop = true;
    await reader;
    assert.ok(reads > 50, `${reads} reads`);
    assert.equal(missing, 0);
    assert.equal(await readCurrent(layout), a.id);
    assert.deepEqual((await readdir(layout.dir)).filter((n) => n.startsWith('current')), ['current'], 'no temp links are left');
  });
});
