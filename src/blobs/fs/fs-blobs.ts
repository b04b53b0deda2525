import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import { DIGEST } from '../../core/manifest.ts';
import { Readable } from 'node:stream';
import type { BlobBody, BlobCollection, Blobs, StoredBlob } from '../blobs.ts';
import { bodyOffsets, listJournals, readJournal, syncDir, writeJournal, type JournalEntry } from './batch-journal.ts';
import { asStorageError, isStorageFull, writeAll } from './durable-write.ts';

/** How many files are written or fsynced at once by a recovery. */
const PARALLEL_FILES = 32;
/** Settling runs behind the requests one file at a time: an fsync holds one of libuv's four threads, and the requests need the others. */
const SETTLE_PARALLEL = 1;
/** Marks a collection whose deleting began (its re-check is done): recovery completes it. */
const FINISHING = 'FINISHING';
/** Age past which a file in tmp/ is a crash's leftover, when the caller does not own the directory. */
const STALE_TEMP_MS = 60 * 60 * 1000;
/** How often journals that could not be written out for lack of space are tried again. */
const RETRY_MS = 10_000;

export interface FsBlobsOptions {
  /**
   * The caller holds the data directory's lock (see server/data-dir-lock.ts), so no other
   * process writes here and every file in tmp/ is the leftover of a crashed write.
   */
  exclusive?: boolean;
  /** Failures of work behind the requests (settling, replaying) are reported here. */
  log?: { warn(obj: unknown, msg: string): void };
  /** How often a replay that found the disk full is tried again; 10 s. */
  retryMs?: number;
}

/**
 * Blobs on local disk: `<root>/sha256/ab/abcdef…`.
 *
 * One body (`put`) is written to `<root>/tmp/`, hashed while it streams, fsynced, and renamed
 * into place only when its digest matches, so a crash never leaves a half-written blob under
 * its final name.
 *
 * A batch of small bodies (`putMany`) would cost that for every file — creating, fsyncing and
 * renaming a thousand files is most of the time a 1,000-file deployment takes on a busy disk.
 * Instead the whole batch is written to one journal file under `<root>/journal/`, made durable
 * with one fsync, and the call returns: from then on the blobs are served from the journal
 * (an in-memory index of offsets). Behind the request each blob is written to its own file as
 * `put` writes one; once all are durable they are served from there, and the journal is
 * removed when no read of it is still open. After a crash, `recover()` (run by `FsBlobs.open`)
 * rewrites every blob of a journal that is still there before anything is read, so an
 * acknowledged blob is never lost. The index lives in this process: one server owns a data
 * directory (server/data-dir-lock.ts makes sure of it).
 *
 * Nothing is acknowledged before it is durable: every write's byte count is checked (a filling
 * disk writes short before it fails), files and their directories are fsynced, and a full disk
 * (ENOSPC, EDQUOT) is STORAGE_FULL with the temp file or the partial journal removed. When the
 * disk fills while a journal is written out, its blobs stay served from it, writes are refused
 * and the write-out is retried until space is back (see `#retryUnsettled`).
 */
export class FsBlobs implements Blobs {
  readonly #root: string;
  #ready: Promise<void> | undefined;
  /** Shard directories known to exist: a batch of 1,000 files needs not ask 1,000 times. */
  readonly #shards = new Set<string>();
  /** Blobs of journals not settled yet: served from their journal until their own file is durable. */
  readonly #pending = new Map<string, { journal: string; offset: number; size: number }>();
  /** Open reads per journal: a settled journal is removed when its last read closes. */
  readonly #readers = new Map<string, number>();
  /** Journals whose blobs all have durable files now. */
  readonly #settled = new Set<string>();
  /** Settlements not finished yet (awaited by `flush`). */
  readonly #settling = new Set<Promise<void>>();
  /** Journals whose blobs could not all be written out (the disk was full): served from the journal, tried again. */
  readonly #unsettled = new Set<string>();
  /** A journal could not be written out for lack of space; writes are refused until it is. */
  #full = false;
  #retrying: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #options: FsBlobsOptions;

  constructor(root: string, options: FsBlobsOptions = {}) {
    this.#root = root;
    this.#options = options;
  }

  /**
   * A store whose journals of an earlier run are replayed before it is used. A replay the full
   * disk stops does not fail the open: the store serves every blob (those of the journal from
   * the journal), refuses writes with STORAGE_FULL, and replays again every 10 s and before
   * each write until space is back.
   */
  static async open(root: string, options: FsBlobsOptions = {}): Promise<FsBlobs> {
    const blobs = new FsBlobs(root, options);
    await blobs.recover();
    return blobs;
  }

  /** Whether writes are refused for lack of space (a journal is waiting to be written out). */
  get storageFull(): boolean {
    return this.#full;
  }

  #path(digest: string): string {
    if (!DIGEST.test(digest)) throw new SlipwayError(ErrorCode.INVALID_REQUEST, `"${digest}" is not a sha256 digest`, { digest });
    return join(this.#root, 'sha256', digest.slice(0, 2), digest);
  }

  get #journalDir(): string {
    return join(this.#root, 'journal');
  }

  /** Collections in progress: `<root>/collect/<id>/<digest>`, and `<id>/FINISHING` once deleting began. */
  get #collectDir(): string {
    return join(this.#root, 'collect');
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
      const created = await mkdir(dir, { recursive: true });
      // A new directory is durable only once the directory holding its name is synced too.
      if (created !== undefined) {
        await syncDir(dirname(dir));
        if (created !== dir) await syncDir(dirname(created));
      }
      this.#shards.add(dir);
    }
    return dir;
  }

  /** Refuses a write while a journal waits for space, after trying once more to write it out. */
  async #writable(): Promise<void> {
    if (!this.#full) return;
    await this.#retryUnsettled();
    if (this.#full) {
      throw new SlipwayError(ErrorCode.STORAGE_FULL, 'the blob store is out of disk space and still has blobs to write out; free space, then retry', {
        unsettledJournals: this.#unsettled.size,
      });
    }
  }

  async has(digest: string): Promise<boolean> {
    return (await this.size(digest)) !== undefined;
  }

  async missing(digests: readonly string[]): Promise<string[]> {
    const unique = [...new Set(digests)];
    // A few lookups at a time: 100,000 at once would hold the event loop while they are queued.
    const present = new Array<boolean>(unique.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(PARALLEL_FILES, unique.length) }, async () => {
        while (next < unique.length) {
          const i = next++;
          present[i] = await this.has(unique[i] as string);
        }
      }),
    );
    return unique.filter((_, i) => !present[i]);
  }

  async size(digest: string): Promise<number | undefined> {
    const pending = this.#pending.get(digest);
    if (pending) return pending.size;
    try {
      return (await stat(this.#path(digest))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /**
   * Streams to a temp file, checking each write's byte count, fsyncs it, renames it into place
   * and fsyncs the directory: returns only once the blob is durable. On a full disk the temp
   * file is removed and STORAGE_FULL thrown. A blob already stored is only hashed, not written.
   */
  async put(digest: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: { maxBytes?: number } = {}) {
    const final = this.#path(digest);
    await this.#init();
    await this.#writable();
    if (await this.has(digest)) {
      const bytes = await readChecked(digest, source, options.maxBytes, false);
      return { created: false, size: bytes };
    }
    const temp = this.#tempPath(digest);
    let placed = false;
    try {
      const hash = createHash('sha256');
      const file = await open(temp, 'wx');
      let size = 0;
      try {
        for await (const chunk of source) {
          size += chunk.byteLength;
          if (options.maxBytes !== undefined && size > options.maxBytes) {
            throw new SlipwayError(ErrorCode.PAYLOAD_TOO_LARGE, `blob is larger than ${options.maxBytes} bytes`, { digest });
          }
          hash.update(chunk);
          await writeAll(file, [chunk]);
        }
        const actual = hash.digest('hex');
        if (actual !== digest) {
          throw new SlipwayError(ErrorCode.DIGEST_MISMATCH, `body hashes to ${actual}, not ${digest}`, { expected: digest, actual });
        }
        await file.sync();
      } finally {
        await file.close();
      }
      if (await this.has(digest)) return { created: false, size };
      const dir = await this.#shard(final);
      await rename(temp, final);
      placed = true;
      await syncDir(dir);
      return { created: true, size };
    } catch (err) {
      throw asStorageError(err);
    } finally {
      if (!placed) await rm(temp, { force: true });
    }
  }

  /**
   * Many small bodies, made durable together by one journal write (see the class comment).
   * Every body is read into memory and checked first; one bad body stores none of them.
   * Callers cap the sizes (the HTTP batch takes 64 MB at most).
   */
  async putMany(bodies: AsyncIterable<BlobBody> | Iterable<BlobBody>, options: { maxBytes?: number } = {}): Promise<StoredBlob[]> {
    await this.#init();
    await this.#writable();
    const entries: JournalEntry[] = [];
    for await (const body of bodies) {
      this.#path(body.digest);
      entries.push({ digest: body.digest, bytes: await readChecked(body.digest, body.source, options.maxBytes, true) });
    }
    const unique = uniqueBy(entries, (e) => e.digest);
    const missing = new Set(await this.missing(unique.map((e) => e.digest)));
    const fresh = unique.filter((e) => missing.has(e.digest));
    if (fresh.length > 0) {
      // All or nothing: a journal that could not be written whole is removed and none of the batch is acknowledged.
      const journal = await writeJournal(this.#journalDir, fresh).catch((err: unknown) => {
        throw asStorageError(err);
      });
      // Durable from here on: readable from the journal at once, placed as files behind the request.
      const offsets = bodyOffsets(fresh);
      for (const [i, entry] of fresh.entries()) {
        this.#pending.set(entry.digest, { journal, offset: offsets[i] as number, size: entry.bytes.length });
      }
      this.#settleLater(journal, fresh);
    }
    const created = new Set(fresh.map((e) => e.digest));
    return entries.map((e) => ({ digest: e.digest, created: created.delete(e.digest), size: e.bytes.length }));
  }

  /**
   * Writes one journaled blob under its final name via a temp file, fsyncing it and its
   * directory. `verify` (a replay) first reads a file already there: one with exactly these
   * bytes is kept, which also spares a nearly full disk the copy.
   */
  async #place(entry: JournalEntry, verify: boolean): Promise<void> {
    const final = this.#path(entry.digest);
    if (verify && (await hasBytes(final, entry.bytes))) return;
    const dir = await this.#shard(final);
    const temp = this.#tempPath(entry.digest);
    let placed = false;
    try {
      const file = await open(temp, 'wx');
      try {
        await writeAll(file, [entry.bytes]);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, final);
      placed = true;
      await syncDir(dir);
    } finally {
      if (!placed) await rm(temp, { force: true });
    }
  }

  /**
   * Writes out every blob of a journal (a fresh batch, or one replayed), then serves them from
   * their own files; the journal goes once no read of it is still open. Throws if a blob could
   * not be written; its journal then stays, and keeps serving its blobs.
   */
  async #settle(journal: string, entries: readonly JournalEntry[], parallel: number, verify: boolean): Promise<void> {
    await eachLimited(entries, parallel, (entry) => this.#place(entry, verify));
    for (const entry of entries) if (this.#pending.get(entry.digest)?.journal === journal) this.#pending.delete(entry.digest);
    this.#unsettled.delete(journal);
    this.#settled.add(journal);
    await this.#removeIfUnread(journal);
  }

  /** Behind the request: see `#settle`. A failure keeps the journal for `#retryUnsettled`. */
  #settleLater(journal: string, entries: readonly JournalEntry[]): void {
    const settling = this.#settle(journal, entries, SETTLE_PARALLEL, false).catch((err: unknown) => this.#unsettledBy(journal, err));
    this.#settling.add(settling);
    void settling.finally(() => this.#settling.delete(settling));
  }

  /** A journal could not be written out: it keeps serving its blobs and is tried again. */
  #unsettledBy(journal: string, err: unknown): void {
    this.#unsettled.add(journal);
    if (isStorageFull(err)) this.#full = true;
    this.#options.log?.warn({ err, journal }, 'blobs of a batch could not be written out yet; they are served from its journal and tried again');
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#closed || this.#retryTimer !== undefined || this.#unsettled.size === 0) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#retryUnsettled();
    }, this.#options.retryMs ?? RETRY_MS);
    this.#retryTimer.unref();
  }

  /**
   * Tries again to write out the journals a full disk stopped. States: writable (nothing
   * unsettled) → full (a journal waits; writes refused, a retry every `retryMs` and before each
   * write) → writable once every waiting journal is written out. One retry runs at a time.
   */
  #retryUnsettled(): Promise<void> {
    this.#retrying ??= (async () => {
      let full = false;
      for (const journal of [...this.#unsettled]) {
        try {
          const entries = await readJournal(journal);
          await this.#settle(journal, entries, PARALLEL_FILES, true);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
            this.#unsettled.delete(journal);
            continue;
          }
          if (isStorageFull(err)) full = true;
          this.#options.log?.warn({ err, journal }, 'a journal still cannot be written out');
        }
      }
      this.#full = full;
      this.#scheduleRetry();
    })().finally(() => {
      this.#retrying = undefined;
    });
    return this.#retrying;
  }

  /** Stops retrying in the background (shutdown); what is unsettled is replayed at the next start. */
  close(): void {
    this.#closed = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  /** Counts a read of a journal, so the journal outlives it; returns the release. */
  #openRead(journal: string): () => void {
    this.#readers.set(journal, (this.#readers.get(journal) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#readers.get(journal) ?? 1) - 1;
      if (left > 0) this.#readers.set(journal, left);
      else this.#readers.delete(journal);
      void this.#removeIfUnread(journal).catch(() => undefined);
    };
  }

  async #removeIfUnread(journal: string): Promise<void> {
    if (!this.#settled.has(journal) || this.#readers.has(journal)) return;
    this.#settled.delete(journal);
    await rm(journal, { force: true });
  }

  /** Waits for the checkpoints and retries in flight (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.#settling.size > 0 || this.#retrying !== undefined) await Promise.all([...this.#settling, this.#retrying]);
  }

  /**
   * Replays journals a crash left behind: each intact body is made durable under its own name
   * (a file already there with exactly its bytes is kept), then the journal is removed. Their
   * blobs are served from the journal until then, so a replay the full disk stops leaves every
   * blob readable (see `open`). Returns how many blobs were replayed.
   */
  async recover(): Promise<number> {
    await this.#init();
    await this.#removeTemps();
    await this.#recoverCollections();
    let replayed = 0;
    for (const journal of await listJournals(this.#journalDir)) {
      if (this.#unsettled.has(journal)) continue;
      const entries = await readJournal(journal);
      for (const entry of entries) this.#pending.set(entry.digest, { journal, offset: entry.offset, size: entry.bytes.length });
      try {
        await this.#settle(journal, entries, PARALLEL_FILES, true);
        replayed += entries.length;
      } catch (err) {
        if (!isStorageFull(err)) throw err;
        this.#unsettledBy(journal, err);
      }
    }
    return replayed;
  }

  /**
   * Collections a crash cut short: one that had begun deleting (FINISHING) is completed — its
   * re-check was done, nothing may use what is left — and any other is undone, every blob going
   * back; the deletion that started it runs again and decides anew.
   */
  async #recoverCollections(): Promise<void> {
    let ids: string[];
    try {
      ids = await readdir(this.#collectDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const id of ids) {
      const dir = join(this.#collectDir, id);
      const names = await readdir(dir);
      if (!names.includes(FINISHING)) await this.#putBack(dir, names.filter((n) => DIGEST.test(n)));
      await rm(dir, { recursive: true, force: true });
    }
    await syncDir(this.#collectDir);
  }

  /** Moves set-aside blobs back under their names; one stored again meanwhile stays as it is. */
  async #putBack(dir: string, digests: readonly string[]): Promise<void> {
    for (const digest of digests) {
      const final = this.#path(digest);
      const aside = join(dir, digest);
      if (await this.has(digest)) {
        await rm(aside, { force: true });
        continue;
      }
      const shard = await this.#shard(final);
      await rename(aside, final);
      await syncDir(shard);
    }
  }

  async collect(digests: readonly string[]): Promise<BlobCollection> {
    await this.#init();
    await mkdir(this.#collectDir, { recursive: true });
    const dir = join(this.#collectDir, `${Date.now()}-${randomBytes(6).toString('hex')}`);
    await mkdir(dir);
    await syncDir(this.#collectDir);
    const moved: string[] = [];
    const shards = new Set<string>();
    for (const digest of new Set(digests)) {
      // A blob of a batch not settled yet was sent again just now: someone wants it.
      if (this.#pending.has(digest)) continue;
      const final = this.#path(digest);
      try {
        await rename(final, join(dir, digest));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      moved.push(digest);
      shards.add(dirname(final));
    }
    // Durable before the caller re-checks: a crash from here on finds them in `dir`.
    await syncDir(dir);
    for (const shard of shards) await syncDir(shard);
    const left = new Set(moved);
    return {
      moved,
      read: (digest) => {
        if (!left.has(digest)) return Promise.reject(new SlipwayError(ErrorCode.NOT_FOUND, `blob ${digest} is not set aside`, { digest }));
        return readFile(join(dir, digest));
      },
      restore: async (wanted) => {
        const back = wanted.filter((d) => left.delete(d));
        await this.#putBack(dir, back);
      },
      finish: async () => {
        const marker = await open(join(dir, FINISHING), 'w');
        await marker.sync();
        await marker.close();
        await syncDir(dir);
        const deleted = [...left];
        for (const digest of deleted) await rm(join(dir, digest), { force: true });
        left.clear();
        await rm(dir, { recursive: true, force: true });
        await syncDir(this.#collectDir);
        return deleted;
      },
    };
  }

  /**
   * Temp files of writes a crash cut short. With the data directory's lock held every one is;
   * otherwise only those an hour old, which belong to no write still running.
   */
  async #removeTemps(): Promise<void> {
    const tmp = join(this.#root, 'tmp');
    const cutoff = this.#options.exclusive ? Infinity : Date.now() - STALE_TEMP_MS;
    for (const name of await readdir(tmp)) {
      const path = join(tmp, name);
      const info = await stat(path).catch(() => undefined);
      if (info && info.mtimeMs < cutoff) await rm(path, { force: true, recursive: true });
    }
  }

  async putBytes(bytes: Uint8Array): Promise<string> {
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (!(await this.has(digest))) await this.put(digest, [bytes]);
    return digest;
  }

  async read(digest: string): Promise<Buffer> {
    const pending = this.#pending.get(digest);
    if (pending) return this.#readPending(pending);
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
    const pending = this.#pending.get(digest);
    if (!pending) return createReadStream(this.#path(digest), range);
    const start = range?.start ?? 0;
    const end = Math.min(range?.end ?? pending.size - 1, pending.size - 1);
    if (end < start) return Readable.from([]);
    const release = this.#openRead(pending.journal);
    const stream = createReadStream(pending.journal, { start: pending.offset + start, end: pending.offset + end });
    stream.once('close', release);
    return stream;
  }

  async #readPending(pending: { journal: string; offset: number; size: number }): Promise<Buffer> {
    const release = this.#openRead(pending.journal);
    try {
      const file = await open(pending.journal, 'r');
      try {
        const bytes = Buffer.alloc(pending.size);
        let done = 0;
        while (done < pending.size) {
          const { bytesRead } = await file.read(bytes, done, pending.size - done, pending.offset + done);
          if (bytesRead === 0) throw new Error(`journal ${pending.journal} ends before its blob does`);
          done += bytesRead;
        }
        return bytes;
      } finally {
        await file.close();
      }
    } finally {
      release();
    }
  }
}

/**
 * Reads a body to its end, checking that it is at most `maxBytes` and hashes to `digest`;
 * returns its bytes when `keep`, else only its size.
 */
async function readChecked(digest: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, maxBytes: number | undefined, keep: true): Promise<Buffer>;
async function readChecked(digest: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, maxBytes: number | undefined, keep: false): Promise<number>;
async function readChecked(digest: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, maxBytes: number | undefined, keep: boolean): Promise<Buffer | number> {
  const chunks: Uint8Array[] = [];
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of source) {
    size += chunk.byteLength;
    if (maxBytes !== undefined && size > maxBytes) {
      throw new SlipwayError(ErrorCode.PAYLOAD_TOO_LARGE, `blob is larger than ${maxBytes} bytes`, { digest });
    }
    hash.update(chunk);
    if (keep) chunks.push(chunk);
  }
  const actual = hash.digest('hex');
  if (actual !== digest) throw new SlipwayError(ErrorCode.DIGEST_MISMATCH, `body hashes to ${actual}, not ${digest}`, { expected: digest, actual });
  return keep ? Buffer.concat(chunks, size) : size;
}

/** Whether the file at `path` holds exactly `bytes`. */
async function hasBytes(path: string, bytes: Buffer): Promise<boolean> {
  try {
    const info = await stat(path);
    if (info.size !== bytes.length) return false;
    return (await readFile(path)).equals(bytes);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
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
