import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DIGEST, parseCanonicalManifest, type ManifestEntry } from '../core/manifest.ts';
import type { LocalFile, TreeFile } from './upload.ts';

/**
 * What a deploy remembers about one directory between runs, so that a redeploy neither reads
 * the files that did not change nor sends the whole manifest again:
 *
 * - `files.json`: per path, the size, mtime, ctime and inode a file had when it was hashed,
 *   and its sha256. A file whose stat still matches is not read again.
 * - `base-<key>`: per server and project, the last deployment made from the directory and its
 *   manifest, which the next deploy sends its manifest against (a delta).
 *
 * Everything here is a hint. A cache that is unreadable, malformed or of another version is
 * ignored; a base manifest is used only if it still hashes to its digest, and the server
 * checks that the delta makes exactly the manifest the client meant. A file uploaded from a
 * cached digest is hashed again as it is sent (FILE_CHANGED if it differs).
 */
const VERSION = 1;

/**
 * A file whose mtime or ctime is this close to the moment it was hashed is hashed again next
 * time: it may have been written again within the same timestamp tick (file systems keep
 * coarse times: a jiffy on Linux, a second on ext3, two on FAT).
 */
const RACY_MS = 2_000;

interface Entry {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  sha256: string;
}

/** The deployment a directory was last deployed as, to one project of one server. */
export interface Base {
  deployment: string;
  manifestDigest: string;
  /** Its entries, parsed when asked (a redeploy of an unchanged tree never needs them). */
  entries(): ManifestEntry[];
}

/** `$XDG_CACHE_HOME/slipway` or `~/.cache/slipway`. */
export function cacheHome(env: Readonly<Record<string, string | undefined>>, home: string): string {
  return join(env.XDG_CACHE_HOME || join(env.HOME || home, '.cache'), 'slipway');
}

const sha256 = (text: string | Uint8Array): string => createHash('sha256').update(text).digest('hex');

export class HashCache {
  readonly dir: string;
  readonly #root: string;
  #entries: Map<string, Entry>;
  #dirty = false;
  /** Why the stored cache was not used, for a person to read (undefined: used, or there was none). */
  readonly ignored: string | undefined;

  private constructor(dir: string, root: string, entries: Map<string, Entry>, ignored: string | undefined) {
    this.dir = dir;
    this.#root = root;
    this.#entries = entries;
    this.ignored = ignored;
  }

  /** The cache of `root` (a real path) under `home` (see cacheHome). Never fails: a bad cache reads as empty. */
  static async open(home: string, root: string): Promise<HashCache> {
    const dir = join(home, 'deploys', sha256(root).slice(0, 32));
    let text: string;
    try {
      text = await readFile(join(dir, 'files.json'), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return new HashCache(dir, root, new Map(), code === 'ENOENT' ? undefined : `cannot read it: ${(err as Error).message}`);
    }
    const read = parseFiles(text, root);
    return read.ok ? new HashCache(dir, root, read.entries, undefined) : new HashCache(dir, root, new Map(), read.reason);
  }

  /** Splits a tree into files whose cached digest still holds (as hashed files) and files to hash. */
  lookup(files: readonly TreeFile[]): { known: LocalFile[]; unknown: TreeFile[] } {
    const known: LocalFile[] = [];
    const unknown: TreeFile[] = [];
    for (const file of files) {
      const entry = this.#entries.get(file.path);
      const stat = file.stat;
      if (entry !== undefined && stat !== undefined && entry.size === file.size && entry.mtimeMs === stat.mtimeMs && entry.ctimeMs === stat.ctimeMs && entry.ino === stat.ino) {
        known.push({ path: file.path, sha256: entry.sha256, size: file.size, mode: file.mode, source: file.source });
      } else {
        unknown.push(file);
      }
    }
    return { known, unknown };
  }

  /**
   * Remembers the digests of `hashed` (files of `tree` read since `hashedAt`, a Date.now()
   * taken before reading them) and forgets paths no longer in the tree. A file that changed
   * around the time it was hashed is not remembered (RACY_MS).
   */
  update(tree: readonly TreeFile[], hashed: readonly LocalFile[], hashedAt: number): void {
    const digests = new Map(hashed.map((f) => [f.path, f]));
    const next = new Map<string, Entry>();
    for (const file of tree) {
      const stat = file.stat;
      if (stat === undefined) continue;
      const fresh = digests.get(file.path);
      if (fresh === undefined) {
        const entry = this.#entries.get(file.path);
        if (entry !== undefined) next.set(file.path, entry);
        continue;
      }
      this.#dirty = true;
      const settled = stat.mtimeMs < hashedAt - RACY_MS && stat.ctimeMs < hashedAt - RACY_MS;
      // The size read differs from the size listed: the file changed while being read.
      if (settled && fresh.size === file.size) next.set(file.path, { size: file.size, mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs, ino: stat.ino, sha256: fresh.sha256 });
    }
    if (next.size !== this.#entries.size) this.#dirty = true;
    this.#entries = next;
  }

  /** Writes the file digests if they changed (atomically: a reader sees the old cache or the new one). */
  async save(): Promise<void> {
    if (!this.#dirty) return;
    const files = [...this.#entries].map(([path, e]) => [path, e.size, e.mtimeMs, e.ctimeMs, e.ino, e.sha256]);
    await this.#write('files.json', JSON.stringify({ version: VERSION, root: this.#root, files }));
    this.#dirty = false;
  }

  /** The last deployment made from this directory to `project` on the server at `url`, if known and intact. */
  async base(url: string, project: string): Promise<Base | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.dir, baseName(url, project)), 'utf8');
    } catch {
      // Unreadable or absent: a full manifest is sent, which is always right.
      return undefined;
    }
    const newline = text.indexOf('\n');
    if (newline === -1) return undefined;
    let header: unknown;
    try {
      header = JSON.parse(text.slice(0, newline));
    } catch {
      return undefined;
    }
    const h = header as Record<string, unknown>;
    if (h.version !== VERSION || h.url !== url || h.project !== project || typeof h.deployment !== 'string' || typeof h.manifestDigest !== 'string') return undefined;
    const manifest = text.slice(newline + 1);
    if (sha256(manifest) !== h.manifestDigest) return undefined;
    // It hashes to the digest this cache wrote it with: it parses as the canonical manifest it was.
    return { deployment: h.deployment, manifestDigest: h.manifestDigest, entries: () => parseCanonicalManifest(manifest) };
  }

  /** Remembers `deployment` (whose canonical manifest is `manifest`) as the base of the next deploy. */
  async rememberBase(url: string, project: string, deployment: string, manifest: string): Promise<void> {
    const header = JSON.stringify({ version: VERSION, url, project, deployment, manifestDigest: sha256(manifest) });
    await this.#write(baseName(url, project), `${header}\n${manifest}`);
  }

  async #write(name: string, text: string): Promise<void> {
    const temp = join(this.dir, `.${name}.${randomBytes(6).toString('hex')}`);
    try {
      try {
        await writeFile(temp, text, { mode: 0o600 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        await mkdir(this.dir, { recursive: true, mode: 0o700 });
        await writeFile(temp, text, { mode: 0o600 });
      }
      await rename(temp, join(this.dir, name));
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }
}

function baseName(url: string, project: string): string {
  return `base-${sha256(`${url}\n${project}`).slice(0, 32)}`;
}

type FilesRead = { ok: true; entries: Map<string, Entry> } | { ok: false; reason: string };

/** Checks `files.json` row by row: one bad row and none of it is trusted. */
function parseFiles(text: string, root: string): FilesRead {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not JSON (${(err as Error).message})` };
  }
  const doc = json as { version?: unknown; root?: unknown; files?: unknown } | null;
  if (typeof doc !== 'object' || doc === null || typeof doc.version !== 'number') return { ok: false, reason: 'not a cache' };
  // Another version's cache is not an error: it is rebuilt silently.
  if (doc.version !== VERSION) return { ok: true, entries: new Map() };
  if (doc.root !== root || !Array.isArray(doc.files)) return { ok: false, reason: 'not the cache of this directory' };
  const entries = new Map<string, Entry>();
  for (const row of doc.files as unknown[]) {
    if (!Array.isArray(row) || row.length !== 6) return { ok: false, reason: 'a malformed entry' };
    const [path, size, mtimeMs, ctimeMs, ino, digest] = row as unknown[];
    if (typeof path !== 'string' || !isCount(size) || !isTime(mtimeMs) || !isTime(ctimeMs) || !isCount(ino) || typeof digest !== 'string' || !DIGEST.test(digest)) {
      return { ok: false, reason: 'a malformed entry' };
    }
    entries.set(path, { size, mtimeMs, ctimeMs, ino, sha256: digest });
  }
  return { ok: true, entries };
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const isTime = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n);
