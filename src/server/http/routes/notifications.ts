import { CreatedNotifyTarget, CreateNotifyTargetRequest, NotifyDelivery, NotifyDeliveryList, NotifyDeliveryQuery, NotifyTarget, NotifyTargetList } from '../../../protocol/notifications.ts';
import type { NotifyDeliveryRow, NotifyTargetRow } from '../../../store/store.ts';
import { createNotifyTarget, listNotifyDeliveries, listNotifyTargets, removeNotifyTarget, testNotifyTarget } from '../../services/notifications.ts';
import type { HttpContext, Params } from '../context.ts';
import { parse } from '../parse.ts';
import type { RouteSpec } from '../route.ts';

const BASE = '/api/v1/projects/:project/notifications';

function presentTarget(project: string, row: NotifyTargetRow): NotifyTarget {
  return { id: row.id, project, url: row.url, format: row.format, events: row.events, allowPrivate: row.allowPrivate, createdBy: row.createdBy, createdAt: row.createdAt };
}

function presentDelivery(row: NotifyDeliveryRow): NotifyDelivery {
  return {
    id: row.id,
    target: row.targetId,
    event: row.event,
    release: row.releaseId,
    state: row.state,
    attempts: row.attempts,
    statusCode: row.statusCode,
    error: row.error,
    response: row.responseExcerpt,
    createdAt: row.createdAt,
    lastAttemptAt: row.lastAttemptAt,
    nextAttemptAt: row.nextAttemptAt,
    endedAt: row.endedAt,
  };
}

/**
 * Notification targets and their deliveries. Adding and removing a target needs admin (the
 * services check it on the project); listing needs deployer, and shows a target's whole URL
 * to admins only.
 */
export function notificationRoutes({ deps }: HttpContext): RouteSpec[] {
  const names = (params: unknown) => {
    const { project, id } = params as Params;
    return { project: project ?? '', id: id ?? '' };
  };
  return [
    {
      method: 'GET',
      url: `${BASE}/targets`,
      summary: "A project's notification targets (the whole URL for admins, its origin for others)",
      response: NotifyTargetList,
      handler: async (request, _reply, actor) => {
        const { project } = names(request.params);
        return { targets: (await listNotifyTargets(deps, actor, project)).map((t) => presentTarget(project, t)) };
      },
    },
    {
      method: 'POST',
      url: `${BASE}/targets`,
      summary: 'Add a notification target: release state changes are POSTed to it, signed; its secret is answered this once. URL_FORBIDDEN for private addresses unless allowPrivate',
      status: 201,
      body: CreateNotifyTargetRequest,
      response: CreatedNotifyTarget,
      handler: async (request, _reply, actor) => {
        const { project } = names(request.params);
        const body = parse(CreateNotifyTargetRequest, request.body);
        const { target, secret } = await createNotifyTarget(deps, actor, project, body);
        return { ...presentTarget(project, target), secret };
      },
    },
    {
      method: 'DELETE',
      url: `${BASE}/targets/:id`,
      summary: 'Remove a notification target; its pending deliveries are canceled',
      response: NotifyTarget,
      handler: async (request, _reply, actor) => {
        const { project, id } = names(request.params);
        return presentTarget(project, await removeNotifyTarget(deps, actor, project, id));
      },
    },
    {
      method: 'POST',
      url: `${BASE}/targets/:id/test`,
      summary: 'Queue a test notification to a target (signed, checked and retried like any delivery); answers the pending delivery',
      status: 202,
      response: NotifyDelivery,
      handler: async (request, _reply, actor) => {
        const { project, id } = names(request.params);
        return presentDelivery(await testNotifyTarget(deps, actor, project, id));
      },
    },
    {
      method: 'GET',
      url: `${BASE}/deliveries`,
      summary: 'Deliveries of notifications, newest first (target = one target), with their state, attempts and last answer',
      query: NotifyDeliveryQuery,
      response: NotifyDeliveryList,
      handler: async (request, _reply, actor) => {
        const { project } = names(request.params);
        const query = parse(NotifyDeliveryQuery, request.query);
        return { deliveries: (await listNotifyDeliveries(deps, actor, project, query)).map(presentDelivery) };
      },
    },
  ];
}
