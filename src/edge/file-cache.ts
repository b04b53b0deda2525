import type { Blobs } from '../blobs/blobs.ts';
import { ErrorCode, SlipwayError } from '../core/errors.ts';
import { Lru } from './lru.ts';

export interface FileCacheOptions {
  /** Total bytes of bodies kept in memory; 64 MiB by default. */
  maxBytes?: number;
  /** Bodies larger than this are streamed from the blob store, never kept; 256 KiB by default. */
  maxFileBytes?: number;
}

/**
 * Small file bodies in memory, by digest. A digest names its bytes forever, so a cached body
 * is never stale; the cache is bounded by total bytes and drops the least recently served.
 */
export class FileCache {
  readonly maxFileBytes: number;
  readonly #blobs: Blobs;
  readonly #cache: Lru<string, Buffer>;
  readonly #loading = new Map<string, Promise<Buffer>>();

  constructor(blobs: Blobs, options: FileCacheOptions = {}) {
    this.#blobs = blobs;
    this.maxFileBytes = options.maxFileBytes ?? 256 * 1024;
    this.#cache = new Lru(options.maxBytes ?? 64 * 1024 * 1024, (body) => body.byteLength);
  }

  /** Whether a body of this size is served from memory rather than streamed. */
  isCacheable(size: number): boolean {
    return size <= this.maxFileBytes;
  }

  peek(digest: string): Buffer | undefined {
    return this.#cache.get(digest);
  }

  /**
   * The body, read once however many requests ask for it at the same time. Only a blob of at
   * most `maxFileBytes` is read whole: a larger one (a manifest may declare any size for any
   * digest) is refused after `maxFileBytes + 1` bytes, never held in memory.
   */
  load(digest: string): Promise<Buffer> {
    let loading = this.#loading.get(digest);
    if (loading === undefined) {
      loading = this.#readSmall(digest).then(
        (body) => {
          this.#loading.delete(digest);
          if (body.byteLength <= this.maxFileBytes) this.#cache.set(digest, body);
          return body;
        },
        (err: unknown) => {
          this.#loading.delete(digest);
          throw err;
        },
      );
      this.#loading.set(digest, loading);
    }
    return loading;
  }

  async #readSmall(digest: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    const stream = this.#blobs.stream(digest, { start: 0, end: this.maxFileBytes });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        chunks.push(chunk);
        size += chunk.byteLength;
      }
    } finally {
      stream.destroy();
    }
    if (size > this.maxFileBytes) {
      throw new SlipwayError(ErrorCode.BLOB_SIZE_MISMATCH, `blob ${digest} is larger than a file served from memory`, { digest });
    }
    return Buffer.concat(chunks, size);
  }

  get bytes(): number {
    return this.#cache.weight;
  }
}
