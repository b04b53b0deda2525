import { randomBytes } from 'node:crypto';
import { mkdir, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, SlipwayError } from '../core/errors.ts';
import { SECRET_KEY_BYTES } from '../store/secret-box.ts';

export const SECRET_KEY_FILE = 'secret.key';

/**
 * The key project secrets are sealed with, in this order:
 *   1. `given` (the `secretKey` server option) or `SLIPWAY_SECRET_KEY`: 32 bytes as base64,
 *      base64url or 64 hex digits — what replicas sharing one database must all be given;
 *   2. `<data dir>/secret.key`, created on the first start (mode 0600, the key as base64) and
 *      refused when anyone but its owner may read it or it does not hold 32 bytes.
 * A bad key is SECRET_KEY_INVALID; a key other than the database's first one is refused
 * later, by the store's key check (SECRET_KEY_MISMATCH).
 */
export async function loadSecretKey(dataDir: string, given: string | undefined): Promise<{ key: Buffer; source: string }> {
  if (given !== undefined && given.trim() !== '') return { key: decodeKey(given, 'SLIPWAY_SECRET_KEY'), source: 'SLIPWAY_SECRET_KEY' };
  const path = join(dataDir, SECRET_KEY_FILE);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  let file;
  try {
    // Created only if absent (O_EXCL): two first starts cannot each write their own key.
    file = await open(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { key: await readKeyFile(path), source: path };
  }
  try {
    const key = randomBytes(SECRET_KEY_BYTES);
    await file.writeFile(`${key.toString('base64')}\n`);
    await file.sync();
    return { key, source: path };
  } finally {
    await file.close();
  }
}

async function readKeyFile(path: string): Promise<Buffer> {
  const info = await stat(path);
  if (!info.isFile()) throw new SlipwayError(ErrorCode.SECRET_KEY_INVALID, `${path} is not a file`, { path });
  if ((info.mode & 0o077) !== 0) {
    throw new SlipwayError(
      ErrorCode.SECRET_KEY_INVALID,
      `${path} may be read by others (mode ${(info.mode & 0o777).toString(8)}); make it readable by its owner only: chmod 600 ${path}`,
      { path },
    );
  }
  const file = await open(path, 'r');
  try {
    return decodeKey((await file.readFile({ encoding: 'utf8' })).trim(), path);
  } finally {
    await file.close();
  }
}

function decodeKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-f]{64}$/i.test(trimmed)) key = Buffer.from(trimmed, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) key = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key === undefined || key.length !== SECRET_KEY_BYTES) {
    throw new SlipwayError(
      ErrorCode.SECRET_KEY_INVALID,
      `the secret key from ${source} is not ${SECRET_KEY_BYTES} bytes as base64 or 64 hex digits (make one with: openssl rand -base64 32)`,
      { source },
    );
  }
  return key;
}
