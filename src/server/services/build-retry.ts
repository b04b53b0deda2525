import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { Actor } from '../../core/release-planner.ts';
import { newQueuedBuildRow, type BuildRow, type ProjectRow } from '../../store/store.ts';
import { requireRole } from './access.ts';
import { getBuildById } from './builds.ts';
import type { ServiceDeps } from './deps.ts';
import { recordEvent } from './events.ts';
import { newId } from './ids.ts';

/**
 * Builds the commit of a failed or canceled build again, as a new build: the one audited
 * exception to "one build per commit". The new build has the next retry number and names the
 * one it retries; a build is retried at most once (retry the retry to go again), so two people
 * pressing retry at once get one new build and one BUILD_ALREADY_RETRIED.
 */
export async function retryBuild(
  deps: ServiceDeps,
  actor: Actor,
  buildId: string,
  /** The project the caller named (its route checked the caller's role there): the build must be one of its builds. */
  projectName?: string,
): Promise<{ build: BuildRow; project: ProjectRow }> {
  requireRole(actor, 'deployer');
  const build = await getBuildById(deps, buildId);
  const project = await deps.store.findProjectById(build.projectId);
  if (!project || project.deletedAt || (projectName !== undefined && project.name !== projectName)) {
    throw new SlipwayError(ErrorCode.BUILD_NOT_FOUND, `no build ${buildId}`, { build: buildId });
  }
  if (build.state !== 'failed' && build.state !== 'canceled') {
    throw new SlipwayError(ErrorCode.BUILD_NOT_RETRYABLE, `build ${build.id} is ${build.state}; only a failed or canceled build can be retried`, {
      build: build.id,
      state: build.state,
    });
  }
  const existing = await deps.store.findBuildRetry(build.id);
  if (existing) {
    throw new SlipwayError(ErrorCode.BUILD_ALREADY_RETRIED, `build ${build.id} was retried already, as ${existing.id}`, { build: build.id, retry: existing.id });
  }
  const now = deps.clock.now();
  const retry = newQueuedBuildRow({
    id: newId('bld'),
    projectId: build.projectId,
    commitSha: build.commitSha,
    ref: build.ref,
    branch: build.branch,
    sourceUrl: build.sourceUrl,
    trigger: 'retry',
    createdAt: now.toISOString(),
    createdBy: actor.name,
    author: build.author,
    message: build.message,
    retryNumber: (build.retryNumber ?? 0) + 1,
    retryOf: build.id,
  });
  await deps.store.transaction(async (tx) => {
    await tx.insertBuildRetry(retry);
    await recordEvent(tx, now, actor, 'build.retry', {
      projectId: build.projectId,
      target: retry.id,
      before: { build: build.id, state: build.state, error: build.error },
      after: { build: retry.id, commit: build.commitSha, retry: retry.retryNumber },
    });
  });
  deps.buildsQueued.notify();
  const created = await deps.store.findBuild(retry.id);
  if (!created) throw new Error(`build ${retry.id} vanished after insert`);
  return { build: created, project };
}
