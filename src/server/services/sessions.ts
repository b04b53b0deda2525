import { createHmac, randomBytes } from 'node:crypto';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { SessionRow, UserRow } from '../../store/store.ts';
import type { Principal } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { recordEvent } from './events.ts';
import { newId } from './ids.ts';
import { decoyHash, verifyPassword } from './passwords.ts';
import { hashToken } from './tokens.ts';
import { principalOfUser } from './users.ts';

/** A dashboard session lasts this long from sign-in, however busy. */
export const SESSION_TTL_MS = 12 * 3_600_000;
/** …and ends sooner after this long without a request. */
export const SESSION_IDLE_MS = 2 * 3_600_000;
const TOUCH_INTERVAL_MS = 60_000;

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

/** The CSRF token of a session: derived from its secret, so it needs no storage and dies with it. */
export function csrfTokenOf(sessionSecret: string): string {
  return createHmac('sha256', sessionSecret).update('slipway csrf').digest('base64url');
}

export interface SignedIn {
  session: SessionRow;
  /** Goes into the HttpOnly cookie; shown to nobody else. */
  secret: string;
  csrf: string;
  user: UserRow;
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
async function claimAttempt(deps: ServiceDeps, user: UserRow, now: Date): Promise<number> {
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
 * Email and password → a session. Wrong email and wrong password are one answer
 * (SIGN_IN_FAILED) and take as long; a disabled user or one without a password fails the same.
 */
export async function signIn(deps: ServiceDeps, input: { email: string; password: string }): Promise<SignedIn> {
  const now = deps.clock.now();
  const user = input.email.length > 254 ? undefined : await deps.store.findUserByEmail(input.email.trim());
  if (user?.signInBlockedUntil != null && Date.parse(user.signInBlockedUntil) > now.getTime()) throw rateLimited(user.signInBlockedUntil, now);
  const failures = user?.passwordHash != null ? await claimAttempt(deps, user, now) : 0;
  const password = input.password.slice(0, 1024);
  const ok = user?.passwordHash != null ? await verifyPassword(password, user.passwordHash) : (await verifyPassword(password, await decoyHash()), false);
  if (!user || !ok || user.disabledAt !== null) {
    if (user && user.passwordHash !== null) {
      // The count went up in claimAttempt; this marks the attempt as a failure.
      await recordEvent(deps.store, now, { name: user.name, role: user.role, trigger: 'user' }, 'user.sign_in_failed', { target: user.id, after: { failures } });
    }
    throw new SlipwayError(ErrorCode.SIGN_IN_FAILED, 'wrong email or password');
  }
  const secret = `sls_${randomBytes(32).toString('base64url')}`;
  const session: SessionRow = {
    id: newId('ses'),
    hash: hashToken(secret),
    userId: user.id,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + SESSION_TTL_MS).toISOString(),
    lastSeenAt: now.toISOString(),
    revokedAt: null,
  };
  await deps.store.transaction(async (tx) => {
    await tx.updateUser(user.id, { failedSignIns: 0, signInBlockedUntil: null });
    await tx.insertSession(session);
    await recordEvent(tx, now, { id: user.id, name: user.name, role: user.role, userId: user.id, trigger: 'user' }, 'user.sign_in', { target: user.id, after: { session: session.id } });
  });
  return { session, secret, csrf: csrfTokenOf(secret), user };
}

/** The principal of a session cookie; UNAUTHENTICATED when it is unknown, ended, expired or idle too long. */
export async function authenticateSession(deps: ServiceDeps, secret: string): Promise<{ session: SessionRow; principal: Principal }> {
  const session = await deps.store.findSessionByHash(hashToken(secret));
  const now = deps.clock.now().getTime();
  if (!session || session.revokedAt !== null) throw new SlipwayError(ErrorCode.UNAUTHENTICATED, 'the session has ended: sign in again');
  if (Date.parse(session.expiresAt) <= now || Date.parse(session.lastSeenAt) + SESSION_IDLE_MS <= now) {
    throw new SlipwayError(ErrorCode.UNAUTHENTICATED, 'the session expired: sign in again');
  }
  const user = await deps.store.findUserById(session.userId);
  if (!user || user.disabledAt !== null) throw new SlipwayError(ErrorCode.UNAUTHENTICATED, 'the session has ended: sign in again');
  if (now - Date.parse(session.lastSeenAt) > TOUCH_INTERVAL_MS) await deps.store.touchSession(session.id, new Date(now).toISOString());
  return { session, principal: await principalOfUser(deps, user, 'session', session.id) };
}

export async function signOut(deps: ServiceDeps, secret: string): Promise<void> {
  const session = await deps.store.findSessionByHash(hashToken(secret));
  if (!session || session.revokedAt !== null) return;
  const now = deps.clock.now();
  const user = await deps.store.findUserById(session.userId);
  await deps.store.transaction(async (tx) => {
    await tx.revokeSession(session.id, now.toISOString());
    await recordEvent(tx, now, { id: session.userId, name: user?.name ?? session.userId, role: user?.role ?? 'viewer', trigger: 'user' }, 'user.sign_out', { target: session.userId, after: { session: session.id } });
  });
}
