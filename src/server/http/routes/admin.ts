import { z } from 'zod';
import { CreatedToken, CreateTokenRequest, Event, EventsQuery, Token, Whoami } from '../../../protocol/api.ts';
import { listEvents } from '../../services/audit-log.ts';
import { listProjects } from '../../services/projects.ts';
import { createToken, listTokens, revokeToken } from '../../services/tokens.ts';
import type { HttpContext, Params } from '../context.ts';
import { parse } from '../parse.ts';
import { presentEvent, presentToken } from '../present.ts';
import type { RouteSpec } from '../route.ts';

export function adminRoutes({ deps }: HttpContext): RouteSpec[] {
  return [
    {
      method: 'GET',
      url: '/api/v1/whoami',
      summary: 'The token this request carries',
      role: 'viewer',
      runner: true,
      response: Whoami,
      handler: async (request) => {
        const token = await deps.store.findTokenByHash(request.tokenHash ?? '');
        if (!token) throw new Error('authenticated token vanished');
        return { token: presentToken(token) };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/tokens',
      summary: 'List API tokens (admin)',
      role: 'admin',
      response: z.object({ tokens: z.array(Token) }),
      handler: async (_request, _reply, actor) => ({ tokens: (await listTokens(deps, actor)).map(presentToken) }),
    },
    {
      method: 'POST',
      url: '/api/v1/tokens',
      summary: 'Create an API token (admin); the secret is shown only in this answer',
      role: 'admin',
      body: CreateTokenRequest,
      response: CreatedToken,
      status: 201,
      handler: async (request, _reply, actor) => {
        const body = parse(CreateTokenRequest, request.body);
        const { token, secret } = await createToken(deps, actor, body);
        return { token: presentToken(token), secret };
      },
    },
    {
      method: 'DELETE',
      url: '/api/v1/tokens/:token',
      summary: 'Revoke an API token (admin)',
      role: 'admin',
      response: Token,
      handler: async (request, _reply, actor) => {
        const { token } = request.params as Params;
        return presentToken(await revokeToken(deps, actor, token ?? ''));
      },
    },
    {
      method: 'GET',
      url: '/api/v1/events',
      summary: 'The audit log, newest first (before = event id)',
      role: 'viewer',
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
