import {
  AgentBlobParams,
  AgentBlobQuery,
  AgentDeployment,
  AgentList,
  AgentReport,
  AgentView,
  Assignment,
  AssignmentQuery,
  CreateEnrollmentRequest,
  Enrollment,
  EnrollRequest,
  EnrollResponse,
  InstanceList,
  InstancesQuery,
  ReportResponse,
} from '../../../protocol/agents.ts';
import {
  createEnrollment,
  enrollAgent,
  getAgentBlob,
  getAgentDeployment,
  listAgents,
  listInstances,
  pollAssignment,
  removeAgent,
  reportAgent,
} from '../../services/agents.ts';
import type { HttpContext, Params } from '../context.ts';
import { parse } from '../parse.ts';
import type { RouteSpec } from '../route.ts';

const AGENT = '/api/v1/agent';

/** The agent protocol (protocol/agents.ts) and the management of agents and instances. */
export function agentRoutes({ deps }: HttpContext): RouteSpec[] {
  return [
    {
      method: 'POST',
      url: `${AGENT}/enroll`,
      summary: "Agent: trade a one-time enrollment token for the agent's own credential (shown once)",
      body: EnrollRequest,
      response: EnrollResponse,
      status: 201,
      handler: async (request) => {
        const body = parse(EnrollRequest, request.body);
        const { agent, project, environment, credential } = await enrollAgent(deps, body);
        return { agent: { id: agent.id, name: agent.name }, project: project.name, environment: environment.name, credential };
      },
    },
    {
      method: 'GET',
      url: `${AGENT}/assignment`,
      summary: 'Agent: what to run, prepare and run once; long-polls up to `wait` seconds for a rev above `after`. Every poll is a heartbeat',
      query: AssignmentQuery,
      response: Assignment,
      handler: async (request, reply, actor) => {
        const query = parse(AssignmentQuery, request.query);
        // An agent that hangs up mid-poll stops being waited for.
        const gone = new AbortController();
        const onClose = (): void => {
          if (!reply.raw.writableFinished) gone.abort();
        };
        reply.raw.on('close', onClose);
        const assignment = await pollAssignment(deps, actor, query, gone.signal).finally(() => reply.raw.off('close', onClose));
        if (assignment === undefined) return reply.status(204).send();
        return assignment;
      },
    },
    {
      method: 'POST',
      url: `${AGENT}/report`,
      summary: 'Agent: what it does now (state, current release, prepared deployments, health, the release phase it ran)',
      body: AgentReport,
      response: ReportResponse,
      bodyLimit: 256 * 1024,
      handler: async (request, _reply, actor) => reportAgent(deps, actor, parse(AgentReport, request.body)),
    },
    {
      method: 'GET',
      url: `${AGENT}/deployments/:deployment`,
      summary: "Agent: a deployment's files and service spec (only its environment's)",
      response: AgentDeployment,
      handler: async (request, _reply, actor) => {
        const { deployment = '' } = request.params as Params;
        return getAgentDeployment(deps, actor, deployment);
      },
    },
    {
      method: 'GET',
      url: `${AGENT}/blobs/:digest`,
      summary: "Agent: a file's bytes, by sha256, named by a deployment it may read whose manifest lists it",
      query: AgentBlobQuery,
      handler: async (request, reply, actor) => {
        const { digest } = parse(AgentBlobParams, request.params);
        const { deployment } = parse(AgentBlobQuery, request.query);
        const blob = await getAgentBlob(deps, actor, digest, deployment);
        return reply
          .type('application/octet-stream')
          .headers({ 'content-length': String(blob.size), 'cache-control': 'private, max-age=31536000, immutable', 'x-content-type-options': 'nosniff' })
          .send(deps.blobs.stream(blob.digest));
      },
    },
    {
      method: 'POST',
      url: '/api/v1/projects/:project/environments/:environment/agents/enrollments',
      summary: 'A one-time token that enrolls one agent into this environment (expires in 1h unless `expiresIn` says otherwise; 7d at most)',
      body: CreateEnrollmentRequest,
      response: Enrollment,
      status: 201,
      handler: async (request, _reply, actor) => {
        const { project = '', environment = '' } = request.params as Params;
        return createEnrollment(deps, actor, project, environment, parse(CreateEnrollmentRequest, request.body));
      },
    },
    {
      method: 'GET',
      url: '/api/v1/projects/:project/agents',
      summary: "A project's agents: where each runs, what, whether healthy, in rotation or lost",
      response: AgentList,
      handler: async (request) => {
        const { project = '' } = request.params as Params;
        return { agents: await listAgents(deps, project) };
      },
    },
    {
      method: 'DELETE',
      url: '/api/v1/projects/:project/agents/:agent',
      summary: 'Remove an agent: out of rotation, its credential revoked',
      response: AgentView,
      handler: async (request, _reply, actor) => {
        const { project = '', agent = '' } = request.params as Params;
        return removeAgent(deps, actor, project, agent);
      },
    },
    {
      method: 'GET',
      url: '/api/v1/projects/:project/instances',
      summary: "The instances of a project's service (one per agent), maybe of one environment",
      query: InstancesQuery,
      response: InstanceList,
      handler: async (request) => {
        const { project = '' } = request.params as Params;
        const query = parse(InstancesQuery, request.query);
        return { instances: await listInstances(deps, project, query.environment) };
      },
    },
  ];
}
