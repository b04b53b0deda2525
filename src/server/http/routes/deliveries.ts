import { z } from 'zod';
import { Delivery, ListQuery } from '../../../protocol/api.ts';
import type { WebhookDeliveryRow } from '../../../store/store.ts';
import { listDeliveries } from '../../webhooks/deliveries.ts';
import type { HttpContext, Params } from '../context.ts';
import { parse } from '../parse.ts';
import type { RouteSpec } from '../route.ts';

/** A delivery row as the API shows it (kept beside its only route). */
export function presentDelivery(project: string, row: WebhookDeliveryRow): Delivery {
  return {
    seq: row.seq,
    provider: row.provider,
    id: row.deliveryId,
    project,
    state: row.state,
    receivedAt: row.receivedAt,
    processedAt: row.processedAt,
    builds: row.builds,
    error: row.error,
    refs: row.push?.updates ?? [],
  };
}

export function deliveryRoutes({ deps }: HttpContext): RouteSpec[] {
  return [
    {
      method: 'GET',
      url: '/api/v1/projects/:project/deliveries',
      summary: 'Webhook deliveries of a project, newest first: pending, done (with the builds each queued) or failed',
      query: ListQuery,
      response: z.object({ deliveries: z.array(Delivery) }),
      handler: async (request) => {
        const { project = '' } = request.params as Params;
        const query = parse(ListQuery, request.query);
        return { deliveries: (await listDeliveries(deps, project, query)).map((row) => presentDelivery(project, row)) };
      },
    },
  ];
}
