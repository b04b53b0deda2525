import { batchBetween, isAncestor } from '../../core/commit-graph.ts';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import { orderEnvironments } from '../../core/pipeline-topology.ts';
import type { CheckRow, CommitRow, EnvironmentRow, ProjectRow, ReleaseRow } from '../../store/store.ts';
import type { ServiceDeps } from './deps.ts';
import { getEnvironment } from './environments.ts';
import { loadCommitGraph, policyOf } from './pipeline.ts';
import { getProject } from './projects.ts';

/**
 * Read models of pipelines: each environment in the order of `from:` with what it runs and
 * what waits to enter it (and why), and one release with the batch of commits it carries.
 */

export interface StageView {
  env: EnvironmentRow;
  runs: { release: ReleaseRow | undefined; commit: string | null; branch: string | null } | null;
  waiting: ReleaseRow[];
  warnings: string[];
}

export interface PipelineView {
  project: ProjectRow;
  defaultBranch: string;
  stages: StageView[];
}

/**
 * The pipeline of a project: every environment that is not a preview (previews follow their
 * branch and have no stage), upstream first. A warning is added where an environment runs a
 * commit the default branch does not contain — it will be lost on the next deploy from there.
 */
export async function describePipeline(deps: ServiceDeps, projectName: string): Promise<PipelineView> {
  const project = await getProject(deps, projectName);
  const defaultBranch = project.defaultBranch ?? 'main';
  const envs = (await deps.store.listEnvironments(project.id)).filter((e) => !e.preview && e.retiredAt === null);
  const order = orderEnvironments(envs.map((e) => ({ name: e.name, from: policyOf(e).from })));
  const byName = new Map(envs.map((e) => [e.name, e]));
  const open = await deps.store.listOpenReleasesOfProject(project.id);
  const head = (await deps.store.findBranch(project.id, defaultBranch))?.head ?? null;
  const lookup = head === null ? undefined : await loadCommitGraph(deps.store, project.id, [head]);
  // What every environment runs, in two queries rather than two per environment.
  const releases = new Map((await deps.store.findReleases(envs.flatMap((e) => e.releaseId ?? []))).map((r) => [r.id, r]));
  const deployments = new Map((await deps.store.findDeployments(envs.flatMap((e) => e.deploymentId ?? []))).map((d) => [d.id, d]));
  const stages: StageView[] = [];
  for (const name of order) {
    const env = byName.get(name);
    if (!env) continue;
    const release = env.releaseId === null ? undefined : releases.get(env.releaseId);
    const warnings: string[] = [];
    let runs: StageView['runs'] = null;
    if (env.deploymentId !== null) {
      const deployment = deployments.get(env.deploymentId);
      const commit = deployment?.meta.commit ?? null;
      const branch = deployment?.meta.branch ?? null;
      runs = { release, commit, branch };
      if (commit !== null && head !== null && lookup !== undefined && commit !== head && !isAncestor(lookup, commit, head, 1000)) {
        warnings.push(
          `${env.name} runs ${branch ?? 'a commit'} @${commit.slice(0, 7)}, not in ${defaultBranch}: merge it or it will be lost on the next deploy`,
        );
      }
    }
    stages.push({ env, runs, waiting: open.filter((r) => r.environmentId === env.id), warnings });
  }
  return { project, defaultBranch, stages };
}

export interface ReleaseView {
  release: ReleaseRow;
  environment: string;
  batch: { base: string | null; commits: (CommitRow & { checks: CheckRow[] })[]; unknown: string[]; truncated: boolean } | null;
}

/** One release by id (or `vN` with an environment), with its batch: the commits it carries and their checks. */
export async function getReleaseView(deps: ServiceDeps, projectName: string, id: string, environmentName?: string): Promise<ReleaseView> {
  const project = await getProject(deps, projectName);
  let release: ReleaseRow | undefined;
  const number = /^v(\d+)$/.exec(id);
  if (number && environmentName !== undefined) {
    const { environment } = await getEnvironment(deps, projectName, environmentName);
    release = await deps.store.findReleaseByNumber(environment.id, Number(number[1]));
  } else {
    release = await deps.store.findRelease(id);
  }
  if (!release || release.projectId !== project.id) throw new SlipwayError(ErrorCode.RELEASE_NOT_FOUND, `no release ${id} in ${projectName}`, { release: id });
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
  return { release, environment: env?.name ?? '', batch };
}
