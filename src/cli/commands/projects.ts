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
  json?: boolean | undefined;
}

export const createProject: Command<CreateProjectOptions> = async (options, ctx) => {
  const client = await connect(ctx);
  const project = await client.createProject(options.name);
  if (options.json) {
    ctx.out.json(project);
    return ExitCode.OK;
  }
  ctx.out.line(`Created project ${project.name}. Deploy to it with: slipway deploy <dir> --project ${project.name}`);
  ctx.out.line(project.url);
  return ExitCode.OK;
};
