import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FsBlobs } from '../blobs/fs/fs-blobs.ts';
import { canonicalManifest } from '../core/manifest.ts';
import { openStore } from '../store/open-store.ts';
import { ManifestCache, PROJECT_RECHECK_MS } from './manifest-cache.ts';

const NOW = '2026-01-01T00:00:00.000Z';

test('a cached deployment of a project deleted elsewhere (another replica) stops being served once its project is looked at again', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-manifest-cache-'));
  const store = await openStore(join(dir, 'slipway.db'));
  t.after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const blobs = await FsBlobs.open(join(dir, 'blobs'));
  const body = await blobs.putBytes(Buffer.from('hi'));
  const manifest = await blobs.putBytes(Buffer.from(canonicalManifest([{ path: 'index.html', sha256: body, size: 2, mode: 0o644 }])));
  await store.insertProject({ id: 'prj-1', name: 'shop', createdAt: NOW, createdBy: 'test', repoUrl: null, webhookSecret: null });
  await store.insertDeployment({ id: 'dpl-1', projectId: 'prj-1', manifestDigest: manifest, fileCount: 1, totalBytes: 2, meta: {}, createdAt: NOW, createdBy: 'test' });

  const cache = new ManifestCache(store, blobs);
  const loaded = await cache.find('dpl-1');
  assert.equal(loaded?.projectName, 'shop');
  assert.equal(cache.peek('dpl-1'), loaded, 'served without a lookup while fresh');

  // Deleted through the store only, as another replica would: this cache is not told.
  assert.ok(await store.markProjectDeleted('prj-1', NOW));
  assert.ok(loaded);
  loaded.checkedAt = Date.now() - PROJECT_RECHECK_MS;
  assert.equal(cache.peek('dpl-1'), undefined, 'due a look: the hot path does not serve it');
  assert.equal(await cache.find('dpl-1'), undefined, 'the look finds the project deleted');
  assert.equal(await cache.find('dpl-1'), undefined, 'and a reload does not bring it back');
});

test('forgetProject stops serving at once, without waiting for the next look', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-manifest-cache-'));
  const store = await openStore(join(dir, 'slipway.db'));
  t.after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const blobs = await FsBlobs.open(join(dir, 'blobs'));
  const manifest = await blobs.putBytes(Buffer.from(canonicalManifest([])));
  await store.insertProject({ id: 'prj-1', name: 'shop', createdAt: NOW, createdBy: 'test', repoUrl: null, webhookSecret: null });
  await store.insertDeployment({ id: 'dpl-1', projectId: 'prj-1', manifestDigest: manifest, fileCount: 0, totalBytes: 0, meta: {}, createdAt: NOW, createdBy: 'test' });
  const cache = new ManifestCache(store, blobs);
  assert.ok(await cache.find('dpl-1'));
  cache.forgetProject('prj-1');
  assert.equal(cache.peek('dpl-1'), undefined);
  assert.equal(await cache.find('dpl-1'), undefined);
});
