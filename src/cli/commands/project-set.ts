import { connect, usage } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';

export interface SetProjectOptions {
  name: string;
  repo?: string | undefined;
  webhookSecret?: string | undefined;
  clearWebhookSecret?: boolean | undefined;
  /** A new random secret made by the server, printed this once. */
  rotateWebhookSecret?: boolean | undefined;
  defaultBranch?: string | undefined;
  json?: boolean | undefined;
}

/** `slipway projects set <project> [--repo URL] [--webhook-secret S | --clear-webhook-secret | --rotate-webhook-secret] [--default-branch B]`. */
export const setProject: Command<SetProjectOptions> = async (options, ctx) => {
  const secretOptions = [options.webhookSecret !== undefined, options.clearWebhookSecret === true, options.rotateWebhookSecret === true].filter(Boolean).length;
  if (secretOptions > 1) throw usage('give one of --webhook-secret, --clear-webhook-secret and --rotate-webhook-secret');
  const changes: { repo?: string; webhookSecret?: string | null; defaultBranch?: string } = {};
  if (options.repo !== undefined) changes.repo = options.repo;
  if (options.webhookSecret !== undefined) changes.webhookSecret = options.webhookSecret;
  if (options.clearWebhookSecret) changes.webhookSecret = null;
  if (options.defaultBranch !== undefined) changes.defaultBranch = options.defaultBranch;
  if (Object.keys(changes).length === 0 && !options.rotateWebhookSecret) {
    throw usage('nothing to change: give --repo, --webhook-secret, --clear-webhook-secret, --rotate-webhook-secret or --default-branch');
  }
  const client = await connect(ctx);
  let project = Object.keys(changes).length === 0 ? undefined : await client.updateProject(options.name, changes);
  const rotated = options.rotateWebhookSecret ? await client.rotateWebhookSecret(options.name) : undefined;
  if (rotated !== undefined) project = rotated.project;
  if (project === undefined) throw usage('nothing to change');
  if (options.json) {
    ctx.out.json(rotated ?? project);
    return ExitCode.OK;
  }
  ctx.out.line(`Updated project ${project.name}`);
  ctx.out.line(`  repository:     ${project.repo ?? '(none: builds come from pushes to Slipway)'}`);
  ctx.out.line(`  webhook secret: ${project.hasWebhookSecret ? 'set' : 'none (deliveries cannot be verified)'}`);
  ctx.out.line(`  default branch: ${project.defaultBranch} (its slipway.yaml sets environment policy)`);
  if (rotated !== undefined) {
    ctx.out.line(`New webhook secret (shown only this once; deliveries signed with the old one are refused from now on).`);
    ctx.out.line(`Paste it as the webhook's secret at ${rotated.hooks.github} (GitHub) or ${rotated.hooks.gitlab} (GitLab: secret or signing token):`);
    ctx.out.line(rotated.secret);
  }
  return ExitCode.OK;
};
