import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
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
    await writeFile(path, good.replace('"version":2', '"version":99'));
    const other = await HashCache.open(home, '/bad');
    assert.equal(other.ignored, undefined);
    assert.equal(other.lookup([a]).known.length, 0);
  });

  test('a cache of the previous version is read: its digests hold, and it vouches for no whole tree', async () => {
    const a = file('a.html', 3);
    const cache = await HashCache.open(home, '/legacy');
    await mkdir(cache.dir, { recursive: true });
    await writeFile(join(cache.dir, 'files.json'), JSON.stringify({ version: 1, root: '/legacy', files: [['a.html', 3, HOUR_AGO, HOUR_AGO, 7, sha('abc')]] }));
    const reopened = await HashCache.open(home, '/legacy');
    assert.equal(reopened.unchangedManifest([a]), undefined);
    assert.deepEqual(reopened.lookup([a]).known.map((f) => f.sha256), [sha('abc')]);
    assert.equal(reopened.ignored, undefined);
  });

  test('a tree whose every file is remembered vouches for its manifest while path, mode and stat of each file hold', async () => {
    const a = file('a.html', 3);
    const b = file('b/c.css', 5, HOUR_AGO, 8);
    const manifest = sha('the manifest of a and b');
    const cache = await HashCache.open(home, '/whole');
    assert.equal(cache.unchangedManifest([a, b]), undefined, 'nothing remembered yet');
    cache.update([a, b], [hashed(a, 'abc'), hashed(b, 'bcdef')], Date.now(), manifest);
    await cache.save();
    const reopened = await HashCache.open(home, '/whole');
    assert.equal(reopened.unchangedManifest([a, b]), manifest);
    const others: TreeFile[][] = [
      [a],
      [a, b, file('d.html', 1, HOUR_AGO, 9)],
      [a, { ...b, path: 'b/d.css' }],
      [a, { ...b, mode: 0o755 }],
      [a, file('b/c.css', 6, HOUR_AGO, 8)],
      [a, file('b/c.css', 5, HOUR_AGO + 1, 8)],
      [a, file('b/c.css', 5, HOUR_AGO, 9)],
      [a, { ...b, stat: { ino: 8, mtimeMs: HOUR_AGO, ctimeMs: HOUR_AGO + 1 } }],
      [a, { ...b, stat: undefined }],
      [],
    ];
    for (const tree of others) assert.equal(reopened.unchangedManifest(tree), undefined, JSON.stringify(tree.map((f) => [f.path, f.mode, f.size, f.stat])));
    // One file not remembered (changed within two seconds of being hashed): no whole tree.
    const fresh = file('fresh.html', 3, Date.now() - 100, 10);
    reopened.update([a, b, fresh], [hashed(fresh, 'xyz')], Date.now(), sha('another manifest'));
    await reopened.save();
    assert.equal((await HashCache.open(home, '/whole')).unchangedManifest([a, b, fresh]), undefined);
    // Malformed rows void the tree digest written with them.
    reopened.update([a, b], [], Date.now(), manifest);
    await reopened.save();
    const path = join(reopened.dir, 'files.json');
    await writeFile(path, (await readFile(path, 'utf8')).replace('"a.html",3', '"a.html",-3'));
    const bad = await HashCache.open(home, '/whole');
    assert.equal(bad.lookup([a, b]).known.length, 0);
    assert.ok(bad.ignored);
    assert.equal(bad.unchangedManifest([a, b]), undefined);
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
