import { connect } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatTime } from '../output.ts';

export interface ProjectsOptions {
  json?: boolean | undefined;
}

export const listProjects: Command<ProjectsOptions> = async (options, ctx) => {
  const client = await connect(ctx);
  const result = await client.listProjects();
  if (options.json) {
    ctx.out.json(result);
    return ExitCode.OK;
  }
  if (result.projects.length === 0) {
    ctx.out.line('No projects yet: slipway projects create <name>');
    return ExitCode.OK;
  }
  ctx.out.table(
    ['NAME', 'CREATED', 'BY', 'URL'],
    result.projects.map((p) => [p.name, formatTime(p.createdAt), p.createdBy, p.url]),
  );
  return ExitCode.OK;
};

export interface CreateProjectOptions {
  name: string;
  /** External repository that webhooks build from. */
  repo?: string | undefined;
  webhookSecret?: string | undefined;
  json?: boolean | undefined;
}

export const createProject: Command<CreateProjectOptions> = async (options, ctx) => {
  const client = await connect(ctx);
  const project = await client.createProject(options.name, { repo: options.repo, webhookSecret: options.webhookSecret });
  if (options.json) {
    ctx.out.json(project);
    return ExitCode.OK;
  }
  ctx.out.line(`Created project ${project.name}. Deploy to it with: slipway deploy <dir> --project ${project.name}`);
  if (project.gitUrl) ctx.out.line(`Or push to it: git push ${project.gitUrl} main   (slipway git-remote --project ${project.name} prints a ready remote)`);
  if (project.repo) {
    ctx.out.line(`Builds ${project.repo} on push webhooks: ${client.url}/hooks/github, ${client.url}/hooks/gitlab or ${client.url}/hooks/generic`);
    if (!project.hasWebhookSecret) ctx.out.warn('no --webhook-secret: webhook deliveries cannot be verified');
  }
  ctx.out.line(project.url);
  return ExitCode.OK;
};
