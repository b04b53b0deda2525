import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import { DIGEST } from '../../core/manifest.ts';
import type { Blobs } from '../blobs.ts';

/**
 * Blobs on local disk: `<root>/sha256/ab/abcdef…`. A body is written to `<root>/tmp/`,
 * hashed while it streams, fsynced, and renamed into place only when its digest matches,
 * so a crash never leaves a half-written blob under its final name.
 */
export class FsBlobs implements Blobs {
  readonly #root: string;
  #ready: Promise<void> | undefined;

  constructor(root: string) {
    this.#root = root;
  }

  #path(digest: string): string {
    if (!DIGEST.test(digest)) throw new SlipwayError(ErrorCode.INVALID_REQUEST, `"${digest}" is not a sha256 digest`, { digest });
    return join(this.#root, 'sha256', digest.slice(0, 2), digest);
  }

  #init(): Promise<void> {
    this.#ready ??= mkdir(join(this.#root, 'tmp'), { recursive: true }).then(() => undefined);
    return this.#ready;
  }

  async has(digest: string): Promise<boolean> {
    return (await this.size(digest)) !== undefined;
  }

  async missing(digests: readonly string[]): Promise<string[]> {
    const unique = [...new Set(digests)];
    const present = await Promise.all(unique.map((d) => this.has(d)));
    return unique.filter((_, i) => !present[i]);
  }

  async size(digest: string): Promise<number | undefined> {
    try {
      return (await stat(this.#path(digest))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async put(digest: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: { maxBytes?: number } = {}) {
    const final = this.#path(digest);
    await this.#init();
    const temp = join(this.#root, 'tmp', `${digest}.${randomBytes(6).toString('hex')}`);
    const hash = createHash('sha256');
    const file = await open(temp, 'w');
    let size = 0;
    let keep = false;
    try {
      for await (const chunk of source) {
        size += chunk.byteLength;
        if (options.maxBytes !== undefined && size > options.maxBytes) {
          throw new SlipwayError(ErrorCode.PAYLOAD_TOO_LARGE, `blob is larger than ${options.maxBytes} bytes`, { digest });
        }
        hash.update(chunk);
        await file.write(chunk);
      }
      const actual = hash.digest('hex');
      if (actual !== digest) {
        throw new SlipwayError(ErrorCode.DIGEST_MISMATCH, `body hashes to ${actual}, not ${digest}`, { expected: digest, actual });
      }
      await file.sync();
      keep = true;
    } finally {
      await file.close();
      if (!keep) await rm(temp, { force: true });
    }
    const existed = await this.has(digest);
    if (existed) {
      await rm(temp, { force: true });
      return { created: false, size };
    }
    const dir = join(this.#root, 'sha256', digest.slice(0, 2));
    await mkdir(dir, { recursive: true });
    await rename(temp, final);
    await syncDir(dir);
    return { created: true, size };
  }

  async putBytes(bytes: Uint8Array): Promise<string> {
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (!(await this.has(digest))) await this.put(digest, [bytes]);
    return digest;
  }

  async read(digest: string): Promise<Buffer> {
    try {
      return await readFile(this.#path(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new SlipwayError(ErrorCode.NOT_FOUND, `blob ${digest} is not stored`, { digest });
      }
      throw err;
    }
  }

  stream(digest: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.#path(digest), range);
  }
}

/** Makes a rename durable: the directory entry itself must reach the disk. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
