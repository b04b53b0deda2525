import { assertName } from '../../core/names.ts';
import { connect, CliError } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { findLink, removeLink, writeLink } from '../link.ts';

export interface LinkOptions {
  project?: string | undefined;
  unlink?: boolean | undefined;
  json?: boolean | undefined;
}

/** What `link --json` prints: the link in effect after the command (project and path null when there is none). */
export interface LinkResult {
  project: string | null;
  path: string | null;
  previous?: string | null;
}

/**
 * `link --project shop` writes `.slipway.json` in the current directory (after checking that
 * the project exists); `link` shows the link in effect here; `link --unlink` removes it.
 */
export const link: Command<LinkOptions> = async (options, ctx) => {
  if (options.unlink && options.project !== undefined) throw new CliError('USAGE', '--unlink takes no --project');
  const found = await findLink(ctx.cwd);
  if (options.unlink) {
    // A malformed link file is removed too: unlinking is how one gets rid of it.
    const path = found.ok ? found.link?.path : found.path;
    if (path === undefined) return show(ctx, options, { project: null, path: null }, 'Not linked: nothing to remove.');
    await removeLink(path);
    const was = found.ok && found.link ? ` from ${found.link.project}` : '';
    return show(ctx, options, { project: null, path: null, previous: found.ok ? (found.link?.project ?? null) : null }, `Unlinked${was}: removed ${path}`);
  }
  if (options.project === undefined) {
    if (!found.ok) throw new CliError(found.code, found.message);
    if (found.link === undefined) {
      return show(ctx, options, { project: null, path: null }, 'Not linked: run `slipway link --project <name>` to link this directory.');
    }
    return show(ctx, options, { project: found.link.project, path: found.link.path }, `${found.link.project} (linked in ${found.link.path})`);
  }
  const project = assertName('project', options.project);
  const client = await connect(ctx);
  await client.getProjectStatus(project);
  const path = await writeLink(ctx.cwd, { project });
  const previous = found.ok ? (found.link?.project ?? null) : null;
  const was = previous !== null && previous !== project ? ` (was ${previous})` : '';
  return show(ctx, options, { project, path, previous }, `Linked ${ctx.cwd} to ${project}${was}: commands here and below (up to the git root) use it without --project. Wrote ${path}`);
};

function show(ctx: Parameters<Command<LinkOptions>>[1], options: LinkOptions, result: LinkResult, text: string): ExitCode {
  if (options.json) ctx.out.json(result);
  else ctx.out.line(text);
  return ExitCode.OK;
}
