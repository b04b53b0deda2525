import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { canonicalManifest, parseCanonicalManifest } from '../core/manifest.ts';
import { HashCache } from './hash-cache.ts';
import type { LocalFile, TreeFile } from './upload.ts';

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
const HOUR_AGO = Date.now() - 3_600_000;
const file = (path: string, size: number, mtimeMs = HOUR_AGO, ino = 7): TreeFile => ({ path, source: `/site/${path}`, mode: 0o644, size, stat: { ino, mtimeMs, ctimeMs: mtimeMs } });
const hashed = (f: TreeFile, text: string): LocalFile => ({ path: f.path, sha256: sha(text), size: f.size, mode: f.mode, source: f.source });

describe('HashCache', () => {
  let home: string;
  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'slipway-hash-cache-'));
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
  });

  test('a digest is trusted only while size, mtime, ctime and inode are all unchanged', async () => {
    const a = file('a.html', 3);
    const cache = await HashCache.open(home, '/site');
    cache.update([a], [hashed(a, 'abc')], Date.now());
    await cache.save();
    const reopened = await HashCache.open(home, '/site');
    assert.equal(reopened.ignored, undefined);
    assert.deepEqual(reopened.lookup([a]).known.map((f) => f.sha256), [sha('abc')]);
    for (const changed of [file('a.html', 4), file('a.html', 3, HOUR_AGO + 1), file('a.html', 3, HOUR_AGO, 8), { ...a, stat: { ...a.stat, ctimeMs: HOUR_AGO + 5 } } as TreeFile]) {
      assert.deepEqual(reopened.lookup([changed]).unknown, [changed]);
    }
    assert.equal((await HashCache.open(home, '/elsewhere')).lookup([a]).known.length, 0, 'another directory has its own cache');
  });

  test('a file hashed within two seconds of its last change is hashed again next time', async () => {
    const fresh = file('fresh.html', 3, Date.now() - 100);
    const cache = await HashCache.open(home, '/racy');
    cache.update([fresh], [hashed(fresh, 'abc')], Date.now());
    await cache.save();
    assert.equal((await HashCache.open(home, '/racy')).lookup([fresh]).known.length, 0);
  });

  test('a malformed cache is ignored whole, one of another version silently', async () => {
    const a = file('a.html', 3);
    const cache = await HashCache.open(home, '/bad');
    cache.update([a], [hashed(a, 'abc')], Date.now());
    await cache.save();
    const path = join(cache.dir, 'files.json');
    const good = await readFile(path, 'utf8');
    for (const bad of ['{', '[]', good.replace(sha('abc'), 'f'.repeat(63)), good.replace('"a.html",3', '"a.html",-3'), good.replace('"/bad"', '"/other"')]) {
      await writeFile(path, bad);
      const reopened = await HashCache.open(home, '/bad');
      assert.ok(reopened.ignored, bad.slice(0, 40));
      assert.equal(reopened.lookup([a]).known.length, 0);
    }
    await writeFile(path, good.replace('"version":1', '"version":99'));
    const other = await HashCache.open(home, '/bad');
    assert.equal(other.ignored, undefined);
    assert.equal(other.lookup([a]).known.length, 0);
  });

  test('a remembered base is used only for its server and project, and only if it hashes to its digest', async () => {
    const cache = await HashCache.open(home, '/base');
    const manifest = canonicalManifest([{ path: 'a.html', sha256: sha('abc'), size: 3, mode: 0o644 }]);
    await cache.rememberBase('http://one', 'web', 'dpl-1', manifest);
    const base = await cache.base('http://one', 'web');
    assert.equal(base?.deployment, 'dpl-1');
    assert.equal(base.manifestDigest, sha(manifest));
    assert.deepEqual(base.entries(), parseCanonicalManifest(manifest));
    assert.equal(await cache.base('http://two', 'web'), undefined);
    assert.equal(await cache.base('http://one', 'api'), undefined);
    const name = (await readdir(cache.dir)).find((n) => n.startsWith('base-'));
    assert.ok(name);
    const path = join(cache.dir, name);
    await writeFile(path, (await readFile(path, 'utf8')).replace(',3,', ',4,'));
    assert.equal(await cache.base('http://one', 'web'), undefined, 'tampered');
  });
});
