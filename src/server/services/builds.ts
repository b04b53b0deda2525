import { ErrorCode, isSlipwayError, SlipwayError } from '../../core/errors.ts';
import { basicAuthorization, normalizeRepoUrl, redactUrl } from '../../core/repo-url.ts';
import type { Actor } from '../../core/release-planner.ts';
import type { AppendLogsRequest, ClaimRequest, CompleteRequest, HeartbeatRequest } from '../../protocol/builds.ts';
import { type BuildLogRow, type BuildRow, type Page, type ProjectRow } from '../../store/store.ts';
import { requireRole } from './access.ts';
import { getDeployment } from './deployments.ts';
import type { ServiceDeps } from './deps.ts';
import { recordEvent } from './events.ts';
import { hashLease, newLease, requireLease } from './leases.ts';
import { getProject } from './projects.ts';
import { proposeForBranch } from './pipeline.ts';
import { applyConfigPolicy } from './policies.ts';

/** A build whose runner stops heartbeating is queued again, at most this many tries in all. */
export const MAX_BUILD_ATTEMPTS = 3;

export async function listBuilds(deps: ServiceDeps, projectName: string, page: Page): Promise<BuildRow[]> {
  const project = await getProject(deps, projectName);
  return deps.store.listBuilds(project.id, page);
}

export async function getBuild(deps: ServiceDeps, projectName: string, id: string): Promise<BuildRow> {
  const project = await getProject(deps, projectName);
  const build = await deps.store.findBuild(id);
  if (!build || build.projectId !== project.id) throw new SlipwayError(ErrorCode.BUILD_NOT_FOUND, `no build ${id} in ${projectName}`, { build: id });
  return build;
}

export async function getBuildById(deps: ServiceDeps, id: string): Promise<BuildRow> {
  const build = await deps.store.findBuild(id);
  if (!build) throw new SlipwayError(ErrorCode.BUILD_NOT_FOUND, `no build ${id}`, { build: id });
  return build;
}

export async function cancelBuild(deps: ServiceDeps, actor: Actor, projectName: string, id: string): Promise<BuildRow> {
  requireRole(actor, 'deployer');
  const build = await getBuild(deps, projectName, id);
  if (build.state !== 'queued' && build.state !== 'running') {
    throw new SlipwayError(ErrorCode.BUILD_FINISHED, `build ${id} already ${build.state}`, { build: id, state: build.state });
  }
  const now = deps.clock.now();
  const canceled = await deps.store.requestBuildCancel(id, now.toISOString());
  await recordEvent(deps.store, now, actor, 'build.cancel', { projectId: build.projectId, target: id, before: { state: build.state } });
  return canceled ?? build;
}

export async function readBuildLogs(deps: ServiceDeps, buildId: string, after: number, limit = 1000): Promise<BuildLogRow[]> {
  return deps.store.listBuildLogs(buildId, after, limit);
}

function leaseUntil(deps: ServiceDeps, seconds: number): string {
  return new Date(deps.clock.now().getTime() + seconds * 1000).toISOString();
}

/** Re-queues (or fails) builds whose runner went silent. Runs before each claim and as the recurring `builds.reap` job. */
export async function reapBuilds(deps: ServiceDeps): Promise<BuildRow[]> {
  const reaped = await deps.store.reapExpiredBuilds(deps.clock.now().toISOString(), MAX_BUILD_ATTEMPTS);
  for (const build of reaped) deps.changes?.touch(build.projectId, ['builds']);
  return reaped;
}

/** While a claim long-polls, the store is read again at least this often (other replicas queue builds too). */
const CLAIM_RECHECK_MS = 1000;

/**
 * Leases the oldest queued build to a runner token, with a new lease token (returned once; the
 * store keeps its hash). The builds table is a durable leased queue of its own, apart from the
 * job queue (server/jobs): its workers are runners that claim over HTTP, possibly on other
 * machines, and hold a lease token the server checks on every call. With `waitSeconds`, an empty queue is waited on: a build queued by
 * this server wakes the claim at once, one queued elsewhere is found by the re-read every
 * second; `abort` (the runner hung up) or the server stopping ends the wait.
 */
export async function claimBuild(
  deps: ServiceDeps,
  actor: Actor,
  request: ClaimRequest,
  abort?: AbortSignal,
): Promise<{ build: BuildRow; projectName: string; gitUrl: string | null; gitAuthorization: string | null; lease: string } | undefined> {
  requireRole(actor, 'runner');
  await reapBuilds(deps);
  const deadline = Date.now() + (request.waitSeconds ?? 0) * 1000;
  const lease = newLease();
  const claim = () => deps.store.claimBuild(request.runner, deps.clock.now().toISOString(), leaseUntil(deps, request.leaseSeconds), lease.hash);
  let build = await claim();
  while (!build && Date.now() < deadline && !abort?.aborted && !deps.buildsQueued.closed) {
    await deps.buildsQueued.wait(Math.min(CLAIM_RECHECK_MS, deadline - Date.now()), abort);
    if (abort?.aborted) return undefined;
    build = await claim();
  }
  if (!build) return undefined;
  deps.changes?.touch(build.projectId, ['builds']);
  const project = await deps.store.findProjectById(build.projectId);
  if (!project) throw new Error(`project of build ${build.id} vanished`);
  // Credentials go only to the repository they were saved for: a build queued before the
  // project's repository changed fetches its old URL without them.
  const sameRepo = build.sourceUrl !== null && project.repoUrl !== null && normalizeRepoUrl(build.sourceUrl) === project.repoUrl;
  const gitAuthorization = sameRepo && project.repoCredentials ? basicAuthorization(project.repoCredentials) : null;
  return { build, projectName: project.name, gitUrl: build.sourceUrl, gitAuthorization, lease: lease.token };
}

function leaseLost(buildId: string): SlipwayError {
  return new SlipwayError(ErrorCode.LEASE_LOST, `the lease on build ${buildId} is not current anymore`, { build: buildId });
}

/** Extends the lease; the answer says whether the build was canceled meanwhile. */
export async function heartbeat(deps: ServiceDeps, actor: Actor, buildId: string, lease: string | undefined, request: HeartbeatRequest): Promise<{ cancel: boolean }> {
  await requireLease(deps, actor, lease, buildId);
  const renewed = await deps.store.renewBuildLease(buildId, hashLease(lease ?? ''), leaseUntil(deps, request.leaseSeconds));
  if (!renewed) throw leaseLost(buildId);
  return { cancel: renewed.cancelRequestedAt !== null };
}

export async function appendBuildLogs(deps: ServiceDeps, actor: Actor, buildId: string, lease: string | undefined, request: AppendLogsRequest): Promise<number> {
  const build = await requireLease(deps, actor, lease, buildId);
  // A build that prints a URL with credentials (its own, or a tool echoing a remote) stores it redacted.
  const seq = await deps.store.appendBuildLogs(
    buildId,
    request.lines.map((line) => ({ ...line, text: redactUrl(line.text) })),
  );
  deps.changes?.touch(build.projectId, ['builds']);
  return seq;
}

/**
 * Ends a build. A success links its deployment, takes the environment policy its
 * slipway.yaml reported (`follows:`), then moves every environment that follows a branch whose
 * head is this commit — all in one transaction, so whoever sees the build succeeded sees the
 * environments moved, and a crash in between leaves the build running (its lease runs out and
 * it is built again) rather than succeeded with nothing moved.
 */
export async function completeBuild(deps: ServiceDeps, actor: Actor, buildId: string, lease: string | undefined, request: CompleteRequest): Promise<BuildRow> {
  const build = await requireLease(deps, actor, lease, buildId);
  const leaseHash = hashLease(lease ?? '');
  const project = await deps.store.findProjectById(build.projectId);
  if (!project) throw new Error(`project of build ${build.id} vanished`);
  const now = deps.clock.now();
  const meta = { author: request.report.author, message: request.report.message };
  if (request.state !== 'succeeded') {
    const error = request.state === 'failed' ? redactUrl(request.error) : 'canceled';
    const finished = await deps.store.finishBuild(build.id, leaseHash, { state: request.state, finishedAt: now.toISOString(), error, deploymentId: null, ...meta });
    if (!finished) throw leaseLost(build.id);
    deps.changes?.touch(build.projectId, ['builds']);
    return getBuildById(deps, build.id);
  }
  const deployment = await getDeployment(deps, project.name, request.deployment);
  // Only an upload made under this build's lease carries its id (createUpload sees to that).
  if (deployment.meta.build !== build.id) {
    throw new SlipwayError(ErrorCode.DEPLOYMENT_NOT_OF_BUILD, `deployment ${deployment.id} was not uploaded by build ${build.id}`, {
      build: build.id,
      deployment: deployment.id,
    });
  }
  try {
    const done = await deps.store.transaction(async (tx) => {
      const scoped: ServiceDeps = { ...deps, store: tx };
      // Before anything else: a policy this build changes queues the project's pipeline job
      // (locking that row) before releases are proposed; holding the job row while waiting for
      // the pipeline could deadlock with an evaluation that queues its next look.
      await tx.lockPipeline(project.id);
      return await succeed(scoped, build, project, deployment.id, leaseHash, request, now);
    });
    deps.changes?.touch(build.projectId, ['builds', 'deployments']);
    return done;
  } catch (err) {
    // slipway.yaml declares a policy only the server can refuse (a `requires:` naming no
    // project): the build fails with the positioned error and moves nothing.
    if (!isSlipwayError(err, ErrorCode.POLICY_INVALID)) throw err;
    const finished = await deps.store.finishBuild(build.id, leaseHash, { state: 'failed', finishedAt: now.toISOString(), error: `${err.code}: ${err.message}`, deploymentId: deployment.id, ...meta });
    if (!finished) throw leaseLost(build.id);
    deps.changes?.touch(build.projectId, ['builds']);
    return getBuildById(deps, build.id);
  }
}

async function succeed(
  deps: ServiceDeps,
  build: BuildRow,
  project: ProjectRow,
  deploymentId: string,
  leaseHash: string,
  request: CompleteRequest & { state: 'succeeded' },
  now: Date,
): Promise<BuildRow> {
  const meta = { author: request.report.author, message: request.report.message };
  const finished = await deps.store.finishBuild(build.id, leaseHash, {
    state: 'succeeded',
    finishedAt: now.toISOString(),
    error: null,
    deploymentId,
    ...meta,
  });
  if (!finished) throw leaseLost(build.id);
  // The built commit's recent history, as the runner read it from its checkout; a history
  // that does not start at the commit built is not this build's to record.
  const commits = request.report.commits ?? [];
  if (commits[0]?.sha === build.commitSha) await deps.store.insertCommits(project.id, commits, now.toISOString());
  await applyPolicyOfBuild(deps, project, build, request.report);
  const done = await getBuildById(deps, build.id);
  for (const branch of await deps.store.listBranchesAt(project.id, build.commitSha)) {
    if (request.report.previews?.branches === false) await retirePreviews(deps, project.id, branch.name);
    await proposeForBranch(deps, project, branch.name, done);
  }
  return done;
}

/**
 * Only the head of the default branch sets policy: a build of any other branch (or an older
 * commit finishing late) must not relax the gates it is about to pass.
 */
async function applyPolicyOfBuild(deps: ServiceDeps, project: ProjectRow, build: BuildRow, report: CompleteRequest['report']): Promise<void> {
  const head = await deps.store.findBranch(project.id, project.defaultBranch ?? 'main');
  if (head?.head !== build.commitSha) return;
  if (report.config !== undefined) {
    await applyConfigPolicy(deps, project, build, report.config);
    return;
  }
  // A runner from before slipway.yaml was reported whole: only `follows:` is known.
  const text = Object.entries(report.environments ?? {})
    .filter(([, policy]) => policy.follows !== undefined)
    .map(([name, policy]) => `  ${name}: { follows: ${JSON.stringify(policy.follows)}, auto: ${policy.auto !== false} }`)
    .join('\n');
  if (text !== '') await applyConfigPolicy(deps, project, build, `environments:\n${text}\n`);
}

/** `previews: { branches: false }`: a branch's preview is retired instead of followed. */
async function retirePreviews(deps: ServiceDeps, projectId: string, branch: string): Promise<void> {
  for (const env of await deps.store.listEnvironmentsFollowing(projectId, branch)) {
    if (env.preview && env.retiredAt === null) await deps.store.retireEnvironment(env.id, deps.clock.now().toISOString());
  }
}
