import { connect, requireProject, usage } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { printDecision } from './approve.ts';

export interface RejectOptions {
  project?: string | undefined;
  env?: string | undefined;
  reason?: string | undefined;
  json?: boolean | undefined;
}

/** `slipway reject <release> --reason …`: the waiting release fails with the reason. */
export const reject: Command<RejectOptions & { release: string }> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  if (options.reason === undefined || options.reason.trim() === '') throw usage('a rejection needs a reason: --reason "…"');
  const client = await connect(ctx);
  const decision = await client.reject(project, options.release, {
    ...(options.env === undefined ? {} : { environment: options.env }),
    reason: options.reason,
  });
  if (options.json) ctx.out.json(decision);
  else printDecision(ctx.out, decision);
  return ExitCode.OK;
};
