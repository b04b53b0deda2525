import type { Environment, LockRequest, UnlockRequest } from '../../protocol/api.ts';
import { checkForce, connect, requireProject, usage } from '../context.ts';
import type { Command, Context } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { requireEnv } from './releases.ts';
import { describeHolds } from './status.ts';

export interface LockOptions {
  project?: string | undefined;
  env?: string | undefined;
  reason?: string | undefined;
  until?: string | undefined;
  force?: boolean | undefined;
  json?: boolean | undefined;
}

/** A lock blocks every writer of the environment (promote, rollback) until unlocked or `--until`. */
export const lock: Command<LockOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const env = requireEnv(options.env);
  if (!options.reason?.trim()) throw usage('lock needs --reason "<why>"');
  const body: LockRequest = { reason: options.reason };
  if (options.until !== undefined) body.until = options.until;
  if (options.force) body.force = true;
  const client = await connect(ctx);
  printEnvironment(ctx, await client.lock(project, env, body), options.json);
  return ExitCode.OK;
};

export interface UnlockOptions {
  project?: string | undefined;
  env?: string | undefined;
  reason?: string | undefined;
  force?: boolean | undefined;
  json?: boolean | undefined;
}

export const unlock: Command<UnlockOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const env = requireEnv(options.env);
  checkForce(options.force, options.reason);
  const body: UnlockRequest = {};
  if (options.reason !== undefined) body.reason = options.reason;
  if (options.force) body.force = true;
  const client = await connect(ctx);
  printEnvironment(ctx, await client.unlock(project, env, body), options.json);
  return ExitCode.OK;
};

function printEnvironment(ctx: Context, environment: Environment, json: boolean | undefined): void {
  if (json) {
    ctx.out.json(environment);
    return;
  }
  const holds = describeHolds(environment);
  ctx.out.line(`${environment.name}: ${environment.lock ? 'locked' : 'unlocked'}`);
  for (const hold of holds) ctx.out.line(hold);
}
