import { ErrorCode, SlipwayError } from '../../../core/errors.ts';
import { StreamQuery } from '../../../protocol/changes.ts';
import { actorOn } from '../../services/access.ts';
import { ChangeStreams } from '../change-streams.ts';
import type { HttpContext } from '../context.ts';
import { parse } from '../parse.ts';
import type { RouteSpec } from '../route.ts';

/** The dashboard's change stream: one per page, whatever it shows. */
export function streamRoutes({ deps }: HttpContext): RouteSpec[] {
  const feed = deps.changes;
  const streams = feed === undefined ? undefined : new ChangeStreams(deps, feed);
  return [
    {
      method: 'GET',
      url: '/api/v1/stream',
      summary:
        'Server-Sent Events: `event: change` with {project, topics, at} whenever something of the project (or, without `project`, of any project the caller sees) changes; `: ping` every 15 s',
      query: StreamQuery,
      handler: async (request, reply) => {
        const query = parse(StreamQuery, request.query);
        const principal = request.principal;
        if (streams === undefined || principal === undefined) throw new SlipwayError(ErrorCode.INTERNAL, 'this server has no change feed');
        let projectId: string | null = principal.scope;
        if (query.project !== undefined) {
          const project = await deps.store.findProjectByName(query.project);
          // Like every route about a project: one the caller cannot see does not exist.
          if (project === undefined || actorOn(principal, project.id) === null) {
            throw new SlipwayError(ErrorCode.PROJECT_NOT_FOUND, `no project named "${query.project}"`, { project: query.project });
          }
          projectId = project.id;
        }
        streams.open(request, reply, principal, { projectId });
        return reply;
      },
    },
  ];
}
