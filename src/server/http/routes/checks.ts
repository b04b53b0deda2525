import type { z } from 'zod';
import { ErrorCode, SlipwayError } from '../../../core/errors.ts';
import { CHECK_STATES } from '../../../core/glossary.ts';
import { CheckHistory, CheckHistoryQuery, Commit, CommitChecks, ReportCheckRequest, ReportedCheck, RunnerCheckRequest, type Check, type CheckReport } from '../../../protocol/checks.ts';
import type { CheckReportRow, CheckRow, CommitRow, RecordedCheck } from '../../../store/store.ts';
import { getCommit, listCheckHistory, listChecks, reportBuildCheck, reportCheck } from '../../services/checks.ts';
import { leaseOf, type HttpContext, type Params } from '../context.ts';
import { parse } from '../parse.ts';
import type { RouteSpec } from '../route.ts';

const PROJECT = '/api/v1/projects/:project';

export function presentCheck(row: CheckRow): Check {
  return {
    commit: row.commitSha,
    name: row.name,
    state: row.state,
    url: row.url,
    description: row.description,
    source: row.source,
    reportedAt: row.reportedAt,
    reportedBy: row.reportedBy,
  };
}

export function presentCheckReport(row: CheckReportRow): CheckReport {
  return {
    seq: row.seq,
    commit: row.commitSha,
    name: row.name,
    state: row.state,
    url: row.url,
    description: row.description,
    source: row.source,
    reportedAt: row.reportedAt,
    reportedBy: row.reportedBy,
  };
}

export function presentCommit(row: CommitRow): Commit {
  return {
    sha: row.sha,
    parents: row.parents,
    authorName: row.authorName,
    authorEmail: row.authorEmail,
    message: row.message,
    committedAt: row.committedAt,
    recordedAt: row.recordedAt,
  };
}

function presentRecorded(recorded: RecordedCheck): ReportedCheck {
  return { check: presentCheck(recorded.check), report: recorded.report === undefined ? null : presentCheckReport(recorded.report) };
}

/** Like `parse`, but a state outside CHECK_STATES is CHECK_STATE_INVALID, the code scripts branch on. */
function parseReport<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body ?? {});
  if (!result.success && result.error.issues.some((issue) => issue.path[0] === 'state')) {
    const state = (body as { state?: unknown } | null)?.state;
    throw new SlipwayError(ErrorCode.CHECK_STATE_INVALID, `a check's state is one of ${CHECK_STATES.join(', ')}`, {
      state: typeof state === 'string' ? state.slice(0, 100) : null,
      allowed: [...CHECK_STATES],
    });
  }
  return parse(schema, body);
}

export function checkRoutes({ deps }: HttpContext): RouteSpec[] {
  return [
    {
      method: 'POST',
      url: `${PROJECT}/checks`,
      summary: 'Report a check of a commit (full id, or an abbreviation the project knows); the latest report of a name wins',
      body: ReportCheckRequest,
      response: ReportedCheck,
      status: 201,
      handler: async (request, _reply, actor) => {
        const { project = '' } = request.params as Params;
        return presentRecorded(await reportCheck(deps, actor, project, parseReport(ReportCheckRequest, request.body)));
      },
    },
    {
      method: 'GET',
      url: `${PROJECT}/commits/:commit/checks`,
      summary: "A commit's checks as they are now, by name",
      response: CommitChecks,
      handler: async (request, _reply, actor) => {
        const { project = '', commit = '' } = request.params as Params;
        const found = await listChecks(deps, actor, project, commit);
        return { commit: found.commit, checks: found.checks.map(presentCheck) };
      },
    },
    {
      method: 'GET',
      url: `${PROJECT}/commits/:commit/checks/history`,
      summary: "Every report of a commit's checks (or of one, with name), newest first; before pages by seq",
      query: CheckHistoryQuery,
      response: CheckHistory,
      handler: async (request, _reply, actor) => {
        const { project = '', commit = '' } = request.params as Params;
        const found = await listCheckHistory(deps, actor, project, commit, parse(CheckHistoryQuery, request.query));
        return { commit: found.commit, reports: found.reports.map(presentCheckReport) };
      },
    },
    {
      method: 'GET',
      url: `${PROJECT}/commits/:commit`,
      summary: 'A commit Slipway knows (from a build or a push): parents, author, subject',
      response: Commit,
      handler: async (request, _reply, actor) => {
        const { project = '', commit = '' } = request.params as Params;
        return presentCommit(await getCommit(deps, actor, project, commit));
      },
    },
    {
      method: 'POST',
      url: '/api/v1/runner/builds/:build/checks',
      summary: "Runner (Slipway-Lease): the state of the build's test step (slipway/test) on its commit",
      body: RunnerCheckRequest,
      response: ReportedCheck,
      handler: async (request, _reply, actor) => {
        const { build = '' } = request.params as Params;
        return presentRecorded(await reportBuildCheck(deps, actor, build, leaseOf(request), parseReport(RunnerCheckRequest, request.body)));
      },
    },
  ];
}
