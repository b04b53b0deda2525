import type { FileHandle } from 'node:fs/promises';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';

/**
 * Writes every byte of `buffers`, in order, from the handle's current position. A write may
 * store fewer bytes than it was given (a disk filling up does that before it says ENOSPC), so
 * the count each call returns is checked and the rest written again; a write that stores
 * nothing at all is an error rather than a loop.
 */
export async function writeAll(file: FileHandle, buffers: readonly Uint8Array[]): Promise<number> {
  let pending: Uint8Array[] = buffers.filter((b) => b.byteLength > 0);
  let total = 0;
  while (pending.length > 0) {
    const { bytesWritten } = pending.length === 1 ? await file.write(pending[0] as Uint8Array) : await file.writev(pending);
    if (bytesWritten <= 0) throw Object.assign(new Error('the file system accepted no bytes'), { code: 'ENOSPC' });
    total += bytesWritten;
    let left = bytesWritten;
    let i = 0;
    while (i < pending.length && left >= (pending[i] as Uint8Array).byteLength) {
      left -= (pending[i] as Uint8Array).byteLength;
      i += 1;
    }
    const rest = pending.slice(i);
    if (left > 0 && rest.length > 0) rest[0] = (rest[0] as Uint8Array).subarray(left);
    pending = rest;
  }
  return total;
}

/** Whether an error says the disk or the user's quota is full. */
export function isStorageFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** STORAGE_FULL for a full disk; any other error as it is. */
export function asStorageError(err: unknown): unknown {
  if (!isStorageFull(err)) return err;
  return new SlipwayError(ErrorCode.STORAGE_FULL, 'the blob store is out of disk space; nothing of this request was stored', {
    cause: (err as NodeJS.ErrnoException).code,
  });
}
