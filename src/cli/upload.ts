import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ManifestEntry } from '../core/manifest.ts';
import { ApiError } from '../protocol/client.ts';
import type { SlipwayClient } from '../protocol/client.ts';
import { CliError } from './context.ts';
import { CliErrorCode } from './exit-codes.ts';
import type { Progress } from './progress.ts';

/** A file found on disk, before hashing: `path` is its manifest path, `source` what to read. */
export interface TreeFile {
  path: string;
  source: string;
  mode: number;
  size: number;
}

/** A hashed file: a manifest entry plus where its bytes live. */
export interface LocalFile extends ManifestEntry {
  source: string;
}

export interface Tree {
  files: TreeFile[];
  /** Things left out, for a person to read (a symlinked directory, a socket). */
  warnings: string[];
}

export interface ReadTreeOptions {
  /** Symlinks may resolve anywhere inside this directory (default: `root`), e.g. a build's checkout around its output. */
  boundary?: string;
  /** The error for a symlink that resolves outside the boundary (default: CliError SYMLINK_OUTSIDE_ROOT). */
  outside?: (path: string, target: string) => Error;
}

/**
 * Lists the regular files under `root`. Directories named `.git` (and `.git` files of
 * submodules) are left out. Symlinks are never followed as directories: a symlink to a file
 * inside the tree is deployed as a copy of that file, a symlink to a directory is skipped with
 * a warning, and a symlink that resolves outside the tree fails with SYMLINK_OUTSIDE_ROOT so a
 * deploy can never publish files from elsewhere on the machine.
 */
export async function readTree(root: string, options: ReadTreeOptions = {}): Promise<Tree> {
  const realRoot = await resolveLink(root);
  if (realRoot === undefined) throw new CliError(CliErrorCode.USAGE, `${root} does not exist`);
  if (!(await stat(realRoot)).isDirectory()) throw new CliError(CliErrorCode.USAGE, `${root} is not a directory`);
  const boundary = options.boundary === undefined ? realRoot : await realpath(options.boundary);
  const files: TreeFile[] = [];
  const warnings: string[] = [];

  const walk = async (dir: string, prefix: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name === '.git') continue;
      const abs = join(dir, entry.name);
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        await walk(abs, path);
      } else if (entry.isFile()) {
        const info = await stat(abs);
        files.push({ path, source: abs, mode: info.mode & 0o777, size: info.size });
      } else if (entry.isSymbolicLink()) {
        const target = await resolveLink(abs);
        if (target === undefined) {
          warnings.push(`skipped ${path}: dangling symlink`);
          continue;
        }
        const rel = relative(boundary, target);
        if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
          if (options.outside) throw options.outside(path, target);
          throw new CliError(CliErrorCode.SYMLINK_OUTSIDE_ROOT, `${path} is a symlink to ${target}, outside ${root}; refusing to deploy it`);
        }
        const info = await stat(target);
        if (info.isFile()) files.push({ path, source: target, mode: info.mode & 0o777, size: info.size });
        else warnings.push(`skipped ${path}: symlinks to directories are not followed`);
      } else {
        warnings.push(`skipped ${path}: not a regular file`);
      }
    }
  };

  await walk(realRoot, '');
  return { files, warnings };
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

export async function hashTree(files: readonly TreeFile[], concurrency: number, progress: Progress): Promise<LocalFile[]> {
  return mapConcurrent(files, concurrency, async (file) => {
    const { sha256, size } = await hashFile(file.source);
    progress.advance(size);
    return { path: file.path, sha256, size, mode: file.mode, source: file.source };
  });
}

export interface UploadOptions {
  concurrency: number;
  /** Tries per blob, counting the first. */
  attempts: number;
  progress: Progress;
  /** Base delay of the exponential backoff between tries. */
  backoffMs?: number;
}

/**
 * PUTs each missing blob once. A file whose bytes no longer match the digest hashed a moment
 * ago fails with FILE_CHANGED rather than uploading something the manifest does not describe.
 */
export async function uploadMissing(
  client: SlipwayClient,
  missing: readonly string[],
  files: readonly LocalFile[],
  options: UploadOptions,
): Promise<{ blobs: number; bytes: number }> {
  const byDigest = new Map<string, LocalFile>();
  for (const file of files) byDigest.set(file.sha256, file);
  const wanted = [...new Set(missing)];
  for (const digest of wanted) {
    if (!byDigest.has(digest)) throw new Error(`the server asked for blob ${digest}, which is not in this manifest`);
  }
  let bytes = 0;
  await mapConcurrent(wanted, options.concurrency, async (digest) => {
    const file = byDigest.get(digest) as LocalFile;
    const body = await readFile(file.source);
    if (createHash('sha256').update(body).digest('hex') !== digest) {
      throw new CliError(CliErrorCode.FILE_CHANGED, `${file.path} changed while deploying; run the deploy again`);
    }
    await withRetry(() => client.putBlob(digest, body), options.attempts, options.backoffMs ?? 250);
    bytes += body.length;
    options.progress.advance(body.length);
  });
  return { blobs: wanted.length, bytes };
}

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
