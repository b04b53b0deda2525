import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { Actor } from '../../core/release-planner.ts';
import type { Role, TokenRow } from '../../store/store.ts';
import { requireRole } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { recordEvent } from './events.ts';
import { newId } from './ids.ts';

const PREFIX = 'slw_';

/**
 * Tokens are 32 random bytes, so a fast hash is enough at rest (nothing to brute-force); the
 * store only ever sees the sha256.
 */
export function hashToken(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function newSecret(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

/** How often last_used_at is written for a busy token. */
const TOUCH_INTERVAL_MS = 60_000;

const INTERNAL_RUNNER: Actor = { name: 'runner', role: 'runner', trigger: 'automation' };

export async function authenticate(deps: ServiceDeps, secret: string): Promise<{ token: TokenRow; actor: Actor }> {
  const hash = hashToken(secret);
  if (deps.internalTokenHash !== undefined && hash === deps.internalTokenHash) {
    const at = deps.clock.now().toISOString();
    const token: TokenRow = { id: 'tok-internal', name: 'runner', role: 'runner', hash, createdAt: at, createdBy: 'system', lastUsedAt: at, revokedAt: null };
    return { token, actor: INTERNAL_RUNNER };
  }
  const token = await deps.store.findTokenByHash(hash);
  if (!token || token.revokedAt !== null || !timingSafeEqual(Buffer.from(token.hash), Buffer.from(hash))) {
    throw new SlipwayError(ErrorCode.UNAUTHENTICATED, 'the token is unknown or revoked');
  }
  const now = deps.clock.now();
  if (token.lastUsedAt === null || now.getTime() - Date.parse(token.lastUsedAt) > TOUCH_INTERVAL_MS) {
    await deps.store.touchToken(token.id, now.toISOString());
  }
  return { token, actor: { id: token.id, name: token.name, role: token.role, trigger: 'user' } };
}

export async function createToken(deps: ServiceDeps, actor: Actor, input: { name: string; role: Role }): Promise<{ token: TokenRow; secret: string }> {
  requireRole(actor, 'admin');
  return insertToken(deps, actor, input, newSecret());
}

async function insertToken(deps: ServiceDeps, actor: Actor, input: { name: string; role: Role }, secret: string) {
  const now = deps.clock.now();
  const token: TokenRow = {
    id: newId('tok'),
    name: input.name,
    role: input.role,
    hash: hashToken(secret),
    createdAt: now.toISOString(),
    createdBy: actor.name,
    lastUsedAt: null,
    revokedAt: null,
  };
  await deps.store.transaction(async (tx) => {
    await tx.insertToken(token);
    await recordEvent(tx, now, actor, 'token.create', { target: token.id, after: { id: token.id, name: token.name, role: token.role } });
  });
  return { token, secret };
}

/**
 * On first start (no tokens at all) creates the admin token: the given secret (for
 * automation) or a new random one. Returns the secret only when it was created now.
 */
export async function ensureAdminToken(deps: ServiceDeps, given: string | undefined): Promise<string | undefined> {
  if ((await deps.store.countTokens()) > 0) {
    return undefined;
  }
  const system: Actor = { name: 'system', role: 'admin', trigger: 'automation' };
  const { secret } = await insertToken(deps, system, { name: 'admin', role: 'admin' }, given ?? newSecret());
  return secret;
}

export async function revokeToken(deps: ServiceDeps, actor: Actor, id: string): Promise<TokenRow> {
  requireRole(actor, 'admin');
  const token = await deps.store.findTokenById(id);
  if (!token) throw new SlipwayError(ErrorCode.TOKEN_NOT_FOUND, `no token ${id}`, { token: id });
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    await tx.revokeToken(id, now.toISOString());
    await recordEvent(tx, now, actor, 'token.revoke', { target: id, before: { name: token.name, role: token.role } });
  });
  return { ...token, revokedAt: token.revokedAt ?? now.toISOString() };
}

export async function listTokens(deps: ServiceDeps, actor: Actor): Promise<TokenRow[]> {
  requireRole(actor, 'admin');
  return deps.store.listTokens();
}
