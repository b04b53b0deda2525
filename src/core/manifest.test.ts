import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSlipwayError } from './errors.ts';
import { canonicalManifest, parseCanonicalManifest, validateManifest, type ManifestEntry } from './manifest.ts';

const D = 'a'.repeat(64);
const file = (path: string, extra: Partial<ManifestEntry> = {}): ManifestEntry => ({ path, sha256: D, size: 1, mode: 0o644, ...extra });

function code(entries: ManifestEntry[], limits?: Parameters<typeof validateManifest>[1]): string {
  try {
    validateManifest(entries, limits);
  } catch (err) {
    assert.ok(isSlipwayError(err));
    return err.code;
  }
  return 'OK';
}

test('each kind of bad path has its own code', () => {
  assert.equal(code([file('../x')]), 'MANIFEST_PATH_TRAVERSAL');
  assert.equal(code([file('a/./b')]), 'MANIFEST_PATH_TRAVERSAL');
  assert.equal(code([file('/abs')]), 'MANIFEST_PATH_ABSOLUTE');
  assert.equal(code([file('C:/win')]), 'MANIFEST_PATH_ABSOLUTE');
  assert.equal(code([file('a\\b')]), 'MANIFEST_PATH_BACKSLASH');
  assert.equal(code([file('a\0b')]), 'MANIFEST_PATH_NUL');
  assert.equal(code([file('a\nb')]), 'MANIFEST_PATH_INVALID_CHAR');
  assert.equal(code([file('a//b')]), 'MANIFEST_PATH_EMPTY_SEGMENT');
  assert.equal(code([file('a/')]), 'MANIFEST_PATH_EMPTY_SEGMENT');
  assert.equal(code([file('')]), 'MANIFEST_PATH_EMPTY_SEGMENT');
  assert.equal(code([file('é'.repeat(513))]), 'MANIFEST_PATH_TOO_LONG', 'the limit counts UTF-8 bytes');
  assert.equal(code([file('a'), file('a')]), 'MANIFEST_DUPLICATE_PATH');
  assert.equal(code([file('a'), file('a/b/c')]), 'MANIFEST_PATH_CONFLICT');
  assert.equal(code([]), 'MANIFEST_EMPTY');
  assert.equal(code([file('a', { sha256: 'A'.repeat(64) })]), 'MANIFEST_INVALID_DIGEST');
  assert.equal(code([file('a', { mode: 0o1777 })]), 'MANIFEST_INVALID_MODE');
});

test('limits on files and bytes', () => {
  const limits = { maxFiles: 2, maxTotalBytes: 10, maxPathBytes: 100 };
  assert.equal(code([file('a'), file('b'), file('c')], limits), 'MANIFEST_TOO_MANY_FILES');
  assert.equal(code([file('a', { size: 6 }), file('b', { size: 5 })], limits), 'MANIFEST_TOO_LARGE');
  assert.equal(code([file('a', { size: 5 }), file('b', { size: 5 })], limits), 'OK');
});

test('a valid manifest comes back sorted and round-trips through its canonical form', () => {
  const valid = validateManifest([file('b.txt'), file('a/index.html', { mode: 0o755 }), file('a.txt')]);
  assert.deepEqual(
    valid.entries.map((e) => e.path),
    ['a.txt', 'a/index.html', 'b.txt'],
  );
  assert.equal(valid.totalBytes, 3);
  assert.deepEqual(parseCanonicalManifest(canonicalManifest(valid.entries)), valid.entries);
  // The same files in another order give the same canonical bytes.
  const again = validateManifest([file('a.txt'), file('b.txt'), file('a/index.html', { mode: 0o755 })]);
  assert.equal(canonicalManifest(again.entries), canonicalManifest(valid.entries));
});

test('a file that is also a directory is found whatever sorts between them', () => {
  assert.equal(code([file('a/b'), file('a-b'), file('a.c/d'), file('a')]), 'MANIFEST_PATH_CONFLICT');
  assert.equal(code([file('x/y/z'), file('x/y-'), file('x/y')]), 'MANIFEST_PATH_CONFLICT');
  assert.equal(code([file('é/b'), file('é')]), 'MANIFEST_PATH_CONFLICT');
  const ok = validateManifest([file('a-b'), file('a/c'), file('ab/c'), file('a.c'), file('b/a'), file('b/a-')]);
  assert.deepEqual(
    ok.entries.map((e) => e.path),
    ['a-b', 'a.c', 'a/c', 'ab/c', 'b/a', 'b/a-'],
  );
  // Deep paths: each parent of each path is no longer looked up on its own.
  const deep = Array.from({ length: 2000 }, (_, i) => file(`${'d/'.repeat(400)}f${i}`));
  assert.equal(validateManifest(deep).entries.length, 2000);
  assert.equal(code([...deep, file(`${'d/'.repeat(399)}d`)]), 'MANIFEST_PATH_CONFLICT');
});
