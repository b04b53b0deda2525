import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { Actor } from '../../core/release-planner.ts';
import { actorOn, requireRole, type Principal } from '../services/access.ts';
import type { ServiceDeps } from '../services/deps.ts';
import { authenticateSession, csrfTokenOf } from '../services/sessions.ts';
import { authenticate, hashToken } from '../services/tokens.ts';
import type { Params } from './context.ts';
import type { Rule } from '../../protocol/permissions.ts';

declare module 'fastify' {
  interface FastifyRequest {
    tokenHash: string | undefined;
    /** Who the request comes from, once the guard has looked (absent on public routes). */
    principal: Principal | undefined;
  }
}

export const SESSION_COOKIE = 'slipway_session';
export const CSRF_HEADER = 'x-slipway-csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** One cookie's value from the Cookie header; the first of several with that name. */
export function cookieOf(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return value === '' ? undefined : value;
  }
  return undefined;
}

/** Constant-time equality of two secrets. */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The credentials of a request: a bearer token, or else the dashboard's session cookie. A write
 * made with the cookie must carry the session's CSRF token in X-Slipway-CSRF, which another site
 * can neither read nor guess (and SameSite=Strict keeps the cookie off its requests anyway).
 */
export async function principalOf(deps: ServiceDeps, request: FastifyRequest): Promise<Principal> {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) throw new SlipwayError(ErrorCode.UNAUTHENTICATED, 'send "Authorization: Bearer <token>"');
    const { principal } = await authenticate(deps, match[1]);
    request.tokenHash = hashToken(match[1]);
    request.principal = principal;
    return principal;
  }
  const session = cookieOf(request, SESSION_COOKIE);
  if (session === undefined) throw new SlipwayError(ErrorCode.UNAUTHENTICATED, 'send "Authorization: Bearer <token>", or sign in');
  const { principal } = await authenticateSession(deps, session);
  if (!SAFE_METHODS.has(request.method)) {
    const csrf = request.headers[CSRF_HEADER];
    if (typeof csrf !== 'string' || !sameSecret(csrf, csrfTokenOf(session))) {
      throw new SlipwayError(ErrorCode.CSRF_FAILED, `a write from a signed-in browser needs the session's CSRF token in ${CSRF_HEADER}`);
    }
  }
  request.principal = principal;
  return principal;
}

/**
 * The actor a route's handler acts as, by the route's row of the permission table: on a route
 * about one project, with the caller's role on that project; refused with FORBIDDEN below the
 * row's role, with PROJECT_NOT_FOUND where a scoped token does not reach.
 */
export async function guard(deps: ServiceDeps, request: FastifyRequest, rule: Rule, url: string): Promise<Actor> {
  const principal = await principalOf(deps, request);
  const actor = principal.actor;
  // An agent's token reaches the agent routes only, and only an agent's token reaches them.
  if (actor.role === 'agent' || rule.role === 'agent') {
    if (!(actor.role === 'agent' && rule.role === 'agent')) requireRole(actor, rule.role === 'public' ? 'viewer' : rule.role);
    return actor;
  }
  if (actor.role === 'runner' || rule.role === 'runner') {
    if (!(actor.role === 'runner' && rule.runner)) requireRole(actor, rule.role === 'public' ? 'viewer' : rule.role);
    return actor;
  }
  const required = rule.role === 'public' ? 'viewer' : rule.role;
  const projectName = url.includes('/:project') ? (request.params as Params).project : undefined;
  if (projectName !== undefined) {
    const project = await deps.store.findProjectByName(projectName);
    if (project) {
      const onProject = actorOn(principal, project.id);
      if (onProject === null) throw new SlipwayError(ErrorCode.PROJECT_NOT_FOUND, `no project named "${projectName}"`, { project: projectName });
      requireRole(onProject, required);
      return onProject;
    }
    if (principal.scope !== null) throw new SlipwayError(ErrorCode.PROJECT_NOT_FOUND, `no project named "${projectName}"`, { project: projectName });
    requireRole(actor, required);
    return actor;
  }
  if (principal.scope !== null && !rule.scoped) {
    throw new SlipwayError(ErrorCode.FORBIDDEN, 'this token is scoped to one project: it reaches that project only', { scoped: true });
  }
  requireRole(actor, required);
  return actor;
}
