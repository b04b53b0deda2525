// A large project seeded straight into the store, for the benches that read one back
// (bench/pipeline-view.ts, bench/dashboard-page.ts): commits on main, one deployment per
// release number, environments in a `from:` chain or a chain that fans out, and every
// environment's release history (superseded, live, failed after the live one, some waiting
// with their gates).
import { createHash } from 'node:crypto';
import type { CommitInfo } from '../src/core/git-log.ts';
import { DEFAULT_POLICY, type GateVerdict } from '../src/core/gates/index.ts';
import type { SlipwayClient } from '../src/protocol/client.ts';
import type { RunningServer } from '../src/server/server.ts';
import { newEnvironmentRow, newQueuedBuildRow, newReleaseRow, type EnvironmentRow, type ReleaseState, type Store } from '../src/store/store.ts';

export interface LargeProject {
  environments: number;
  releases: number;
  commits: number;
  waitingPerEnv: number;
  /**
   * `chain`: each environment comes from the one before it. `fan-out`: the first `chainLength`
   * form a chain and every later one comes from the last of them (regions after staging).
   */
  shape: { kind: 'chain' } | { kind: 'fan-out'; chainLength: number };
  /** Extra policy fields of every environment but the first (approvals, say). */
  downstreamPolicy?: Partial<typeof DEFAULT_POLICY>;
}

export interface SeededRelease {
  id: string;
  environmentId: string;
  environment: string;
  number: number;
  state: ReleaseState;
}

export interface SeededProject {
  projectId: string;
  environments: EnvironmentRow[];
  /** Ids of the deployments, oldest first (release n of an environment takes deployment n). */
  deployments: string[];
  /** The waiting releases, per environment name. */
  waiting: SeededRelease[];
  commitSha: (i: number) => string;
  at: (minutes: number) => string;
}

export const sha = (i: number): string => createHash('sha1').update(`commit ${i}`).digest('hex');
export const at = (minutes: number): string => new Date(Date.UTC(2025, 0, 1) + minutes * 60_000).toISOString();
export const environmentName = (e: number): string => `env-${String(e + 1).padStart(2, '0')}`;

async function realDeployment(client: SlipwayClient, project: string): Promise<{ id: string; manifestDigest: string }> {
  const body = 'large project bench';
  const digest = createHash('sha256').update(body).digest('hex');
  const upload = await client.createUpload(project, { files: [{ path: 'index.html', sha256: digest, size: body.length, mode: 0o644 }] });
  if (upload.missing.length > 0) await client.putBlob(digest, Buffer.from(body));
  const deployment = await client.finalizeUpload(project, upload.id);
  return { id: deployment.id, manifestDigest: deployment.manifestDigest };
}

/** Index of the environment `e` comes from (-1: none) and its depth in the pipeline. */
function upstreamOf(shape: LargeProject['shape'], e: number): { from: number; depth: number } {
  if (shape.kind === 'chain' || e < shape.chainLength) return { from: e - 1, depth: e };
  return { from: shape.chainLength - 1, depth: shape.chainLength };
}

/** Creates `name` through the API (one real upload), then seeds everything else through the store. */
export async function seedLargeProject(server: RunningServer, client: SlipwayClient, name: string, shape: LargeProject): Promise<SeededProject> {
  await client.createProject(name);
  const real = await realDeployment(client, name);
  const store: Store = server.deps.store;
  const project = await store.findProjectByName(name);
  if (!project) throw new Error('no project');
  const commits: CommitInfo[] = [];
  for (let i = 0; i < shape.commits; i++) {
    commits.push({ sha: sha(i), parents: i === 0 ? [] : [sha(i - 1)], authorName: i % 3 === 0 ? 'Bo' : 'Ana', authorEmail: i % 3 === 0 ? 'bo@example.com' : 'ana@example.com', message: `change ${i}`, committedAt: at(i) });
  }
  const perEnv = shape.releases / shape.environments;
  // Deployments of the newest commits; release n of every environment takes deployment n.
  const deployments = Array.from({ length: perEnv }, (_, n) => ({ id: `dpl-bench${String(n).padStart(5, '0')}`, commit: shape.commits - perEnv + n }));
  await store.transaction(async (tx) => {
    await tx.insertCommits(project.id, commits, at(0));
    await tx.moveBranch(project.id, 'main', '0'.repeat(40), sha(shape.commits - 1), at(shape.commits));
    for (const d of deployments) {
      await tx.insertDeployment({
        id: d.id,
        projectId: project.id,
        manifestDigest: real.manifestDigest,
        fileCount: 1,
        totalBytes: 14,
        meta: { source: 'build', commit: sha(d.commit), branch: 'main', message: `change ${d.commit}` },
        createdAt: at(d.commit),
        createdBy: 'bench',
      });
    }
  });
  const environments: EnvironmentRow[] = [];
  const waitingReleases: SeededRelease[] = [];
  for (let e = 0; e < shape.environments; e++) {
    const envName = environmentName(e);
    const { from, depth } = upstreamOf(shape.shape, e);
    await store.transaction(async (tx) => {
      const env = await tx.ensureEnvironment(newEnvironmentRow({ id: `env-bench${e}`, projectId: project.id, name: envName, createdAt: at(0) }));
      const { follows: _follows, ...defaults } = DEFAULT_POLICY;
      const policy = { ...defaults, ...(e === 0 ? {} : shape.downstreamPolicy), from: from < 0 ? null : environmentName(from), auto: true, checks: ['ci/test'] };
      await tx.setEnvironmentPolicy(env.id, policy, 'user bench', at(0), []);
      if (e === 0) await tx.setEnvironmentFollow(env.id, 'main', false);
      // Downstream environments run older deployments, so the view walks the history for each.
      const liveUpTo = perEnv - shape.waitingPerEnv - depth * 10;
      let live: { id: string; number: number; deploymentId: string } | undefined;
      for (let n = 0; n < perEnv; n++) {
        const number = n + 1;
        const deployment = deployments[n];
        if (!deployment) throw new Error('deployment index');
        const waiting = n >= perEnv - shape.waitingPerEnv;
        const state: ReleaseState = waiting ? 'waiting' : n === liveUpTo - 1 ? 'live' : n < liveUpTo ? 'superseded' : 'failed';
        const gates: GateVerdict | null = waiting
          ? { outcome: 'wait', reasons: [{ gate: 'checks', code: 'CHECKS_PENDING', message: 'waiting for checks: ci/test pending' }] }
          : { outcome: 'pass' };
        const id = `rel-bench${e}x${n}`;
        await tx.insertRelease(
          newReleaseRow({
            id,
            projectId: project.id,
            environmentId: env.id,
            number,
            kind: 'promote',
            state,
            deploymentId: deployment.id,
            createdAt: at(deployment.commit),
            createdBy: 'slipway',
            trigger: 'automation',
            commitSha: sha(deployment.commit),
            branch: 'main',
            gates,
            stateReason: waiting ? 'waiting for checks: ci/test pending' : state === 'failed' ? 'health check failed' : null,
            liveAt: state === 'live' || state === 'superseded' ? at(deployment.commit) : null,
            batch: { base: sha(deployment.commit - 1), commits: [sha(deployment.commit)], truncated: false },
          }),
        );
        if (state === 'live') live = { id, number, deploymentId: deployment.id };
        if (waiting) waitingReleases.push({ id, environmentId: env.id, environment: envName, number, state });
      }
      if (!live) throw new Error('no live release');
      await tx.moveEnvironmentTo(env.id, 0, { deploymentId: live.deploymentId, releaseId: live.id, releaseNumber: live.number, pin: null });
      const moved = await tx.findEnvironment(project.id, envName);
      if (!moved) throw new Error('environment vanished');
      environments.push(moved);
    });
  }
  return { projectId: project.id, environments, deployments: deployments.map((d) => d.id), waiting: waitingReleases, commitSha: sha, at };
}

/**
 * What a busy project has on top of its releases: an approval on every release the
 * environments after the first five ran (one of two on the waiting ones), a build per
 * deployment (every 25th failed), `events` audit events, environments 8 and 13 locked, the
 * last one pinned.
 */
export async function seedRealUse(server: RunningServer, seeded: SeededProject, events: number): Promise<void> {
  const store = server.deps.store;
  const regions = seeded.environments.slice(5);
  await store.transaction(async (tx) => {
    // Every release a region ran was approved by one person; its waiting ones have one of two.
    for (const env of regions) {
      for (const release of await tx.listReleases(env.id, { limit: 100_000 })) {
        const waiting = release.state === 'waiting';
        if (release.state !== 'superseded' && release.state !== 'live' && !waiting) continue;
        await tx.insertApproval({
          id: `apr-${release.id}`,
          projectId: seeded.projectId,
          releaseId: release.id,
          userId: 'usr-bench-cleo',
          userName: 'cleo',
          role: 'approver',
          forEmail: null,
          decision: 'approve',
          reason: null,
          createdAt: release.createdAt,
        });
      }
    }
    for (let i = 0; i < seeded.deployments.length; i++) {
      const commit = seeded.commitSha(100 + i);
      const { build } = await tx.insertBuildOnce({
        ...newQueuedBuildRow({
          id: `bld-bench${String(i).padStart(5, '0')}`,
          projectId: seeded.projectId,
          commitSha: commit,
          ref: 'refs/heads/main',
          branch: 'main',
          sourceUrl: null,
          trigger: 'push',
          createdAt: seeded.at(100 + i),
          createdBy: 'webhook',
          author: 'Ana <ana@example.com>',
          message: `change ${100 + i}`,
        }),
        state: i % 25 === 0 ? 'failed' : 'succeeded',
        startedAt: seeded.at(100 + i),
        finishedAt: seeded.at(101 + i),
        deploymentId: i % 25 === 0 ? null : (seeded.deployments[i] ?? null),
        error: i % 25 === 0 ? 'npm test exited 1' : null,
      });
      if (!build) throw new Error('no build');
    }
    for (let i = 0; i < events; i++) {
      const env = seeded.environments[i % seeded.environments.length];
      await tx.appendEvent({
        at: seeded.at(i),
        actor: i % 7 === 0 ? 'ana' : 'slipway',
        action: i % 7 === 0 ? 'environment.promote' : 'release.live',
        projectId: seeded.projectId,
        environment: env?.name ?? null,
        target: `rel-bench${i % seeded.environments.length}x${i % 500}`,
        reason: null,
        before: null,
        after: { deployment: seeded.deployments[i % 500] },
      });
    }
  });
  for (const [index, env] of [seeded.environments[7], seeded.environments[12]].entries()) {
    if (!env) continue;
    const locked = await store.updateLock(env.id, null, {
      lockedBy: 'ana',
      lockedById: 'tok-bench',
      lockedAt: seeded.at(700 + index),
      lockedReason: 'database migration',
      lockedUntil: null,
    });
    if (!locked) throw new Error('lock');
  }
  const pinned = seeded.environments[19];
  if (!pinned || !(await store.pinEnvironment(pinned.id, pinned.releaseNumber, { by: 'ana', at: seeded.at(710), reason: 'hold for the launch' }))) throw new Error('pin');
}

