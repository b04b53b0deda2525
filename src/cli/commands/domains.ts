import { connect, requireProject } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { requireEnv } from './releases.ts';

export interface DomainsOptions {
  project?: string | undefined;
  json?: boolean | undefined;
}

export const listDomains: Command<DomainsOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const client = await connect(ctx);
  const result = await client.listDomains(project);
  if (options.json) {
    ctx.out.json(result);
    return ExitCode.OK;
  }
  if (result.domains.length === 0) {
    ctx.out.line(`No custom domains in ${project}.`);
    return ExitCode.OK;
  }
  ctx.out.table(
    ['DOMAIN', 'ENVIRONMENT', 'URL'],
    result.domains.map((d) => [d.hostname, d.environment, d.url]),
  );
  return ExitCode.OK;
};

export interface AddDomainOptions {
  hostname: string;
  project?: string | undefined;
  env?: string | undefined;
  json?: boolean | undefined;
}

/** Maps a hostname to an environment; DNS for it is the user's to point at this server. */
export const addDomain: Command<AddDomainOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const environment = requireEnv(options.env);
  const client = await connect(ctx);
  const domain = await client.addDomain(project, { hostname: options.hostname, environment });
  if (options.json) {
    ctx.out.json(domain);
    return ExitCode.OK;
  }
  ctx.out.line(`${domain.hostname} now serves ${project}/${domain.environment}`);
  ctx.out.line(domain.url);
  return ExitCode.OK;
};

export interface RemoveDomainOptions {
  hostname: string;
  project?: string | undefined;
  json?: boolean | undefined;
}

export const removeDomain: Command<RemoveDomainOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const client = await connect(ctx);
  const result = await client.removeDomain(project, options.hostname);
  if (options.json) ctx.out.json(result);
  else ctx.out.line(`Removed ${result.removed} from ${project}.`);
  return ExitCode.OK;
};
