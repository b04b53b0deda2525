import type { Environment, MovedRelease, Release } from '../../protocol/api.ts';
import type { SlipwayClient } from '../../protocol/client.ts';
import { ApiError } from '../../protocol/client.ts';
import { connect, parsePositiveInt, requireProject, usage } from '../context.ts';
import type { Command, Context } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatTime } from '../output.ts';
import { describeWait } from './pipeline.ts';
import { describeHolds } from './status.ts';

export interface ReleasesOptions {
  project?: string | undefined;
  env?: string | undefined;
  limit?: string | undefined;
  json?: boolean | undefined;
}

/**
 * One environment's releases, or (without `--env`) every environment's, merged newest first:
 * `--limit` then bounds the merged list.
 */
export const releases: Command<ReleasesOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const limit = parsePositiveInt('--limit', options.limit);
  const client = await connect(ctx);
  const page = limit === undefined ? {} : { limit };
  let list: Release[];
  if (options.env !== undefined) {
    list = (await client.listReleases(project, requireEnv(options.env), page)).releases;
  } else {
    const { environments } = await client.listEnvironments(project);
    list = [];
    // A few environments at a time: a project with many previews should not take one round trip each in turn.
    for (let i = 0; i < environments.length; i += 8) {
      const pages = await Promise.all(environments.slice(i, i + 8).map((e) => client.listReleases(project, e.name, page)));
      for (const one of pages) list.push(...one.releases);
    }
    list.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.environment.localeCompare(b.environment) || b.number - a.number));
    if (limit !== undefined) list = list.slice(0, limit);
  }
  if (options.json) {
    ctx.out.json({ releases: list });
    return ExitCode.OK;
  }
  if (list.length === 0) {
    ctx.out.line(options.env === undefined ? `No releases in ${project} yet.` : `No releases of ${options.env} yet.`);
    return ExitCode.OK;
  }
  const headers = ['RELEASE', 'KIND', 'STATE', 'DEPLOYMENT', 'FROM', 'BY', 'AT', 'REASON'];
  const row = (r: Release): string[] => [
    `v${r.number}`,
    r.kind + (r.kind === 'config' && r.configVersion !== null ? ` v${r.configVersion}` : '') + (r.forced ? ' (forced)' : '') + (r.expedited ? ' (hotfix)' : ''),
    r.state,
    r.deployment,
    r.previousDeployment ?? '-',
    r.createdBy,
    formatTime(r.createdAt),
    r.reason ?? '',
  ];
  if (options.env !== undefined) ctx.out.table(headers, list.map(row));
  else ctx.out.table(['ENVIRONMENT', ...headers], list.map((r) => [r.environment, ...row(r)]));
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
export async function printRelease(ctx: Context, client: SlipwayClient, release: MovedRelease): Promise<void> {
  if (release.state === 'rolling_out') {
    await printRolloutStarted(ctx, client, release);
    return;
  }
  if (release.state !== 'live') {
    // Made, but not live: its gates hold it (checks pending, requirements), and it goes live by itself once they pass.
    ctx.out.line(`${release.environment} v${release.number} ${release.state}: ${release.deployment} (${release.id})`);
    for (const line of describeWait(release)) ctx.out.line(`  ${line}`);
    return;
  }
  const from = release.previousDeployment ? ` (was ${release.previousDeployment})` : '';
  const verb = release.kind === 'rollback' ? 'rolled back to' : release.kind === 'config' ? `now runs config v${release.configVersion ?? '?'} on` : 'now serves';
  ctx.out.line(`${release.environment} v${release.number} ${verb} ${release.deployment}${from}${release.forced ? ' [forced]' : ''}${release.expedited ? ' [hotfix, expedited]' : ''}`);
  const cleared = release.clearedPin;
  if (cleared) {
    const why = cleared.reason ? `: ${cleared.reason}` : '';
    ctx.out.line(`UNPINNED: cleared the pin ${cleared.by} set at ${formatTime(cleared.at)}${why}; automation may move ${release.environment} again`);
  }
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

/**
 * A service's release goes out instance by instance: the command returns as its rollout
 * starts. A rollback says what it does not undo: the newer release's release phase (migrations).
 */
async function printRolloutStarted(ctx: Context, client: SlipwayClient, release: MovedRelease): Promise<void> {
  const from = release.previousDeployment ? ` (was ${release.previousDeployment})` : '';
  const what = release.kind === 'rollback' ? `rollback to ${release.deployment}` : release.deployment;
  ctx.out.line(`${release.environment} v${release.number} rollout started: ${what}${from}${release.forced ? ' [forced]' : ''}${release.expedited ? ' [hotfix, expedited]' : ''}`);
  if (release.kind === 'rollback') {
    let newer = 'the newer release';
    try {
      const env = await client.getEnvironment(release.project, release.environment);
      if (env.release) newer = `v${env.release.number}`;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
    }
    ctx.out.line(`the database stays as ${newer}'s release phase left it: a rollback switches instances back, it runs no migration`);
  }
  ctx.out.line(`watch it: slipway rollout v${release.number} --env ${release.environment} --watch`);
}
