import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BlobBody } from '../blobs.ts';
import { readJournal, writeJournal } from './batch-journal.ts';
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

/** A store of its own, so its tmp/ and journal/ hold only what the test did. */
const storeIn = (name: string): { root: string; store: FsBlobs } => {
  const root = join(dir, name);
  return { root, store: new FsBlobs(root) };
};
const body = (digest: string, ...chunks: (string | Buffer)[]): BlobBody => ({ digest, source: chunks.map((c) => Buffer.from(c)) });
const readAll = async (stream: AsyncIterable<unknown>): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};
/**
 * The one journal of the batch just acknowledged. Read synchronously, right after putMany
 * resolves: the checkpoint that deletes it needs several turns of the event loop first.
 */
const journalNow = (root: string): Buffer => {
  const names = readdirSync(join(root, 'journal'));
  assert.equal(names.length, 1, `one journal, not ${JSON.stringify(names)}`);
  return readFileSync(join(root, 'journal', names[0] ?? ''));
};
/** Where a crash leaves a blob: its final name. */
const blobPath = (root: string, digest: string) => join(root, 'sha256', digest.slice(0, 2), digest);

describe('putMany', () => {
  test('stores a batch; duplicates and blobs already stored are not created again', async () => {
    const { root, store } = storeIn('batch');
    const old = await store.putBytes(Buffer.from('stored before'));
    async function* streamed() {
      yield Buffer.from('streamed ');
      yield Buffer.from('in two chunks');
    }
    const big = Buffer.alloc(200_000, 9);
    const stored = await store.putMany([
      body(sha('alpha'), 'alpha'),
      { digest: sha('streamed in two chunks'), source: streamed() },
      body(sha('alpha'), 'al', 'pha'),
      body(old, 'stored before'),
      body(sha(''), ''),
      body(sha(big), big),
    ]);
    const journal = journalNow(root);
    assert.deepEqual(stored, [
      { digest: sha('alpha'), created: true, size: 5 },
      { digest: sha('streamed in two chunks'), created: true, size: 22 },
      { digest: sha('alpha'), created: false, size: 5 },
      { digest: old, created: false, size: 13 },
      { digest: sha(''), created: true, size: 0 },
      { digest: sha(big), created: true, size: big.length },
    ]);
    assert.equal((await store.read(sha('alpha'))).toString(), 'alpha');
    assert.equal((await readAll(store.stream(sha('streamed in two chunks')))).toString(), 'streamed in two chunks');
    assert.equal((await store.read(sha(''))).length, 0);
    assert.deepEqual(await readAll(store.stream(sha(big))), big);
    assert.equal(await store.size(sha(big)), big.length);
    assert.equal((await store.read(old)).toString(), 'stored before');

    // Until the batch settled, one journal held the blobs this batch created, and only those.
    await writeFile(join(root, 'copy.batch'), journal);
    const journaled = (await readJournal(join(root, 'copy.batch'))).map((e) => e.digest);
    assert.deepEqual(journaled, [sha('alpha'), sha('streamed in two chunks'), sha(''), sha(big)]);
    await store.flush();
    assert.deepEqual(await readdir(join(root, 'journal')), []);
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
  });

  test('a batch is served from its journal at once, then from its own files; an open read keeps the journal', async () => {
    const { root, store } = storeIn('batch-served');
    const text = 'served from the journal until it settles';
    const [stored] = await store.putMany([body(sha(text), text), body(sha('second'), 'second')]);
    assert.equal(stored?.created, true);
    // Nothing of the settling can have reached the disk within the call that returned.
    assert.equal(existsSync(blobPath(root, sha(text))), false);
    assert.equal(await store.size(sha(text)), text.length);
    assert.equal(await store.has(sha('second')), true);
    assert.deepEqual(await store.missing([sha(text), sha('absent')]), [sha('absent')]);
    assert.equal((await store.read(sha(text))).toString(), text);
    assert.equal((await readAll(store.stream(sha(text), { start: 7, end: 10 }))).toString(), 'from');
    assert.equal((await readAll(store.stream(sha('second')))).toString(), 'second');

    const open = store.stream(sha(text)); // not read yet: it holds the journal
    await store.flush();
    assert.equal(readFileSync(blobPath(root, sha(text)), 'utf8'), text, 'settled into its own file');
    assert.equal((await readdir(join(root, 'journal'))).length, 1, 'kept while a read of it is open');
    assert.equal((await readAll(open)).toString(), text);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(await readdir(join(root, 'journal')), []);
    assert.equal((await store.read(sha(text))).toString(), text);
  });

  test('a batch of blobs all stored already creates nothing and leaves no journal', async () => {
    const { root, store } = storeIn('batch-again');
    await store.putMany([body(sha('one'), 'one'), body(sha('two'), 'two')]);
    await store.flush();
    const again = await store.putMany([body(sha('two'), 'two'), body(sha('one'), 'one')]);
    assert.deepEqual(again.map((b) => [b.digest, b.created]), [[sha('two'), false], [sha('one'), false]]);
    assert.equal((await store.read(sha('two'))).toString(), 'two');
    await store.flush();
    assert.deepEqual(await readdir(join(root, 'journal')), []);
  });

  const bad: [string, BlobBody, string][] = [
    ['a digest that is no sha256', body('not-a-digest', 'x'), 'INVALID_REQUEST'],
    ['a body that does not hash to its digest', body(sha('promised'), 'delivered'), 'DIGEST_MISMATCH'],
    ['a body over the size limit', body(sha('y'.repeat(2000)), 'y'.repeat(1000), 'y'.repeat(1000)), 'PAYLOAD_TOO_LARGE'],
  ];
  for (const [what, middle, code] of bad) {
    test(`${what} in the middle of a batch stores none of it`, async () => {
      const { root, store } = storeIn(`bad-${code}`);
      const first = body(sha(`before ${code}`), `before ${code}`);
      const last = body(sha(`after ${code}`), `after ${code}`);
      await assert.rejects(store.putMany([first, middle, last], { maxBytes: 1024 }), { code });
      await store.flush();
      for (const digest of [first.digest, last.digest]) assert.equal(await store.has(digest), false);
      if (code !== 'INVALID_REQUEST') assert.equal(await store.has(middle.digest), false);
      assert.deepEqual(await readdir(join(root, 'tmp')), []);
      assert.deepEqual(await readdir(join(root, 'journal')), []);
    });
  }

  test('a body cut off mid-stream in a batch stores none of it', async () => {
    const { root, store } = storeIn('batch-reset');
    async function* broken() {
      yield Buffer.from('half of it');
      throw new Error('connection reset');
    }
    const bodies = [body(sha('kept?'), 'kept?'), { digest: sha('half of it and more'), source: broken() }];
    await assert.rejects(store.putMany(bodies), /connection reset/);
    assert.equal(await store.has(sha('kept?')), false);
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
    assert.deepEqual(await readdir(join(root, 'journal')), []);
  });
});

describe('recovery', () => {
  const a = Buffer.from('blob a, lost in the crash');
  const b = Buffer.alloc(50_000, 'b');
  const c = Buffer.from('blob c, scribbled over');
  const d = Buffer.from('blob d, made it to disk');
  const batch = [a, b, c, d].map((bytes) => ({ digest: sha(bytes), bytes }));

  /** What a crash after the journal's fsync leaves: a lost file, a short one, a wrong one, a good one. */
  const crashed = async (name: string): Promise<{ root: string; journal: string }> => {
    const root = join(dir, name);
    await mkdir(join(root, 'journal'), { recursive: true });
    const journal = await writeJournal(join(root, 'journal'), batch);
    for (const [bytes, onDisk] of [
      [b, b.subarray(0, 1000)],
      [c, Buffer.alloc(c.length, 0)],
      [d, d],
    ] as const) {
      await mkdir(dirname(blobPath(root, sha(bytes))), { recursive: true });
      await writeFile(blobPath(root, sha(bytes)), onDisk);
    }
    return { root, journal };
  };

  test('open replays a journal: every blob has its exact bytes again and the journal is gone', async () => {
    const { root } = await crashed('crash');
    const store = await FsBlobs.open(root);
    for (const { digest, bytes } of batch) assert.deepEqual(await store.read(digest), bytes);
    assert.deepEqual(await readdir(join(root, 'journal')), []);
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
  });

  test('open removes temp files a crash left an hour ago and keeps younger ones', async () => {
    const root = join(dir, 'stale-temps');
    await mkdir(join(root, 'tmp'), { recursive: true });
    await writeFile(join(root, 'tmp', 'old'), 'cut short by a crash');
    await writeFile(join(root, 'tmp', 'young'), 'a write still running');
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(join(root, 'tmp', 'old'), twoHoursAgo, twoHoursAgo);
    await FsBlobs.open(root);
    assert.deepEqual(await readdir(join(root, 'tmp')), ['young']);
  });

  test('recover counts the blobs it replayed and a second run has nothing to do', async () => {
    const { root } = await crashed('crash-count');
    const store = new FsBlobs(root);
    assert.equal(await store.recover(), batch.length);
    assert.equal(await store.recover(), 0);
    assert.deepEqual(await store.read(sha(b)), b);
  });

  test('a journal whose tail was cut replays its intact prefix only', async () => {
    const root = join(dir, 'crash-short');
    await mkdir(join(root, 'journal'), { recursive: true });
    const journal = await writeJournal(join(root, 'journal'), batch);
    // The crash came while the journal was written: c and d never reached it, b only in part.
    await truncate(journal, (await stat(journal)).size - d.length - c.length - 10);
    const store = await FsBlobs.open(root);
    assert.deepEqual(await store.read(sha(a)), a);
    for (const bytes of [b, c, d]) assert.equal(await store.has(sha(bytes)), false);
    assert.deepEqual(await readdir(join(root, 'journal')), []);
  });

  test('a journal with a corrupted body replays the entries before it and stops there', async () => {
    const root = join(dir, 'crash-corrupt');
    await mkdir(join(root, 'journal'), { recursive: true });
    const journal = await writeJournal(join(root, 'journal'), batch);
    const data = await readFile(journal);
    const inB = data.indexOf(0x0a) + 1 + a.length + 100;
    assert.equal(data[inB], 'b'.charCodeAt(0));
    data[inB] = 'X'.charCodeAt(0);
    await writeFile(journal, data);
    const store = await FsBlobs.open(root);
    assert.deepEqual(await store.read(sha(a)), a);
    for (const bytes of [b, c, d]) assert.equal(await store.has(sha(bytes)), false);
    assert.deepEqual(await readdir(join(root, 'journal')), []);
  });

  test('the journal of a real batch restores it after its files are lost', async () => {
    const { root, store } = storeIn('crash-real');
    await store.putMany(batch.map(({ digest, bytes }) => body(digest, bytes)));
    // A copy of the journal as a crash would have found it, before the checkpoint removed it.
    const saved = journalNow(root);
    await store.flush();
    assert.deepEqual(await readdir(join(root, 'journal')), []);
    await writeFile(join(root, 'journal', '1700000000000-000000000000.batch'), saved);
    for (const { digest } of batch) await rm(blobPath(root, digest));
    const reopened = await FsBlobs.open(root);
    for (const { digest, bytes } of batch) assert.deepEqual(await reopened.read(digest), bytes);
    assert.deepEqual(await readdir(join(root, 'journal')), []);
  });
});
