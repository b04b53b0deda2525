import type { ChangedConfig, ConfigList } from '../../protocol/config.ts';
import { connect, requireProject, usage } from '../context.ts';
import type { Command, Context } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatTime, plural } from '../output.ts';
import { describeWait } from './pipeline.ts';
import { requireEnv } from './releases.ts';

/**
 * `slipway config set|unset|list`: an environment's config vars. Values go to the server and
 * never come back: `list` shows keys, who set each when, and a fingerprint to compare values
 * by. Nothing here prints a value, not even in an error.
 */

export interface ConfigOptions {
  project?: string | undefined;
  env?: string | undefined;
  json?: boolean | undefined;
}

export interface ConfigSetOptions extends ConfigOptions {
  vars?: string[] | undefined;
  stdin?: boolean | undefined;
}

export interface ConfigUnsetOptions extends ConfigOptions {
  keys?: string[] | undefined;
}

/** `KEY=VALUE` → [KEY, VALUE]; the first `=` splits, so a value may hold more. */
function splitAssignment(arg: string): [string, string] | undefined {
  const eq = arg.indexOf('=');
  return eq <= 0 ? undefined : [arg.slice(0, eq), arg.slice(eq + 1)];
}

/** `set KEY --stdin`: the value is all of standard input but one trailing newline (what `echo` and editors add). */
async function valueFromStdin(ctx: Context): Promise<string> {
  if (!ctx.readStdin) throw usage('--stdin needs standard input');
  const text = await ctx.readStdin();
  return text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
}

async function varsToSet(options: ConfigSetOptions, ctx: Context): Promise<Record<string, string>> {
  const args = options.vars ?? [];
  const set: Record<string, string> = {};
  const seen = new Set<string>();
  if (options.stdin) {
    const [key, ...rest] = args;
    if (key === undefined || rest.length > 0 || key.includes('=')) throw usage('with --stdin, name one KEY (no =VALUE): slipway config set KEY --stdin < file');
    Object.defineProperty(set, key, { value: await valueFromStdin(ctx), enumerable: true, writable: true, configurable: true });
    return set;
  }
  if (args.length === 0) throw usage('give KEY=VALUE pairs to set, or KEY --stdin');
  for (const arg of args) {
    const pair = splitAssignment(arg);
    // Only the part before `=` is ever shown: what follows may be a secret.
    if (!pair) throw usage(`"${arg.split('=', 1)[0] ?? ''}" is not KEY=VALUE (for a secret, use: slipway config set KEY --stdin)`);
    const [key, value] = pair;
    if (seen.has(key)) throw usage(`${key} is given twice`);
    seen.add(key);
    Object.defineProperty(set, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return set;
}

function printChange(ctx: Context, result: ChangedConfig): void {
  const where = `${result.project} ${result.environment}`;
  if (!result.changed) {
    ctx.out.line(`Nothing changed in ${where}: config v${result.version} has these values already.`);
    return;
  }
  const what = [result.set.length > 0 ? `set ${result.set.join(', ')}` : '', result.unset.length > 0 ? `unset ${result.unset.join(', ')}` : ''].filter(Boolean).join('; ');
  ctx.out.line(`${where}: ${what} (config v${result.version}).`);
  const release = result.release;
  if (release === null) {
    ctx.out.line(
      result.live === null
        ? `Nothing is live in ${result.environment} yet: its next release runs with config v${result.version}.`
        : `${result.environment} is not a service: its next release records config v${result.version} (only services read config vars).`,
    );
    return;
  }
  ctx.out.line(`${release.environment} v${release.number} (config) ${release.state.replace('_', ' ')}: ${release.deployment} with config v${result.version} (${release.id})`);
  if (release.state === 'waiting' || release.state === 'pending') for (const line of describeWait(release)) ctx.out.line(`  ${line}`);
}

/** `slipway config set KEY=VALUE… | KEY --stdin` (admin). */
export const configSet: Command<ConfigSetOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const env = requireEnv(options.env);
  const set = await varsToSet(options, ctx);
  const client = await connect(ctx);
  const result = await client.changeConfig(project, env, { set });
  if (options.json) ctx.out.json(result);
  else printChange(ctx, result);
  return ExitCode.OK;
};

/** `slipway config unset KEY…` (admin). */
export const configUnset: Command<ConfigUnsetOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const env = requireEnv(options.env);
  const keys = options.keys ?? [];
  if (keys.length === 0) throw usage('give the KEYs to unset');
  const client = await connect(ctx);
  const result = await client.changeConfig(project, env, { unset: keys });
  if (options.json) ctx.out.json(result);
  else printChange(ctx, result);
  return ExitCode.OK;
};

function printList(ctx: Context, list: ConfigList): void {
  if (list.version === 0) {
    ctx.out.line(`${list.project} ${list.environment} has no config vars.`);
    return;
  }
  ctx.out.line(`${list.project} ${list.environment} config v${list.version}: ${plural(list.vars.length, 'var')}, last changed by ${list.createdBy ?? '?'} at ${list.createdAt ? formatTime(list.createdAt) : '?'}`);
  if (list.live !== null && list.live.configVersion !== list.version) {
    const runs = list.live.configVersion === null ? 'no config vars' : `config v${list.live.configVersion}`;
    ctx.out.line(`  live: v${list.live.number} runs with ${runs} (a rollback, or a config release still to go out)`);
  }
  if (list.vars.length === 0) return;
  ctx.out.table(
    ['KEY', 'FINGERPRINT', 'SIZE', 'VERSION', 'SET BY', 'SET AT'],
    list.vars.map((v) => [v.key, v.fingerprint, `${v.size} B`, `v${v.version}`, v.setBy, formatTime(v.setAt)]),
  );
}

/** `slipway config list` (viewer): keys and fingerprints, never values. */
export const configList: Command<ConfigOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const env = requireEnv(options.env);
  const client = await connect(ctx);
  const list = await client.getConfig(project, env);
  if (options.json) ctx.out.json(list);
  else printList(ctx, list);
  return ExitCode.OK;
};
