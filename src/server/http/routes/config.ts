import { AgentReleaseConfig, ChangeConfigRequest, ChangedConfig, ConfigList } from '../../../protocol/config.ts';
import { agentReleaseConfig, changeConfig, listConfig, type ConfigView } from '../../services/config.ts';
import type { HttpContext, Params } from '../context.ts';
import { parse } from '../parse.ts';
import { presentRelease } from '../present.ts';
import type { RouteSpec } from '../route.ts';

const URL = '/api/v1/projects/:project/environments/:environment/config';

function presentConfig(view: ConfigView): ConfigList {
  return {
    project: view.project.name,
    environment: view.environment.name,
    version: view.version,
    createdAt: view.createdAt,
    createdBy: view.createdBy,
    vars: view.vars,
    live: view.live === null ? null : { release: view.live.releaseId, number: view.live.number, configVersion: view.live.configVersion },
  };
}

export function configRoutes({ deps }: HttpContext): RouteSpec[] {
  const names = (params: unknown) => {
    const { project, environment } = params as Params;
    return { project: project ?? '', environment: environment ?? '' };
  };
  return [
    {
      method: 'GET',
      url: URL,
      summary: "An environment's config vars: keys, who set each when, a fingerprint of each value — never a value",
      response: ConfigList,
      handler: async (request, _reply, actor) => {
        const { project, environment } = names(request.params);
        return presentConfig(await listConfig(deps, actor, project, environment));
      },
    },
    {
      method: 'PATCH',
      url: URL,
      summary: 'Set and unset config vars (admin): a new version, audited as config.change by key; a service environment with a live release gets a config release',
      body: ChangeConfigRequest,
      response: ChangedConfig,
      // 500 values of 32 KiB, in JSON escapes at worst six bytes a character, fit no request;
      // the total the environment may hold (1 MiB) does, with room for escaping.
      bodyLimit: 4 * 1024 * 1024,
      handler: async (request, _reply, actor) => {
        const { project, environment } = names(request.params);
        const body = parse(ChangeConfigRequest, request.body);
        const view = await changeConfig(deps, actor, project, environment, body);
        return {
          ...presentConfig(view),
          changed: view.changed,
          set: view.set,
          unset: view.unset,
          release: view.release === null ? null : presentRelease(project, view.environment.name, view.release),
        };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/agent/releases/:release/config',
      summary: "The config vars a release runs with, for an agent of the release's own environment (any other release: RELEASE_NOT_FOUND)",
      response: AgentReleaseConfig,
      handler: async (request, reply, actor) => {
        const { release } = request.params as Params;
        // Values: never kept by a cache on the way.
        void reply.header('cache-control', 'no-store');
        return agentReleaseConfig(deps, actor, release ?? '');
      },
    },
  ];
}
