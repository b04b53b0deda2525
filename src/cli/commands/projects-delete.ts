import { CliError, connect } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';

export interface DeleteProjectOptions {
  name: string;
  /** The project's name again: deleting cannot be undone. */
  confirm?: string | undefined;
  json?: boolean | undefined;
}

export const deleteProject: Command<DeleteProjectOptions> = async (options, ctx) => {
  if (options.confirm === undefined) {
    throw new CliError('CONFIRMATION_MISMATCH', `deleting ${options.name} cannot be undone; repeat its name: slipway projects delete ${options.name} --confirm ${options.name}`);
  }
  const client = await connect(ctx);
  const deleted = await client.deleteProject(options.name, options.confirm);
  if (options.json) {
    ctx.out.json(deleted);
    return ExitCode.OK;
  }
  ctx.out.line(`Deleted project ${deleted.project} (${deleted.id}): its environments and deployments are no longer served, and the name is free again.`);
  if (deleted.buildsCanceled.length > 0) ctx.out.line(`Builds canceled: ${deleted.buildsCanceled.join(', ')}`);
  if (deleted.domainsRemoved.length > 0) ctx.out.line(`Domains no longer served: ${deleted.domainsRemoved.join(', ')}`);
  if (deleted.blobsCollected !== null) ctx.out.line(`Files no other project uses deleted: ${deleted.blobsCollected}`);
  if (deleted.cleanupError !== null) ctx.out.warn(`cleaning up its files failed (${deleted.cleanupError}); the server retries at its next start`);
  return ExitCode.OK;
};
