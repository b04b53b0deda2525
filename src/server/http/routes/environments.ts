import { z } from 'zod';
import { MovePlan } from '../../../protocol/pipelines.ts';
import { Environment, ListQuery, LockRequest, MovedRelease, PromoteRequest, RecentReleases, RecentReleasesQuery, Release, RollbackRequest, UnlockRequest } from '../../../protocol/api.ts';
import { judgeFor } from '../../services/action-facts.ts';
import { getEnvironment, listEnvironments, listRecentReleases, listReleases, lock, planPromote, planRollback, promote, rollback, unlock } from '../../services/environments.ts';
import { getProject } from '../../services/projects.ts';
import type { HttpContext, Params } from '../context.ts';
import { parse } from '../parse.ts';
import { presentMovePlan } from '../present-pipeline.ts';
import { presentEnvironment, presentMovedRelease, presentRelease, withActions } from '../present.ts';
import type { RouteSpec } from '../route.ts';

const BASE = '/api/v1/projects/:project/environments';

export function environmentRoutes({ deps }: HttpContext): RouteSpec[] {
  const urls = deps.urls;
  const names = (params: unknown) => {
    const { project, environment } = params as Params;
    return { project: project ?? '', environment: environment ?? '' };
  };
  const present = (project: string, row: Parameters<typeof presentEnvironment>[2]) => presentEnvironment(urls, project, row, deps.clock.now());
  return [
    {
      method: 'GET',
      url: BASE,
      summary: 'List environments',
      response: z.object({ environments: z.array(Environment) }),
      handler: async (request) => {
        const { project } = names(request.params);
        const rows = await listEnvironments(deps, project);
        const actions = await judgeFor(deps, request.principal, await getProject(deps, project))?.environments(rows);
        return { environments: rows.map((e) => withActions(present(project, e), actions?.get(e.id))) };
      },
    },
    {
      method: 'GET',
      url: `${BASE}/:environment`,
      summary: 'One environment: its deployment, release, pin and lock',
      response: Environment,
      handler: async (request) => {
        const { project, environment } = names(request.params);
        const found = await getEnvironment(deps, project, environment);
        const actions = await judgeFor(deps, request.principal, found.project)?.environments([found.environment]);
        return withActions(present(project, found.environment), actions?.get(found.environment.id));
      },
    },
    {
      method: 'POST',
      url: `${BASE}/:environment/promote`,
      summary: 'Point an environment at a deployment (creates the environment on first use); clears a pin and says so (clearedPin); dryRun: the plan, nothing changed',
      body: PromoteRequest,
      response: z.union([MovedRelease, MovePlan]),
      status: 201,
      handler: async (request, reply, actor) => {
        const { project, environment } = names(request.params);
        const body = parse(PromoteRequest, request.body);
        if (body.dryRun === true) {
          const plan = presentMovePlan(project, await planPromote(deps, actor, project, environment, body));
          void reply.status(200);
          return plan;
        }
        return presentMovedRelease(project, environment, await promote(deps, actor, project, environment, body));
      },
    },
    {
      method: 'POST',
      url: `${BASE}/:environment/rollback`,
      summary: 'Repoint to the previous (or a named) deployment and pin the environment; dryRun: the plan, nothing changed',
      body: RollbackRequest,
      response: z.union([MovedRelease, MovePlan]),
      status: 201,
      handler: async (request, reply, actor) => {
        const { project, environment } = names(request.params);
        const body = parse(RollbackRequest, request.body);
        if (body.dryRun === true) {
          const plan = presentMovePlan(project, await planRollback(deps, actor, project, environment, body));
          void reply.status(200);
          return plan;
        }
        return presentMovedRelease(project, environment, await rollback(deps, actor, project, environment, body));
      },
    },
    {
      method: 'POST',
      url: `${BASE}/:environment/lock`,
      summary: 'Lock an environment: every writer gets ENVIRONMENT_LOCKED until it is unlocked or expires',
      body: LockRequest,
      response: Environment,
      handler: async (request, _reply, actor) => {
        const { project, environment } = names(request.params);
        const body = parse(LockRequest, request.body);
        return present(project, await lock(deps, actor, project, environment, body));
      },
    },
    {
      method: 'POST',
      url: `${BASE}/:environment/unlock`,
      summary: "Unlock an environment (someone else's lock: admin with force and a reason)",
      body: UnlockRequest,
      response: Environment,
      handler: async (request, _reply, actor) => {
        const { project, environment } = names(request.params);
        const body = parse(UnlockRequest, request.body);
        return present(project, await unlock(deps, actor, project, environment, body));
      },
    },
    {
      method: 'GET',
      url: `${BASE}/:environment/releases`,
      summary: 'Releases of an environment, newest first (before = release number)',
      query: ListQuery,
      response: z.object({ releases: z.array(Release) }),
      handler: async (request) => {
        const { project, environment } = names(request.params);
        const query = parse(ListQuery, request.query);
        const rows = await listReleases(deps, project, environment, query);
        const actions = await judgeFor(deps, request.principal, await getProject(deps, project))?.releases(rows);
        return { releases: rows.map((r) => withActions(presentRelease(project, environment, r), actions?.get(r.id))) };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/projects/:project/releases',
      summary: "The newest releases of every environment that is not retired (perEnvironment, default 20), in one call: what the dashboard's pipeline shows",
      query: RecentReleasesQuery,
      response: RecentReleases,
      handler: async (request) => {
        const { project } = names(request.params);
        const { perEnvironment } = parse(RecentReleasesQuery, request.query);
        const recent = await listRecentReleases(deps, project, perEnvironment);
        const actions = await judgeFor(deps, request.principal, await getProject(deps, project))?.releases(recent.flatMap((e) => e.releases));
        return {
          environments: recent.map(({ environment, releases }) => ({
            environment: environment.name,
            releases: releases.map((r) => withActions(presentRelease(project, environment.name, r), actions?.get(r.id))),
          })),
        };
      },
    },
  ];
}
