import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Deployment, Release } from '../../src/protocol/api.ts';
import { LEASE_HEADER, type BuildReport } from '../../src/protocol/builds.ts';
import type { SlipwayClient } from '../../src/protocol/client.ts';
import type { SetPolicyRequest } from '../../src/protocol/pipelines.ts';
import { recordPush, ZERO_SHA } from '../../src/server/services/pushes.ts';
import { eventually } from './eventually.ts';
import { deployFiles, type TestServer } from './server.ts';

/**
 * Scaffolding of the pipeline tests: a project with a declared path, deployments that say
 * which commit they were built from, the commit graph Slipway knows, builds played through the
 * runner protocol, and polls for what the engine does in the background.
 */

/** A full commit id named by a label, so a test reads `commit('a2')` rather than 40 hex digits. */
export function commit(label: string): string {
  return createHash('sha1').update(label).digest('hex');
}

/** The usual path: dev → staging → production, each policy set by an admin in that order (a `from:` must exist first). */
export async function declarePipeline(client: SlipwayClient, project: string, policies: Record<string, SetPolicyRequest>): Promise<void> {
  for (const [env, policy] of Object.entries(policies)) await client.setPolicy(project, env, policy);
}

export async function projectIdOf(t: TestServer, project: string): Promise<string> {
  const row = await t.server.deps.store.findProjectByName(project);
  assert.ok(row, `project ${project} exists`);
  return row.id;
}

/**
 * Records commits in the project's commit graph, as a push or a build's report would.
 * `chain` is oldest first; each commit's parent is the one before it (the first's is `parent`).
 */
export async function recordChain(t: TestServer, project: string, chain: readonly string[], parent: string | null = null): Promise<void> {
  let previous = parent;
  const rows = chain.map((sha, i) => {
    const row = {
      sha,
      parents: previous === null ? [] : [previous],
      authorName: 'Grace Hopper',
      authorEmail: 'grace@example.com',
      message: `change ${i + 1}`,
      committedAt: new Date().toISOString(),
    };
    previous = sha;
    return row;
  });
  await t.server.deps.store.insertCommits(await projectIdOf(t, project), rows, new Date().toISOString());
}

/** A deployment uploaded with the commit (and branch) it says it was built from. */
export function deployCommit(client: SlipwayClient, project: string, sha: string, branch = 'main'): Promise<Deployment> {
  return deployFiles(client, project, { 'index.html': `built from ${sha}` }, { commit: sha, branch });
}

/** What an environment runs now (null: nothing yet, or it does not exist). */
export async function runs(client: SlipwayClient, project: string, env: string): Promise<string | null> {
  const found = await client.getEnvironment(project, env).catch(() => undefined);
  return found?.deployment ?? null;
}

/** The newest release of a deployment into an environment. */
export async function releaseOf(client: SlipwayClient, project: string, env: string, deployment: string): Promise<Release | undefined> {
  const { releases } = await client.listReleases(project, env, { limit: 200 });
  return releases.find((r) => r.deployment === deployment);
}

/** Waits until the environment runs `deployment` (moved by something the test did not call directly). */
export async function waitForLive(client: SlipwayClient, project: string, env: string, deployment: string, ms = 15_000): Promise<Release> {
  return eventually(
    `${env} of ${project} to run ${deployment}`,
    async () => {
      if ((await runs(client, project, env)) !== deployment) return undefined;
      const release = await releaseOf(client, project, env, deployment);
      return release?.state === 'live' ? release : undefined;
    },
    ms,
  );
}

/** Waits until the newest release of `deployment` into `env` is in `state`. */
export async function waitForState(client: SlipwayClient, project: string, env: string, deployment: string, state: Release['state'], ms = 15_000): Promise<Release> {
  return eventually(
    `the release of ${deployment} into ${env} of ${project} to be ${state}`,
    async () => {
      const release = await releaseOf(client, project, env, deployment);
      return release?.state === state ? release : undefined;
    },
    ms,
  );
}

/**
 * Waits until no `pipeline.evaluate` job is due or running — twice in a row, since a job that
 * ends may queue the next — so what the engine does in the background has been done.
 */
export async function waitForPipelineIdle(client: SlipwayClient, ms = 30_000): Promise<void> {
  let quietOnce = false;
  await eventually(
    'the pipeline jobs to be done',
    async () => {
      const kind = 'pipeline.evaluate';
      const queued = (await client.listJobs({ state: 'queued', kind, limit: 500 })).jobs.filter((j) => Date.parse(j.runAt) <= Date.now());
      const running = (await client.listJobs({ state: 'running', kind, limit: 500 })).jobs;
      const quiet = queued.length === 0 && running.length === 0;
      const settled = quiet && quietOnce;
      quietOnce = quiet;
      return settled ? true : undefined;
    },
    ms,
  );
}

/** The codes of the gates holding a waiting release. */
export function waitCodes(release: Release | undefined): string[] {
  return release?.gates?.outcome === 'wait' ? release.gates.reasons.map((r) => r.code) : [];
}

/**
 * Builds a commit the way a runner would, through the runner protocol: the push is recorded
 * (queueing a build of `sha` on `branch`), a runner token claims it, uploads a deployment under
 * the build's lease and completes it with `report` (e.g. `{ config: slipwayYaml }`; by default it
 * reports the commit built, its parent being `before`). The build's
 * success then does whatever a build does: policy, commits, following environments.
 */
export async function buildCommit(
  t: TestServer,
  project: string,
  runner: SlipwayClient,
  push: { sha: string; branch: string; before?: string },
  report: BuildReport = {},
): Promise<{ deployment: string; build: string }> {
  const pusher = { name: 'pat', role: 'deployer' as const, trigger: 'user' as const };
  await recordPush(t.server.deps, pusher, project, {
    updates: [{ ref: `refs/heads/${push.branch}`, before: push.before ?? ZERO_SHA, after: push.sha }],
    trigger: 'git-push',
    sourceUrl: null,
  });
  const claimed = await runner.claimBuild({ runner: 'r1', leaseSeconds: 60 });
  assert.ok(claimed, 'a build was queued');
  assert.equal(claimed.build.commit, push.sha);
  const holder = runner.withHeaders({ [LEASE_HEADER]: claimed.lease });
  const deployment = await deployFiles(holder, project, { 'index.html': `built from ${push.sha}` }, { commit: push.sha, branch: push.branch });
  // As the real runner does, the build reports the commit it built (its parent is the branch's previous head).
  const parents = push.before === undefined || push.before === ZERO_SHA ? [] : [push.before];
  const commits = [{ sha: push.sha, parents, authorName: 'Grace Hopper', authorEmail: 'grace@example.com', message: `build ${push.sha.slice(0, 7)}`, committedAt: new Date().toISOString() }];
  const done = await holder.completeBuild(claimed.build.id, { runner: 'r1', state: 'succeeded', deployment: deployment.id, report: { commits, ...report } });
  assert.equal(done.state, 'succeeded', done.error ?? '');
  return { deployment: deployment.id, build: done.id };
}

/** A client with a runner token (to play the runner). */
export async function runnerClient(t: TestServer): Promise<SlipwayClient> {
  return t.clientWith((await t.client.createToken({ name: `runner-${Math.random().toString(36).slice(2, 8)}`, role: 'runner' })).secret);
}

export { slipway, type CliRun } from './cli.ts';
