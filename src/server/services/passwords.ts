import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';

/**
 * Passwords are kept as scrypt hashes (`scrypt$N$r$p$salt$hash`, base64url): memory-hard, from
 * node:crypto, with the cost in the stored string so it can be raised later without breaking the
 * hashes already kept. N = 2^15, r = 8 uses 32 MiB and ~50–100 ms per check on one core.
 */
const COST = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_BYTES = 32;
export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 1024;

function derive(password: string, salt: Buffer, options: { N: number; r: number; p: number }): Promise<Buffer> {
  const scryptOptions: ScryptOptions = { ...options, maxmem: 256 * options.N * options.r };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, scryptOptions, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** PASSWORD_WEAK unless it is long enough (length is what resists guessing; no composition rules). */
export function assertPasswordStrength(password: string, name?: string): void {
  if (password.length < PASSWORD_MIN) {
    throw new SlipwayError(ErrorCode.PASSWORD_WEAK, `a password needs at least ${PASSWORD_MIN} characters`, { min: PASSWORD_MIN });
  }
  if (password.length > PASSWORD_MAX) {
    throw new SlipwayError(ErrorCode.PASSWORD_WEAK, `a password may have at most ${PASSWORD_MAX} characters`, { max: PASSWORD_MAX });
  }
  if (name !== undefined && password.toLowerCase().includes(name.toLowerCase()) && password.length < name.length + PASSWORD_MIN) {
    throw new SlipwayError(ErrorCode.PASSWORD_WEAK, 'a password may not be mostly the user name');
  }
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, COST);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Whether the password matches the stored hash; an unreadable hash matches nothing. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0) || N > 2 ** 20 || r > 32 || p > 16) return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const expected = Buffer.from(parts[5] ?? '', 'base64url');
  if (expected.length !== KEY_BYTES) return false;
  const key = await derive(password, salt, { N, r, p });
  return timingSafeEqual(key, expected);
}

/** A hash of nothing anyone knows: checked against when the email is unknown, so both take as long. */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(24).toString('base64url'));
  return decoy;
}
