import type { Blobs } from '../blobs/blobs.ts';
import { parseCanonicalManifest } from '../core/manifest.ts';
import type { DeploymentStore, ProjectStore } from '../store/store.ts';
import { contentTypeOf } from './content-type.ts';
import { Lru } from './lru.ts';

/** How long a response may be reused: a deployment URL never changes; an environment's may on the next request. */
export const CacheMode = { immutable: 0, revalidate: 1 } as const;
export type CacheMode = (typeof CacheMode)[keyof typeof CacheMode];

export const CACHE_CONTROL: Record<CacheMode, string> = {
  [CacheMode.immutable]: 'public, max-age=31536000, immutable',
  [CacheMode.revalidate]: 'public, max-age=0, must-revalidate',
};

/**
 * One file of a deployment as the edge serves it. The headers of its 200 and 304 answers
 * are built on first use per cache mode and kept, as flat [name, value, …] arrays that
 * `res.writeHead` takes without copying them into a header object.
 */
export class EdgeFile {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
  readonly etag: string;
  readonly contentType: string;
  /** Set once the blob was seen to have exactly `size` bytes; a digest names its bytes, so it stays true. */
  sizeChecked = false;
  readonly #ok: (string[] | undefined)[] = [undefined, undefined];
  readonly #notModified: (string[] | undefined)[] = [undefined, undefined];

  constructor(path: string, sha256: string, size: number) {
    this.path = path;
    this.sha256 = sha256;
    this.size = size;
    this.etag = `"${sha256}"`;
    this.contentType = contentTypeOf(path);
  }

  okHeaders(mode: CacheMode): string[] {
    return (this.#ok[mode] ??= [
      'Content-Type', this.contentType,
      'Content-Length', String(this.size),
      'ETag', this.etag,
      'Cache-Control', CACHE_CONTROL[mode],
      'Accept-Ranges', 'bytes',
      'X-Content-Type-Options', 'nosniff',
    ]);
  }

  notModifiedHeaders(mode: CacheMode): string[] {
    return (this.#notModified[mode] ??= ['ETag', this.etag, 'Cache-Control', CACHE_CONTROL[mode]]);
  }
}

/** A deployment as the edge needs it: who owns it, and its files by path. */
export interface EdgeDeployment {
  id: string;
  projectId: string;
  projectName: string;
  spa: boolean;
  /** Run by agents (meta.service): served by proxying to its environment's instances, never from its files. */
  service: boolean;
  files: ReadonlyMap<string, EdgeFile>;
  /** Root index.html, the SPA fallback. */
  index: EdgeFile | undefined;
  /** Root 404.html, served with status 404 for paths that match no file. */
  notFound: EdgeFile | undefined;
  /** When the owning project was last seen not deleted (ms since the epoch). */
  checkedAt: number;
}

/**
 * How long a cached deployment is served before its project is looked at again: the longest a
 * project deleted through another replica stays served here (one deleted through this process
 * stops at once, `forgetProject`).
 */
export const PROJECT_RECHECK_MS = 5000;

/**
 * Deployments by id. A deployment never changes, so an entry stays valid for as long as the
 * deployment exists; the cache is bounded by count and drops the least recently served.
 * It also keeps the owning project's name, which changes only when the project is deleted: an
 * entry is served without a lookup for PROJECT_RECHECK_MS, then its project is read again.
 */
export class ManifestCache {
  readonly #store: ProjectStore & DeploymentStore;
  readonly #blobs: Blobs;
  readonly #cache: Lru<string, EdgeDeployment>;
  readonly #loading = new Map<string, Promise<EdgeDeployment | undefined>>();
  /** Projects known deleted: their deployments are never served again (ids are never reused). */
  readonly #deleted = new Set<string>();

  constructor(store: ProjectStore & DeploymentStore, blobs: Blobs, maxDeployments = 256) {
    this.#store = store;
    this.#blobs = blobs;
    this.#cache = new Lru(maxDeployments);
  }

  /** The cached deployment, without waiting; undefined when its project is due a look (or deleted). */
  peek(id: string): EdgeDeployment | undefined {
    const cached = this.#cache.get(id);
    if (cached === undefined || this.#deleted.has(cached.projectId) || Date.now() - cached.checkedAt >= PROJECT_RECHECK_MS) return undefined;
    return cached;
  }

  /** The deployment, loading it once however many requests ask at the same time; undefined when there is none. */
  find(id: string): Promise<EdgeDeployment | undefined> {
    const cached = this.#cache.get(id);
    if (cached !== undefined && this.#deleted.has(cached.projectId)) return Promise.resolve(undefined);
    if (cached !== undefined && Date.now() - cached.checkedAt < PROJECT_RECHECK_MS) return Promise.resolve(cached);
    let loading = this.#loading.get(id);
    if (loading === undefined) {
      loading = (cached === undefined ? this.#load(id) : this.#recheck(cached)).finally(() => this.#loading.delete(id));
      this.#loading.set(id, loading);
    }
    return loading;
  }

  /** Forgets a deployment, for when retention deletes it. */
  forget(id: string): void {
    this.#cache.delete(id);
  }

  /** Stops serving every deployment of a project deleted through this process, at once. */
  forgetProject(projectId: string): void {
    this.#deleted.add(projectId);
  }

  /** A cached deployment whose project is due a look: kept when the project lives, dropped when it was deleted. */
  async #recheck(cached: EdgeDeployment): Promise<EdgeDeployment | undefined> {
    const project = await this.#store.findProjectById(cached.projectId);
    if (project === undefined || project.deletedAt) {
      this.#deleted.add(cached.projectId);
      this.#cache.delete(cached.id);
      return undefined;
    }
    cached.checkedAt = Date.now();
    return cached;
  }

  async #load(id: string): Promise<EdgeDeployment | undefined> {
    const row = await this.#store.findDeployment(id);
    if (row === undefined) return undefined;
    // A service's files are its code: the edge never serves them, so it never reads their manifest.
    const service = typeof row.meta.service === 'object' && row.meta.service !== null;
    const [project, manifest] = await Promise.all([this.#store.findProjectById(row.projectId), service ? undefined : this.#blobs.read(row.manifestDigest)]);
    if (project === undefined || project.deletedAt) return undefined;
    const files = new Map<string, EdgeFile>();
    if (manifest !== undefined) {
      for (const entry of parseCanonicalManifest(manifest.toString('utf8'))) {
        files.set(entry.path, new EdgeFile(entry.path, entry.sha256, entry.size));
      }
    }
    const deployment: EdgeDeployment = {
      id,
      projectId: row.projectId,
      projectName: project.name,
      // Older rows may predate the flag; anything but true means a plain static site.
      spa: row.meta.spa === true,
      service,
      files,
      index: files.get('index.html'),
      notFound: files.get('404.html'),
      checkedAt: Date.now(),
    };
    this.#cache.set(id, deployment);
    return deployment;
  }
}
