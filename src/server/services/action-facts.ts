import { SlipwayError } from '../../core/errors.ts';
import { NO_APPROVAL_FACTS, type Lineage } from '../../core/gates/index.ts';
import type { RolloutState } from '../../core/glossary.ts';
import type { EnvironmentActions, ProjectActions, ReleaseActions } from '../../protocol/actions.ts';
import type { ApprovalRow, DeploymentRow, EnvironmentRow, FreezeRow, ProjectRow, ReleaseRow } from '../../store/store.ts';
import type { Principal } from './access.ts';
import { callerOf, environmentActions, projectActions, releaseActions, type Caller, type EnvironmentFacts, type ReleaseFacts } from './allowed-actions.ts';
import { approvalFactsOfReleases } from './approval-facts.ts';
import type { ServiceDeps } from './deps.ts';
import { rollbackTarget } from './environments.ts';
import { lineagesOf, policyOf } from './pipeline.ts';

/**
 * Reads what the verdicts of allowed-actions.ts look at, for what one response shows a person:
 * the project's freezes in one query, each environment's rollback target as rollback() would
 * resolve it, and for releases that wait their decisions (one query) and approval facts, and
 * the lineage of each deployment once.
 */
export interface ActionJudge {
  project(): ProjectActions;
  /** By environment id. */
  environments(envs: readonly EnvironmentRow[]): Promise<Map<string, EnvironmentActions>>;
  /** By release id. */
  releases(releases: readonly ReleaseRow[]): Promise<Map<string, ReleaseActions>>;
}

/** The judge of one project's actions for whoever `principal` is; null for machines (a runner, an agent) and anonymous requests. */
export function judgeFor(deps: ServiceDeps, principal: Principal | undefined, project: ProjectRow): ActionJudge | null {
  const caller = callerOf(principal, project.id);
  if (caller === null) return null;
  const now = deps.clock.now();
  const facts = new Map<string, Promise<EnvironmentFacts>>();
  let freezes: Promise<FreezeRow[]> | undefined;
  // The current releases and deployments of the environments judged together, one query each.
  let current: Promise<{ releases: Map<string, ReleaseRow>; deployments: Map<string, DeploymentRow> }> | undefined;
  const readCurrent = (envs: readonly EnvironmentRow[]) => {
    current ??= (async () => {
      const [releases, deployments] = await Promise.all([
        deps.store.findReleases(envs.flatMap((e) => e.releaseId ?? [])),
        deps.store.findDeployments(envs.flatMap((e) => e.deploymentId ?? [])),
      ]);
      return { releases: new Map(releases.map((r) => [r.id, r])), deployments: new Map(deployments.map((d) => [d.id, d])) };
    })();
    return current;
  };
  const environmentFacts = async (env: EnvironmentRow, together: readonly EnvironmentRow[]): Promise<EnvironmentFacts> => {
    const read = await readCurrent(together);
    // An environment outside the first set read (a later call) reads its own.
    const known = (env.releaseId === null || read.releases.has(env.releaseId)) && (env.deploymentId === null || read.deployments.has(env.deploymentId));
    return judgedFacts(env, known ? { release: env.releaseId === null ? undefined : read.releases.get(env.releaseId), deployment: env.deploymentId === null ? undefined : read.deployments.get(env.deploymentId) } : undefined);
  };
  const judgedFacts = (env: EnvironmentRow, known: Parameters<typeof rollbackTarget>[4]): Promise<EnvironmentFacts> => {
    let found = facts.get(env.id);
    if (found === undefined) {
      freezes ??= deps.store.listProjectFreezes(project.id, now.toISOString());
      const all = freezes;
      found = (async () => ({
        env,
        now,
        freezes: (await all).filter((f) => f.environmentId === env.id),
        rollback: await rollbackTarget(deps, project.name, env, undefined, known).catch((err: unknown) => {
          if (err instanceof SlipwayError) return err;
          throw err;
        }),
      }))();
      facts.set(env.id, found);
    }
    return found;
  };
  return {
    project: () => projectActions(caller),
    environments: async (envs) => new Map(await Promise.all(envs.map(async (env) => [env.id, environmentActions(caller, await environmentFacts(env, envs))] as const))),
    releases: async (releases) => {
      // One environment: by its id; more: the project's environments in one query.
      const ids = new Set(releases.map((r) => r.environmentId));
      const [only] = ids;
      const found = ids.size > 1 ? await deps.store.listEnvironments(project.id) : only === undefined ? [] : [await deps.store.findEnvironmentById(only)];
      const byId = new Map(found.flatMap((env) => (env && ids.has(env.id) ? [[env.id, env] as const] : [])));
      return releaseVerdicts(deps, caller, project, releases, byId, (env) => environmentFacts(env, [...byId.values()]));
    },
  };
}

async function releaseVerdicts(
  deps: ServiceDeps,
  caller: Caller,
  project: ProjectRow,
  releases: readonly ReleaseRow[],
  envs: ReadonlyMap<string, EnvironmentRow>,
  environmentFacts: (env: EnvironmentRow) => Promise<EnvironmentFacts>,
): Promise<Map<string, ReleaseActions>> {
  const waiting = releases.filter((r) => r.state === 'waiting').map((r) => r.id);
  const decisions = new Map<string, ApprovalRow[]>();
  for (const row of waiting.length === 0 ? [] : await deps.store.listApprovalsOfReleases(waiting)) decisions.set(row.releaseId, [...(decisions.get(row.releaseId) ?? []), row]);
  // Each release's lineage in its environment's `from`: two queries per upstream environment, not two per release.
  const deploymentsFrom = new Map<string, Set<string>>();
  for (const release of releases) {
    const env = envs.get(release.environmentId);
    const from = env ? policyOf(env).from : null;
    if (from !== null) deploymentsFrom.set(from, (deploymentsFrom.get(from) ?? new Set<string>()).add(release.deploymentId));
  }
  const lineages = new Map<string, Lineage>();
  for (const [from, ids] of deploymentsFrom) {
    for (const [id, lineage] of await lineagesOf(deps.store, project, from, [...ids])) lineages.set(`${from}\n${id}`, lineage);
  }
  // The waiting ones' approval facts: two queries for all of them.
  const asked = releases.flatMap((release) => {
    const env = release.state === 'waiting' ? envs.get(release.environmentId) : undefined;
    return env ? [{ release, policy: policyOf(env).approvals, given: decisions.get(release.id) ?? [] }] : [];
  });
  const approvals = new Map((await approvalFactsOfReleases(deps.store, asked)).map((facts, index) => [asked[index]?.release.id, facts]));
  // Only a release rolling out can have a rollout running: one read each (one per environment at most).
  const rollouts = new Map<string, RolloutState>();
  for (const release of releases) {
    if (release.state !== 'rolling_out') continue;
    const rollout = await deps.store.findRolloutByRelease(release.id);
    if (rollout) rollouts.set(release.id, rollout.state);
  }
  const out = new Map<string, ReleaseActions>();
  for (const release of releases) {
    const env = envs.get(release.environmentId);
    if (!env) continue;
    const policy = policyOf(env);
    const given = decisions.get(release.id) ?? [];
    const lineage = policy.from === null ? null : (lineages.get(`${policy.from}\n${release.deploymentId}`) ?? null);
    const facts: ReleaseFacts = {
      release,
      environment: await environmentFacts(env),
      decisions: given,
      approval: approvals.get(release.id) ?? NO_APPROVAL_FACTS,
      lineage,
      rollout: rollouts.get(release.id) ?? null,
    };
    out.set(release.id, releaseActions(caller, facts));
  }
  return out;
}
