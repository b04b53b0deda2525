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
 *   and its sha256. A file whose stat still matches is not read again. When every file of the
 *   tree is in it, also a digest of the tree's listing (`treeDigest`: each path with its mode and
 *   those stat fields) and the manifest digest those files made: a tree listed the same way
 *   again makes that manifest again, which a redeploy of an unchanged tree can then say without
 *   looking at each file's entry (see `unchangedManifest`).
 * - `base-<key>`: per server and project, the last deployment made from the directory and its
 *   manifest, which the next deploy sends its manifest against (a delta).
 *
 * Everything here is a hint. A cache that is unreadable, malformed or of another version is
 * ignored; a base manifest is used only if it still hashes to its digest, and the server
 * checks that the delta makes exactly the manifest the client meant. A file uploaded from a
 * cached digest is hashed again as it is sent (FILE_CHANGED if it differs).
 */
const VERSION = 2;
/** Read too, so that a newer CLI does not read every file again: the same rows, with no tree digest. */
const LEGACY_VERSION = 1;
/** A base file is the same in both versions. */
const BASE_VERSIONS = new Set<unknown>([LEGACY_VERSION, VERSION]);

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
  /** Its canonical manifest (UTF-8), when known (remembered with it). */
  canonical(): string | Uint8Array | undefined;
}

/** `$XDG_CACHE_HOME/slipway` or `~/.cache/slipway`. */
export function cacheHome(env: Readonly<Record<string, string | undefined>>, home: string): string {
  return join(env.XDG_CACHE_HOME || join(env.HOME || home, '.cache'), 'slipway');
}

const sha256 = (text: string | Uint8Array): string => createHash('sha256').update(text).digest('hex');

/** What `files.json` says besides its rows: the tree digest and manifest, when every file of the tree is in it. */
interface Whole {
  treeDigest: string;
  manifestDigest: string;
}

export class HashCache {
  readonly dir: string;
  readonly #root: string;
  /** The rows, parsed when first needed (a redeploy of an unchanged tree never needs them). */
  #rows: (() => FilesRead) | Map<string, Entry>;
  #whole: Whole | undefined;
  #dirty = false;
  #ignored: string | undefined;

  private constructor(dir: string, root: string, rows: (() => FilesRead) | Map<string, Entry>, whole: Whole | undefined, ignored: string | undefined) {
    this.dir = dir;
    this.#root = root;
    this.#rows = rows;
    this.#whole = whole;
    this.#ignored = ignored;
  }

  /** Why the stored cache was not used, for a person to read (undefined: used, or there was none). */
  get ignored(): string | undefined {
    this.#entries();
    return this.#ignored;
  }

  /** The cache of `root` (a real path) under `home` (see cacheHome). Never fails: a bad cache reads as empty. */
  static async open(home: string, root: string): Promise<HashCache> {
    const dir = join(home, 'deploys', sha256(root).slice(0, 32));
    let text: Buffer;
    try {
      // Bytes: the rows are decoded only if they are needed.
      text = await readFile(join(dir, 'files.json'));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return new HashCache(dir, root, new Map(), undefined, code === 'ENOENT' ? undefined : `cannot read it: ${(err as Error).message}`);
    }
    const head = parseHead(text, root);
    if (!head.ok) return new HashCache(dir, root, new Map(), undefined, head.reason);
    return new HashCache(dir, root, head.rows, head.whole, undefined);
  }

  #entries(): Map<string, Entry> {
    if (typeof this.#rows === 'function') {
      const read = this.#rows();
      if (read.ok) {
        this.#rows = read.entries;
      } else {
        // One bad row and none of it is trusted, nor the tree digest written with it.
        this.#rows = new Map();
        this.#whole = undefined;
        this.#ignored = read.reason;
      }
    }
    return this.#rows;
  }

  /**
   * The manifest digest the files of `tree` make, when the cache knows it without looking at
   * each file: every file of the tree had its digest remembered, and each still has the path,
   * mode, size, mtime, ctime and inode it had then (so the same bytes: see `lookup`). Undefined
   * when anything differs; `lookup` then says which files to read.
   */
  unchangedManifest(tree: readonly TreeFile[]): string | undefined {
    const whole = this.#whole;
    if (whole === undefined || tree.length === 0) return undefined;
    return treeDigest(tree) === whole.treeDigest ? whole.manifestDigest : undefined;
  }

  /** Splits a tree into files whose cached digest still holds (as hashed files) and files to hash. */
  lookup(files: readonly TreeFile[]): { known: LocalFile[]; unknown: TreeFile[] } {
    const known: LocalFile[] = [];
    const unknown: TreeFile[] = [];
    const entries = this.#entries();
    for (const file of files) {
      const entry = entries.get(file.path);
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
   * around the time it was hashed is not remembered (RACY_MS). When every file of the tree is
   * remembered, so is `manifestDigest`, the digest of the manifest they make.
   */
  update(tree: readonly TreeFile[], hashed: readonly LocalFile[], hashedAt: number, manifestDigest?: string): void {
    const digests = new Map(hashed.map((f) => [f.path, f]));
    const entries = this.#entries();
    const next = new Map<string, Entry>();
    for (const file of tree) {
      const stat = file.stat;
      if (stat === undefined) continue;
      const fresh = digests.get(file.path);
      if (fresh === undefined) {
        const entry = entries.get(file.path);
        if (entry !== undefined) next.set(file.path, entry);
        continue;
      }
      this.#dirty = true;
      const settled = stat.mtimeMs < hashedAt - RACY_MS && stat.ctimeMs < hashedAt - RACY_MS;
      // The size read differs from the size listed: the file changed while being read.
      if (settled && fresh.size === file.size) next.set(file.path, { size: file.size, mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs, ino: stat.ino, sha256: fresh.sha256 });
    }
    if (next.size !== entries.size) this.#dirty = true;
    this.#rows = next;
    // Every file of the tree has its row (its path once, with the stat listed): the tree digest
    // stands for all of them. The rows are what `lookup` would compare, so both agree.
    const whole = manifestDigest !== undefined && tree.length > 0 && next.size === tree.length ? { treeDigest: treeDigest(tree), manifestDigest } : undefined;
    if (whole?.treeDigest !== this.#whole?.treeDigest || whole?.manifestDigest !== this.#whole?.manifestDigest) this.#dirty = true;
    this.#whole = whole;
  }

  /** Writes the file digests if they changed (atomically: a reader sees the old cache or the new one). */
  async save(): Promise<void> {
    if (!this.#dirty) return;
    const files = [...this.#entries()].map(([path, e]) => [path, e.size, e.mtimeMs, e.ctimeMs, e.ino, e.sha256]);
    // The head on a line of its own, so that a redeploy of an unchanged tree reads only it.
    const head = { version: VERSION, root: this.#root, ...(this.#whole ?? {}) };
    await this.#write('files.json', `${JSON.stringify(head)}\n${JSON.stringify(files)}`);
    this.#dirty = false;
  }

  /** The last deployment made from this directory to `project` on the server at `url`, if known and intact. */
  async base(url: string, project: string): Promise<Base | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(this.dir, baseName(url, project)));
    } catch {
      // Unreadable or absent: a full manifest is sent, which is always right.
      return undefined;
    }
    const newline = bytes.indexOf(0x0a);
    if (newline === -1) return undefined;
    let header: unknown;
    try {
      header = JSON.parse(bytes.subarray(0, newline).toString('utf8'));
    } catch {
      return undefined;
    }
    const h = header as Record<string, unknown>;
    if (!BASE_VERSIONS.has(h.version) || h.url !== url || h.project !== project || typeof h.deployment !== 'string' || typeof h.manifestDigest !== 'string') return undefined;
    const manifest = bytes.subarray(newline + 1);
    if (sha256(manifest) !== h.manifestDigest) return undefined;
    // It hashes to the digest this cache wrote it with: it parses as the canonical manifest it was.
    return { deployment: h.deployment, manifestDigest: h.manifestDigest, entries: () => parseCanonicalManifest(manifest.toString('utf8')), canonical: () => manifest };
  }

  /** Remembers `deployment` (whose canonical manifest is `manifest`) as the base of the next deploy. */
  async rememberBase(url: string, project: string, deployment: string, manifest: string | Uint8Array): Promise<void> {
    const header = JSON.stringify({ version: VERSION, url, project, deployment, manifestDigest: sha256(manifest) });
    await this.#write(baseName(url, project), typeof manifest === 'string' ? `${header}\n${manifest}` : Buffer.concat([Buffer.from(`${header}\n`), manifest]));
  }

  async #write(name: string, text: string | Uint8Array): Promise<void> {
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

/**
 * The digest of a tree's listing: each file's path, mode, size, mtime, ctime and inode, in the
 * tree's order. Equal digests: the same files with the same stat.
 */
function treeDigest(tree: readonly TreeFile[]): string {
  const hash = createHash('sha256');
  let text = '';
  for (const file of tree) {
    const stat = file.stat;
    // A path holds no NUL, so NULs between the fields make the listing unambiguous. A file with
    // no stat is never in the cache: a tree with one never matches.
    text += stat === undefined ? '\0\0' : `${file.path}\0${file.mode} ${file.size} ${stat.mtimeMs} ${stat.ctimeMs} ${stat.ino}\0`;
    if (text.length >= 64 * 1024) {
      hash.update(text);
      text = '';
    }
  }
  return hash.update(text).digest('hex');
}

type FilesRead = { ok: true; entries: Map<string, Entry> } | { ok: false; reason: string };
type HeadRead = { ok: true; rows: () => FilesRead; whole: Whole | undefined } | { ok: false; reason: string };

/**
 * Reads the head of `files.json` (a line of JSON, then the rows as a JSON array); the rows are
 * checked when first asked for. A cache of LEGACY_VERSION is one JSON object with its rows.
 */
function parseHead(bytes: Buffer, root: string): HeadRead {
  const newline = bytes.indexOf(0x0a);
  let json: unknown;
  try {
    json = JSON.parse((newline === -1 ? bytes : bytes.subarray(0, newline)).toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `not JSON (${(err as Error).message})` };
  }
  const doc = json as { version?: unknown; root?: unknown; files?: unknown; treeDigest?: unknown; manifestDigest?: unknown } | null;
  if (typeof doc !== 'object' || doc === null || typeof doc.version !== 'number') return { ok: false, reason: 'not a cache' };
  // Another version's cache is not an error: it is rebuilt silently.
  if (doc.version !== VERSION && doc.version !== LEGACY_VERSION) return { ok: true, rows: () => ({ ok: true, entries: new Map() }), whole: undefined };
  if (doc.root !== root) return { ok: false, reason: 'not the cache of this directory' };
  if (doc.version === LEGACY_VERSION) return newline === -1 ? { ok: true, rows: () => parseRows(doc.files), whole: undefined } : { ok: false, reason: 'not a cache' };
  if (newline === -1) return { ok: false, reason: 'not a cache' };
  let whole: Whole | undefined;
  if (doc.treeDigest !== undefined || doc.manifestDigest !== undefined) {
    if (typeof doc.treeDigest !== 'string' || !DIGEST.test(doc.treeDigest) || typeof doc.manifestDigest !== 'string' || !DIGEST.test(doc.manifestDigest)) {
      return { ok: false, reason: 'a malformed tree digest' };
    }
    whole = { treeDigest: doc.treeDigest, manifestDigest: doc.manifestDigest };
  }
  const rows = (): FilesRead => {
    try {
      return parseRows(JSON.parse(bytes.subarray(newline + 1).toString('utf8')));
    } catch (err) {
      return { ok: false, reason: `not JSON (${(err as Error).message})` };
    }
  };
  return { ok: true, rows, whole };
}

/** Checks the rows one by one: one bad row and none of them is trusted. */
function parseRows(files: unknown): FilesRead {
  if (!Array.isArray(files)) return { ok: false, reason: 'not the cache of this directory' };
  const entries = new Map<string, Entry>();
  for (const row of files as unknown[]) {
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
