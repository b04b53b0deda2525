import type { Readable } from 'node:stream';

/**
 * Content-addressed storage of file bodies, named by the sha256 of their bytes. A blob is
 * stored once however many deployments and projects use it, and never changes.
 */
export interface Blobs {
  /** True while writes are refused with STORAGE_FULL: blobs acknowledged earlier still wait for disk space. */
  readonly storageFull: boolean;
  has(digest: string): Promise<boolean>;
  /** The subset of `digests` not stored yet, in the given order, without repeats. */
  missing(digests: readonly string[]): Promise<string[]>;
  /**
   * Stores a body streamed from `source` if its bytes hash to `digest`; otherwise throws
   * DIGEST_MISMATCH and stores nothing. Throws PAYLOAD_TOO_LARGE past `maxBytes`, and
   * STORAGE_FULL (storing nothing) when the disk is full. Resolves once the blob is durable.
   */
  put(digest: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options?: { maxBytes?: number }): Promise<{ created: boolean; size: number }>;
  /**
   * Stores several bodies, each checked as `put` checks one, with one durability barrier for
   * all of them (far fewer fsyncs than one `put` each). All or nothing: when one body fails,
   * or the disk is full (STORAGE_FULL), none is stored and the error is thrown.
   */
  putMany(bodies: AsyncIterable<BlobBody> | Iterable<BlobBody>, options?: { maxBytes?: number }): Promise<StoredBlob[]>;
  /** Resolves when background work on stored blobs (settling batches) is done: for shutdown and tests. */
  flush(): Promise<void>;
  /** Stores bytes whose digest the store computes; returns it. */
  putBytes(bytes: Uint8Array): Promise<string>;
  /** Size of a stored blob, or undefined. */
  size(digest: string): Promise<number | undefined>;
  read(digest: string): Promise<Buffer>;
  /** Streams a stored blob, optionally a byte range (inclusive end), as HTTP ranges are. */
  stream(digest: string, range?: { start: number; end: number }): Readable;
  /**
   * Begins deleting blobs nothing should reference any more: those of `digests` that are
   * stored are moved aside at once, so from here on every `has`/`missing` reports them
   * missing (an upload that wants one sends it again). The caller then re-checks what
   * references them, `restore`s what is still used and `finish`es, which deletes the rest.
   * A crash before `finish` restores every moved blob at the next start; a crash during it
   * completes it.
   */
  collect(digests: readonly string[]): Promise<BlobCollection>;
}

/** Blobs set aside by `collect`, neither restored nor deleted yet. */
export interface BlobCollection {
  /** The digests that were stored and are now set aside. */
  readonly moved: readonly string[];
  /** Reads a blob set aside (a manifest being re-checked) without restoring it. */
  read(digest: string): Promise<Buffer>;
  /** Puts set-aside blobs back (a blob stored again meanwhile is kept as it is). */
  restore(digests: readonly string[]): Promise<void>;
  /** Deletes every blob set aside and not restored; returns their digests. */
  finish(): Promise<string[]>;
}

/** One body of a `putMany` batch; `source` is read to its end before the next body is asked for. */
export interface BlobBody {
  digest: string;
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

export interface StoredBlob {
  digest: string;
  /** False when the store had the blob already. */
  created: boolean;
  size: number;
}
