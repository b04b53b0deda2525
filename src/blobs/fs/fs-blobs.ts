import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import { DIGEST } from '../../core/manifest.ts';
import { mapSliced } from '../../core/sliced.ts';
import type { BlobBody, Blobs, StoredBlob } from '../blobs.ts';
import { listJournals, readJournal, syncDir, writeJournal, type JournalEntry } from './batch-journal.ts';

/** How many files are written or fsynced at once by a recovery. */
const PARALLEL_FILES = 32;
/** A checkpoint runs behind the requests: few fsyncs at once leave the disk to foreground writes. */
const CHECKPOINT_PARALLEL = 4;
/** Age past which a file in tmp/ is a crash's leftover. */
const STALE_TEMP_MS = 60 * 60 * 1000;
/** Small files placed per turn of the event loop (about a millisecond of synchronous writes). */
const SYNC_SLICE = 32;

/**
 * Blobs on local disk: `<root>/sha256/ab/abcdef…`.
 *
 * One body (`put`) is written to `<root>/tmp/`, hashed while it streams, fsynced, and renamed
 * into place only when its digest matches, so a crash never leaves a half-written blob under
 * its final name.
 *
 * A batch of small bodies (`putMany`) would cost one fsync per file that way, which on a
 * virtual disk is most of the time a 1,000-file deployment takes. Instead the whole batch is
 * written to one journal file under `<root>/journal/` and made durable with one fsync; then
 * each blob is written to tmp and renamed into place without waiting for the disk, and the
 * call returns. A background checkpoint fsyncs those files and only then deletes the journal.
 * After a crash, `recover()` (run by `FsBlobs.open`) rewrites every blob of a journal that is
 * still there, so an acknowledged blob is never lost.
 */
export class FsBlobs implements Blobs {
  readonly #root: string;
  #ready: Promise<void> | undefined;
  /** Shard directories known to exist: a batch of 1,000 files needs not ask 1,000 times. */
  readonly #shards = new Set<string>();
  /** Checkpoints not finished yet (awaited by `flush`). */
  readonly #checkpoints = new Set<Promise<void>>();

  constructor(root: string) {
    this.#root = root;
  }

  /** A store whose journals of an earlier run are replayed before it is used. */
  static async open(root: string): Promise<FsBlobs> {
    const blobs = new FsBlobs(root);
    await blobs.recover();
    return blobs;
  }

  #path(digest: string): string {
    if (!DIGEST.test(digest)) throw new SlipwayError(ErrorCode.INVALID_REQUEST, `"${digest}" is not a sha256 digest`, { digest });
    return join(this.#root, 'sha256', digest.slice(0, 2), digest);
  }

  get #journalDir(): string {
    return join(this.#root, 'journal');
  }

  #init(): Promise<void> {
    this.#ready ??= Promise.all([mkdir(join(this.#root, 'tmp'), { recursive: true }), mkdir(this.#journalDir, { recursive: true })]).then(
      () => undefined,
    );
    return this.#ready;
  }

  #tempPath(digest: string): string {
    return join(this.#root, 'tmp', `${digest}.${randomBytes(6).toString('hex')}`);
  }

  async #shard(final: string): Promise<string> {
    const dir = dirname(final);
    if (!this.#shards.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.#shards.add(dir);
    }
    return dir;
  }

  async has(digest: string): Promise<boolean> {
    return (await this.size(digest)) !== undefined;
  }

  async missing(digests: readonly string[]): Promise<string[]> {
    const unique = [...new Set(digests)];
    const present = await Promise.all(unique.map((d) => this.has(d)));
    return unique.filter((_, i) => !present[i]);
  }

  async size(digest: string): Promise<number | undefined> {
    try {
      return (await stat(this.#path(digest))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async put(digest: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: { maxBytes?: number } = {}) {
    const final = this.#path(digest);
    await this.#init();
    const temp = this.#tempPath(digest);
    const hash = createHash('sha256');
    const file = await open(temp, 'w');
    let size = 0;
    let keep = false;
    try {
      for await (const chunk of source) {
        size += chunk.byteLength;
        if (options.maxBytes !== undefined && size > options.maxBytes) {
          throw new SlipwayError(ErrorCode.PAYLOAD_TOO_LARGE, `blob is larger than ${options.maxBytes} bytes`, { digest });
        }
        hash.update(chunk);
        await file.write(chunk);
      }
      const actual = hash.digest('hex');
      if (actual !== digest) {
        throw new SlipwayError(ErrorCode.DIGEST_MISMATCH, `body hashes to ${actual}, not ${digest}`, { expected: digest, actual });
      }
      await file.sync();
      keep = true;
    } finally {
      await file.close();
      if (!keep) await rm(temp, { force: true });
    }
    if (await this.has(digest)) {
      await rm(temp, { force: true });
      return { created: false, size };
    }
    const dir = await this.#shard(final);
    await rename(temp, final);
    await syncDir(dir);
    return { created: true, size };
  }

  /**
   * Many small bodies, made durable together by one journal write (see the class comment).
   * Every body is read into memory and checked first; one bad body stores none of them.
   * Callers cap the sizes (the HTTP batch takes 64 MB at most).
   */
  async putMany(bodies: AsyncIterable<BlobBody> | Iterable<BlobBody>, options: { maxBytes?: number } = {}): Promise<StoredBlob[]> {
    await this.#init();
    const entries: JournalEntry[] = [];
    for await (const body of bodies) {
      this.#path(body.digest);
      entries.push({ digest: body.digest, bytes: await readChecked(body.digest, body.source, options.maxBytes) });
    }
    const unique = uniqueBy(entries, (e) => e.digest);
    const stored = await mapSliced(unique, SYNC_SLICE, (e) => existsSync(this.#path(e.digest)));
    const fresh = unique.filter((_, i) => !stored[i]);
    if (fresh.length > 0) {
      const journal = await writeJournal(this.#journalDir, fresh);
      // Durable already (the journal); each file only goes to the page cache, synchronously.
      await mapSliced(fresh, SYNC_SLICE, (entry) => this.#placeNow(entry));
      this.#checkpointLater(journal, fresh);
    }
    const created = new Set(fresh.map((e) => e.digest));
    return entries.map((e) => {
      const first = created.delete(e.digest);
      return { digest: e.digest, created: first, size: e.bytes.length };
    });
  }

  /** Writes one small blob under its final name via a temp file, without waiting for the disk. */
  #placeNow(entry: JournalEntry): void {
    const final = this.#path(entry.digest);
    const dir = dirname(final);
    if (!this.#shards.has(dir)) {
      mkdirSync(dir, { recursive: true });
      this.#shards.add(dir);
    }
    const temp = this.#tempPath(entry.digest);
    writeFileSync(temp, entry.bytes, { flag: 'wx' });
    renameSync(temp, final);
  }

  /** Writes one blob under its final name via a temp file; `durable` fsyncs it and its directory. */
  async #place(entry: JournalEntry, durable: boolean): Promise<void> {
    const final = this.#path(entry.digest);
    const dir = await this.#shard(final);
    const temp = this.#tempPath(entry.digest);
    const file = await open(temp, 'wx');
    try {
      await file.writeFile(entry.bytes);
      if (durable) await file.sync();
    } catch (err) {
      await file.close();
      await rm(temp, { force: true });
      throw err;
    }
    await file.close();
    await rename(temp, final);
    if (durable) await syncDir(dir);
  }

  /** Once the journal's blobs are on disk for good, the journal goes. Failures leave it for `recover`. */
  #checkpointLater(journal: string, entries: readonly JournalEntry[]): void {
    const checkpoint = (async () => {
      await eachLimited(entries, CHECKPOINT_PARALLEL, (entry) => fsyncFile(this.#path(entry.digest)));
      await eachLimited([...new Set(entries.map((e) => dirname(this.#path(e.digest))))], CHECKPOINT_PARALLEL, syncDir);
      await rm(journal, { force: true });
    })().catch(() => undefined);
    this.#checkpoints.add(checkpoint);
    void checkpoint.finally(() => this.#checkpoints.delete(checkpoint));
  }

  /** Waits for the checkpoints in flight (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.#checkpoints.size > 0) await Promise.all([...this.#checkpoints]);
  }

  /**
   * Replays journals a crash left behind: each intact body is written again, durably, whether
   * or not its file made it to disk, then the journal is removed. Returns how many blobs.
   */
  async recover(): Promise<number> {
    await this.#init();
    await this.#removeStaleTemps();
    let replayed = 0;
    for (const journal of await listJournals(this.#journalDir)) {
      const entries = await readJournal(journal);
      await eachLimited(entries, PARALLEL_FILES, (entry) => this.#place(entry, true));
      await rm(journal, { force: true });
      replayed += entries.length;
    }
    return replayed;
  }

  /** Temp files of writes a crash cut short; an hour old, they belong to no write still running. */
  async #removeStaleTemps(): Promise<void> {
    const tmp = join(this.#root, 'tmp');
    const cutoff = Date.now() - STALE_TEMP_MS;
    for (const name of await readdir(tmp)) {
      const path = join(tmp, name);
      const info = await stat(path).catch(() => undefined);
      if (info && info.mtimeMs < cutoff) await rm(path, { force: true });
    }
  }

  async putBytes(bytes: Uint8Array): Promise<string> {
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (!(await this.has(digest))) await this.put(digest, [bytes]);
    return digest;
  }

  async read(digest: string): Promise<Buffer> {
    try {
      return await readFile(this.#path(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new SlipwayError(ErrorCode.NOT_FOUND, `blob ${digest} is not stored`, { digest });
      }
      throw err;
    }
  }

  stream(digest: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.#path(digest), range);
  }
}

/** A whole body in memory, provided it is at most `maxBytes` and hashes to `digest`. */
async function readChecked(digest: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, maxBytes: number | undefined): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += chunk.byteLength;
    if (maxBytes !== undefined && size > maxBytes) {
      throw new SlipwayError(ErrorCode.PAYLOAD_TOO_LARGE, `blob is larger than ${maxBytes} bytes`, { digest });
    }
    chunks.push(chunk);
  }
  const bytes = Buffer.concat(chunks);
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== digest) throw new SlipwayError(ErrorCode.DIGEST_MISMATCH, `body hashes to ${actual}, not ${digest}`, { expected: digest, actual });
  return bytes;
}

async function fsyncFile(path: string): Promise<void> {
  const file = await open(path, 'r');
  try {
    await file.sync();
  } finally {
    await file.close();
  }
}

function uniqueBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Runs `fn` over `items`, at most `limit` at a time; the first error is thrown once all have settled. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const results = await Promise.allSettled(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}
