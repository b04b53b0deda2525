import { ErrorCode, SlipwayError } from './errors.ts';
import type { ManifestEntry } from './manifest.ts';

/**
 * A manifest told as its differences from another one (the base): paths it adds, paths whose
 * entry (digest, size or mode) it changes, and paths it removes. Redeploying a 5,000-file site
 * with one file changed sends one entry instead of 5,000.
 */
export interface ManifestDelta {
  added: ManifestEntry[];
  changed: ManifestEntry[];
  removed: string[];
}

/** What turns `base` into `target` (neither needs to be sorted; each must have unique paths). */
export function diffManifests(base: readonly ManifestEntry[], target: readonly ManifestEntry[]): ManifestDelta {
  const before = new Map(base.map((e) => [e.path, e]));
  const delta: ManifestDelta = { added: [], changed: [], removed: [] };
  const kept = new Set<string>();
  for (const entry of target) {
    const old = before.get(entry.path);
    const plain = { path: entry.path, sha256: entry.sha256, size: entry.size, mode: entry.mode };
    if (old === undefined) delta.added.push(plain);
    else if (old.sha256 !== entry.sha256 || old.size !== entry.size || old.mode !== entry.mode) delta.changed.push(plain);
    kept.add(entry.path);
  }
  for (const entry of base) if (!kept.has(entry.path)) delta.removed.push(entry.path);
  return delta;
}

/** Entries a delta names in all (what it costs to send). */
export function deltaSize(delta: ManifestDelta): number {
  return delta.added.length + delta.changed.length + delta.removed.length;
}

function reject(code: ErrorCode, message: string, path: string): never {
  throw new SlipwayError(code, message, { path });
}

/**
 * The manifest a delta makes of `base`, unsorted and not yet validated: the caller checks it
 * exactly like a full manifest (validateManifest). Strict, so that a delta computed against
 * another base than the one named fails instead of making a tree nobody meant: a path is named
 * at most once in the whole delta (MANIFEST_DUPLICATE_PATH), an added path must be new to the
 * base (MANIFEST_DUPLICATE_PATH), a changed or removed one must be in it
 * (MANIFEST_DELTA_UNKNOWN_PATH).
 */
export function applyManifestDelta(base: readonly ManifestEntry[], delta: ManifestDelta): ManifestEntry[] {
  const tree = new Map<string, ManifestEntry>();
  for (const entry of base) tree.set(entry.path, entry);
  const named = new Set<string>();
  const name = (path: string): void => {
    if (named.has(path)) reject(ErrorCode.MANIFEST_DUPLICATE_PATH, `path "${path}" appears twice in the delta`, path);
    named.add(path);
  };
  for (const path of delta.removed) {
    name(path);
    if (!tree.delete(path)) reject(ErrorCode.MANIFEST_DELTA_UNKNOWN_PATH, `the delta removes "${path}", which its base does not have`, path);
  }
  for (const entry of delta.changed) {
    name(entry.path);
    if (!tree.has(entry.path)) reject(ErrorCode.MANIFEST_DELTA_UNKNOWN_PATH, `the delta changes "${entry.path}", which its base does not have`, entry.path);
    tree.set(entry.path, entry);
  }
  for (const entry of delta.added) {
    name(entry.path);
    if (tree.has(entry.path)) reject(ErrorCode.MANIFEST_DUPLICATE_PATH, `the delta adds "${entry.path}", which its base already has`, entry.path);
    tree.set(entry.path, entry);
  }
  return [...tree.values()];
}
