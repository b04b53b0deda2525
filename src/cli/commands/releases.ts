import type { Environment, Release } from '../../protocol/api.ts';
import type { SlipwayClient } from '../../protocol/client.ts';
import { ApiError } from '../../protocol/client.ts';
import { connect, parsePositiveInt, requireProject, usage } from '../context.ts';
import type { Command, Context } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatTime } from '../output.ts';
import { describeHolds } from './status.ts';

export interface ReleasesOptions {
  project?: string | undefined;
  env?: string | undefined;
  limit?: string | undefined;
  json?: boolean | undefined;
}

export const releases: Command<ReleasesOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const env = requireEnv(options.env);
  const limit = parsePositiveInt('--limit', options.limit);
  const client = await connect(ctx);
  const result = await client.listReleases(project, env, limit === undefined ? {} : { limit });
  if (options.json) {
    ctx.out.json(result);
    return ExitCode.OK;
  }
  if (result.releases.length === 0) {
    ctx.out.line(`No releases of ${env} yet.`);
    return ExitCode.OK;
  }
  ctx.out.table(
    ['RELEASE', 'KIND', 'STATE', 'DEPLOYMENT', 'FROM', 'BY', 'AT', 'REASON'],
    result.releases.map((r) => [
      `v${r.number}`,
      r.kind + (r.forced ? ' (forced)' : ''),
      r.state,
      r.deployment,
      r.previousDeployment ?? '-',
      r.createdBy,
      formatTime(r.createdAt),
      r.reason ?? '',
    ]),
  );
  return ExitCode.OK;
};

export function requireEnv(env: string | undefined): string {
  if (!env) throw usage('missing --env <environment>');
  return env;
}

/** `v3` or `3` → 3 (the release number a compare-and-set expects). */
export function parseReleaseNumber(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^v?(\d+)$/.exec(text.trim());
  if (!match) throw usage(`${flag} takes a release number like v3, got "${text}"`);
  return Number(match[1]);
}

/**
 * Prints a release a person can read, then the environment URL alone on the last line. The
 * release already happened, so failing to look up the URL afterwards only costs the URL.
 */
export async function printRelease(ctx: Context, client: SlipwayClient, release: Release): Promise<void> {
  const from = release.previousDeployment ? ` (was ${release.previousDeployment})` : '';
  const verb = release.kind === 'rollback' ? 'rolled back to' : 'now serves';
  ctx.out.line(`${release.environment} v${release.number} ${verb} ${release.deployment}${from}${release.forced ? ' [forced]' : ''}`);
  let environment: Environment;
  try {
    environment = await client.getEnvironment(release.project, release.environment);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    ctx.out.warn(`released, but could not read ${release.environment} back: ${err.message} (${err.code})`);
    return;
  }
  for (const hold of describeHolds(environment)) ctx.out.line(hold);
  ctx.out.line(environment.url);
}
