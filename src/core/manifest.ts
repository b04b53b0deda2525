import { ErrorCode, SlipwayError } from './errors.ts';

/** One file of an artifact. The body is the blob named by `sha256`. */
export interface ManifestEntry {
  path: string;
  sha256: string;
  size: number;
  mode: number;
}

export interface ManifestLimits {
  maxFiles: number;
  maxTotalBytes: number;
  maxPathBytes: number;
}

export const defaultManifestLimits: ManifestLimits = {
  maxFiles: 100_000,
  maxTotalBytes: 10 * 1024 ** 3,
  maxPathBytes: 1024,
};

export const DIGEST = /^[0-9a-f]{64}$/;

export interface ValidManifest {
  entries: ManifestEntry[];
  totalBytes: number;
}

function reject(code: ErrorCode, message: string, path?: string): never {
  throw new SlipwayError(code, message, path === undefined ? undefined : { path });
}

/** Bytes of `path` in UTF-8, counted without encoding it. */
function utf8Length(path: string): number {
  let bytes = path.length;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < path.length && (path.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a surrogate pair: 2 code units, 4 bytes
      i++;
    } else bytes += 2;
  }
  return bytes;
}

function checkPath(path: string, limits: ManifestLimits): void {
  if (path.includes('\0')) reject(ErrorCode.MANIFEST_PATH_NUL, 'path contains a NUL byte', path);
  // eslint-disable-next-line no-control-regex
  if (/[\x01-\x1f\x7f]/.test(path)) reject(ErrorCode.MANIFEST_PATH_INVALID_CHAR, `path "${path}" contains a control character`, path);
  if (path.includes('\\')) reject(ErrorCode.MANIFEST_PATH_BACKSLASH, `path "${path}" contains a backslash; use "/"`, path);
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) {
    reject(ErrorCode.MANIFEST_PATH_ABSOLUTE, `path "${path}" is absolute; paths are relative to the artifact root`, path);
  }
  if (utf8Length(path) > limits.maxPathBytes) {
    reject(ErrorCode.MANIFEST_PATH_TOO_LONG, `path "${path.slice(0, 60)}…" is longer than ${limits.maxPathBytes} bytes`, path);
  }
  // Segment by segment without splitting: a deep path would cost a string per segment.
  let start = 0;
  for (;;) {
    const slash = path.indexOf('/', start);
    const end = slash === -1 ? path.length : slash;
    if (end === start) reject(ErrorCode.MANIFEST_PATH_EMPTY_SEGMENT, `path "${path}" has an empty segment`, path);
    if (end - start <= 2 && path.charCodeAt(start) === 0x2e && (end - start === 1 || path.charCodeAt(start + 1) === 0x2e)) {
      reject(ErrorCode.MANIFEST_PATH_TRAVERSAL, `path "${path}" has a "${path.slice(start, end)}" segment`, path);
    }
    if (slash === -1) return;
    start = slash + 1;
  }
}

/**
 * Checks a client's manifest and returns it sorted by path. Pure: the caller writes nothing
 * until this returns, so a rejected manifest changes nothing.
 */
export function validateManifest(entries: readonly ManifestEntry[], limits: ManifestLimits = defaultManifestLimits): ValidManifest {
  if (entries.length === 0) reject(ErrorCode.MANIFEST_EMPTY, 'a deployment needs at least one file');
  if (entries.length > limits.maxFiles) {
    reject(ErrorCode.MANIFEST_TOO_MANY_FILES, `${entries.length} files is more than the limit of ${limits.maxFiles}`);
  }
  let totalBytes = 0;
  const seen = new Set<string>();
  for (const entry of entries) {
    checkPath(entry.path, limits);
    if (seen.has(entry.path)) reject(ErrorCode.MANIFEST_DUPLICATE_PATH, `path "${entry.path}" appears twice`, entry.path);
    seen.add(entry.path);
    if (!DIGEST.test(entry.sha256)) {
      reject(ErrorCode.MANIFEST_INVALID_DIGEST, `"${entry.sha256}" is not a lowercase hex sha256 digest`, entry.path);
    }
    if (!Number.isSafeInteger(entry.mode) || entry.mode < 0 || entry.mode > 0o777) {
      reject(ErrorCode.MANIFEST_INVALID_MODE, `mode ${entry.mode} of "${entry.path}" is not a file permission (0 to 0o777)`, entry.path);
    }
    totalBytes += entry.size;
  }
  if (totalBytes > limits.maxTotalBytes) {
    reject(ErrorCode.MANIFEST_TOO_LARGE, `${totalBytes} bytes is more than the limit of ${limits.maxTotalBytes}`);
  }
  const sorted = [...entries]
    .map(({ path, sha256, size, mode }) => ({ path, sha256, size, mode }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  // A path may not be both a file and a directory ("a" and "a/b"): no file system could hold
  // both. In sorted order every path under "a/" follows the first one at or after "a/", so one
  // binary search per file finds a conflict: O(n log n) comparisons, however deep the paths
  // (looking up every parent of every path is quadratic in the depth: 48 s for 100,000 deep paths).
  for (const entry of sorted) {
    const dir = `${entry.path}/`;
    const next = sorted[lowerBound(sorted, dir)];
    if (next !== undefined && next.path.startsWith(dir)) {
      reject(ErrorCode.MANIFEST_PATH_CONFLICT, `"${entry.path}" is a file and also a directory of "${next.path}"`, next.path);
    }
  }
  return { entries: sorted, totalBytes };
}

/** Index of the first entry whose path is not below `path` in the (code unit) order of `sorted`. */
function lowerBound(sorted: readonly ManifestEntry[], path: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((sorted[mid] as ManifestEntry).path < path) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** The canonical bytes of a manifest; its sha256 names the manifest blob. */
export function canonicalManifest(entries: readonly ManifestEntry[]): string {
  return JSON.stringify(entries.map((e) => [e.path, e.sha256, e.size, e.mode]));
}

export function parseCanonicalManifest(text: string): ManifestEntry[] {
  const rows = JSON.parse(text) as [string, string, number, number][];
  return rows.map(([path, sha256, size, mode]) => ({ path, sha256, size, mode }));
}
