import { z } from 'zod';
import { CreatedToken, CreateTokenRequest, Event, EventsQuery, Token, Whoami } from '../../../protocol/api.ts';
import { globalActions } from '../../services/allowed-actions.ts';
import { listEvents } from '../../services/audit-log.ts';
import type { ServiceDeps } from '../../services/deps.ts';
import { listProjects } from '../../services/projects.ts';
import { createToken, listTokens, revokeToken } from '../../services/tokens.ts';
import type { HttpContext, Params } from '../context.ts';
import { parse } from '../parse.ts';
import { presentEvent, presentToken, presentUser, type TokenNames } from '../present.ts';
import type { RouteSpec } from '../route.ts';

/** The names tokens refer to, read once per answer. */
export async function tokenNames(deps: ServiceDeps): Promise<TokenNames> {
  const [users, projects] = await Promise.all([deps.store.listUsers(), deps.store.listProjects()]);
  return { users: new Map(users.map((u) => [u.id, { name: u.name, role: u.role }])), projects: new Map(projects.map((p) => [p.id, p.name])) };
}

export function adminRoutes({ deps }: HttpContext): RouteSpec[] {
  return [
    {
      method: 'GET',
      url: '/api/v1/whoami',
      summary: 'Who this request acts as: the token (or session), its user and memberships, its project scope',
      response: Whoami,
      handler: async (request, _reply, actor) => {
        const principal = request.principal;
        const actions = globalActions(principal);
        const names = await tokenNames(deps);
        const token = request.tokenHash === undefined ? undefined : await deps.store.findTokenByHash(request.tokenHash);
        const internal = token === undefined && principal?.via === 'token';
        const user = actor.userId === undefined ? undefined : await deps.store.findUserById(actor.userId);
        let userView = null;
        if (user) {
          const emails = (await deps.store.listUserEmails([user.id])).get(user.id) ?? [];
          const memberships = (await deps.store.listMembershipsOfUser(user.id)).map((m) => ({ ...m, project: names.projects.get(m.projectId) ?? m.projectId }));
          userView = presentUser(user, emails, memberships);
        }
        return {
          token: token ? presentToken(token, names) : null,
          actor: { id: actor.id ?? (internal ? 'tok-internal' : null), name: actor.name, role: actor.role, via: principal?.via ?? 'token' },
          user: userView,
          scope: principal?.scope == null ? null : (names.projects.get(principal.scope) ?? principal.scope),
          ...(actions === null ? {} : { actions }),
        };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/tokens',
      summary: 'List API tokens: every token for an admin, one\'s own personal tokens for anyone else',
      response: z.object({ tokens: z.array(Token) }),
      handler: async (_request, _reply, actor) => {
        const names = await tokenNames(deps);
        return { tokens: (await listTokens(deps, actor)).map((t) => presentToken(t, names)) };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/tokens',
      summary:
        'Create an API token; the secret is shown only in this answer. A service token (role, maybe project) is an admin\'s to make; a personal token (user, or neither) acts with its user\'s roles',
      body: CreateTokenRequest,
      response: CreatedToken,
      status: 201,
      handler: async (request, _reply, actor) => {
        const body = parse(CreateTokenRequest, request.body);
        const { token, secret } = await createToken(deps, actor, body);
        return { token: presentToken(token, await tokenNames(deps)), secret };
      },
    },
    {
      method: 'DELETE',
      url: '/api/v1/tokens/:token',
      summary: 'Revoke an API token (an admin any, a person their own)',
      response: Token,
      handler: async (request, _reply, actor) => {
        const { token } = request.params as Params;
        return presentToken(await revokeToken(deps, actor, token ?? ''), await tokenNames(deps));
      },
    },
    {
      method: 'GET',
      url: '/api/v1/events',
      summary: 'The audit log, newest first (before = event id)',
      query: EventsQuery,
      response: z.object({ events: z.array(Event) }),
      handler: async (request) => {
        const query = parse(EventsQuery, request.query);
        const rows = await listEvents(deps, query, query);
        const names = new Map((await listProjects(deps)).map((p) => [p.id, p.name]));
        return { events: rows.map((r) => presentEvent(r, names)) };
      },
    },
  ];
}
