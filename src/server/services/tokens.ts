import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseDuration } from '../../core/duration.ts';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { Role } from '../../core/glossary.ts';
import type { Actor } from '../../core/release-planner.ts';
import type { TokenRow, UserRow } from '../../store/store.ts';
import { requireRole, type Principal } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { recordEvent } from './events.ts';
import { newId } from './ids.ts';
import { principalOfUser, requireProject, requireUser } from './users.ts';

const PREFIX = 'slw_';

/**
 * Tokens are 32 random bytes, so a fast hash is enough at rest (nothing to brute-force); the
 * store only ever sees the sha256.
 */
export function hashToken(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function newSecret(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

/** How often last_used_at is written for a busy token. */
const TOUCH_INTERVAL_MS = 60_000;

const INTERNAL_RUNNER: Actor = { name: 'runner', role: 'runner', trigger: 'automation' };

/**
 * Who a bearer token speaks for. A service token: its own role, maybe scoped to one project. A
 * personal token: its user, with the user's roles as they are now (a role taken away is gone for
 * every token at once). Unknown, revoked, expired, or of a disabled user: UNAUTHENTICATED.
 */
export async function authenticate(deps: ServiceDeps, secret: string): Promise<{ token: TokenRow; principal: Principal }> {
  const hash = hashToken(secret);
  if (deps.internalTokenHash !== undefined && hash === deps.internalTokenHash) {
    const at = deps.clock.now().toISOString();
    const token: TokenRow = {
      id: 'tok-internal',
      name: 'runner',
      role: 'runner',
      hash,
      createdAt: at,
      createdBy: 'system',
      lastUsedAt: at,
      revokedAt: null,
      userId: null,
      projectId: null,
      expiresAt: null,
    };
    return { token, principal: { actor: INTERNAL_RUNNER, projectRoles: new Map(), scope: null, via: 'token', credentialId: hash } };
  }
  const token = await deps.store.findTokenByHash(hash);
  if (token && token.revokedAt !== null && token.agentId) {
    // An agent removed by an admin is told so: it stops, rather than retrying a credential forever.
    throw new SlipwayError(ErrorCode.AGENT_RETIRED, `agent ${token.agentId} was removed; enroll it again`, { agent: token.agentId });
  }
  if (!token || token.revokedAt !== null || !timingSafeEqual(Buffer.from(token.hash), Buffer.from(hash))) {
    throw new SlipwayError(ErrorCode.UNAUTHENTICATED, 'the token is unknown or revoked');
  }
  const now = deps.clock.now();
  if (token.expiresAt !== null && Date.parse(token.expiresAt) <= now.getTime()) {
    throw new SlipwayError(ErrorCode.UNAUTHENTICATED, `the token expired at ${token.expiresAt}`, { expiredAt: token.expiresAt });
  }
  let principal: Principal;
  if (token.userId !== null) {
    const user = await deps.store.findUserById(token.userId);
    if (!user || user.disabledAt !== null) throw new SlipwayError(ErrorCode.UNAUTHENTICATED, 'the token belongs to a disabled user');
    principal = { ...(await principalOfUser(deps, user, 'token', hash)), scope: token.projectId };
    principal.actor.projectScope = token.projectId ?? undefined;
  } else {
    const actor: Actor = { id: token.id, name: token.name, role: token.role, trigger: 'user' };
    if (token.projectId !== null) actor.projectScope = token.projectId;
    if (token.agentId) actor.agentId = token.agentId;
    principal = { actor, projectRoles: new Map(), scope: token.projectId, via: 'token', credentialId: hash };
  }
  if (token.lastUsedAt === null || now.getTime() - Date.parse(token.lastUsedAt) > TOUCH_INTERVAL_MS) {
    await deps.store.touchToken(token.id, now.toISOString());
  }
  return { token, principal };
}

export interface CreateTokenInput {
  name: string;
  /** A service token's role; absent for a personal token. */
  role?: Role | undefined;
  /** A personal token of this user (name); absent with no role: the caller's own. */
  user?: string | undefined;
  /** Scope it to one project (name). */
  project?: string | undefined;
  /** How long it lives (`90d`); absent: until revoked. */
  expires?: string | undefined;
}

/**
 * Service tokens (a role, maybe a project) are an admin's to make. A personal token acts as its
 * user: anyone may make their own, an admin anyone's. The secret exists only in the answer.
 */
export async function createToken(deps: ServiceDeps, actor: Actor, input: CreateTokenInput): Promise<{ token: TokenRow; secret: string; user: UserRow | null }> {
  let user: UserRow | null = null;
  if (input.user !== undefined || input.role === undefined) {
    if (input.role !== undefined) {
      throw new SlipwayError(ErrorCode.INVALID_REQUEST, 'a personal token acts with its user\'s roles: give a user or a role, not both');
    }
    if (input.user === undefined) {
      if (actor.userId === undefined) throw new SlipwayError(ErrorCode.INVALID_REQUEST, 'give a role for a service token, or a user for a personal one');
      user = await requireUser(deps, actor.userId);
    } else {
      user = await requireUser(deps, input.user);
      if (user.id !== actor.userId) requireRole(actor, 'admin');
    }
  } else {
    requireRole(actor, 'admin');
    if (input.role === 'agent') {
      throw new SlipwayError(ErrorCode.INVALID_REQUEST, "an agent's credential comes from enrolling it: slipway agents enroll", { role: 'agent' });
    }
  }
  if (actor.projectScope !== undefined) throw new SlipwayError(ErrorCode.FORBIDDEN, 'a project-scoped token cannot make tokens');
  const project = input.project === undefined ? null : await requireProject(deps, input.project);
  const now = deps.clock.now();
  const expiresAt = input.expires === undefined ? null : new Date(now.getTime() + tokenLifetime(input.expires)).toISOString();
  const { token, secret } = await insertToken(deps, actor, {
    name: input.name,
    role: user?.role ?? input.role ?? 'viewer',
    userId: user?.id ?? null,
    projectId: project?.id ?? null,
    expiresAt,
  });
  return { token, secret, user };
}

/** The longest a token may be made to live: long enough for any CI, short of forever. */
const MAX_LIFETIME_MS = 5 * 366 * 86_400_000;

function tokenLifetime(text: string): number {
  const ms = parseDuration(text);
  if (ms > MAX_LIFETIME_MS) {
    throw new SlipwayError(ErrorCode.INVALID_DURATION, `a token lives at most ${MAX_LIFETIME_MS / 86_400_000}d; leave --expires out for one that lives until revoked`, { duration: text });
  }
  return ms;
}

async function insertToken(
  deps: ServiceDeps,
  actor: Actor,
  input: { name: string; role: Role; userId: string | null; projectId: string | null; expiresAt: string | null },
  secret = newSecret(),
) {
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
    userId: input.userId,
    projectId: input.projectId,
    expiresAt: input.expiresAt,
  };
  await deps.store.transaction(async (tx) => {
    await tx.insertToken(token);
    await recordEvent(tx, now, actor, 'token.create', {
      target: token.id,
      ...(token.projectId === null ? {} : { projectId: token.projectId }),
      after: { id: token.id, name: token.name, role: token.userId === null ? token.role : null, userId: token.userId, projectId: token.projectId, expiresAt: token.expiresAt },
    });
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
  const { secret } = await insertToken(deps, system, { name: 'admin', role: 'admin', userId: null, projectId: null, expiresAt: null }, given ?? newSecret());
  return secret;
}

/** An admin revokes any token; a person their own. */
export async function revokeToken(deps: ServiceDeps, actor: Actor, id: string): Promise<TokenRow> {
  const token = await deps.store.findTokenById(id);
  const own = token !== undefined && token.userId !== null && token.userId === actor.userId;
  if (!own) {
    if (actor.role !== 'admin' || actor.projectScope !== undefined) {
      // Someone else's token is not even named to a non-admin.
      throw new SlipwayError(ErrorCode.TOKEN_NOT_FOUND, `no token ${id} of yours`, { token: id });
    }
  }
  if (!token) throw new SlipwayError(ErrorCode.TOKEN_NOT_FOUND, `no token ${id}`, { token: id });
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    await tx.revokeToken(id, now.toISOString());
    await recordEvent(tx, now, actor, 'token.revoke', { target: id, before: { name: token.name, role: token.role, userId: token.userId } });
  });
  return { ...token, revokedAt: token.revokedAt ?? now.toISOString() };
}

/** An admin sees every token; a person their own. */
export async function listTokens(deps: ServiceDeps, actor: Actor): Promise<TokenRow[]> {
  const all = await deps.store.listTokens();
  if (actor.role === 'admin' && actor.projectScope === undefined) return all;
  // A service token has no personal tokens: it sees none.
  return actor.userId === undefined ? [] : all.filter((t) => t.userId === actor.userId);
}
