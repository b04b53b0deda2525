import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { listJournals, readJournal, writeJournal, type JournalEntry } from './batch-journal.ts';

const entry = (body: string | Buffer): JournalEntry => {
  const bytes = Buffer.from(body);
  return { digest: createHash('sha256').update(bytes).digest('hex'), bytes };
};
/** Bodies with newlines and binary bytes: only the header line may be split on a newline. */
const entries = [entry('first\nbody\n'), entry(''), entry(Buffer.from([0, 10, 255, 10, 13])), entry('x'.repeat(70_000))];
const summary = (list: readonly JournalEntry[]) => list.map((e) => [e.digest, e.bytes.toString('base64')]);

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'slipway-journal-'));
});
after(() => rm(root, { recursive: true, force: true }));

/** A fresh journal directory per test, so listings see only that test's files. */
const dirFor = async (name: string): Promise<string> => {
  const dir = join(root, name);
  await mkdir(dir);
  return dir;
};

describe('batch journal', () => {
  test('a written journal reads back every entry, bytes for bytes', async () => {
    const dir = await dirFor('round-trip');
    const path = await writeJournal(dir, entries);
    assert.equal(basename(path).endsWith('.batch'), true);
    assert.deepEqual(await readdir(dir), [basename(path)]);
    assert.deepEqual(summary(await readJournal(path)), summary(entries));
    assert.deepEqual(await readJournal(await writeJournal(dir, [])), []);
  });

  test('empty, garbage and foreign files read as no entries', async () => {
    const dir = await dirFor('foreign');
    const files: [string, string | Buffer][] = [
      ['empty.batch', ''],
      ['no-newline.batch', '{"format":"slipway-blob-batch 1","blobs":[]}'],
      ['garbage.batch', Buffer.concat([Buffer.from([0xff, 0xfe, 0x00]), Buffer.from('\nhello')])],
      ['not-json.batch', 'slipway-blob-batch 1\nfirst\nbody\n'],
      ['other-format.batch', `${JSON.stringify({ format: 'slipway-blob-batch 2', blobs: [[entries[0]?.digest, 11]] })}\nfirst\nbody\n`],
      ['no-blobs.batch', `${JSON.stringify({ format: 'slipway-blob-batch 1', blobs: 'all of them' })}\nfirst\nbody\n`],
      ['json-array.batch', '[1,2,3]\n'],
    ];
    for (const [name, body] of files) {
      await writeFile(join(dir, name), body);
      assert.deepEqual(await readJournal(join(dir, name)), [], name);
    }
  });

  test('a journal cut short yields its intact prefix only', async () => {
    const dir = await dirFor('truncated');
    const path = await writeJournal(dir, entries);
    const full = (await readFile(path)).length;
    const last = entries.at(-1)?.bytes.length ?? 0;
    // Half of the last body is gone: the three before it survive.
    await truncate(path, full - Math.floor(last / 2));
    assert.deepEqual(summary(await readJournal(path)), summary(entries.slice(0, 3)));
    // Cut into the header: nothing can be trusted.
    await truncate(path, 20);
    assert.deepEqual(await readJournal(path), []);
  });

  test('a body that does not hash to its digest ends the entries there', async () => {
    const dir = await dirFor('corrupted');
    const path = await writeJournal(dir, entries);
    const data = await readFile(path);
    // The first byte of the third body (after the header line and the first two bodies).
    const third = data.indexOf(0x0a) + 1 + (entries[0]?.bytes.length ?? 0) + (entries[1]?.bytes.length ?? 0);
    assert.equal(data[third], 0);
    data[third] = 1;
    await writeFile(path, data);
    assert.deepEqual(summary(await readJournal(path)), summary(entries.slice(0, 2)));
  });

  test('journals are listed oldest first and other files are ignored', async () => {
    const dir = await dirFor('listing');
    await writeFile(join(dir, '1700000000500-aaaaaaaaaaaa.batch'), '');
    await writeFile(join(dir, '1700000000100-ffffffffffff.batch'), '');
    await writeFile(join(dir, '1700000000100-000000000000.batch.tmp'), '');
    await writeFile(join(dir, 'README'), '');
    const newest = await writeJournal(dir, entries.slice(0, 1));
    assert.deepEqual(await listJournals(dir), [
      join(dir, '1700000000100-ffffffffffff.batch'),
      join(dir, '1700000000500-aaaaaaaaaaaa.batch'),
      newest,
    ]);
    assert.deepEqual(await listJournals(await dirFor('none')), []);
  });
});
