import type { RollbackRequest } from '../../protocol/api.ts';
import { checkForce, connect, requireProject } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { parseReleaseNumber, printRelease, requireEnv } from './releases.ts';

export interface RollbackOptions {
  project?: string | undefined;
  env?: string | undefined;
  to?: string | undefined;
  reason?: string | undefined;
  expect?: string | undefined;
  force?: boolean | undefined;
  json?: boolean | undefined;
}

/** Repoints the environment at an earlier deployment (default: the one live before). */
export const rollback: Command<RollbackOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const env = requireEnv(options.env);
  checkForce(options.force, options.reason);
  const body: RollbackRequest = {};
  if (options.to !== undefined) body.to = options.to;
  const expectRelease = parseReleaseNumber('--expect', options.expect);
  if (expectRelease !== undefined) body.expectRelease = expectRelease;
  if (options.reason !== undefined) body.reason = options.reason;
  if (options.force) body.force = true;
  const client = await connect(ctx);
  const release = await client.rollback(project, env, body);
  if (options.json) ctx.out.json(release);
  else await printRelease(ctx, client, release);
  return ExitCode.OK;
};
