import { ApproveRequest, Decision, RejectRequest } from '../../../protocol/approvals.ts';
import { approveRelease, rejectRelease, type Decided } from '../../services/approvals.ts';
import type { HttpContext, Params } from '../context.ts';
import { parse } from '../parse.ts';
import { presentApproval, presentApprovalState } from '../present-pipeline.ts';
import { presentRelease } from '../present.ts';
import type { RouteSpec } from '../route.ts';

function present(decided: Decided): Decision {
  return {
    release: presentRelease(decided.project.name, decided.environment.name, decided.release),
    approval: presentApproval(decided.approval),
    approvals: decided.release.state === 'waiting' ? presentApprovalState(decided.status) : null,
  };
}

/**
 * Approve and reject take any role on the project: the service decides what a person's
 * decision may do (count, cover their own commits, sign for an author, reject) and refuses
 * with APPROVAL_NOT_ALLOWED, saying why, when it may do nothing.
 */
export function approvalRoutes({ deps }: HttpContext): RouteSpec[] {
  return [
    {
      method: 'POST',
      url: '/api/v1/projects/:project/releases/:release/approve',
      summary: 'Approve a waiting release (id, or vN with environment), or sign for an author with no user (forEmail + reason); audited as release.approve / release.sign_for',
      body: ApproveRequest,
      response: Decision,
      handler: async (request, _reply, actor) => {
        const { project = '', release = '' } = request.params as Params;
        const body = parse(ApproveRequest, request.body ?? {});
        return present(await approveRelease(deps, actor, project, release, body));
      },
    },
    {
      method: 'POST',
      url: '/api/v1/projects/:project/releases/:release/reject',
      summary: 'Reject a waiting release with a reason: it fails with it; audited as release.reject',
      body: RejectRequest,
      response: Decision,
      handler: async (request, _reply, actor) => {
        const { project = '', release = '' } = request.params as Params;
        const body = parse(RejectRequest, request.body);
        return present(await rejectRelease(deps, actor, project, release, body));
      },
    },
  ];
}
