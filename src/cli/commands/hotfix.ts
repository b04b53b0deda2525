import type { Hotfix, StartHotfixRequest } from '../../protocol/hotfixes.ts';
import { connect, requireProject } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';

export interface HotfixStartOptions {
  project?: string | undefined;
  name?: string | undefined;
  env?: string | undefined;
  json?: boolean | undefined;
}

/**
 * `slipway hotfix start --project shop [--name login-fix]`: branch hotfix/<name> at the commit
 * production runs — made in Slipway's git, or, for an external repository, the exact git
 * commands that make it — and how to push the fix. The branch's builds are expedited.
 */
export const hotfixStart: Command<HotfixStartOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const body: StartHotfixRequest = {};
  if (options.name !== undefined) body.name = options.name;
  if (options.env !== undefined) body.environment = options.env;
  const client = await connect(ctx);
  const hotfix = await client.startHotfix(project, body);
  if (options.json) {
    ctx.out.json(hotfix);
    return ExitCode.OK;
  }
  for (const line of describeHotfix(hotfix)) ctx.out.line(line);
  return ExitCode.OK;
};

export function describeHotfix(hotfix: Hotfix): string[] {
  const at = `${hotfix.commit.slice(0, 7)}, what ${hotfix.environment} runs (${hotfix.deployment}${hotfix.release === null ? '' : `, v${hotfix.release}`})`;
  const lines =
    hotfix.mode === 'created'
      ? [`Started ${hotfix.branch} at ${at}.`, `Fix it and push it (in a clone with the remote: git remote add slipway "$(slipway git-remote --project ${hotfix.project})"):`]
      : hotfix.repository === 'origin'
        ? [`Slipway's git has no ${hotfix.commit.slice(0, 7)}: in a clone of the repository it came from (origin), start ${hotfix.branch} at ${at}, fix it and push it:`]
        : [`${hotfix.project}'s code lives in ${hotfix.repository}: start ${hotfix.branch} at ${at} there, fix it and push it:`];
  lines.push(...hotfix.commands.map((command) => `  ${command}`));
  lines.push(
    `Builds of ${hotfix.branch} are expedited: the same environments, checks, approvals and lineage, without soak or a place in the queue.`,
    `Merge it into the default branch once it is live: until then status, pushes and the project page warn that the next deploy loses it.`,
  );
  return lines;
}
