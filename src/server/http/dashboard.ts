import type { FastifyInstance } from 'fastify';

/** Placeholder until the dashboard is built: a page that says where things are. */
export async function registerDashboard(app: FastifyInstance): Promise<void> {
  app.get('/', async (_request, reply) => {
    void reply.type('text/html; charset=utf-8');
    return '<!doctype html><title>Slipway</title><h1>Slipway</h1><p>API: <a href="/api/docs">/api/docs</a></p>';
  });
}
