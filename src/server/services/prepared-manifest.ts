import { createHash } from 'node:crypto';
import { canonicalManifest, validateManifest, type ManifestEntry, type ManifestLimits } from '../../core/manifest.ts';

/**
 * A client's manifest, checked and in canonical form, with what creating its upload needs and
 * nothing more: it may be made on a worker thread (server/http/upload-request.ts), so it is
 * plain data that crosses a thread cheaply — one byte array and one string, not 100,000 objects.
 */
export interface PreparedManifest {
  /** sha256 of `bytes`, the manifest blob's name. */
  digest: string;
  /** The canonical manifest (UTF-8 JSON). */
  bytes: Uint8Array;
  /** The distinct blob digests of the files, in path order, concatenated (64 hex characters each). */
  digests: string;
  fileCount: number;
  totalBytes: number;
}

/** Validates `files` (see validateManifest: throws its MANIFEST_* errors) and prepares the manifest. */
export function prepareManifest(files: readonly ManifestEntry[], limits: ManifestLimits): PreparedManifest {
  const manifest = validateManifest(files, limits);
  const bytes = Buffer.from(canonicalManifest(manifest.entries));
  const unique = new Set<string>();
  for (const entry of manifest.entries) unique.add(entry.sha256);
  return {
    digest: createHash('sha256').update(bytes).digest('hex'),
    bytes,
    digests: [...unique].join(''),
    fileCount: manifest.entries.length,
    totalBytes: manifest.totalBytes,
  };
}

/** The digests of a prepared manifest as a list. */
export function digestsOf(manifest: PreparedManifest): string[] {
  const out = new Array<string>(manifest.digests.length / 64);
  for (let i = 0; i < out.length; i++) out[i] = manifest.digests.slice(i * 64, i * 64 + 64);
  return out;
}
