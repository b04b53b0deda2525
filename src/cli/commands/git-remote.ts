import { resolveConnection } from '../config.ts';
import { CliError, connect, requireProject } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';

export interface GitRemoteOptions {
  project?: string | undefined;
  /** `--no-token` sets it to false. */
  token?: boolean | undefined;
  json?: boolean | undefined;
}

/**
 * Prints the project's git URL, by default with this CLI's token as the password so that
 * `git remote add slipway "$(slipway git-remote -p web)"` and `git push slipway main` work
 * without a prompt. The token then sits in `.git/config`: `--no-token` prints the bare URL
 * for a credential helper instead.
 */
export const gitRemote: Command<GitRemoteOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const client = await connect(ctx);
  const status = await client.getProjectStatus(project);
  const url = new URL(status.project.gitUrl || `${client.url}/git/${encodeURIComponent(project)}.git`);
  if (options.token !== false) {
    const connection = await resolveConnection(ctx.env);
    if (!connection.ok) throw new CliError(connection.code, connection.message);
    url.username = 'slipway';
    url.password = connection.token;
  }
  if (options.json) {
    ctx.out.json({ project, url: url.toString() });
    return ExitCode.OK;
  }
  if (options.token !== false) ctx.out.note('This URL holds your API token; git stores it in .git/config. --no-token prints it without.');
  ctx.out.note(`git remote add slipway "$(slipway git-remote --project ${project}${options.token === false ? ' --no-token' : ''})" && git push slipway main`);
  ctx.out.line(url.toString());
  return ExitCode.OK;
};
