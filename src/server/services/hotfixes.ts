import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import { defaultHotfixName, hotfixBranch, productionEnvironment } from '../../core/hotfix.ts';
import { assertName } from '../../core/names.ts';
import type { Actor } from '../../core/release-planner.ts';
import { gitUrl } from '../../core/urls.ts';
import { displayRepoUrl } from '../../core/repo-url.ts';
import type { EnvironmentRow, ProjectRow } from '../../store/store.ts';
import { createBranch, defaultReposDir, deleteBranchAt, hasCommit, repoPath } from '../git/repos.ts';
import { requireRole } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { recordEvent } from './events.ts';
import { policyOf } from './pipeline.ts';
import { getProject } from './projects.ts';
import { recordPushIn, ZERO_SHA } from './pushes.ts';

export interface StartedHotfix {
  project: ProjectRow;
  branch: string;
  environment: EnvironmentRow;
  deploymentId: string;
  commit: string;
  mode: 'created' | 'commands';
  repository: string;
  commands: string[];
}

/** Default names tried before giving up (`…-2` … `…-20`): a day with twenty hotfixes of one commit names them. */
const DEFAULT_NAME_ATTEMPTS = 20;

/**
 * `slipway hotfix start`: a branch `hotfix/<name>` at the commit production runs (essay 002).
 * In Slipway's own git repository the branch is made here — git's compare-and-set on the ref,
 * then recorded like a push of it, audited as `hotfix.start` in the same transaction — and the
 * answer says how to fetch, fix and push it. For a project whose code lives in an external
 * repository (or whose production commit Slipway's repository lacks), nothing is changed: the
 * answer holds the exact git commands that make and push the branch there.
 *
 * Refused: NOTHING_LIVE when production runs nothing (or a deployment without a commit),
 * HOTFIX_EXISTS when the branch exists, INVALID_NAME for a name git or a shell trips over,
 * INVALID_REQUEST when which environment is production cannot be told (name it).
 */
export async function startHotfix(deps: ServiceDeps, actor: Actor, projectName: string, input: { name?: string | undefined; environment?: string | undefined }): Promise<StartedHotfix> {
  requireRole(actor, 'deployer');
  const project = await getProject(deps, projectName);
  const wanted = input.name === undefined ? undefined : hotfixBranch(input.name);
  const environment = await productionOf(deps, project, input.environment);
  const deploymentId = environment.deploymentId;
  if (deploymentId === null) {
    throw new SlipwayError(ErrorCode.NOTHING_LIVE, `${environment.name} of ${project.name} runs nothing yet: there is nothing to fix`, { environment: environment.name });
  }
  const commit = (await deps.store.findDeployment(deploymentId))?.meta.commit ?? null;
  if (commit === null) {
    throw new SlipwayError(
      ErrorCode.NOTHING_LIVE,
      `${environment.name} of ${project.name} runs ${deploymentId}, which names no commit (uploaded, not built): there is no commit to start a hotfix from`,
      { environment: environment.name, deployment: deploymentId },
    );
  }
  const repo = repoPath(defaultReposDir(deps.dataDir), project.name);
  const own = project.repoUrl === null && (await hasCommit(repo, commit));
  const taken = async (branch: string) => (await deps.store.findBranch(project.id, branch)) !== undefined;
  const started = { project, environment, deploymentId, commit };

  if (!own) {
    const branch = wanted ?? (await freeName(deps.clock.now(), commit, taken));
    if (await taken(branch)) throw exists(branch);
    const repository = project.repoUrl === null ? 'origin' : displayRepoUrl(project.repoUrl, false);
    return { ...started, branch, mode: 'commands', repository, commands: externalCommands(branch, commit) };
  }

  const branch = wanted ?? (await freeName(deps.clock.now(), commit, taken));
  if (await taken(branch)) throw exists(branch);
  if (!(await createBranch(repo, branch, commit))) throw exists(branch);
  // The ref exists now; recording it is what a push's hook would do. Recording failed: the ref
  // goes again (a crash in between is recorded at the next start, by reconciliation, like any
  // push the server missed).
  await recordStart(deps, actor, started, branch).catch(async (err: unknown) => {
    await deleteBranchAt(repo, branch, commit);
    throw err;
  });
  return { ...started, branch, mode: 'created', repository: gitUrl(deps.urls, project.name), commands: ownCommands(branch) };
}

async function recordStart(
  deps: ServiceDeps,
  actor: Actor,
  { project, environment, deploymentId, commit }: { project: ProjectRow; environment: EnvironmentRow; deploymentId: string; commit: string },
  branch: string,
): Promise<void> {
  await deps.store.transaction(async (tx) => {
    const scoped: ServiceDeps = { ...deps, store: tx };
    const result = await recordPushIn(scoped, actor, project, { updates: [{ ref: `refs/heads/${branch}`, before: ZERO_SHA, after: commit }], trigger: 'git-push', sourceUrl: null });
    if (result.stale.length > 0) throw exists(branch);
    await recordEvent(tx, deps.clock.now(), actor, 'hotfix.start', {
      projectId: project.id,
      environment: environment.name,
      target: branch,
      after: { branch, commit, deployment: deploymentId, release: environment.releaseNumber === 0 ? null : `v${environment.releaseNumber}` },
    });
  });
}

function exists(branch: string): SlipwayError {
  return new SlipwayError(ErrorCode.HOTFIX_EXISTS, `${branch} exists already: push to it, or start another with --name`, { branch });
}

async function freeName(now: Date, commit: string, taken: (branch: string) => Promise<boolean>): Promise<string> {
  for (let attempt = 1; attempt <= DEFAULT_NAME_ATTEMPTS; attempt++) {
    const branch = hotfixBranch(defaultHotfixName(now, commit, attempt));
    if (!(await taken(branch))) return branch;
  }
  throw exists(hotfixBranch(defaultHotfixName(now, commit)));
}

/** The environment a hotfix starts from: the one named, or production as core/hotfix.ts tells it. */
async function productionOf(deps: ServiceDeps, project: ProjectRow, named: string | undefined): Promise<EnvironmentRow> {
  const stages = (await deps.store.listEnvironments(project.id)).filter((e) => !e.preview && e.retiredAt === null);
  const name = named === undefined ? productionEnvironment(stages.map((e) => ({ name: e.name, from: policyOf(e).from }))) : assertName('environment', named);
  if (name === undefined) {
    const reason = stages.length === 0 ? 'it has no environments yet' : `none is named production and no single one ends the pipeline (${stages.map((e) => e.name).join(', ')})`;
    throw new SlipwayError(
      stages.length === 0 ? ErrorCode.NOTHING_LIVE : ErrorCode.INVALID_REQUEST,
      `cannot tell which environment of ${project.name} is production: ${reason}; name it (--env)`,
      { environments: stages.map((e) => e.name) },
    );
  }
  const env = stages.find((e) => e.name === name);
  if (!env) throw new SlipwayError(ErrorCode.ENVIRONMENT_NOT_FOUND, `no environment "${name}" in ${project.name}`, { environment: name });
  return env;
}

/** In a clone with a remote `slipway` (`slipway git-remote`): fetch the branch Slipway made, fix, push. */
function ownCommands(branch: string): string[] {
  return [`git fetch slipway ${branch}`, `git switch -c ${branch} FETCH_HEAD`, '# commit the fix, then:', `git push -u slipway ${branch}`];
}

/** In a clone of the external repository (remote `origin`): the branch is made there, at production's commit. */
function externalCommands(branch: string, commit: string): string[] {
  return [`git fetch origin`, `git switch -c ${branch} ${commit}`, '# commit the fix, then:', `git push -u origin ${branch}`];
}
