import { createHash, randomBytes } from 'node:crypto';
import { open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAll } from './durable-write.ts';

/** One body of a batch, verified against its digest before it is journaled. */
export interface JournalEntry {
  digest: string;
  bytes: Buffer;
}

/** An entry read back from a journal, with where its body starts in the file. */
export interface JournaledEntry extends JournalEntry {
  offset: number;
}

const MAGIC = 'slipway-blob-batch 1';

/**
 * Writes a batch of small blobs as one file and makes it durable: one fsync for the file and
 * one for its directory, however many blobs it holds. Layout: a JSON header line
 * `{"format": MAGIC, "blobs": [[digest, size], …]}` and then the bodies, back to back.
 */
export async function writeJournal(dir: string, entries: readonly JournalEntry[]): Promise<string> {
  const header = journalHeader(entries);
  const path = join(dir, `${Date.now()}-${randomBytes(6).toString('hex')}.batch`);
  const file = await open(path, 'wx');
  try {
    try {
      await writeAll(file, [header, ...entries.map((e) => e.bytes)]);
      await file.sync();
    } finally {
      await file.close();
    }
    await syncDir(dir);
  } catch (err) {
    // A journal cut short would replay its intact prefix: never leave one that was not acknowledged.
    await rm(path, { force: true });
    throw err;
  }
  return path;
}

function journalHeader(entries: readonly JournalEntry[]): Buffer {
  return Buffer.from(`${JSON.stringify({ format: MAGIC, blobs: entries.map((e) => [e.digest, e.bytes.length]) })}\n`);
}

/** Where each body of `entries` starts in the journal `writeJournal` makes of them. */
export function bodyOffsets(entries: readonly JournalEntry[]): number[] {
  let offset = journalHeader(entries).length;
  return entries.map((e) => {
    const start = offset;
    offset += e.bytes.length;
    return start;
  });
}

/**
 * The entries of a journal that survived intact. A journal cut short by a crash (it was
 * never acknowledged) yields its intact prefix, and each body is checked against its digest
 * again, so replaying it can only write correct blobs.
 */
export async function readJournal(path: string): Promise<JournaledEntry[]> {
  const data = await readFile(path);
  const newline = data.indexOf(0x0a);
  if (newline < 0) return [];
  let blobs: unknown;
  try {
    const header = JSON.parse(data.subarray(0, newline).toString('utf8')) as { format?: unknown; blobs?: unknown };
    if (header.format !== MAGIC) return [];
    blobs = header.blobs;
  } catch {
    return [];
  }
  if (!Array.isArray(blobs)) return [];
  const entries: JournaledEntry[] = [];
  let offset = newline + 1;
  for (const item of blobs as unknown[]) {
    if (!Array.isArray(item) || typeof item[0] !== 'string' || typeof item[1] !== 'number') break;
    const [digest, size] = item as [string, number];
    if (!Number.isSafeInteger(size) || size < 0 || offset + size > data.length) break;
    const start = offset;
    const bytes = data.subarray(offset, offset + size);
    offset += size;
    if (createHash('sha256').update(bytes).digest('hex') !== digest) break;
    entries.push({ digest, bytes, offset: start });
  }
  return entries;
}

/** Journals left behind, oldest first. */
export async function listJournals(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.batch')).sort();
  return names.map((n) => join(dir, n));
}

/** Makes renames and new entries in `dir` durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
