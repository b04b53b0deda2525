import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { validateManifest, type ManifestEntry } from '../core/manifest.ts';
import { completeReleases, markerOf, readMarker, releaseDir, writeFileAtomic, type Layout, type Marker } from './disk.ts';
import type { DeploymentFiles, Result } from './wire.ts';

/**
 * Laying out releases/<deployment>/ from a manifest: each file is taken from another release on
 * disk with the same sha256, else downloaded; every byte written is hashed on the way and must
 * match the manifest's sha256 and size (a truncated or bit-flipped download is fetched again, 3
 * attempts). Files are created with O_EXCL | O_NOFOLLOW under directories this code checked
 * are real directories, so nothing is ever written through a symlink, and only regular files
 * with modes 0o755 or 0o644 are made. A directory left half-done by a crash is re-verified:
 * what matches stays, anything else is removed and fetched again.
 */

export class InstallError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'InstallError';
    this.code = code;
  }
}

export interface BlobSource {
  blob(digest: string, deploymentId: string): Promise<Result<Response>>;
}

export interface InstallProgress {
  (step: 'downloading' | 'verifying'): Promise<void> | void;
}

export interface LaidOut {
  /** Files taken from other releases on this host. */
  copied: number;
  downloaded: number;
  /** Files already in place from an interrupted run. */
  kept: number;
  /** Downloads that did not match and were fetched again. */
  refetched: number;
}

const ATTEMPTS = 3;
const CONCURRENCY = 8;
const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;

/** Only the executable bit of a manifest's mode counts: no setuid, no group or world writes. */
export function fileMode(mode: number): number {
  return mode & 0o111 ? 0o755 : 0o644;
}

/** The manifest checked like the server checks an upload (traversal, absolute paths, NUL, duplicates). */
export function checkManifest(files: readonly ManifestEntry[]): ManifestEntry[] {
  try {
    return validateManifest(files).entries;
  } catch (err) {
    const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'MANIFEST_INVALID';
    throw new InstallError(code, `refused the manifest: ${(err as Error).message}`);
  }
}

/**
 * Makes `dir` (inside `root`) a real directory, segment by segment: a symlink, file or device
 * where a directory belongs is removed (unlink never follows a link), then the directory made.
 */
async function realDir(root: string, relative: string): Promise<void> {
  let path = root;
  for (const segment of relative.split('/')) {
    path = join(path, segment);
    const info = await lstat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (info?.isDirectory()) continue;
    if (info !== undefined) await rm(path, { force: true });
    await mkdir(path, { mode: 0o755 });
  }
}

/** Writes a stream into a new file at `path`, hashing it; false when it is not `entry`'s bytes (the file is then removed). */
async function writeVerified(path: string, entry: ManifestEntry, chunks: AsyncIterable<Uint8Array>): Promise<boolean> {
  const handle: FileHandle = await open(path, WRITE_FLAGS, fileMode(entry.mode));
  const hash = createHash('sha256');
  let size = 0;
  let ok = true;
  try {
    for await (const chunk of chunks) {
      size += chunk.byteLength;
      if (size > entry.size) {
        ok = false;
        break;
      }
      hash.update(chunk);
      let offset = 0;
      while (offset < chunk.byteLength) offset += (await handle.write(chunk, offset)).bytesWritten;
    }
    await handle.chmod(fileMode(entry.mode));
  } finally {
    await handle.close();
  }
  if (!ok || size !== entry.size || hash.digest('hex') !== entry.sha256) {
    await rm(path, { force: true });
    return false;
  }
  return true;
}

async function* readChunks(handle: FileHandle): AsyncGenerator<Uint8Array> {
  const buffer = Buffer.alloc(256 * 1024);
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length);
    if (bytesRead === 0) return;
    yield buffer.subarray(0, bytesRead);
  }
}

/** sha256 and size of a regular file at `path`, read without following a symlink; undefined when it is anything else. */
async function hashFile(path: string): Promise<{ sha256: string; size: number } | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, READ_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'EISDIR') return undefined;
    throw err;
  }
  try {
    if (!(await handle.stat()).isFile()) return undefined;
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of readChunks(handle)) {
      hash.update(chunk);
      size += chunk.byteLength;
    }
    return { sha256: hash.digest('hex'), size };
  } finally {
    await handle.close();
  }
}

/** Copies a verified file of another release; false when it is gone or no longer has those bytes. */
async function copyFrom(source: string, target: string, entry: ManifestEntry): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(source, READ_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'EISDIR') return false;
    throw err;
  }
  try {
    if (!(await handle.stat()).isFile()) return false;
    return await writeVerified(target, entry, readChunks(handle));
  } finally {
    await handle.close();
  }
}

async function* bodyChunks(response: Response): AsyncGenerator<Uint8Array> {
  if (response.body === null) return;
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    // Stops a body longer than the manifest says at once instead of reading it to the end.
    await reader.cancel().catch(() => undefined);
  }
}

async function download(path: string, entry: ManifestEntry, deploymentId: string, source: BlobSource): Promise<{ refetched: number }> {
  let last = '';
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const answer = await source.blob(entry.sha256, deploymentId);
    if (!answer.ok) {
      last = `${answer.code}: ${answer.message}`;
      // The server said no (not found, not allowed): asking again will not change that.
      if (answer.status >= 400 && answer.status < 500) break;
      continue;
    }
    try {
      if (await writeVerified(path, entry, bodyChunks(answer.value))) return { refetched: attempt - 1 };
      last = `the bytes do not match sha256 ${entry.sha256} and size ${entry.size}`;
    } catch (err) {
      await rm(path, { force: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ELOOP') throw new InstallError('INSTALL_REFUSED', `refused to write ${entry.path}: ${(err as Error).message}`);
      last = (err as Error).message;
    }
  }
  throw new InstallError('DOWNLOAD_FAILED', `cannot download ${entry.path} (${entry.sha256.slice(0, 12)}…) after ${ATTEMPTS} attempts: ${last}`);
}

/** Where a file with this sha256 already lies in another complete release on this host. */
async function localCopies(layout: Layout, except: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const { id } of await completeReleases(layout)) {
    if (id === except) continue;
    const marker = await readMarker(layout, id);
    for (const file of marker?.files ?? []) {
      if (!found.has(file.sha256)) found.set(file.sha256, join(releaseDir(layout, id), file.path));
    }
  }
  return found;
}

async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++] as T);
  });
  await Promise.all(workers);
}

/**
 * Lays out releases/<deployment>/ (not yet marked complete: markComplete does that, after the
 * install hooks). Throws InstallError with a code for a refused manifest or a failed download.
 */
export async function layOutRelease(layout: Layout, deployment: DeploymentFiles, source: BlobSource, progress?: InstallProgress): Promise<LaidOut> {
  const entries = checkManifest(deployment.files);
  const root = releaseDir(layout, deployment.id);
  const rootInfo = await lstat(root).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (rootInfo !== undefined && !rootInfo.isDirectory()) await rm(root, { force: true });
  await mkdir(root, { recursive: true, mode: 0o755 });

  const done: LaidOut = { copied: 0, downloaded: 0, kept: 0, refetched: 0 };
  await progress?.('verifying');
  // What an interrupted run left: a regular file with the right bytes stays (its mode set
  // again), anything else at a manifest path goes.
  const missing: ManifestEntry[] = [];
  for (const entry of entries) {
    const slash = entry.path.lastIndexOf('/');
    if (slash !== -1) await realDir(root, entry.path.slice(0, slash));
    const path = join(root, entry.path);
    const info = await lstat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (info === undefined) {
      missing.push(entry);
      continue;
    }
    if (info.isFile() && info.size === entry.size) {
      const found = await hashFile(path);
      if (found?.sha256 === entry.sha256) {
        const handle = await open(path, READ_FLAGS);
        await handle.chmod(fileMode(entry.mode)).finally(() => handle.close());
        done.kept += 1;
        continue;
      }
    }
    await rm(path, { recursive: true, force: true });
    missing.push(entry);
  }

  await progress?.('downloading');
  const local = await localCopies(layout, deployment.id);
  // One download per digest; other paths with the same bytes are copied from the first.
  const firstOf = new Map<string, ManifestEntry>();
  const later: ManifestEntry[] = [];
  for (const entry of missing) {
    if (firstOf.has(entry.sha256)) later.push(entry);
    else firstOf.set(entry.sha256, entry);
  }
  await pool([...firstOf.values()], CONCURRENCY, async (entry) => {
    const path = join(root, entry.path);
    const from = local.get(entry.sha256);
    if (from !== undefined && (await copyFrom(from, path, entry))) {
      done.copied += 1;
      return;
    }
    const { refetched } = await download(path, entry, deployment.id, source);
    done.downloaded += 1;
    done.refetched += refetched;
  });
  for (const entry of later) {
    const first = firstOf.get(entry.sha256) as ManifestEntry;
    if (!(await copyFrom(join(root, first.path), join(root, entry.path), entry))) {
      const { refetched } = await download(join(root, entry.path), entry, deployment.id, source);
      done.downloaded += 1;
      done.refetched += refetched;
    } else done.copied += 1;
  }

  await progress?.('verifying');
  // A last look before the marker: every manifest path is a regular file of its size.
  for (const entry of entries) {
    const info = await lstat(join(root, entry.path));
    if (!info.isFile() || info.size !== entry.size) throw new InstallError('INSTALL_FAILED', `${entry.path} changed while the release was laid out`);
  }
  return done;
}

/** Writes the completion marker: from now on the release directory is trusted as it is. */
export async function markComplete(layout: Layout, deployment: DeploymentFiles): Promise<void> {
  const marker: Marker = { manifestDigest: deployment.manifestDigest, service: deployment.service, files: checkManifest(deployment.files) };
  await writeFileAtomic(markerOf(layout, deployment.id), JSON.stringify(marker));
}
