import { batchBetween, isAncestor } from '../../core/commit-graph.ts';
import { orderEnvironments } from '../../core/pipeline-topology.ts';
import type { ApprovalStatus } from '../../core/gates/index.ts';
import type { ApprovalRow, CheckRow, CommitRow, EnvironmentRow, ProjectRow, ReleaseRow, Store } from '../../store/store.ts';
import { approvalsOfRelease } from './approvals.ts';
import type { ServiceDeps } from './deps.ts';
import { loadCommitGraph, policyOf } from './pipeline.ts';
import { getProject } from './projects.ts';
import { resolveRelease } from './release-ref.ts';

/**
 * Read models of pipelines: each environment in the order of `from:` with what it runs and
 * what waits to enter it (and why), and one release with the batch of commits it carries.
 */

export interface StageView {
  env: EnvironmentRow;
  runs: { release: ReleaseRow | undefined; commit: string | null; branch: string | null; author: string | null } | null;
  waiting: ReleaseRow[];
  warnings: string[];
}

export interface PipelineView {
  project: ProjectRow;
  defaultBranch: string;
  stages: StageView[];
}

/** What an environment runs, as its deployment says (an upload from the CLI may name no commit). */
export interface RunningCommit {
  environment: string;
  commit: string | null;
  branch: string | null;
  /** Who wrote it, as the deployment says (null: it does not say). */
  author?: string | null;
}

/** An environment running a commit the default branch does not contain. */
export interface UnmergedWarning {
  environment: string;
  commit: string;
  branch: string | null;
  message: string;
}

/**
 * Which of `running` the default branch does not contain: the next deploy from the default
 * branch replaces them and the commit is lost ("production runs feature/x @3f2a1c9, not in
 * main: merge it or it will be lost on the next deploy"). Ancestry comes from the commits
 * Slipway recorded (pushes and builds); a commit it cannot place under the default branch's
 * head counts as not contained. No warning without a default branch head to compare with.
 */
export async function findUnmerged(store: Store, project: ProjectRow, running: readonly RunningCommit[]): Promise<UnmergedWarning[]> {
  const defaultBranch = project.defaultBranch ?? 'main';
  const candidates = running.filter((r): r is RunningCommit & { commit: string } => r.commit !== null);
  if (candidates.length === 0) return [];
  const head = (await store.findBranch(project.id, defaultBranch))?.head ?? null;
  if (head === null) return [];
  const lookup = await loadCommitGraph(store, project.id, [head]);
  return candidates
    .filter((r) => r.commit !== head && !isAncestor(lookup, r.commit, head, 1000))
    .map((r) => ({
      environment: r.environment,
      commit: r.commit,
      branch: r.branch,
      message: `${r.environment} runs ${r.branch ?? 'a commit'} @${r.commit.slice(0, 7)}, not in ${defaultBranch}: merge it or it will be lost on the next deploy`,
    }));
}

/** Environments that are stages of the pipeline: previews follow their branch and are expected to run what the default branch lacks. */
function isStage(env: EnvironmentRow): boolean {
  return !env.preview && env.retiredAt === null;
}

/** What each environment runs, its deployments read in one query. */
async function runningCommitsOf(store: Store, envs: readonly EnvironmentRow[]): Promise<Map<string, RunningCommit>> {
  const deployments = new Map((await store.findDeployments(envs.flatMap((e) => e.deploymentId ?? []))).map((d) => [d.id, d]));
  const running = new Map<string, RunningCommit>();
  for (const env of envs) {
    if (env.deploymentId === null) continue;
    const deployment = deployments.get(env.deploymentId);
    running.set(env.name, { environment: env.name, commit: deployment?.meta.commit ?? null, branch: deployment?.meta.branch ?? null, author: deployment?.meta.author ?? null });
  }
  return running;
}

/** The unmerged warnings of a project's stages (`slipway status`, every push), in pipeline order. */
export async function listUnmergedWarnings(deps: ServiceDeps, projectName: string): Promise<UnmergedWarning[]> {
  const project = await getProject(deps, projectName);
  const envs = (await deps.store.listEnvironments(project.id)).filter(isStage);
  const order = orderEnvironments(envs.map((e) => ({ name: e.name, from: policyOf(e).from })));
  const running = await runningCommitsOf(deps.store, envs);
  const warnings = await findUnmerged(deps.store, project, [...running.values()]);
  return warnings.sort((a, b) => order.indexOf(a.environment) - order.indexOf(b.environment));
}

/**
 * The pipeline of a project: every environment that is not a preview (previews follow their
 * branch and have no stage), upstream first, each warned about when it runs a commit the
 * default branch does not contain (findUnmerged).
 */
export async function describePipeline(deps: ServiceDeps, projectName: string): Promise<PipelineView> {
  const project = await getProject(deps, projectName);
  const defaultBranch = project.defaultBranch ?? 'main';
  const envs = (await deps.store.listEnvironments(project.id)).filter(isStage);
  const order = orderEnvironments(envs.map((e) => ({ name: e.name, from: policyOf(e).from })));
  const byName = new Map(envs.map((e) => [e.name, e]));
  const open = await deps.store.listOpenReleasesOfProject(project.id);
  // What every environment runs, in two queries rather than two per environment.
  const running = await runningCommitsOf(deps.store, envs);
  const releases = new Map((await deps.store.findReleases(envs.flatMap((e) => e.releaseId ?? []))).map((r) => [r.id, r]));
  const warnings = new Map((await findUnmerged(deps.store, project, [...running.values()])).map((w) => [w.environment, w.message]));
  const stages: StageView[] = [];
  for (const name of order) {
    const env = byName.get(name);
    if (!env) continue;
    const runs = running.get(name);
    const release = env.releaseId === null ? undefined : releases.get(env.releaseId);
    const warning = warnings.get(name);
    stages.push({
      env,
      runs: runs === undefined ? null : { release, commit: runs.commit, branch: runs.branch, author: runs.author ?? null },
      waiting: open.filter((r) => r.environmentId === env.id),
      warnings: warning === undefined ? [] : [warning],
    });
  }
  return { project, defaultBranch, stages };
}

export interface ReleaseView {
  release: ReleaseRow;
  environment: string;
  /** Decisions people made on it, oldest first. */
  approvals: ApprovalRow[];
  /** While it waits on an environment that asks for approvals: who still has to approve. */
  approvalState: ApprovalStatus | null;
  batch: { base: string | null; commits: (CommitRow & { checks: CheckRow[] })[]; unknown: string[]; truncated: boolean } | null;
}

/** One release by id (or `vN` with an environment), with its batch: the commits it carries and their checks. */
export async function getReleaseView(deps: ServiceDeps, projectName: string, id: string, environmentName?: string): Promise<ReleaseView> {
  const project = await getProject(deps, projectName);
  const release = await resolveRelease(deps.store, project, id, environmentName);
  const env = await deps.store.findEnvironmentById(release.environmentId);
  let batch: ReleaseView['batch'] = null;
  if (release.batch) {
    // The batch was worked out when the release was made; commits learned since fill in gaps.
    let shas = release.batch.commits;
    let truncated = release.batch.truncated;
    if (release.commitSha !== null && (shas.length === 0 || truncated)) {
      const lookup = await loadCommitGraph(deps.store, project.id, [release.commitSha, release.batch.base]);
      const again = batchBetween(lookup, release.batch.base, release.commitSha, 1000);
      shas = again.commits;
      truncated = again.truncated;
    }
    const rows = new Map((await deps.store.findCommits(project.id, shas)).map((c) => [c.sha, c]));
    const shown = shas.slice(0, 200);
    const checks = new Map<string, CheckRow[]>();
    for (const check of await deps.store.listChecksOfCommits(project.id, shown)) checks.set(check.commitSha, [...(checks.get(check.commitSha) ?? []), check]);
    const commits: (CommitRow & { checks: CheckRow[] })[] = [];
    const unknown: string[] = [];
    for (const sha of shown) {
      const row = rows.get(sha);
      if (row) commits.push({ ...row, checks: checks.get(sha) ?? [] });
      else unknown.push(sha);
    }
    batch = { base: release.batch.base, commits, unknown, truncated: truncated || shas.length > 200 };
  }
  const { decisions, status } = await approvalsOfRelease(deps.store, env, release);
  return { release, environment: env?.name ?? '', batch, approvals: decisions, approvalState: status };
}
