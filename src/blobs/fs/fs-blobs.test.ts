import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FsBlobs } from './fs-blobs.ts';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
let dir: string;
let blobs: FsBlobs;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-blobs-'));
  blobs = new FsBlobs(dir);
});
after(() => rm(dir, { recursive: true, force: true }));

test('a body is stored once under its digest and read back', async () => {
  const digest = sha('hello');
  assert.deepEqual(await blobs.put(digest, [Buffer.from('hel'), Buffer.from('lo')]), { created: true, size: 5 });
  assert.deepEqual(await blobs.put(digest, [Buffer.from('hello')]), { created: false, size: 5 });
  assert.equal((await blobs.read(digest)).toString(), 'hello');
  assert.deepEqual(await blobs.missing([digest, sha('other'), sha('other')]), [sha('other')]);
});

test('a body that does not hash to its name is rejected, nothing left behind', async () => {
  const digest = sha('expected');
  await assert.rejects(blobs.put(digest, [Buffer.from('something else')]), { code: 'DIGEST_MISMATCH' });
  assert.equal(await blobs.has(digest), false);
  assert.deepEqual(await readdir(join(dir, 'tmp')), []);
});

test('a body cut off mid-stream is not stored', async () => {
  const body = Buffer.alloc(300_000, 7);
  const digest = sha(body);
  async function* broken() {
    yield body.subarray(0, 100_000);
    throw new Error('connection reset');
  }
  await assert.rejects(blobs.put(digest, broken()), /connection reset/);
  assert.equal(await blobs.has(digest), false);
  assert.deepEqual(await readdir(join(dir, 'tmp')), []);
});

test('size limits apply while streaming', async () => {
  const body = Buffer.alloc(2048, 1);
  await assert.rejects(blobs.put(sha(body), [body], { maxBytes: 1024 }), { code: 'PAYLOAD_TOO_LARGE' });
  assert.equal(await blobs.has(sha(body)), false);
});

test('ranges stream the inclusive byte span', async () => {
  const digest = await blobs.putBytes(Buffer.from('0123456789'));
  const chunks: Buffer[] = [];
  for await (const chunk of blobs.stream(digest, { start: 2, end: 5 })) chunks.push(chunk as Buffer);
  assert.equal(Buffer.concat(chunks).toString(), '2345');
});
