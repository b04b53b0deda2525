import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, SlipwayError } from '../../../core/errors.ts';
import { Session, SignInRequest } from '../../../protocol/api.ts';
import { authenticateSession, csrfTokenOf, SESSION_TTL_MS, signIn, signOut } from '../../services/sessions.ts';
import type { HttpContext } from '../context.ts';
import { cookieOf, CSRF_HEADER, sameSecret, SESSION_COOKIE } from '../guard.ts';
import { parse } from '../parse.ts';
import { presentUser } from '../present.ts';
import type { RouteSpec } from '../route.ts';
import type { SignInLimiter } from '../sign-in-limiter.ts';

function setCookie(request: FastifyRequest, reply: FastifyReply, value: string, maxAgeSeconds: number): void {
  // Secure when the browser came over https (directly or, trusted, through a proxy).
  const secure = request.protocol === 'https' ? '; Secure' : '';
  void reply.header('set-cookie', `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`);
}

/** Dashboard sign-in with email and password: an HttpOnly, SameSite=Strict session cookie plus a CSRF token. */
export function sessionRoutes({ deps }: HttpContext, limiter: SignInLimiter): RouteSpec[] {
  return [
    {
      method: 'POST',
      url: '/api/v1/session',
      summary: 'Sign in with email and password: sets the session cookie; the answer carries the CSRF token that writes must send in X-Slipway-CSRF. Rate-limited per client and per user',
      body: SignInRequest,
      response: Session,
      handler: async (request, reply) => {
        const body = parse(SignInRequest, request.body);
        // Counted as a failure until it is known not to be one: guesses sent at once count at once.
        const forgive = limiter.attempt(request.ip);
        let signedIn;
        try {
          signedIn = await signIn(deps, body);
        } catch (err) {
          if (!(err instanceof SlipwayError && err.code === ErrorCode.SIGN_IN_FAILED)) forgive();
          throw err;
        }
        forgive();
        setCookie(request, reply, signedIn.secret, SESSION_TTL_MS / 1000);
        const emails = (await deps.store.listUserEmails([signedIn.user.id])).get(signedIn.user.id) ?? [];
        return { user: presentUser(signedIn.user, emails), csrf: signedIn.csrf, expiresAt: signedIn.session.expiresAt };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/session',
      summary: "The browser's session: who, until when, and its CSRF token (UNAUTHENTICATED without one)",
      response: Session,
      handler: async (request) => {
        const secret = cookieOf(request, SESSION_COOKIE);
        if (secret === undefined) throw new SlipwayError(ErrorCode.UNAUTHENTICATED, 'not signed in');
        const { session, principal } = await authenticateSession(deps, secret);
        const user = await deps.store.findUserById(principal.actor.userId ?? '');
        if (!user) throw new SlipwayError(ErrorCode.UNAUTHENTICATED, 'not signed in');
        const emails = (await deps.store.listUserEmails([user.id])).get(user.id) ?? [];
        return { user: presentUser(user, emails), csrf: csrfTokenOf(secret), expiresAt: session.expiresAt };
      },
    },
    {
      method: 'DELETE',
      url: '/api/v1/session',
      summary: 'Sign out: ends the session (with its CSRF token) and clears the cookie',
      status: 204,
      handler: async (request, reply) => {
        const secret = cookieOf(request, SESSION_COOKIE);
        if (secret !== undefined) {
          const csrf = request.headers[CSRF_HEADER];
          if (typeof csrf !== 'string' || !sameSecret(csrf, csrfTokenOf(secret))) throw new SlipwayError(ErrorCode.CSRF_FAILED, `signing out needs the session's CSRF token in ${CSRF_HEADER}`);
          await signOut(deps, secret);
        }
        setCookie(request, reply, '', 0);
        void reply.status(204);
        return null;
      },
    },
  ];
}
