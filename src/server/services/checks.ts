import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import { isCommitSha } from '../../core/git-log.ts';
import type { Actor } from '../../core/release-planner.ts';
import { buildPageUrl } from '../../core/urls.ts';
import type { CheckHistoryQuery, ReportCheckRequest, RunnerCheckRequest } from '../../protocol/checks.ts';
import type { CheckReportRow, CheckRow, CommitRow, NewCheckReport, ProjectRow, RecordedCheck } from '../../store/store.ts';
import { requireRole } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { requireLease } from './leases.ts';
import { wakePipeline } from './pipeline-wake.ts';
import { getProject } from './projects.ts';

/** Check names Slipway reports itself (`slipway/test`); nobody else may, so a green one means Slipway saw it. */
export const RESERVED_CHECK_PREFIX = 'slipway/';

export function isReservedCheckName(name: string): boolean {
  return name.toLowerCase().startsWith(RESERVED_CHECK_PREFIX);
}

/**
 * The full id of a commit given whole or abbreviated. A full id is taken as it is (CI may
 * report on a commit before Slipway builds it); an abbreviation must name exactly one commit
 * the project knows from its commits, builds or checks: COMMIT_NOT_FOUND when it names none
 * or several.
 */
export async function resolveCommit(deps: ServiceDeps, project: ProjectRow, ref: string): Promise<string> {
  const commit = ref.toLowerCase();
  if (isCommitSha(commit)) return commit;
  const found = await deps.store.findCommitShasByPrefix(project.id, commit, 5);
  if (found.length === 1 && found[0] !== undefined) return found[0];
  if (found.length === 0) {
    throw new SlipwayError(
      ErrorCode.COMMIT_NOT_FOUND,
      `${project.name} knows no commit ${commit}: give the full 40-digit id of a commit Slipway has not built or seen yet`,
      { project: project.name, commit },
    );
  }
  throw new SlipwayError(ErrorCode.COMMIT_NOT_FOUND, `${commit} is ambiguous in ${project.name}: give more digits (it starts ${found.join(', ')})`, {
    project: project.name,
    commit,
    candidates: found,
  });
}

/**
 * Records one report and, in the same transaction, asks the project's gates to be looked at
 * again: whoever sees the check sees the wake-up queued with it.
 */
export async function recordCheck(deps: ServiceDeps, report: Omit<NewCheckReport, 'reportedAt'>): Promise<RecordedCheck> {
  const now = deps.clock.now();
  const recorded = await deps.store.transaction(async (tx) => {
    const recorded = await tx.recordCheckReport({ ...report, reportedAt: now.toISOString() });
    if (recorded.report !== undefined) {
      await wakePipeline(tx, deps.clock, report.projectId, `check ${report.name} ${report.state} on ${report.commitSha.slice(0, 12)}`);
    }
    return recorded;
  });
  if (recorded.report !== undefined) deps.changes?.touch(report.projectId, ['releases', 'environments', 'deployments', 'builds']);
  return recorded;
}

/** `POST /api/v1/projects/:project/checks`: a deployer reports a check of a commit. */
export async function reportCheck(deps: ServiceDeps, actor: Actor, projectName: string, request: ReportCheckRequest): Promise<RecordedCheck> {
  requireRole(actor, 'deployer');
  if (isReservedCheckName(request.name)) {
    throw new SlipwayError(ErrorCode.FORBIDDEN, `check names starting with "${RESERVED_CHECK_PREFIX}" are reported by Slipway itself`, { name: request.name });
  }
  const project = await getProject(deps, projectName);
  const commit = await resolveCommit(deps, project, request.commit);
  return recordCheck(deps, {
    projectId: project.id,
    commitSha: commit,
    name: request.name,
    state: request.state,
    url: request.url ?? null,
    description: request.description ?? null,
    source: 'api',
    delivery: null,
    reportedBy: actor.name,
  });
}

/** A runner reports its build's test step (`slipway/test`) under the build's current lease. */
export async function reportBuildCheck(deps: ServiceDeps, actor: Actor, buildId: string, lease: string | undefined, request: RunnerCheckRequest): Promise<RecordedCheck> {
  const build = await requireLease(deps, actor, lease, buildId);
  const project = await deps.store.findProjectById(build.projectId);
  if (!project) throw new Error(`project of build ${build.id} vanished`);
  return recordCheck(deps, {
    projectId: build.projectId,
    commitSha: build.commitSha,
    name: request.name,
    state: request.state,
    url: buildPageUrl(deps.urls, project.name, build.id),
    description: request.description ?? null,
    source: 'runner',
    delivery: null,
    reportedBy: actor.name,
  });
}

export async function listChecks(deps: ServiceDeps, actor: Actor, projectName: string, ref: string): Promise<{ commit: string; checks: CheckRow[] }> {
  requireRole(actor, 'viewer');
  const project = await getProject(deps, projectName);
  const commit = await resolveCommit(deps, project, ref);
  return { commit, checks: await deps.store.listChecks(project.id, commit) };
}

export async function listCheckHistory(
  deps: ServiceDeps,
  actor: Actor,
  projectName: string,
  ref: string,
  query: CheckHistoryQuery,
): Promise<{ commit: string; reports: CheckReportRow[] }> {
  requireRole(actor, 'viewer');
  const project = await getProject(deps, projectName);
  const commit = await resolveCommit(deps, project, ref);
  return { commit, reports: await deps.store.listCheckReports(project.id, commit, query) };
}

/** A commit Slipway knows (from a build's report or a push); COMMIT_NOT_FOUND otherwise. */
export async function getCommit(deps: ServiceDeps, actor: Actor, projectName: string, ref: string): Promise<CommitRow> {
  requireRole(actor, 'viewer');
  const project = await getProject(deps, projectName);
  const sha = await resolveCommit(deps, project, ref);
  const commit = await deps.store.findCommit(project.id, sha);
  if (!commit) throw new SlipwayError(ErrorCode.COMMIT_NOT_FOUND, `${project.name} has no record of commit ${sha} yet`, { project: project.name, commit: sha });
  return commit;
}
