import type { Server } from 'node:http';
import fastifyMultipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyServerFactory } from 'fastify';
import type { Logger } from 'pino';
import { ErrorCode } from '../../core/errors.ts';
import type { Metrics } from '../metrics.ts';
import type { ServiceDeps } from '../services/deps.ts';
import { registerGitRoutes } from '../git/git-routes.ts';
import { registerWebhookRoutes } from '../webhooks/webhook-routes.ts';
import { registerAgent } from './agent.ts';
import { registerDashboard } from './dashboard.ts';
import { errorBody, handleError } from './errors.ts';
import { guard } from './guard.ts';
import { openApiDocument } from './openapi.ts';
import { registerRoutes, type RouteSpec } from './route.ts';
import { adminRoutes } from './routes/admin.ts';
import { agentRoutes } from './routes/agents.ts';
import { buildRoutes } from './routes/builds.ts';
import { checkRoutes } from './routes/checks.ts';
import { configRoutes } from './routes/config.ts';
import { deliveryRoutes } from './routes/deliveries.ts';
import { environmentRoutes } from './routes/environments.ts';
import { approvalRoutes } from './routes/approvals.ts';
import { freezeRoutes } from './routes/freezes.ts';
import { hotfixRoutes } from './routes/hotfixes.ts';
import { notificationRoutes } from './routes/notifications.ts';
import { pipelineRoutes } from './routes/pipelines.ts';
import { rolloutRoutes } from './routes/rollouts.ts';
import { projectRoutes } from './routes/projects.ts';
import { projectDeletionRoutes } from './routes/project-deletion.ts';
import { buildRetryRoutes } from './routes/build-retry.ts';
import { jobRoutes } from './routes/jobs.ts';
import { sessionRoutes } from './routes/session.ts';
import { streamRoutes } from './routes/stream.ts';
import { userRoutes } from './routes/users.ts';
import { SignInLimiter } from './sign-in-limiter.ts';

export const VERSION = '0.1.0';

export interface AppOptions {
  deps: ServiceDeps;
  metrics: Metrics;
  logger: Logger;
  serverFactory?: FastifyServerFactory;
  /** Where the agent bundle is (default: dist/agent of this package). */
  agentDir?: string | undefined;
}

/** Every route of the API (each has its row in permissions.ts). */
export function apiRoutes(deps: ServiceDeps): RouteSpec[] {
  const specs: RouteSpec[] = [...projectRoutes({ deps }), ...environmentRoutes({ deps }), ...buildRoutes({ deps }), ...deliveryRoutes({ deps }), ...adminRoutes({ deps })];
  specs.push(...projectDeletionRoutes({ deps }), ...buildRetryRoutes({ deps }), ...pipelineRoutes({ deps }), ...jobRoutes({ deps }), ...freezeRoutes({ deps }));
  specs.push(...notificationRoutes({ deps }), ...approvalRoutes({ deps }), ...hotfixRoutes({ deps }), ...rolloutRoutes({ deps }), ...agentRoutes({ deps }), ...configRoutes({ deps }));
  specs.push(...checkRoutes({ deps }), ...userRoutes({ deps }), ...sessionRoutes({ deps }, new SignInLimiter(deps.clock)), ...streamRoutes({ deps }));
  return specs;
}

/** The control plane: API, OpenAPI, health, metrics and the dashboard. */
export async function buildApp({ deps, metrics, logger, serverFactory, agentDir }: AppOptions): Promise<FastifyInstance<Server>> {
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: 1024 * 1024,
    forceCloseConnections: true,
    ...(serverFactory ? { serverFactory } : {}),
  }) as unknown as FastifyInstance<Server>;
  app.decorateRequest('tokenHash', undefined);
  app.decorateRequest('principal', undefined);
  // Blob bodies stream straight to the blob store, hashed on the way.
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
  // Batches of small blobs (POST /api/v1/blobs) are multipart; limits are set per request there.
  await app.register(fastifyMultipart);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send(errorBody(ErrorCode.NOT_FOUND, `no route ${request.method} ${request.url.split('?')[0]}`));
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  const specs = apiRoutes(deps);
  registerRoutes(app, specs, (request, rule, url) => guard(deps, request, rule, url));

  // Made on the first request, not at start: converting every schema takes tens of milliseconds.
  let openapi: unknown;
  app.get('/api/docs', async () => (openapi ??= openApiDocument(specs, VERSION)));
  app.get('/healthz', async () => {
    await deps.store.countTokens();
    return { status: 'ok', version: VERSION, store: deps.store.capabilities.dialect };
  });
  app.get('/metrics', async (_request, reply) => {
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  await registerGitRoutes(app, { deps });
  await registerWebhookRoutes(app, { deps });
  await registerDashboard(app);
  await registerAgent(app, agentDir === undefined ? {} : { dir: agentDir });
  return app;
}
