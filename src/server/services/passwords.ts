import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { UserRow } from '../../store/store.ts';
import type { ServiceDeps } from './deps.ts';
import { recordEvent } from './events.ts';

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

/**
 * Password guessing is slowed per user, in the store (so every replica sees it): after
 * FREE_FAILURES wrong passwords in a row, each further one blocks sign-in for twice as long as the
 * one before, from 30 s up to 15 min. A good password resets the count. Per client address, the
 * HTTP layer adds its own limit (sign-in-limiter.ts), which also covers unknown emails.
 */
const FREE_FAILURES = 5;
const FIRST_BLOCK_MS = 30_000;
const MAX_BLOCK_MS = 15 * 60_000;

export function blockAfter(failures: number): number {
  if (failures < FREE_FAILURES) return 0;
  return Math.min(MAX_BLOCK_MS, FIRST_BLOCK_MS * 2 ** (failures - FREE_FAILURES));
}

function rateLimited(until: string, now: Date): SlipwayError {
  const retryAfter = Math.max(1, Math.ceil((Date.parse(until) - now.getTime()) / 1000));
  return new SlipwayError(ErrorCode.RATE_LIMITED, `too many failed sign-ins: try again after ${until}`, { retryAfterSeconds: retryAfter, until });
}

/**
 * Counts a password attempt at a user before the password is checked, and blocks the next ones
 * once this one is the FREE_FAILURES-th in a row; RATE_LIMITED (counting nothing) while blocked.
 * Counting first, under the user's row lock, makes guesses sent at once wait their turn: only the
 * free ones are checked at all. A good password takes the count back to zero.
 */
async function claimAttempt(deps: Pick<ServiceDeps, 'store'>, user: UserRow, now: Date): Promise<number> {
  return deps.store.transaction(async (tx) => {
    const failures = await tx.countFailedSignIn(user.id);
    // Read after the increment: the row is ours until commit, so a block set by a guess that
    // counted just before this one is seen here.
    const current = await tx.findUserById(user.id);
    if (current?.signInBlockedUntil != null && Date.parse(current.signInBlockedUntil) > now.getTime()) throw rateLimited(current.signInBlockedUntil, now);
    const block = blockAfter(failures);
    if (block > 0) await tx.updateUser(user.id, { signInBlockedUntil: new Date(now.getTime() + block).toISOString() });
    return failures;
  });
}

/**
 * Checks a user's password under the rate limit — for signing in and for proving the current
 * password before changing it, so neither is an unlimited oracle. RATE_LIMITED while the user is
 * blocked; a wrong password counts (and is audited as user.sign_in_failed), a right one resets
 * the count. A user without a password never matches.
 */
export async function attemptPassword(deps: Pick<ServiceDeps, 'store'>, user: UserRow, password: string, now: Date): Promise<boolean> {
  if (user.passwordHash === null) {
    await verifyPassword(password.slice(0, PASSWORD_MAX), await decoyHash());
    return false;
  }
  if (user.signInBlockedUntil != null && Date.parse(user.signInBlockedUntil) > now.getTime()) throw rateLimited(user.signInBlockedUntil, now);
  const failures = await claimAttempt(deps, user, now);
  const ok = await verifyPassword(password.slice(0, PASSWORD_MAX), user.passwordHash);
  if (ok) {
    await deps.store.updateUser(user.id, { failedSignIns: 0, signInBlockedUntil: null });
  } else {
    // The count went up in claimAttempt; this marks the attempt as a failure.
    await recordEvent(deps.store, now, { name: user.name, role: user.role, trigger: 'user' }, 'user.sign_in_failed', { target: user.id, after: { failures } });
  }
  return ok;
}
