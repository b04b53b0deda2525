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

function checkPath(path: string, limits: ManifestLimits): void {
  if (path.includes('\0')) reject(ErrorCode.MANIFEST_PATH_NUL, 'path contains a NUL byte', path);
  // eslint-disable-next-line no-control-regex
  if (/[\x01-\x1f\x7f]/.test(path)) reject(ErrorCode.MANIFEST_PATH_INVALID_CHAR, `path "${path}" contains a control character`, path);
  if (path.includes('\\')) reject(ErrorCode.MANIFEST_PATH_BACKSLASH, `path "${path}" contains a backslash; use "/"`, path);
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) {
    reject(ErrorCode.MANIFEST_PATH_ABSOLUTE, `path "${path}" is absolute; paths are relative to the artifact root`, path);
  }
  if (new TextEncoder().encode(path).length > limits.maxPathBytes) {
    reject(ErrorCode.MANIFEST_PATH_TOO_LONG, `path "${path.slice(0, 60)}…" is longer than ${limits.maxPathBytes} bytes`, path);
  }
  for (const segment of path.split('/')) {
    if (segment === '') reject(ErrorCode.MANIFEST_PATH_EMPTY_SEGMENT, `path "${path}" has an empty segment`, path);
    if (segment === '..' || segment === '.') {
      reject(ErrorCode.MANIFEST_PATH_TRAVERSAL, `path "${path}" has a "${segment}" segment`, path);
    }
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
  // A path may not be both a file and a directory ("a" and "a/b"): no file system could hold both.
  for (const path of seen) {
    let slash = path.indexOf('/');
    while (slash !== -1) {
      const parent = path.slice(0, slash);
      if (seen.has(parent)) {
        reject(ErrorCode.MANIFEST_PATH_CONFLICT, `"${parent}" is a file and also a directory of "${path}"`, path);
      }
      slash = path.indexOf('/', slash + 1);
    }
  }
  const sorted = [...entries]
    .map(({ path, sha256, size, mode }) => ({ path, sha256, size, mode }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { entries: sorted, totalBytes };
}

/** The canonical bytes of a manifest; its sha256 names the manifest blob. */
export function canonicalManifest(entries: readonly ManifestEntry[]): string {
  return JSON.stringify(entries.map((e) => [e.path, e.sha256, e.size, e.mode]));
}

export function parseCanonicalManifest(text: string): ManifestEntry[] {
  const rows = JSON.parse(text) as [string, string, number, number][];
  return rows.map(([path, sha256, size, mode]) => ({ path, sha256, size, mode }));
}
