import { z } from 'zod';
import { CreateFreezeRequest, Freeze, FreezeList } from '../../../protocol/freezes.ts';
import { createFreeze, deleteFreeze, listFreezes } from '../../services/freezes.ts';
import type { FreezeRow } from '../../../store/store.ts';
import type { HttpContext, Params } from '../context.ts';
import { parse } from '../parse.ts';
import type { RouteSpec } from '../route.ts';

const ENV = '/api/v1/projects/:project/environments/:environment/freezes';

function present(project: string, row: FreezeRow & { environment: string }): Freeze {
  return { id: row.id, project, environment: row.environment, from: row.from, until: row.until, reason: row.reason, createdBy: row.createdBy, createdAt: row.createdAt };
}

const EnvironmentQuery = z.object({ environment: z.string().min(1).max(64).optional() });

export function freezeRoutes({ deps }: HttpContext): RouteSpec[] {
  const names = (params: unknown) => {
    const { project, environment, id } = params as Params;
    return { project: project ?? '', environment: environment ?? '', id };
  };
  return [
    {
      method: 'GET',
      url: '/api/v1/projects/:project/freezes',
      summary: 'Freezes of a project that have not ended, by start (environment = one environment)',
      query: EnvironmentQuery,
      response: FreezeList,
      handler: async (request) => {
        const { project } = names(request.params);
        const query = parse(EnvironmentQuery, request.query);
        return { freezes: (await listFreezes(deps, project, query.environment)).map((f) => present(project, f)) };
      },
    },
    {
      method: 'POST',
      url: ENV,
      summary: 'Freeze an environment from a time until a time: releases wait, promotions get FROZEN; audited as environment.freeze',
      body: CreateFreezeRequest,
      response: Freeze,
      handler: async (request, _reply, actor) => {
        const { project, environment } = names(request.params);
        const body = parse(CreateFreezeRequest, request.body);
        return present(project, await createFreeze(deps, actor, project, environment, body));
      },
    },
    {
      method: 'DELETE',
      url: `${ENV}/:id`,
      summary: 'Lift a freeze; what it held is looked at again at once; audited as environment.unfreeze',
      response: Freeze,
      handler: async (request, _reply, actor) => {
        const { project, environment, id } = names(request.params);
        return present(project, await deleteFreeze(deps, actor, project, environment, id));
      },
    },
    {
      method: 'DELETE',
      url: ENV,
      summary: "Lift the environment's only freeze (FREEZE_INVALID when it has several: name one)",
      response: Freeze,
      handler: async (request, _reply, actor) => {
        const { project, environment } = names(request.params);
        return present(project, await deleteFreeze(deps, actor, project, environment, undefined));
      },
    },
  ];
}
