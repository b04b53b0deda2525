import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import { DIGEST } from '../../core/manifest.ts';
import { Readable } from 'node:stream';
import type { BlobBody, BlobCollection, Blobs, StoredBlob } from '../blobs.ts';
import { bodyOffsets, listJournals, readJournal, syncDir, writeJournal, type JournalEntry } from './batch-journal.ts';

/** How many files are written or fsynced at once by a recovery. */
const PARALLEL_FILES = 32;
/** Settling runs behind the requests one file at a time: an fsync holds one of libuv's four threads, and the requests need the others. */
const SETTLE_PARALLEL = 1;
/** Marks a collection whose deleting began (its re-check is done): recovery completes it. */
const FINISHING = 'FINISHING';
/** Age past which a file in tmp/ is a crash's leftover. */
const STALE_TEMP_MS = 60 * 60 * 1000;

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
 * directory.
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
    const pending = this.#pending.get(digest);
    if (pending) return pending.size;
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
    const missing = new Set(await this.missing(unique.map((e) => e.digest)));
    const fresh = unique.filter((e) => missing.has(e.digest));
    if (fresh.length > 0) {
      const journal = await writeJournal(this.#journalDir, fresh);
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

  /** Writes one journaled blob under its final name via a temp file, fsyncing it and its directory. */
  async #place(entry: JournalEntry): Promise<void> {
    const final = this.#path(entry.digest);
    const dir = await this.#shard(final);
    const temp = this.#tempPath(entry.digest);
    const file = await open(temp, 'wx');
    try {
      await file.writeFile(entry.bytes);
      await file.sync();
    } catch (err) {
      await file.close();
      await rm(temp, { force: true });
      throw err;
    }
    await file.close();
    await rename(temp, final);
    await syncDir(dir);
  }

  /**
   * Behind the request: each blob of a journal is written to its own file and fsynced, then
   * served from there; the journal goes once no read of it is still open. A failure leaves the
   * journal (and its blobs served from it) for `recover` at the next start.
   */
  #settleLater(journal: string, entries: readonly JournalEntry[]): void {
    const settling = (async () => {
      await eachLimited(entries, SETTLE_PARALLEL, (entry) => this.#place(entry));
      for (const entry of entries) if (this.#pending.get(entry.digest)?.journal === journal) this.#pending.delete(entry.digest);
      this.#settled.add(journal);
      await this.#removeIfUnread(journal);
    })().catch(() => undefined);
    this.#settling.add(settling);
    void settling.finally(() => this.#settling.delete(settling));
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

  /** Waits for the checkpoints in flight (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.#settling.size > 0) await Promise.all([...this.#settling]);
  }

  /**
   * Replays journals a crash left behind: each intact body is written again, durably, whether
   * or not its file made it to disk, then the journal is removed. Returns how many blobs.
   */
  async recover(): Promise<number> {
    await this.#init();
    await this.#removeStaleTemps();
    await this.#recoverCollections();
    let replayed = 0;
    for (const journal of await listJournals(this.#journalDir)) {
      const entries = await readJournal(journal);
      await eachLimited(entries, PARALLEL_FILES, (entry) => this.#place(entry));
      await rm(journal, { force: true });
      replayed += entries.length;
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
