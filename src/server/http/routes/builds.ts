import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { ListQuery } from '../../../protocol/api.ts';
import { AppendLogsRequest, Build, BuildLogs, BuildLogsQuery, ClaimedBuild, ClaimRequest, CompleteRequest, HeartbeatRequest, HeartbeatResponse } from '../../../protocol/builds.ts';
import type { BuildRow } from '../../../store/store.ts';
import { appendBuildLogs, cancelBuild, claimBuild, completeBuild, getBuild, heartbeat, listBuilds, readBuildLogs } from '../../services/builds.ts';
import type { ServiceDeps } from '../../services/deps.ts';
import { leaseOf, type HttpContext, type Params } from '../context.ts';
import { parse } from '../parse.ts';
import { presentBuild, presentBuildLogLine } from '../present.ts';
import type { RouteSpec } from '../route.ts';

const BASE = '/api/v1/projects/:project/builds';
const FOLLOW_POLL_MS = 250;

const isFinished = (build: BuildRow) => build.state !== 'queued' && build.state !== 'running';

/**
 * Streams a build's log as Server-Sent Events (`log` per line, `end` with the build) until the
 * build finishes or the client goes away. It polls the store, so it works whichever replica
 * the runner reports to.
 */
async function streamLogs(deps: ServiceDeps, reply: FastifyReply, project: string, id: string, after: number): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  // Node holds headers back until the first write; a quiet build would keep the client waiting for them.
  res.flushHeaders();
  let closed = false;
  res.on('close', () => (closed = true));
  let seq = after;
  let idle = 0;
  // States: tailing (lines flowing or waiting) → draining (build finished: send what is left) → ended.
  while (!closed) {
    const build = await getBuild(deps, project, id);
    const lines = await readBuildLogs(deps, id, seq);
    for (const line of lines) {
      res.write(`id: ${line.seq}\nevent: log\ndata: ${JSON.stringify(presentBuildLogLine(line))}\n\n`);
      seq = line.seq;
    }
    if (lines.length === 0 && isFinished(build)) {
      res.write(`event: end\ndata: ${JSON.stringify(presentBuild(deps.urls, project, build))}\n\n`);
      break;
    }
    if (lines.length === 0 && ++idle % 60 === 0) res.write(': keep-alive\n\n');
    if (lines.length === 0) await sleep(FOLLOW_POLL_MS);
  }
  res.end();
}

export function buildRoutes({ deps }: HttpContext): RouteSpec[] {
  const urls = deps.urls;
  return [
    {
      method: 'GET',
      url: BASE,
      summary: 'Builds of a project, newest first',
      query: ListQuery,
      response: z.object({ builds: z.array(Build) }),
      handler: async (request) => {
        const { project = '' } = request.params as Params;
        const query = parse(ListQuery, request.query);
        return { builds: (await listBuilds(deps, project, query)).map((b) => presentBuild(urls, project, b)) };
      },
    },
    {
      method: 'GET',
      url: `${BASE}/:build`,
      summary: 'One build',
      response: Build,
      handler: async (request) => {
        const { project = '', build = '' } = request.params as Params;
        return presentBuild(urls, project, await getBuild(deps, project, build));
      },
    },
    {
      method: 'POST',
      url: `${BASE}/:build/cancel`,
      summary: 'Cancel a build: a queued one at once, a running one by killing its process group',
      response: Build,
      handler: async (request, _reply, actor) => {
        const { project = '', build = '' } = request.params as Params;
        return presentBuild(urls, project, await cancelBuild(deps, actor, project, build));
      },
    },
    {
      method: 'GET',
      url: `${BASE}/:build/logs`,
      summary: 'Log lines after `after`; with follow=1 and Accept: text/event-stream, a live Server-Sent Events stream (events log and end)',
      query: BuildLogsQuery,
      response: BuildLogs,
      handler: async (request, reply) => {
        const { project = '', build: id = '' } = request.params as Params;
        const query = parse(BuildLogsQuery, request.query);
        const build = await getBuild(deps, project, id);
        if (query.follow) {
          await streamLogs(deps, reply, project, id, query.after);
          return reply;
        }
        const lines = await readBuildLogs(deps, build.id, query.after);
        return { build: presentBuild(urls, project, build), lines: lines.map(presentBuildLogLine) };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/runner/claim',
      summary: 'Runner: lease the oldest queued build (204 when none, after waiting up to waitSeconds for one); the answer carries the lease token',
      body: ClaimRequest,
      response: ClaimedBuild,
      handler: async (request, reply, actor) => {
        const body = parse(ClaimRequest, request.body);
        // A runner that hangs up mid long-poll must not be handed a build it will never hear of.
        const gone = new AbortController();
        const onClose = (): void => {
          if (!reply.raw.writableFinished) gone.abort();
        };
        reply.raw.on('close', onClose);
        const claimed = await claimBuild(deps, actor, body, gone.signal).finally(() => reply.raw.off('close', onClose));
        if (!claimed) return reply.status(204).send();
        return {
          build: presentBuild(urls, claimed.projectName, claimed.build),
          gitUrl: claimed.gitUrl,
          gitAuthorization: claimed.gitAuthorization,
          timeoutSeconds: deps.limits.buildTimeoutSeconds,
          lease: claimed.lease,
        };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/runner/builds/:build/heartbeat',
      summary: 'Runner (Slipway-Lease): extend the lease; the answer says whether to cancel',
      body: HeartbeatRequest,
      response: HeartbeatResponse,
      handler: async (request, _reply, actor) => {
        const { build = '' } = request.params as Params;
        return heartbeat(deps, actor, build, leaseOf(request), parse(HeartbeatRequest, request.body));
      },
    },
    {
      method: 'POST',
      url: '/api/v1/runner/builds/:build/logs',
      summary: 'Runner (Slipway-Lease): append log lines',
      body: AppendLogsRequest,
      response: z.object({ appended: z.number() }),
      bodyLimit: 16 * 1024 * 1024,
      handler: async (request, _reply, actor) => {
        const { build = '' } = request.params as Params;
        return { appended: await appendBuildLogs(deps, actor, build, leaseOf(request), parse(AppendLogsRequest, request.body)) };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/runner/builds/:build/complete',
      summary: 'Runner (Slipway-Lease): finish a build (succeeded with the deployment it uploaded, failed, or canceled)',
      body: CompleteRequest,
      response: Build,
      handler: async (request, _reply, actor) => {
        const { build = '' } = request.params as Params;
        const done = await completeBuild(deps, actor, build, leaseOf(request), parse(CompleteRequest, request.body));
        const project = await deps.store.findProjectById(done.projectId);
        return presentBuild(urls, project?.name ?? '', done);
      },
    },
  ];
}
