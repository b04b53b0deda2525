import type { Check, CheckReport } from '../../protocol/checks.ts';
import { connect, parsePositiveInt, requireProject, usage } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatTime } from '../output.ts';

export interface ReportCheckOptions {
  project?: string | undefined;
  commit?: string | undefined;
  name?: string | undefined;
  state?: string | undefined;
  url?: string | undefined;
  description?: string | undefined;
  json?: boolean | undefined;
}

/**
 * `slipway checks report`: CI (or a person) says how a commit fared. The server checks the
 * state (CHECK_STATE_INVALID) and resolves an abbreviated commit, so scripts see one behaviour
 * whichever client reports.
 */
export const reportCheck: Command<ReportCheckOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  if (options.commit === undefined) throw usage('give the commit: --commit <sha>');
  if (options.name === undefined) throw usage('give the check: --name <name> (e.g. ci/test)');
  if (options.state === undefined) throw usage('give the state: --state pending|success|failure');
  const client = await connect(ctx);
  const result = await client.reportCheck(project, {
    commit: options.commit,
    name: options.name,
    // Passed as typed: the server answers CHECK_STATE_INVALID for anything else.
    state: options.state as Check['state'],
    ...(options.url === undefined ? {} : { url: options.url }),
    ...(options.description === undefined ? {} : { description: options.description }),
  });
  if (options.json) {
    ctx.out.json(result);
    return ExitCode.OK;
  }
  const { check } = result;
  ctx.out.line(`${check.name} is ${check.state} on ${check.commit.slice(0, 12)} (${project})`);
  // Another reporter's later report may have won meanwhile: say what holds now.
  if (result.report !== null && result.report.state !== check.state) ctx.out.note(`a later report by ${check.reportedBy} set it ${check.state}`);
  return ExitCode.OK;
};

export interface ListChecksOptions {
  project?: string | undefined;
  commit?: string | undefined;
  history?: boolean | undefined;
  name?: string | undefined;
  limit?: string | undefined;
  json?: boolean | undefined;
}

/** `slipway checks list`: a commit's checks as they are now, or with --history every report. */
export const listChecks: Command<ListChecksOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  if (options.commit === undefined) throw usage('give the commit: --commit <sha>');
  const limit = parsePositiveInt('--limit', options.limit);
  const client = await connect(ctx);
  if (options.history || options.name !== undefined) {
    const result = await client.checkHistory(project, options.commit, {
      ...(options.name === undefined ? {} : { name: options.name }),
      ...(limit === undefined ? {} : { limit }),
    });
    if (options.json) {
      ctx.out.json(result);
      return ExitCode.OK;
    }
    if (result.reports.length === 0) {
      ctx.out.line(`No check reports for ${result.commit.slice(0, 12)} in ${project}.`);
      return ExitCode.OK;
    }
    ctx.out.table(['REPORTED', 'NAME', 'STATE', 'BY', 'URL', 'DESCRIPTION'], result.reports.map(reportRow));
    return ExitCode.OK;
  }
  const result = await client.listChecks(project, options.commit);
  if (options.json) {
    ctx.out.json(result);
    return ExitCode.OK;
  }
  if (result.checks.length === 0) {
    ctx.out.line(`No checks reported for ${result.commit.slice(0, 12)} in ${project} (slipway checks report --commit … --name … --state …).`);
    return ExitCode.OK;
  }
  ctx.out.table(['NAME', 'STATE', 'REPORTED', 'BY', 'URL', 'DESCRIPTION'], result.checks.map(checkRow));
  return ExitCode.OK;
};

function checkRow(check: Check): string[] {
  return [check.name, check.state, formatTime(check.reportedAt), `${check.reportedBy} (${check.source})`, check.url ?? '-', check.description ?? ''];
}

function reportRow(report: CheckReport): string[] {
  return [formatTime(report.reportedAt), report.name, report.state, `${report.reportedBy} (${report.source})`, report.url ?? '-', report.description ?? ''];
}
