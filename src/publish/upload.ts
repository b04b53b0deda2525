import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import type { ManifestEntry } from '../core/manifest.ts';
import { mapSliced } from './sliced.ts';
import { ApiError } from '../protocol/client.ts';
import type { SlipwayClient } from '../protocol/client.ts';
import { PublishError } from './errors.ts';
import type { Progress } from './progress.ts';

/** A file found on disk, before hashing: `path` is its manifest path, `source` what to read. */
export interface TreeFile {
  path: string;
  source: string;
  mode: number;
  size: number;
  /** What the hash cache compares (hash-cache.ts): a file whose stat is unchanged has unchanged bytes. */
  stat?: FileStat;
}

/** The parts of a file's stat that change whenever its bytes do (short of someone forging them). */
export interface FileStat {
  ino: number;
  mtimeMs: number;
  ctimeMs: number;
}

/** A hashed file: a manifest entry plus where its bytes live. */
export interface LocalFile extends ManifestEntry {
  source: string;
  /**
   * The bytes that were hashed, kept for small files while they fit a memory budget: they are
   * uploaded as they are, with no second read (and no chance of differing from the digest).
   */
  bytes?: Buffer;
}

/** Bytes of small files `hashTree` keeps in memory for the upload; the rest are read again. */
export const KEPT_BYTES_BUDGET = 64 * 1024 * 1024;
/** Small files hashed per turn of the event loop. */
const HASH_SLICE = 32;
/** Files stat'ed per turn of the event loop while listing a tree. */
const STAT_SLICE = 256;

export interface Tree {
  files: TreeFile[];
  /** Things left out, for a person to read (a symlinked directory, a socket). */
  warnings: string[];
}

export interface ReadTreeOptions {
  /** Symlinks may resolve anywhere inside this directory (default: `root`), e.g. a build's checkout around its output. */
  boundary?: string;
  /** The error for a symlink that resolves outside the boundary (default: PublishError SYMLINK_OUTSIDE_ROOT). */
  outside?: (path: string, target: string) => Error;
}

/**
 * Names never deployed, at any depth: `.git` (directories, and submodules' `.git` files) and
 * `.slipway.json`, the CLI's link of a directory to its project (`slipway link`).
 */
const LEFT_OUT = new Set(['.git', '.slipway.json']);

/**
 * Lists the regular files under `root`, leaving out the names in LEFT_OUT. Symlinks are never
 * followed as directories: a symlink to a file inside the tree is deployed as a copy of that
 * file, a symlink to a directory is skipped with a warning, and a symlink that resolves outside the tree fails with SYMLINK_OUTSIDE_ROOT so a
 * deploy can never publish files from elsewhere on the machine.
 */
export async function readTree(root: string, options: ReadTreeOptions = {}): Promise<Tree> {
  const realRoot = await resolveLink(root);
  if (realRoot === undefined) throw new PublishError('NOT_A_DIRECTORY', `${root} does not exist`);
  if (!(await stat(realRoot)).isDirectory()) throw new PublishError('NOT_A_DIRECTORY', `${root} is not a directory`);
  const boundary = options.boundary === undefined ? realRoot : await realpath(options.boundary);
  const files: TreeFile[] = [];
  const warnings: string[] = [];

  // Directories are listed and regular files stat'ed synchronously (a fraction of the cost of a
  // trip through libuv's thread pool, which dominated a redeploy whose digests all come from
  // the hash cache), yielding to the event loop every STAT_SLICE files.
  let statted = 0;
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const entries = readdirSync(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (LEFT_OUT.has(entry.name)) continue;
      // `dir` is a real path and a name has no `/`: nothing for path.join to normalize (a few
      // microseconds a file, a few percent of listing a large tree).
      const abs = dir === sep ? `${sep}${entry.name}` : `${dir}${sep}${entry.name}`;
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        await walk(abs, path);
      } else if (entry.isFile()) {
        if (++statted % STAT_SLICE === 0) await yieldToLoop();
        const info = statSync(abs);
        files.push({ path, source: abs, mode: info.mode & 0o777, size: info.size, stat: statOf(info) });
      } else if (entry.isSymbolicLink()) {
        const target = await resolveLink(abs);
        if (target === undefined) {
          warnings.push(`skipped ${path}: dangling symlink`);
          continue;
        }
        const rel = relative(boundary, target);
        if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
          if (options.outside) throw options.outside(path, target);
          throw new PublishError('SYMLINK_OUTSIDE_ROOT', `${path} is a symlink to ${target}, outside ${root}; refusing to deploy it`);
        }
        const info = await stat(target);
        if (info.isFile()) files.push({ path, source: target, mode: info.mode & 0o777, size: info.size, stat: statOf(info) });
        else warnings.push(`skipped ${path}: symlinks to directories are not followed`);
      } else {
        warnings.push(`skipped ${path}: not a regular file`);
      }
    }
  };

  await walk(realRoot, '');
  return { files, warnings };
}

function statOf(info: Stats): FileStat {
  return { ino: info.ino, mtimeMs: info.mtimeMs, ctimeMs: info.ctimeMs };
}

async function resolveLink(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP') return undefined;
    throw err;
  }
}

/** sha256 of a file, streamed; the size is what was actually read. */
export async function hashFile(source: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(source)) {
    const bytes = chunk as Buffer;
    hash.update(bytes);
    size += bytes.length;
  }
  return { sha256: hash.digest('hex'), size };
}

function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Hashes every file. Small files (most of a site) are read whole, synchronously, a slice at a
 * time, which costs a fraction of a stream each; their bytes are kept for the upload within
 * KEPT_BYTES_BUDGET. Large files are streamed, `concurrency` at a time.
 */
export async function hashTree(files: readonly TreeFile[], concurrency: number, progress: Progress): Promise<LocalFile[]> {
  let kept = 0;
  const small = await mapSliced(
    files.filter((f) => f.size <= BATCH_FILE_BYTES),
    HASH_SLICE,
    (file): LocalFile => {
      const bytes = readFileSync(file.source);
      progress.advance(bytes.length);
      const entry: LocalFile = { path: file.path, sha256: sha256Of(bytes), size: bytes.length, mode: file.mode, source: file.source };
      if (kept + bytes.length <= KEPT_BYTES_BUDGET) {
        kept += bytes.length;
        entry.bytes = bytes;
      }
      return entry;
    },
  );
  const large = await mapConcurrent(
    files.filter((f) => f.size > BATCH_FILE_BYTES),
    concurrency,
    async (file): Promise<LocalFile> => {
      const { sha256, size } = await hashFile(file.source);
      progress.advance(size);
      return { path: file.path, sha256, size, mode: file.mode, source: file.source };
    },
  );
  const byPath = new Map([...small, ...large].map((f) => [f.path, f]));
  return files.map((f) => byPath.get(f.path) as LocalFile);
}

export interface UploadOptions {
  concurrency: number;
  /** Tries per blob, counting the first. */
  attempts: number;
  progress: Progress;
  /** Base delay of the exponential backoff between tries. */
  backoffMs?: number;
}

/** Files up to this size travel in batches (`POST /api/v1/blobs`); larger ones get a PUT each. */
export const BATCH_FILE_BYTES = 1024 * 1024;
/** A batch closes at this many files or bytes, whichever comes first (the server takes 1,000 and 64 MB). */
export const BATCH_MAX_FILES = 500;
export const BATCH_MAX_BYTES = 8 * 1024 * 1024;
/** Batches in flight at once: the server writes one while the next is read and sent. */
const BATCH_CONCURRENCY = 2;

/**
 * Uploads each missing blob once: small files in multipart batches (one request and one fsync
 * barrier for hundreds of files, instead of one of each per file), large files as single PUTs.
 * A file whose bytes no longer match the digest hashed a moment ago fails with FILE_CHANGED
 * rather than uploading something the manifest does not describe.
 */
export async function uploadMissing(
  client: SlipwayClient,
  missing: readonly string[],
  files: readonly LocalFile[],
  options: UploadOptions,
): Promise<{ blobs: number; bytes: number }> {
  const byDigest = new Map<string, LocalFile>();
  for (const file of files) byDigest.set(file.sha256, file);
  const wanted: LocalFile[] = [];
  for (const digest of new Set(missing)) {
    const file = byDigest.get(digest);
    if (!file) throw new Error(`the server asked for blob ${digest}, which is not in this manifest`);
    wanted.push(file);
  }
  const retry = <T>(attempt: () => Promise<T>) => withRetry(attempt, options.attempts, options.backoffMs ?? 250);
  let bytes = 0;
  const sent = (size: number): void => {
    bytes += size;
    options.progress.advance(size);
  };
  // The first failure, of batches or large files: after it neither starts another upload,
  // and once the ones in flight are done it is what the caller sees.
  let failure: { error: unknown } | undefined;
  const untilFailure =
    <T>(upload: (item: T) => Promise<void>) =>
    async (item: T): Promise<void> => {
      if (failure !== undefined) return;
      try {
        await upload(item);
      } catch (error) {
        failure ??= { error };
      }
    };
  const large = wanted.filter((f) => f.size > BATCH_FILE_BYTES);
  const batches = batchesOf(wanted.filter((f) => f.size <= BATCH_FILE_BYTES));
  await Promise.all([
    mapConcurrent(batches, BATCH_CONCURRENCY, untilFailure(async (batch) => {
      const blobs = await mapSliced(batch, HASH_SLICE, (file) => ({ digest: file.sha256, bytes: file.bytes ?? readCheckedSync(file) }));
      await retry(() => client.putBlobs(blobs));
      for (const blob of blobs) sent(blob.bytes.length);
    })),
    // Large files stream from disk, each try from the start; the server checks the digest.
    mapConcurrent(large, Math.max(1, options.concurrency - BATCH_CONCURRENCY), untilFailure(async (file) => {
      try {
        await retry(() => client.putBlobStream(file.sha256, createReadStream(file.source)));
      } catch (err) {
        if (err instanceof ApiError && err.code === 'DIGEST_MISMATCH') throw changed(file);
        throw err;
      }
      sent(file.size);
    })),
  ]);
  if (failure !== undefined) throw failure.error;
  return { blobs: wanted.length, bytes };
}

/** Groups small files into batches of at most BATCH_MAX_FILES files and BATCH_MAX_BYTES bytes. */
export function batchesOf(files: readonly LocalFile[]): LocalFile[][] {
  const batches: LocalFile[][] = [];
  let current: LocalFile[] = [];
  let size = 0;
  for (const file of files) {
    if (current.length > 0 && (current.length >= BATCH_MAX_FILES || size + file.size > BATCH_MAX_BYTES)) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(file);
    size += file.size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** readChecked for a small file, without the thread pool's round trips. */
function readCheckedSync(file: LocalFile): Buffer {
  return checked(file, readFileSync(file.source));
}

function checked(file: LocalFile, body: Buffer): Buffer {
  if (sha256Of(body) !== file.sha256) throw changed(file);
  return body;
}

function changed(file: LocalFile): PublishError {
  return new PublishError('FILE_CHANGED', `${file.path} changed while deploying; run the deploy again`);
}

/**
 * Answers to a delta upload that mean "send the whole manifest instead", which is always
 * right: the base is gone or in another project, the server's idea of it differs from ours,
 * or the server predates deltas (INVALID_REQUEST: it wants `files`).
 */
export const DELTA_FALL_BACK: ReadonlySet<string> = new Set([
  'BASE_NOT_FOUND',
  'MANIFEST_DELTA_MISMATCH',
  'MANIFEST_DELTA_UNKNOWN_PATH',
  'MANIFEST_DUPLICATE_PATH',
  'INVALID_REQUEST',
]);

/** Transport failures and 5xx answers are worth another try; 4xx answers never change. */
export function isRetryable(err: unknown): boolean {
  return err instanceof ApiError && (err.code === 'NETWORK_ERROR' || err.status >= 500);
}

export async function withRetry<T>(attempt: () => Promise<T>, attempts: number, backoffMs: number): Promise<T> {
  for (let n = 1; ; n += 1) {
    try {
      return await attempt();
    } catch (err) {
      if (n >= attempts || !isRetryable(err)) throw err;
      await sleep(backoffMs * 4 ** (n - 1));
    }
  }
}

/**
 * Maps with at most `limit` calls in flight, keeping order. After the first failure no new
 * call starts; the ones in flight finish, then that first error is thrown.
 */
export async function mapConcurrent<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next;
      next += 1;
      try {
        results[index] = await fn(items[index] as T);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}
