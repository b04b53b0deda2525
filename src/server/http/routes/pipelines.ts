import { z } from 'zod';
import { Pipeline, Policy, ReleaseDetail, SetPolicyRequest } from '../../../protocol/pipelines.ts';
import { judgeFor } from '../../services/action-facts.ts';
import { setEnvironmentPolicy } from '../../services/policies.ts';
import { getProject } from '../../services/projects.ts';
import { describePipeline, getReleaseView } from '../../services/pipeline-view.ts';
import type { HttpContext, Params } from '../context.ts';
import { parse } from '../parse.ts';
import { presentPipeline, presentPolicy, presentReleaseView } from '../present-pipeline.ts';
import { withActions } from '../present.ts';
import type { RouteSpec } from '../route.ts';

const ReleaseQuery = z.object({ environment: z.string().min(1).max(64).optional() });

export function pipelineRoutes({ deps }: HttpContext): RouteSpec[] {
  return [
    {
      method: 'GET',
      url: '/api/v1/projects/:project/pipeline',
      summary: 'Each environment in the order of from: — what it runs, what waits to enter it, and which gate holds each waiting release',
      response: Pipeline,
      handler: async (request) => {
        const { project = '' } = request.params as Params;
        const view = await describePipeline(deps, project);
        const judge = judgeFor(deps, request.principal, view.project);
        const actions = judge && {
          environments: await judge.environments(view.stages.map((s) => s.env)),
          releases: await judge.releases(view.stages.flatMap((s) => s.waiting)),
        };
        return presentPipeline(deps.urls, view, deps.clock.now(), actions ?? undefined);
      },
    },
    {
      method: 'PUT',
      url: '/api/v1/projects/:project/environments/:environment/policy',
      summary: "Set an environment's policy (from, follows, auto, checks, mode, maxCommits, requires, windows); audited as environment.policy",
      body: SetPolicyRequest,
      response: Policy,
      handler: async (request, _reply, actor) => {
        const { project = '', environment = '' } = request.params as Params;
        const body = parse(SetPolicyRequest, request.body);
        return presentPolicy(await setEnvironmentPolicy(deps, actor, project, environment, body));
      },
    },
    {
      method: 'GET',
      url: '/api/v1/projects/:project/releases/:release',
      summary: 'One release (id, or vN with ?environment=) with its gates and the batch of commits it carries, with their checks',
      query: ReleaseQuery,
      response: ReleaseDetail,
      handler: async (request) => {
        const { project = '', release = '' } = request.params as Params;
        const query = parse(ReleaseQuery, request.query);
        const view = await getReleaseView(deps, project, release, query.environment);
        const actions = await judgeFor(deps, request.principal, await getProject(deps, project))?.releases([view.release]);
        return withActions(presentReleaseView(project, view), actions?.get(view.release.id));
      },
    },
  ];
}
