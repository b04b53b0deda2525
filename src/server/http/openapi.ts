import { z } from 'zod';
import { ruleOf } from '../../protocol/permissions.ts';
import type { RouteSpec } from './route.ts';

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): unknown {
  return z.toJSONSchema(schema, { io, unrepresentable: 'any' });
}

/** OpenAPI 3.1 document generated from the route table and its zod schemas. */
export function openApiDocument(specs: RouteSpec[], version: string): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of specs) {
    const path = spec.url.replace(/:([a-zA-Z]+)/g, '{$1}');
    const parameters = [...spec.url.matchAll(/:([a-zA-Z]+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    if (spec.query) {
      const query = jsonSchema(spec.query, 'input') as { properties?: Record<string, unknown> };
      for (const [name, schema] of Object.entries(query.properties ?? {})) parameters.push({ name, in: 'query', required: false, schema: schema as { type: string } });
    }
    const operation: Record<string, unknown> = {
      summary: spec.summary,
      parameters,
      responses: {
        [String(spec.status ?? 200)]: {
          description: 'OK',
          content: spec.response ? { 'application/json': { schema: jsonSchema(spec.response, 'output') } } : undefined,
        },
        default: { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    };
    const rule = ruleOf(spec.method, spec.url);
    if (rule && rule.role !== 'public') {
      operation.security = [{ bearer: [] }, { session: [] }];
      operation['x-slipway-role'] = rule.runner && rule.role !== 'runner' ? [rule.role, 'runner'] : rule.role;
    }
    if (spec.body) operation.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(spec.body, 'input') } } };
    if (spec.accepts?.includes('application/octet-stream') === true) {
      operation.requestBody = { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } };
    }
    (paths[path] ??= {})[spec.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Slipway API', version, description: 'Immutable deployments, environments as pointers, instant rollback.' },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        // Dashboard sessions; writes also need the session's CSRF token in X-Slipway-CSRF.
        session: { type: 'apiKey', in: 'cookie', name: 'slipway_session' },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object' } } },
          },
        },
      },
    },
    paths,
  };
}
