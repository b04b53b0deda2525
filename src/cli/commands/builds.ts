import { formatDuration } from '../../core/duration.ts';
import type { Build } from '../../protocol/builds.ts';
import { connect, parsePositiveInt, requireProject } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatTime } from '../output.ts';

export interface BuildsOptions {
  project?: string | undefined;
  limit?: string | undefined;
  json?: boolean | undefined;
}

export const listBuilds: Command<BuildsOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const limit = parsePositiveInt('--limit', options.limit);
  const client = await connect(ctx);
  const result = await client.listBuilds(project, limit === undefined ? {} : { limit });
  if (options.json) {
    ctx.out.json(result);
    return ExitCode.OK;
  }
  if (result.builds.length === 0) {
    ctx.out.line(`No builds in ${project} yet: git push to it (slipway git-remote --project ${project})`);
    return ExitCode.OK;
  }
  ctx.out.table(
    ['ID', 'STATE', 'COMMIT', 'BRANCH', 'CREATED', 'TOOK', 'RESULT'],
    result.builds.map((b) => [b.id, stateOf(b), b.commit.slice(0, 12), b.branch ?? b.ref, formatTime(b.createdAt), took(b), resultOf(b)]),
  );
  return ExitCode.OK;
};

export interface CancelBuildOptions {
  id: string;
  project?: string | undefined;
  json?: boolean | undefined;
}

export const cancelBuild: Command<CancelBuildOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const client = await connect(ctx);
  const build = await client.cancelBuild(project, options.id);
  if (options.json) {
    ctx.out.json(build);
    return ExitCode.OK;
  }
  ctx.out.line(
    build.state === 'canceled'
      ? `Canceled ${build.id}.`
      : `Canceling ${build.id}: its runner kills the build's processes within seconds (slipway logs ${build.id} --project ${project} --follow).`,
  );
  return ExitCode.OK;
};

function stateOf(build: Build): string {
  return build.cancelRequested && build.state === 'running' ? 'canceling' : build.state;
}

function took(build: Build): string {
  if (build.startedAt === null) return '-';
  const end = build.finishedAt === null ? Date.now() : Date.parse(build.finishedAt);
  return formatDuration(Math.max(0, end - Date.parse(build.startedAt)));
}

function resultOf(build: Build): string {
  if (build.deployment !== null) return build.deploymentUrl ?? build.deployment;
  if (build.error !== null) return build.error.split('\n')[0] ?? '';
  return build.message ?? '';
}
