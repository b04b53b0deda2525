import { approvalSummary, DEFAULT_POLICY } from '../../core/gates/index.ts';
import type { UrlConfig } from '../../core/urls.ts';
import { environmentUrl } from '../../core/urls.ts';
import type { EnvironmentActions, ReleaseActions } from '../../protocol/actions.ts';
import type { Approval, ApprovalState } from '../../protocol/approvals.ts';
import type { MovePlan, Pipeline, Policy, ReleaseDetail } from '../../protocol/pipelines.ts';
import type { ApprovalStatus } from '../../core/gates/index.ts';
import type { ApprovalRow, EnvironmentRow } from '../../store/store.ts';
import { policyOf } from '../services/pipeline.ts';
import type { MovePlanView } from '../services/environments.ts';
import type { PipelineView, ReleaseView } from '../services/pipeline-view.ts';
import { presentEnvironment, presentRelease, withActions } from './present.ts';

export function presentPolicy(env: EnvironmentRow): Policy {
  const policy = env.policy === null ? { ...DEFAULT_POLICY, follows: env.follows } : policyOf(env);
  return { ...policy, source: env.policySource ?? null, updatedAt: env.policyUpdatedAt ?? null };
}

/** What the person asking may do, by environment id and by release id (action-facts.ts). */
export interface PipelineActions {
  environments: ReadonlyMap<string, EnvironmentActions>;
  releases: ReadonlyMap<string, ReleaseActions>;
}

export function presentPipeline(urls: UrlConfig, view: PipelineView, now: Date, actions?: PipelineActions): Pipeline {
  return {
    project: view.project.name,
    defaultBranch: view.defaultBranch,
    stages: view.stages.map((stage) => {
      const env = presentEnvironment(urls, view.project.name, stage.env, now);
      const shape = {
        name: stage.env.name,
        url: environmentUrl(urls, view.project.name, stage.env.name),
        policy: presentPolicy(stage.env),
        runs:
          stage.runs === null || stage.env.deploymentId === null
            ? null
            : {
                deployment: stage.env.deploymentId,
                release: stage.env.releaseNumber,
                commit: stage.runs.commit,
                branch: stage.runs.branch,
                author: stage.runs.author,
                releaseId: stage.env.releaseId,
                since: stage.runs.release?.liveAt ?? stage.runs.release?.createdAt ?? null,
              },
        pin: env.pin,
        lock: env.lock,
        waiting: stage.waiting.map((r) => withActions(presentRelease(view.project.name, stage.env.name, r), actions?.releases.get(r.id))),
        warnings: stage.warnings,
      };
      return withActions(shape, actions?.environments.get(stage.env.id));
    }),
  };
}

export function presentApproval(row: ApprovalRow): Approval {
  return { id: row.id, user: row.userName, role: row.role, forEmail: row.forEmail, decision: row.decision, reason: row.reason, at: row.createdAt };
}

export function presentApprovalState(status: ApprovalStatus | null): ApprovalState | null {
  if (status === null) return null;
  return { ...approvalSummary(status), satisfied: status.satisfied };
}

export function presentReleaseView(project: string, view: ReleaseView): ReleaseDetail {
  return {
    ...presentRelease(project, view.environment, view.release),
    approvals: view.approvals.map(presentApproval),
    approvalState: presentApprovalState(view.approvalState),
    batch:
      view.batch === null
        ? null
        : {
            base: view.batch.base,
            truncated: view.batch.truncated || view.batch.unknown.length > 0,
            commits: view.batch.commits.map((c) => ({
              sha: c.sha,
              message: c.message,
              author: c.authorName,
              email: c.authorEmail,
              checks: c.checks.map((k) => ({ name: k.name, state: k.state, url: k.url })),
            })),
          },
  };
}

export function presentMovePlan(project: string, plan: MovePlanView): MovePlan {
  return {
    dryRun: true,
    environment: plan.environment,
    from: plan.from,
    createsEnvironment: plan.createsEnvironment,
    release: presentReleaseView(project, plan.release),
    clearsPin: plan.clearsPin,
    pins: plan.pins,
    authors: plan.authors,
    forced: plan.forced,
  };
}
