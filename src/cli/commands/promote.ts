import type { PromoteRequest } from '../../protocol/api.ts';
import { checkForce, connect, requireProject, usage } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { parseReleaseNumber, printRelease, requireEnv } from './releases.ts';

export interface PromoteOptions {
  deployment?: string | undefined;
  commit?: string | undefined;
  project?: string | undefined;
  env?: string | undefined;
  reason?: string | undefined;
  expect?: string | undefined;
  force?: boolean | undefined;
  json?: boolean | undefined;
}

export const promote: Command<PromoteOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const env = requireEnv(options.env);
  checkForce(options.force, options.reason);
  if ((options.deployment === undefined) === (options.commit === undefined)) throw usage('give a deployment id or --commit <sha> (one of them)');
  const body: PromoteRequest = options.commit !== undefined ? { commit: options.commit } : { deployment: options.deployment ?? '' };
  const expectRelease = parseReleaseNumber('--expect', options.expect);
  if (expectRelease !== undefined) body.expectRelease = expectRelease;
  if (options.reason !== undefined) body.reason = options.reason;
  if (options.force) body.force = true;
  const client = await connect(ctx);
  const release = await client.promote(project, env, body);
  if (options.json) ctx.out.json(release);
  else await printRelease(ctx, client, release);
  return ExitCode.OK;
};
