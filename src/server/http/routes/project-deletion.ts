import { DeleteProjectRequest, ProjectDeleted } from '../../../protocol/api.ts';
import { deleteProject } from '../../services/project-deletion.ts';
import type { HttpContext, Params } from '../context.ts';
import { parse } from '../parse.ts';
import type { RouteSpec } from '../route.ts';

export function projectDeletionRoutes({ deps }: HttpContext): RouteSpec[] {
  return [
    {
      method: 'DELETE',
      url: '/api/v1/projects/:project',
      summary:
        'Delete a project (admin; body {"confirm": "<its name>"}): its environments, deployments and domains stop being served, its queued builds are canceled, the name is free again, blobs no other project uses are deleted',
      body: DeleteProjectRequest,
      response: ProjectDeleted,
      handler: async (request, _reply, actor) => {
        const { project = '' } = request.params as Params;
        const body = parse(DeleteProjectRequest, request.body ?? {});
        const deleted = await deleteProject(deps, actor, project, body.confirm);
        return {
          project: deleted.project.deletedName ?? project,
          id: deleted.project.id,
          deletedAt: deleted.project.deletedAt ?? '',
          buildsCanceled: deleted.builds,
          domainsRemoved: deleted.domains,
          blobsCollected: deleted.blobsCollected,
          cleanupError: deleted.cleanupError,
        };
      },
    },
  ];
}
