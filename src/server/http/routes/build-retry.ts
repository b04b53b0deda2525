import { Build } from '../../../protocol/builds.ts';
import { retryBuild } from '../../services/build-retry.ts';
import type { HttpContext, Params } from '../context.ts';
import { presentBuild } from '../present.ts';
import type { RouteSpec } from '../route.ts';

export function buildRetryRoutes({ deps }: HttpContext): RouteSpec[] {
  return [
    {
      method: 'POST',
      url: '/api/v1/builds/:build/retry',
      summary: "Build a failed or canceled build's commit again, as a new build (once per build; audited as build.retry)",
      response: Build,
      status: 201,
      handler: async (request, _reply, actor) => {
        const { build: id = '' } = request.params as Params;
        const { build, project } = await retryBuild(deps, actor, id);
        return presentBuild(deps.urls, project.name, build);
      },
    },
    {
      method: 'POST',
      url: '/api/v1/projects/:project/builds/:build/retry',
      summary: 'The same, judged by the role on the project (a membership or a project-scoped token reaches it)',
      response: Build,
      status: 201,
      handler: async (request, _reply, actor) => {
        const { project: name = '', build: id = '' } = request.params as Params;
        const { build, project } = await retryBuild(deps, actor, id, name);
        return presentBuild(deps.urls, project.name, build);
      },
    },
  ];
}
