import type { AgentCurrent, AgentView, Instance } from '../../protocol/agents.ts';
import { connect, requireProject, usage } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatTime } from '../output.ts';
import { requireEnv } from './releases.ts';

export interface AgentsEnrollOptions {
  project?: string | undefined;
  env?: string | undefined;
  expires?: string | undefined;
  json?: boolean | undefined;
}

/** `slipway agents enroll --env production`: a one-time token, and the line to run on the host. */
export const agentsEnroll: Command<AgentsEnrollOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const env = requireEnv(options.env);
  const client = await connect(ctx);
  const enrollment = await client.createEnrollment(project, env, options.expires === undefined ? {} : { expiresIn: options.expires });
  if (options.json) {
    ctx.out.json(enrollment);
    return ExitCode.OK;
  }
  ctx.out.line(`Enrollment token for ${project} ${env} (one use, expires ${formatTime(enrollment.expiresAt)} UTC):`);
  ctx.out.line(`  ${enrollment.token}`);
  ctx.out.line('On the host, run:');
  ctx.out.line(`  ${enrollment.command}`);
  return ExitCode.OK;
};

function release(current: AgentCurrent | null): string {
  if (current === null) return '-';
  return current.releaseNumber === null ? current.deploymentId : `v${current.releaseNumber} (${current.deploymentId})`;
}

function health(a: Pick<AgentView, 'healthy' | 'lost'>): string {
  if (a.lost) return 'lost';
  return a.healthy ? 'healthy' : 'unhealthy';
}

export interface AgentsListOptions {
  project?: string | undefined;
  json?: boolean | undefined;
}

/** `slipway agents`: every agent of a project, what it runs and how it is. */
export const agentsList: Command<AgentsListOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const client = await connect(ctx);
  const list = await client.listAgents(project);
  if (options.json) {
    ctx.out.json(list);
    return ExitCode.OK;
  }
  if (list.agents.length === 0) {
    ctx.out.line(`No agents in ${project}: slipway agents enroll --project ${project} --env <environment>`);
    return ExitCode.OK;
  }
  ctx.out.table(
    ['ID', 'NAME', 'ENVIRONMENT', 'ADDRESS', 'RELEASE', 'STATE', 'HEALTH', 'ROTATION', 'VERSION', 'LAST SEEN (UTC)', 'ERROR'],
    list.agents.map((a) => [a.id, a.name, a.environment, `${a.address}:${a.port}`, release(a.current), a.state, health(a), a.rotation, a.version, formatTime(a.lastSeenAt), a.error ?? '']),
  );
  return ExitCode.OK;
};

export interface AgentsRemoveOptions {
  project?: string | undefined;
  id?: string | undefined;
  json?: boolean | undefined;
}

/** `slipway agents remove <id>`: out of rotation, its credential revoked. */
export const agentsRemove: Command<AgentsRemoveOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  if (!options.id) throw usage('agents remove needs the agent id (slipway agents lists them)');
  const client = await connect(ctx);
  const agent = await client.removeAgent(project, options.id);
  if (options.json) ctx.out.json(agent);
  else ctx.out.line(`Removed agent ${agent.name} (${agent.id}) from ${project} ${agent.environment}: its credential no longer works.`);
  return ExitCode.OK;
};

export interface InstancesOptions {
  project?: string | undefined;
  env?: string | undefined;
  json?: boolean | undefined;
}

/** `slipway instances`: where a project's service runs, and which instances the edge sends requests to. */
export const instances: Command<InstancesOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const client = await connect(ctx);
  const list = await client.listInstances(project, { environment: options.env });
  if (options.json) {
    ctx.out.json(list);
    return ExitCode.OK;
  }
  if (list.instances.length === 0) {
    ctx.out.line(`No instances of ${project}${options.env ? ` in ${options.env}` : ''}.`);
    return ExitCode.OK;
  }
  const serving = list.instances.filter((i: Instance) => i.rotation === 'in' && i.healthy && !i.lost).length;
  ctx.out.table(
    ['ENVIRONMENT', 'ADDRESS', 'AGENT', 'RELEASE', 'HEALTH', 'ROTATION', 'LAST SEEN (UTC)'],
    list.instances.map((i) => [i.environment, `${i.address}:${i.port}`, `${i.name} (${i.agent})`, release(i.current), health(i), i.rotation, formatTime(i.lastSeenAt)]),
  );
  ctx.out.line(`${serving} of ${list.instances.length} in rotation.`);
  return ExitCode.OK;
};
