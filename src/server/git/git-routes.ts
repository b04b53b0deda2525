import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, isSlipwayError, SlipwayError } from '../../core/errors.ts';
import { isValidName } from '../../core/names.ts';
import type { Role } from '../../core/glossary.ts';
import type { Actor } from '../../core/release-planner.ts';
import { leaseOf } from '../http/context.ts';
import { statusOf } from '../http/errors.ts';
import { actorOn, requireRole } from '../services/access.ts';
import type { ServiceDeps } from '../services/deps.ts';
import { requireLease } from '../services/leases.ts';
import { getProject } from '../services/projects.ts';
import { authenticate } from '../services/tokens.ts';
import { startHookServer } from './hook-routes.ts';
import { runHttpBackend } from './http-backend.ts';
import { PushSessions } from './push-sessions.ts';
import { reconcileRepos } from './reconcile.ts';
import { createRepoEnsurer, defaultReposDir, installHooks, repoPath, repoSettings } from './repos.ts';

export interface GitRoutesOptions {
  deps: ServiceDeps;
  /** Where the bare repositories live; default `<dataDir>/repos`. */
  reposDir?: string;
  /** How long push output follows builds; default `SLIPWAY_PUSH_WAIT_SECONDS`, else 600. */
  pushWaitSeconds?: number;
  /** Largest request body git may send (bytes on the wire); default 4 GiB. */
  maxPushBytes?: number;
}

type Service = 'git-upload-pack' | 'git-receive-pack';

/** The role each service needs: fetching reads, pushing deploys. */
const ROLE: Record<Service, Role> = { 'git-upload-pack': 'viewer', 'git-receive-pack': 'deployer' };

const REALM = 'Basic realm="Slipway"';

/**
 * The token from `Authorization`: Bearer (runners, `http.extraHeader`) or Basic with the token as
 * the password and any user name (git's prompt and credential helpers; a token given as the
 * user name with no password works too).
 */
export function tokenOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer?.[1] !== undefined) return bearer[1];
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (basic?.[1] === undefined) return undefined;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon === -1 ? decoded : decoded.slice(0, colon);
  const password = colon === -1 ? '' : decoded.slice(colon + 1);
  const token = password !== '' ? password : user;
  return token === '' ? undefined : token;
}

/** git config as environment variables (git ≥ 2.31), which outrank every config file. */
function gitConfigEnv(settings: [string, string][]): Record<string, string> {
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(settings.length) };
  settings.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

/**
 * What git and the hook see of the server's environment: enough to run, nothing more. Slipway's
 * admin token, database URL and webhook secrets stay out.
 */
function baseEnv(reposDir: string): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME ?? reposDir,
    GIT_PROJECT_ROOT: reposDir,
    GIT_HTTP_EXPORT_ALL: '1',
    ...gitConfigEnv(repoSettings(reposDir)),
  };
  if (process.env.TMPDIR !== undefined) env.TMPDIR = process.env.TMPDIR;
  return env;
}

function defaultWaitSeconds(): number {
  const value = Number(process.env.SLIPWAY_PUSH_WAIT_SECONDS);
  return process.env.SLIPWAY_PUSH_WAIT_SECONDS !== undefined && Number.isFinite(value) && value >= 0 ? value : 600;
}

const SHUTDOWN_GRACE_MS = 5000;

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves when every child has exited, or after `ms`. */
function waitForExit(children: ChildProcess[], ms: number): Promise<void> {
  const pending = children.filter((child) => !hasExited(child));
  if (pending.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    let left = pending.length;
    const timer = setTimeout(resolve, ms);
    for (const child of pending) {
      child.once('close', () => {
        if (--left === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  });
}

function stopGroup(child: ChildProcess): void {
  if (hasExited(child) || child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch (err) {
    // ESRCH: the group ended between the check and the kill.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Plain text, because git shows a text/plain body of a refused request to the user. */
function refuse(reply: FastifyReply, status: number, text: string): FastifyReply {
  if (status === 401) void reply.header('www-authenticate', REALM);
  return reply.status(status).header('content-type', 'text/plain; charset=utf-8').header('cache-control', 'no-cache').send(`${text}\n`);
}

/**
 * Slipway's git server: git's own smart-HTTP backend (`git http-backend`, run as a CGI per
 * request) behind Slipway's tokens, at `/git/<project>.git`. Fetching needs viewer, pushing
 * deployer. Repositories are created on first use for projects that exist. After a push git's
 * post-receive hook reports the ref updates to a loopback-only listener (hook-routes.ts), which
 * records them and streams the builds' progress to the pusher.
 */
export async function registerGitRoutes(app: FastifyInstance, options: GitRoutesOptions): Promise<void> {
  const { deps } = options;
  const reposDir = options.reposDir ?? defaultReposDir(deps.dataDir);
  const waitSeconds = options.pushWaitSeconds ?? defaultWaitSeconds();
  const maxPushBytes = options.maxPushBytes ?? 4 * 1024 * 1024 * 1024;
  const ensureRepo = createRepoEnsurer(reposDir);
  const sessions = new PushSessions();
  const running = new Set<ChildProcess>();
  await installHooks(reposDir);
  // Pushes a crash cut off between git moving the refs and the hook reporting them.
  await reconcileRepos(deps, reposDir, app.log);
  const hooks = await startHookServer({ deps, sessions, repoOf: (project) => repoPath(reposDir, project), log: app.log });

  const plugin = async (scope: FastifyInstance) => {
    // Pack bodies stream straight into git; Fastify never reads them.
    scope.addContentTypeParser(['application/x-git-upload-pack-request', 'application/x-git-receive-pack-request'], (_request, payload, done) =>
      done(null, payload),
    );

    // Shutdown, in two steps. Before the listener closes, hooks in flight are told to stop
    // following builds — a hook records its push first, so a push whose refs moved is not lost
    // — and get a few seconds to finish. Whatever still runs after that is stopped as a whole:
    // git runs detached in its own process group, so http-backend, receive-pack and the hook
    // end together.
    scope.addHook('preClose', async () => {
      sessions.stopAll();
      await waitForExit([...running], SHUTDOWN_GRACE_MS);
    });
    scope.addHook('onClose', async () => {
      for (const child of running) stopGroup(child);
      await waitForExit([...running], SHUTDOWN_GRACE_MS);
      await hooks.close();
    });

    const serve = async (request: FastifyRequest, reply: FastifyReply, service: Service, path: 'info/refs' | Service) => {
      const { repo } = request.params as { repo: string };
      const project = repo.endsWith('.git') ? repo.slice(0, -'.git'.length) : repo;
      const token = tokenOf(request.headers.authorization);
      if (token === undefined) return refuse(reply, 401, 'Slipway needs a token: use it as the password, or send "Authorization: Bearer <token>"');
      let actor: Actor;
      let projectId: string;
      try {
        const { principal } = await authenticate(deps, token);
        actor = principal.actor;
        // A runner fetches the source of the build it holds the lease on, and nothing else.
        const leased = actor.role === 'runner' && service === 'git-upload-pack' ? await requireLease(deps, actor, leaseOf(request)) : undefined;
        if (!isValidName(project)) return refuse(reply, 404, `no project named "${project}"`);
        projectId = (await getProject(deps, project)).id;
        if (leased === undefined) {
          // The role on this project: a membership may raise it, a token's scope may keep it out.
          const onProject = actorOn(principal, projectId);
          if (onProject === null) throw new SlipwayError(ErrorCode.PROJECT_NOT_FOUND, `no project named "${project}"`, { project });
          actor = onProject;
          requireRole(actor, ROLE[service]);
        }
        if (leased !== undefined && leased.projectId !== projectId) {
          throw new SlipwayError(ErrorCode.FORBIDDEN, `the lease is for build ${leased.id} of another project`, { build: leased.id });
        }
      } catch (err) {
        if (isSlipwayError(err)) return refuse(reply, statusOf(err.code), `${err.code}: ${err.message}`);
        throw err;
      }
      // Anything else would reach Fastify's own parsers instead of streaming into git.
      if (request.method === 'POST' && request.headers['content-type'] !== `application/x-${service}-request`) {
        return refuse(reply, 415, `send the body as application/x-${service}-request`);
      }
      await ensureRepo(project);

      const env = baseEnv(reposDir);
      let pushToken: string | undefined;
      if (path === 'git-receive-pack') {
        const opened = sessions.open({ actor, projectId, projectName: project });
        pushToken = opened.token;
        Object.assign(env, {
          SLIPWAY_HOOK_URL: hooks.url,
          SLIPWAY_PUSH_TOKEN: pushToken,
          SLIPWAY_PROJECT: project,
          SLIPWAY_PUSH_WAIT_SECONDS: String(waitSeconds),
        });
      }
      reply.hijack();
      try {
        await runHttpBackend({
          request: {
            method: request.method,
            pathInfo: `/${project}.git/${path}`,
            query: path === 'info/refs' ? `service=${service}` : '',
            headers: request.headers,
            remoteAddr: request.ip,
            remoteUser: actor.name,
            body: request.method === 'POST' ? (request.body as Readable) : undefined,
          },
          response: reply.raw,
          env,
          maxBodyBytes: maxPushBytes,
          log: request.log,
          detached: true,
          onSpawn: (child) => {
            running.add(child);
            child.once('close', () => running.delete(child));
          },
          onClientGone: () => {
            const session = pushToken === undefined ? undefined : sessions.find(pushToken);
            if (session !== undefined) session.stopFollowing = 'client-gone';
          },
        });
      } finally {
        if (pushToken !== undefined) sessions.close(pushToken);
      }
      return reply;
    };

    scope.get('/git/:repo/info/refs', async (request, reply) => {
      const { service } = request.query as { service?: string };
      if (service !== 'git-upload-pack' && service !== 'git-receive-pack') {
        return refuse(reply, 403, 'Slipway serves git over smart HTTP only; use git 1.6.6 or later');
      }
      return serve(request, reply, service, 'info/refs');
    });
    scope.post('/git/:repo/git-upload-pack', async (request, reply) => serve(request, reply, 'git-upload-pack', 'git-upload-pack'));
    scope.post('/git/:repo/git-receive-pack', async (request, reply) => serve(request, reply, 'git-receive-pack', 'git-receive-pack'));
  };
  try {
    await app.register(plugin);
  } catch (err) {
    await hooks.close();
    throw err;
  }
}
