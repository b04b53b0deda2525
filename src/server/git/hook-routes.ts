import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import { isHotfixBranch } from '../../core/hotfix.ts';
import { deploymentUrl, environmentUrl } from '../../core/urls.ts';
import type { BuildRow, EnvironmentRow } from '../../store/store.ts';
import { handleError } from '../http/errors.ts';
import { parse } from '../http/parse.ts';
import { getBuildById, readBuildLogs } from '../services/builds.ts';
import type { ServiceDeps } from '../services/deps.ts';
import { hotfixEntries, releaseWaitReason } from '../services/pipeline.ts';
import { listUnmergedWarnings } from '../services/pipeline-view.ts';
import { recordPush, staleReason, ZERO_SHA } from '../services/pushes.ts';
import { recordPushedCommits } from './pushed-commits.ts';
import { ENVIRONMENTS_REF, promoteByPush, type PromotionResult } from './promotions.ts';
import type { PushSession, PushSessions } from './push-sessions.ts';
import { alignWithRepository } from './reconcile.ts';
import { peelToCommit, repairHead } from './repos.ts';

/**
 * Wire of the post-receive hook (post-receive.mjs) and the server. The hook is plain
 * JavaScript run by node outside this package, so these schemas are its contract in prose too:
 *   POST /internal/git/pushes            { updates: [{ ref, before, after }] } → HookPushResult
 *   GET  /internal/git/builds/:id/logs?after=<seq>                            → HookBuildLogs
 *   POST /internal/git/promotions        HookPromotionRequest → { results: PromotionResult[] }
 *   GET  /internal/git/warnings                                               → HookWarnings
 * The last is called by the proc-receive hook (proc-receive.mjs) for refs/environments updates,
 * before git writes the push's other refs. All take `Authorization: Bearer <push token>` of a
 * push in flight.
 *
 * They are served by a listener of their own on loopback, not by the public one: they are
 * never reachable from outside the machine, and they keep answering while the public listener
 * drains at shutdown (Fastify answers 503 to new requests then), so a push whose refs moved in
 * that window is still recorded.
 */
const Sha = z.string().regex(/^[0-9a-f]{40}$/);
export const HookPushRequest = z.object({
  updates: z
    .array(z.object({ ref: z.string().min(1).max(1024).startsWith('refs/'), before: Sha, after: Sha }))
    .min(1)
    .max(10_000),
});
export type HookPushRequest = z.infer<typeof HookPushRequest>;

/** Refs reach the proc-receive hook unchecked by git (no ref-format check): bounded only by git's packet size. */
export const HookPromotionRequest = z.object({
  commands: z
    .array(z.object({ ref: z.string().min(1).max(65_536), before: Sha, after: Sha }))
    .min(1)
    .max(1000),
  pushOptions: z.array(z.string().max(65_536)).max(100).default([]),
  atomic: z.boolean().default(false),
});
export type HookPromotionRequest = z.infer<typeof HookPromotionRequest>;

export interface HookBuild {
  id: string;
  commit: string;
  ref: string;
  state: BuildRow['state'];
  deploymentUrl: string | null;
  error: string | null;
}

export interface HookPushResult {
  /**
   * Each with the refs of this push that point at its commit, and — for a commit built before —
   * where its deployment went now (a new branch's preview, say).
   */
  builds: (HookBuild & { refs: string[]; environments: HookEnvironments })[];
  retired: string[];
  /** Branches this push did not move: Slipway had them at another commit than `before` (stale). */
  stale: { ref: string; before: string; after: string; recorded: string; reason: string }[];
}

/**
 * Once a build finished: environments now at its deployment, and those that follow one of its
 * branches but did not move, each with why — the build failed or was canceled, or what the
 * gates of its release there say (a lock, a pin, checks pending…); `not moved yet` when no
 * release was looked at yet.
 */
export type HookEnvironments = { live: { name: string; url: string }[]; pending: { name: string; reason: string }[] } | null;

export interface HookBuildLogs {
  build: HookBuild;
  /**
   * Once the build succeeded: environments now at its deployment, and those that follow one of
   * its branches but have not moved (yet — the move follows the state by a moment — or because
   * a lock, pin or gate holds them).
   */
  environments: HookEnvironments;
  lines: { seq: number; stream: string; text: string }[];
  /** Stop following: the pushing client hung up, or the server is shutting down. */
  stop: PushSession['stopFollowing'];
}

/**
 * Said at the end of every push: environments running commits the default branch does not
 * contain (a hotfix live in production, say), until it does — the next deploy from it loses them.
 */
export interface HookWarnings {
  warnings: string[];
}

/** What a following environment that has not moved, without a recorded reason, waits with (NOT_YET in post-receive.mjs). */
const NOT_MOVED_YET = 'not moved yet';

const FINISHED_STATES: ReadonlySet<BuildRow['state']> = new Set(['succeeded', 'failed', 'canceled']);

const LogsQuery = z.object({ after: z.coerce.number().int().min(0).default(0) });
const LOG_PAGE = 500;

export interface HookRoutesOptions {
  deps: ServiceDeps;
  sessions: PushSessions;
  repoOf: (project: string) => string;
}

export interface HookServer {
  /** Base URL the hook calls, `http://127.0.0.1:<port>`. */
  url: string;
  close(): Promise<void>;
}

export async function startHookServer(options: HookRoutesOptions & { log: FastifyBaseLogger }): Promise<HookServer> {
  // Hooks poll every 300 ms while they follow a build: logging each request would drown the log,
  // so this listener logs warnings and errors only.
  const log = options.log.child({ listener: 'git-hooks' }, { level: 'warn' });
  const app = Fastify({ loggerInstance: log, bodyLimit: 4 * 1024 * 1024 });
  app.setErrorHandler(handleError);
  registerHookRoutes(app, options);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('the hook listener has no TCP port');
  return { url: `http://127.0.0.1:${address.port}`, close: () => app.close() };
}

function registerHookRoutes(app: FastifyInstance, { deps, sessions, repoOf }: HookRoutesOptions): void {
  const sessionOf = (request: FastifyRequest): PushSession => {
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    const session = match?.[1] === undefined ? undefined : sessions.find(match[1]);
    if (session === undefined) throw new SlipwayError(ErrorCode.UNAUTHENTICATED, 'not a push in flight');
    return session;
  };
  const present = (session: PushSession, build: BuildRow): HookBuild => ({
    id: build.id,
    commit: build.commitSha,
    ref: build.ref,
    state: build.state,
    deploymentUrl: build.deploymentId === null ? null : deploymentUrl(deps.urls, session.projectName, build.deploymentId),
    error: build.error,
  });

  /** Why a following environment is not at the build's deployment: what its release of it waits for, or how it ended. */
  const notMovedReason = async (env: EnvironmentRow, build: BuildRow): Promise<string> => {
    if (build.state === 'failed') return 'build failed';
    if (build.state === 'canceled') return 'build canceled';
    if (build.deploymentId === null) return NOT_MOVED_YET;
    const release = await deps.store.findNewestReleaseOfDeployment(env.id, build.deploymentId);
    return release ? releaseWaitReason(release) ?? NOT_MOVED_YET : NOT_MOVED_YET;
  };

  const environmentsOf = async (session: PushSession, build: BuildRow): Promise<HookEnvironments> => {
    if (!FINISHED_STATES.has(build.state) || (build.state === 'succeeded' && build.deploymentId === null)) return null;
    const live =
      build.deploymentId === null
        ? []
        : (await deps.store.listEnvironmentsOfDeployment(build.deploymentId)).filter((e) => e.retiredAt === null && e.projectId === session.projectId);
    const branches = new Set((await deps.store.listBranchesAt(session.projectId, build.commitSha)).map((b) => b.name));
    // A hotfix enters the pipeline where the default branch does (proposeForBranch): those
    // environments are said too, or why the hotfix did not enter at all.
    const project = [...branches].some(isHotfixBranch) ? await deps.store.findProjectById(session.projectId) : undefined;
    const hotfix = project ? await hotfixEntries(deps.store, project, build.commitSha) : undefined;
    const pending: { name: string; reason: string }[] = [];
    for (const env of await deps.store.listEnvironments(session.projectId)) {
      if (env.retiredAt !== null || env.follows === null) continue;
      if (build.deploymentId !== null && env.deploymentId === build.deploymentId) continue;
      if (branches.has(env.follows)) pending.push({ name: env.name, reason: await notMovedReason(env, build) });
      else if (hotfix?.heldBack != null && env.follows === (project?.defaultBranch ?? 'main') && !env.preview) pending.push({ name: env.name, reason: hotfix.heldBack });
      else if (hotfix?.entries.some((e) => e.id === env.id)) pending.push({ name: env.name, reason: await notMovedReason(env, build) });
    }
    return {
      live: live.map((e) => ({ name: e.name, url: environmentUrl(deps.urls, session.projectName, e.name) })).sort((a, b) => a.name.localeCompare(b.name)),
      pending: pending.sort((a, b) => a.name.localeCompare(b.name)),
    };
  };

  app.post('/internal/git/pushes', async (request): Promise<HookPushResult> => {
    const session = sessionOf(request);
    // refs/environments updates are promotions, done by the proc-receive hook; they never land as refs.
    const updates = parse(HookPushRequest, request.body).updates.filter((u) => u.ref !== ENVIRONMENTS_REF && !u.ref.startsWith(`${ENVIRONMENTS_REF}/`));
    if (updates.length === 0) return { builds: [], retired: [], stale: [] };
    const repo = repoOf(session.projectName);
    // An annotated tag's ref names the tag object; what gets built is the commit it tags.
    const peeled: HookPushRequest['updates'] = [];
    for (const update of updates) {
      if (update.after === ZERO_SHA || !update.ref.startsWith('refs/tags/')) {
        peeled.push(update);
        continue;
      }
      const commit = await peelToCommit(repo, update.after);
      if (commit !== undefined) peeled.push({ ...update, after: commit });
    }
    // Commits first: a build this push queues may finish before anything else reads the graph.
    await recordPushedCommits(deps, session.projectId, repo, peeled, request.log);
    const aligned = await alignWithRepository(deps, session.projectId, repo, peeled);
    const result = await recordPush(deps, session.actor, session.projectName, { updates: aligned, trigger: 'git-push', sourceUrl: null });
    if (result.builds.some((b) => b.state === 'queued')) deps.buildsQueued.notify();
    const created = peeled.filter((u) => u.ref.startsWith('refs/heads/') && u.after !== ZERO_SHA).map((u) => u.ref);
    try {
      await repairHead(repo, created);
    } catch (err) {
      // Cosmetic (clones would not check out a branch); the push itself is recorded.
      request.log.warn({ err }, 'could not point HEAD at a branch');
    }
    const builds: HookPushResult['builds'] = [];
    for (const b of result.builds) {
      // Re-read: a build of a commit seen before is returned as it was when the push found it.
      const build = (await deps.store.findBuild(b.id)) ?? b;
      builds.push({ ...present(session, build), refs: aligned.filter((u) => u.after === b.commitSha).map((u) => u.ref), environments: await environmentsOf(session, build) });
    }
    return { builds, retired: result.retired, stale: result.stale.map((u) => ({ ...u, reason: staleReason([u]) })) };
  });

  app.get('/internal/git/warnings', async (request): Promise<HookWarnings> => {
    const session = sessionOf(request);
    return { warnings: (await listUnmergedWarnings(deps, session.projectName)).map((w) => w.message) };
  });

  app.post('/internal/git/promotions', async (request): Promise<{ results: PromotionResult[] }> => {
    const session = sessionOf(request);
    const input = parse(HookPromotionRequest, request.body);
    return { results: await promoteByPush(deps, session, repoOf(session.projectName), input, request.log) };
  });

  app.get('/internal/git/builds/:id/logs', async (request): Promise<HookBuildLogs> => {
    const session = sessionOf(request);
    const { id } = request.params as { id: string };
    const { after } = parse(LogsQuery, request.query);
    // State first, then lines: once a finished state is seen, the lines read after it are all of them.
    const build = await getBuildById(deps, id);
    if (build.projectId !== session.projectId) throw new SlipwayError(ErrorCode.NOT_FOUND, `no build ${id} in this push`);
    const lines = await readBuildLogs(deps, id, after, LOG_PAGE);
    return {
      build: present(session, build),
      environments: await environmentsOf(session, build),
      lines: lines.map((l) => ({ seq: l.seq, stream: l.stream, text: l.text })),
      stop: session.stopFollowing,
    };
  });
}
