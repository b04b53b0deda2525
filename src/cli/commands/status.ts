import type { Environment } from '../../protocol/api.ts';
import { connect, requireProject } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatTime, plural } from '../output.ts';
import type { Output } from '../output.ts';

export interface StatusOptions {
  project?: string | undefined;
  env?: string | undefined;
  all?: boolean | undefined;
  json?: boolean | undefined;
}

/**
 * Where each environment points, and what holds it there (a pin after rollback, a lock).
 * Retired previews (their branch is gone) serve nothing and are left out unless `--all`.
 * Warns while an environment runs a commit the default branch does not contain (essay 004:
 * production may run any branch, but the next deploy from the default branch loses it).
 */
export const status: Command<StatusOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const client = await connect(ctx);
  if (options.env !== undefined) {
    const environment = await client.getEnvironment(project, options.env);
    if (options.json) ctx.out.json(environment);
    else printEnvironments(ctx.out, [environment]);
    return ExitCode.OK;
  }
  const result = await client.getProjectStatus(project);
  const shown = options.all ? result.environments : result.environments.filter((e) => e.retiredAt === null);
  const hidden = result.environments.length - shown.length;
  if (options.json) {
    ctx.out.json({ ...result, environments: shown });
    return ExitCode.OK;
  }
  ctx.out.line(`${result.project.name}  ${result.project.url}`);
  ctx.out.line();
  if (result.environments.length === 0) ctx.out.line('No environments yet: promote a deployment to create one.');
  else printEnvironments(ctx.out, shown);
  if (hidden > 0) {
    ctx.out.line();
    ctx.out.line(`${plural(hidden, 'retired environment')} not shown (--all shows them).`);
  }
  if (result.warnings.length > 0) {
    ctx.out.line();
    for (const warning of result.warnings) ctx.out.line(`WARNING: ${warning.message}`);
  }
  if (result.domains.length > 0) {
    ctx.out.line();
    ctx.out.table(
      ['DOMAIN', 'ENVIRONMENT'],
      result.domains.map((d) => [d.hostname, d.environment]),
    );
  }
  return ExitCode.OK;
};

export function printEnvironments(out: Output, environments: readonly Environment[]): void {
  out.table(
    ['ENVIRONMENT', 'DEPLOYMENT', 'RELEASE', 'STATE', 'URL'],
    environments.map((e) => [
      e.name,
      e.deployment ?? '-',
      e.release ? `v${e.release.number}` : '-',
      stateOf(e),
      e.url,
    ]),
  );
  const holds = environments.flatMap((e) => describeHolds(e).map((text) => `${e.name}: ${text}`));
  if (holds.length > 0) {
    out.line();
    for (const hold of holds) out.line(hold);
  }
}

/**
 * `retired` says it all (it serves nothing); otherwise the holds on it, or `ok`. An environment
 * that serves nothing (no deployment yet: a preview whose build failed) is empty, not ok.
 */
function stateOf(e: Environment): string {
  if (e.retiredAt !== null) return 'retired';
  return [e.deployment === null ? 'empty' : '', e.pin ? 'pinned' : '', e.lock ? 'locked' : ''].filter(Boolean).join(',') || 'ok';
}

export function describeHolds(environment: Environment): string[] {
  const lines: string[] = [];
  const { pin, lock } = environment;
  if (pin) lines.push(`PINNED by ${pin.by} at ${formatTime(pin.at)}${pin.reason ? `: ${pin.reason}` : ''}`);
  if (lock) lines.push(`LOCKED by ${lock.by} at ${formatTime(lock.at)}${lock.until ? ` until ${formatTime(lock.until)}` : ''}: ${lock.reason}`);
  return lines;
}
