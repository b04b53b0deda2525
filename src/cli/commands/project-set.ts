import { connect, usage } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';

export interface SetProjectOptions {
  name: string;
  repo?: string | undefined;
  webhookSecret?: string | undefined;
  clearWebhookSecret?: boolean | undefined;
  defaultBranch?: string | undefined;
  json?: boolean | undefined;
}

/** `slipway projects set <project> [--repo URL] [--webhook-secret S | --clear-webhook-secret] [--default-branch B]`. */
export const setProject: Command<SetProjectOptions> = async (options, ctx) => {
  if (options.webhookSecret !== undefined && options.clearWebhookSecret) throw usage('give --webhook-secret or --clear-webhook-secret, not both');
  const changes: { repo?: string; webhookSecret?: string | null; defaultBranch?: string } = {};
  if (options.repo !== undefined) changes.repo = options.repo;
  if (options.webhookSecret !== undefined) changes.webhookSecret = options.webhookSecret;
  if (options.clearWebhookSecret) changes.webhookSecret = null;
  if (options.defaultBranch !== undefined) changes.defaultBranch = options.defaultBranch;
  if (Object.keys(changes).length === 0) throw usage('nothing to change: give --repo, --webhook-secret, --clear-webhook-secret or --default-branch');
  const client = await connect(ctx);
  const project = await client.updateProject(options.name, changes);
  if (options.json) {
    ctx.out.json(project);
    return ExitCode.OK;
  }
  ctx.out.line(`Updated project ${project.name}`);
  ctx.out.line(`  repository:     ${project.repo ?? '(none: builds come from pushes to Slipway)'}`);
  ctx.out.line(`  webhook secret: ${project.hasWebhookSecret ? 'set' : 'none (deliveries cannot be verified)'}`);
  ctx.out.line(`  default branch: ${project.defaultBranch} (its slipway.yaml sets environment policy)`);
  return ExitCode.OK;
};
