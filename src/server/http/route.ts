import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { Actor } from '../../core/release-planner.ts';
import { ruleOf, type Rule } from '../../protocol/permissions.ts';

/**
 * Routes are declared once, with their schemas and the role they need; the same table drives
 * registration and the OpenAPI document, so the docs cannot drift from what is served.
 */
export interface RouteSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  summary: string;
  body?: z.ZodType;
  query?: z.ZodType;
  response?: z.ZodType;
  status?: number;
  bodyLimit?: number;
  /**
   * Media types the body must have (`application/octet-stream`, `multipart/form-data`); any
   * other, or none, is UNSUPPORTED_MEDIA_TYPE before the body is read. Absent: any type Fastify parses.
   */
  accepts?: readonly string[];
  /**
   * A JSON body reaches the handler as its raw bytes (a Buffer), unparsed: for bodies too large
   * to parse on the event loop (see upload-request.ts).
   */
  rawJson?: boolean;
  handler(request: FastifyRequest, reply: FastifyReply, actor: Actor): Promise<unknown>;
}

/** Checks the request's credentials against the route's row of the permission table. */
export type Authenticate = (request: FastifyRequest, rule: Rule, url: string) => Promise<Actor>;

export function registerRoutes(app: FastifyInstance, specs: RouteSpec[], authenticate: Authenticate): void {
  const raw = specs.filter((s) => s.rawJson === true);
  if (raw.length > 0) {
    // Their own scope, so the raw JSON parser serves these routes only.
    void app.register(async (scope) => {
      scope.removeContentTypeParser('application/json');
      scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
      register(scope, raw, authenticate);
    });
  }
  register(
    app,
    specs.filter((s) => s.rawJson !== true),
    authenticate,
  );
}

function register(app: FastifyInstance, specs: RouteSpec[], authenticate: Authenticate): void {
  for (const spec of specs) {
    const rule = ruleOf(spec.method, spec.url);
    if (rule === undefined) throw new Error(`${spec.method} ${spec.url} has no row in protocol/permissions.ts`);
    app.route({
      method: spec.method,
      url: spec.url,
      ...(spec.bodyLimit === undefined ? {} : { bodyLimit: spec.bodyLimit }),
      ...(spec.accepts === undefined ? {} : { onRequest: requireMediaType(spec.accepts) }),
      handler: async (request, reply) => {
        const actor: Actor = rule.role === 'public' ? { name: 'anonymous', role: 'viewer', trigger: 'user' } : await authenticate(request, rule, spec.url);
        // The route's status first, so a handler that answers otherwise (a dry run: 200) can say so.
        if (spec.status !== undefined) void reply.status(spec.status);
        return spec.handler(request, reply, actor);
      },
    });
  }
}

/** The media type of a request body without its parameters (`; charset=…`, `; boundary=…`), lowercased. */
export function mediaTypeOf(header: string | undefined): string | undefined {
  const type = header?.split(';', 1)[0]?.trim().toLowerCase();
  return type === '' ? undefined : type;
}

/**
 * Runs before Fastify picks a body parser, so a JSON or text body sent to a binary route is
 * refused as such instead of being parsed into something the route would store.
 */
function requireMediaType(accepts: readonly string[]) {
  return async (request: FastifyRequest): Promise<void> => {
    const type = mediaTypeOf(request.headers['content-type']);
    if (type === undefined || !accepts.includes(type)) {
      throw new SlipwayError(
        ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        `send this body as ${accepts.join(' or ')}${type === undefined ? '' : `, not ${type}`}`,
        { contentType: type ?? null, accepts: [...accepts] },
      );
    }
  };
}
