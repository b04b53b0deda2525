import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyManifestDelta, diffManifests } from './manifest-delta.ts';
import type { ManifestEntry } from './manifest.ts';

const digit = (n: number): string => String(n % 10).repeat(64);
const entry = (path: string, n: number, mode = 0o644): ManifestEntry => ({ path, sha256: digit(n), size: n, mode });
const byPath = (entries: ManifestEntry[]): ManifestEntry[] => [...entries].sort((a, b) => (a.path < b.path ? -1 : 1));

test('a delta applied to its base gives back the manifest it was computed from', () => {
  const base = [entry('index.html', 1), entry('a.css', 2), entry('old.js', 3), entry('bin/run', 4, 0o755)];
  const target = [entry('index.html', 1), entry('a.css', 5), entry('new.js', 6), entry('bin/run', 4, 0o644)];
  const delta = diffManifests(base, target);
  assert.deepEqual(delta.added.map((e) => e.path), ['new.js']);
  assert.deepEqual(delta.changed.map((e) => e.path), ['a.css', 'bin/run'], 'a mode change is a change');
  assert.deepEqual(delta.removed, ['old.js']);
  assert.deepEqual(byPath(applyManifestDelta(base, delta)), byPath(target));
  assert.deepEqual(diffManifests(target, target), { added: [], changed: [], removed: [] });
});

test('a delta that does not fit its base is refused, whatever it names', () => {
  const base = [entry('index.html', 1), entry('a.css', 2)];
  const code = (fn: () => unknown, expected: string): void => assert.throws(fn, (err: { code?: string }) => err.code === expected);
  code(() => applyManifestDelta(base, { added: [], changed: [], removed: ['gone.html'] }), 'MANIFEST_DELTA_UNKNOWN_PATH');
  code(() => applyManifestDelta(base, { added: [], changed: [entry('gone.html', 3)], removed: [] }), 'MANIFEST_DELTA_UNKNOWN_PATH');
  code(() => applyManifestDelta(base, { added: [entry('index.html', 3)], changed: [], removed: [] }), 'MANIFEST_DUPLICATE_PATH');
  code(() => applyManifestDelta(base, { added: [entry('n.html', 3), entry('n.html', 4)], changed: [], removed: [] }), 'MANIFEST_DUPLICATE_PATH');
  code(() => applyManifestDelta(base, { added: [], changed: [entry('a.css', 3)], removed: ['a.css'] }), 'MANIFEST_DUPLICATE_PATH');
  code(() => applyManifestDelta(base, { added: [entry('a.css', 3)], changed: [], removed: ['a.css'] }), 'MANIFEST_DUPLICATE_PATH');
  code(() => applyManifestDelta(base, { added: [], changed: [], removed: ['index.html', 'index.html'] }), 'MANIFEST_DUPLICATE_PATH');
});
