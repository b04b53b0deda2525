import { Hotfix, StartHotfixRequest } from '../../../protocol/hotfixes.ts';
import { startHotfix } from '../../services/hotfixes.ts';
import type { HttpContext, Params } from '../context.ts';
import { parse } from '../parse.ts';
import type { RouteSpec } from '../route.ts';

export function hotfixRoutes({ deps }: HttpContext): RouteSpec[] {
  return [
    {
      method: 'POST',
      url: '/api/v1/projects/:project/hotfixes',
      summary:
        "Start a hotfix: branch hotfix/<name> at the commit production runs, made in Slipway's git (or, for an external repository, the git commands that make it); audited as hotfix.start",
      body: StartHotfixRequest,
      response: Hotfix,
      handler: async (request, reply, actor) => {
        const { project } = request.params as Params;
        const body = parse(StartHotfixRequest, request.body ?? {});
        const started = await startHotfix(deps, actor, project ?? '', body);
        // 201 when a branch was made; 200 when only the commands to make it are answered.
        void reply.status(started.mode === 'created' ? 201 : 200);
        return {
          project: started.project.name,
          branch: started.branch,
          environment: started.environment.name,
          deployment: started.deploymentId,
          release: started.environment.releaseNumber === 0 ? null : started.environment.releaseNumber,
          commit: started.commit,
          mode: started.mode,
          repository: started.repository,
          commands: started.commands,
        } satisfies Hotfix;
      },
    },
  ];
}
