import type { CreateFreezeRequest, Freeze } from '../../protocol/freezes.ts';
import { connect, requireProject, usage } from '../context.ts';
import type { Command, Context } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatTime } from '../output.ts';
import { requireEnv } from './releases.ts';

export interface FreezeOptions {
  project?: string | undefined;
  env?: string | undefined;
  from?: string | undefined;
  until?: string | undefined;
  reason?: string | undefined;
  json?: boolean | undefined;
}

function printFreeze(ctx: Context, verb: string, freeze: Freeze, json: boolean | undefined): void {
  if (json) ctx.out.json(freeze);
  else ctx.out.line(`${verb} ${freeze.environment} from ${formatTime(freeze.from)} until ${formatTime(freeze.until)} UTC: ${freeze.reason} (${freeze.id})`);
}

/** `slipway freeze --env production --until 2027-01-04T00:00 --reason holidays`: nothing goes live meanwhile. */
export const freeze: Command<FreezeOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const env = requireEnv(options.env);
  if (!options.reason?.trim()) throw usage('freeze needs --reason "<why>"');
  if (!options.until) throw usage('freeze needs --until <time>');
  const body: CreateFreezeRequest = { until: options.until, reason: options.reason };
  if (options.from !== undefined) body.from = options.from;
  const client = await connect(ctx);
  printFreeze(ctx, 'Frozen', await client.freeze(project, env, body), options.json);
  return ExitCode.OK;
};

export interface UnfreezeOptions {
  project?: string | undefined;
  env?: string | undefined;
  id?: string | undefined;
  json?: boolean | undefined;
}

export const unfreeze: Command<UnfreezeOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const env = requireEnv(options.env);
  const client = await connect(ctx);
  printFreeze(ctx, 'Lifted the freeze of', await client.unfreeze(project, env, options.id), options.json);
  return ExitCode.OK;
};

export interface FreezesOptions {
  project?: string | undefined;
  env?: string | undefined;
  json?: boolean | undefined;
}

export const freezes: Command<FreezesOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const client = await connect(ctx);
  const list = await client.listFreezes(project, options.env);
  if (options.json) {
    ctx.out.json(list);
    return ExitCode.OK;
  }
  if (list.freezes.length === 0) {
    ctx.out.line(`No freezes in ${project}${options.env ? ` ${options.env}` : ''}.`);
    return ExitCode.OK;
  }
  ctx.out.table(
    ['ID', 'ENVIRONMENT', 'FROM (UTC)', 'UNTIL (UTC)', 'BY', 'REASON'],
    list.freezes.map((f) => [f.id, f.environment, formatTime(f.from), formatTime(f.until), f.createdBy, f.reason]),
  );
  return ExitCode.OK;
};
