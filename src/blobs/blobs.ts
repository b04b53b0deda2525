import type { Readable } from 'node:stream';

/**
 * Content-addressed storage of file bodies, named by the sha256 of their bytes. A blob is
 * stored once however many deployments and projects use it, and never changes.
 */
export interface Blobs {
  has(digest: string): Promise<boolean>;
  /** The subset of `digests` not stored yet, in the given order, without repeats. */
  missing(digests: readonly string[]): Promise<string[]>;
  /**
   * Stores a body streamed from `source` if its bytes hash to `digest`; otherwise throws
   * DIGEST_MISMATCH and stores nothing. Throws PAYLOAD_TOO_LARGE past `maxBytes`.
   */
  put(digest: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options?: { maxBytes?: number }): Promise<{ created: boolean; size: number }>;
  /** Stores bytes whose digest the store computes; returns it. */
  putBytes(bytes: Uint8Array): Promise<string>;
  /** Size of a stored blob, or undefined. */
  size(digest: string): Promise<number | undefined>;
  read(digest: string): Promise<Buffer>;
  /** Streams a stored blob, optionally a byte range (inclusive end), as HTTP ranges are. */
  stream(digest: string, range?: { start: number; end: number }): Readable;
}
