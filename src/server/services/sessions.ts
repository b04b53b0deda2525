import { createHmac, randomBytes } from 'node:crypto';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { SessionRow, UserRow } from '../../store/store.ts';
import type { Principal } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { recordEvent } from './events.ts';
import { newId } from './ids.ts';
import { attemptPassword, decoyHash, verifyPassword } from './passwords.ts';
import { hashToken } from './tokens.ts';
import { principalOfUser } from './users.ts';

/** A dashboard session lasts this long from sign-in, however busy. */
export const SESSION_TTL_MS = 12 * 3_600_000;
/** …and ends sooner after this long without a request. */
export const SESSION_IDLE_MS = 2 * 3_600_000;
const TOUCH_INTERVAL_MS = 60_000;

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

/**
 * Email and password → a session. Wrong email and wrong password are one answer
 * (SIGN_IN_FAILED) and take as long; a disabled user or one without a password fails the same.
 */
export async function signIn(deps: ServiceDeps, input: { email: string; password: string }): Promise<SignedIn> {
  const now = deps.clock.now();
  const user = input.email.length > 254 ? undefined : await deps.store.findUserByEmail(input.email.trim());
  const ok = user ? await attemptPassword(deps, user, input.password, now) : (await verifyPassword(input.password.slice(0, 1024), await decoyHash()), false);
  if (!user || !ok || user.disabledAt !== null) throw new SlipwayError(ErrorCode.SIGN_IN_FAILED, 'wrong email or password');
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
