import { connect } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';

export interface RetryBuildOptions {
  id: string;
  json?: boolean | undefined;
}

/** Builds a failed or canceled build's commit again; the last stdout line is the new build's id. */
export const retryBuild: Command<RetryBuildOptions> = async (options, ctx) => {
  const client = await connect(ctx);
  const build = await client.retryBuild(options.id);
  if (options.json) {
    ctx.out.json(build);
    return ExitCode.OK;
  }
  const what = `${build.commit.slice(0, 7)}${build.branch === null ? '' : ` (${build.branch})`}`;
  ctx.out.note(`Follow it: slipway logs ${build.id} --project ${build.project} --follow`);
  ctx.out.line(`Retrying ${what}: ${options.id} is built again as ${build.id} (retry ${build.retryNumber}).`);
  ctx.out.line(build.id);
  return ExitCode.OK;
};
