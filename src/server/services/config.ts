import { planConfigChange, type ConfigEntry } from '../../core/config-vars.ts';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import { assertName } from '../../core/names.ts';
import type { Actor } from '../../core/release-planner.ts';
import { newEnvironmentRow, type ConfigVersionRow, type EnvironmentRow, type ProjectRow, type ReleaseRow, type Store } from '../../store/store.ts';
import { requireRole } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { getEnvironment } from './environments.ts';
import { recordEvent } from './events.ts';
import { newId } from './ids.ts';
import { proposeRelease } from './pipeline.ts';
import { getProject } from './projects.ts';

/**
 * Config vars of an environment (core/config-vars.ts has the rules). Each change writes a new
 * version — a sealed snapshot of every var — in one transaction with its audit event, which
 * names keys only. In a service environment with a live release the change also proposes a
 * `config` release: the live deployment with the new version, held only by a lock or a freeze
 * (core/gates CONFIG_GATES), rolled out like any release. Promotions carry the environment's
 * latest version, rollbacks their target's (pipeline.ts).
 *
 * Values leave the store in two ways only: to an agent of the environment, for the release it
 * runs (agentReleaseConfig), and never to a person — people see keys, who set each when, and
 * a keyed fingerprint to compare values by.
 */

/** Hex characters of a fingerprint shown. */
const FINGERPRINT_CHARS = 12;
/** Keys a release's reason names before it says "and N more". */
const REASON_KEYS = 8;

export interface ConfigVarView {
  key: string;
  fingerprint: string;
  size: number;
  version: number;
  setAt: string;
  setBy: string;
}

export interface ConfigView {
  project: ProjectRow;
  environment: EnvironmentRow;
  /** The latest version; 0 when there is none. */
  version: number;
  createdAt: string | null;
  createdBy: string | null;
  vars: ConfigVarView[];
  /** The live release and the config version it runs with. */
  live: { releaseId: string; number: number; configVersion: number | null } | null;
}

export interface ConfigChangeInput {
  set?: Record<string, string> | undefined;
  unset?: string[] | undefined;
}

export interface ChangedConfigView extends ConfigView {
  changed: boolean;
  set: string[];
  unset: string[];
  release: ReleaseRow | null;
}

async function viewOf(store: Store, project: ProjectRow, environment: EnvironmentRow, latest: ConfigVersionRow | undefined): Promise<ConfigView> {
  const live = environment.releaseId === null ? undefined : await store.findRelease(environment.releaseId);
  const encoder = new TextEncoder();
  return {
    project,
    environment,
    version: latest?.version ?? 0,
    createdAt: latest?.createdAt ?? null,
    createdBy: latest?.createdBy ?? null,
    vars: Object.entries(latest?.vars ?? {})
      .map(([key, v]) => ({ key, fingerprint: v.fingerprint.slice(0, FINGERPRINT_CHARS), size: encoder.encode(v.value).length, version: v.version, setAt: v.at, setBy: v.by }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    live: live ? { releaseId: live.id, number: live.number, configVersion: live.configVersion } : null,
  };
}

/** Keys, who set each when, fingerprints: never a value (viewer). */
export async function listConfig(deps: ServiceDeps, actor: Actor, projectName: string, envName: string): Promise<ConfigView> {
  requireRole(actor, 'viewer');
  const { project, environment } = await getEnvironment(deps, projectName, envName);
  return viewOf(deps.store, project, environment, await deps.store.findLatestConfigVersion(environment.id));
}

function reasonOf(version: number, set: string[], unset: string[]): string {
  const named = (verb: string, keys: string[]) =>
    keys.length === 0 ? [] : [`${verb} ${keys.slice(0, REASON_KEYS).join(', ')}${keys.length > REASON_KEYS ? ` and ${keys.length - REASON_KEYS} more` : ''}`];
  return `config v${version}: ${[...named('set', set), ...named('unset', unset)].join('; ')}`;
}

/**
 * Sets and unsets vars (admin): a new version when anything differs, audited as
 * `config.change` with the keys; in a service environment with a live release, a `config`
 * release of its deployment. A refused change (CONFIG_INVALID_KEY, CONFIG_TOO_LARGE,
 * INVALID_REQUEST) writes nothing, not even the environment. An environment is made by its
 * first use, so vars can be set before the first deploy.
 */
export async function changeConfig(deps: ServiceDeps, actor: Actor, projectName: string, envName: string, input: ConfigChangeInput): Promise<ChangedConfigView> {
  requireRole(actor, 'admin');
  const project = await getProject(deps, projectName);
  assertName('environment', envName);
  const change = { set: new Map(Object.entries(input.set ?? {})), unset: input.unset ?? [] };
  // Every rule that does not depend on what is there is checked before the environment is made.
  planConfigChange(new Map(), change, { version: 1, at: '', by: '' });
  const now = deps.clock.now();
  const seen = await deps.store.ensureEnvironment(newEnvironmentRow({ id: newId('env'), projectId: project.id, name: envName, createdAt: now.toISOString() }));
  return deps.store.transaction(async (tx) => {
    const scoped: ServiceDeps = { ...deps, store: tx };
    // The pipeline's lock: a promotion reading the latest version and this change take turns.
    await tx.lockPipeline(project.id);
    const env = (await tx.findEnvironmentById(seen.id)) ?? seen;
    const latest = await tx.findLatestConfigVersion(env.id);
    const version = (latest?.version ?? 0) + 1;
    const current = new Map<string, ConfigEntry>(Object.entries(latest?.vars ?? {}).map(([key, v]) => [key, { value: v.value, version: v.version, at: v.at, by: v.by }]));
    const plan = planConfigChange(current, change, { version, at: now.toISOString(), by: actor.name });
    if (!plan.changed) return { ...(await viewOf(tx, project, env, latest)), changed: false, set: [], unset: [], release: null };
    await tx.insertConfigVersion({ environmentId: env.id, version, vars: Object.fromEntries(plan.vars), createdAt: now.toISOString(), createdBy: actor.name });
    await recordEvent(tx, now, actor, 'config.change', {
      projectId: project.id,
      environment: env.name,
      target: `config v${version}`,
      before: { version: latest?.version ?? 0 },
      after: { version, set: plan.set, unset: plan.unset },
    });
    // Releases that have not started yet go out with the vars as they are now.
    await tx.carryConfigVersion(env.id, version);
    let release: ReleaseRow | null = null;
    if (env.releaseId !== null && env.deploymentId !== null && (await tx.findDeployment(env.deploymentId))?.meta.service !== undefined) {
      release =
        (await proposeRelease(scoped, actor, project, env, {
          deploymentId: env.deploymentId,
          kind: 'config',
          reason: reasonOf(version, plan.set, plan.unset),
          force: false,
          configVersion: version,
        })) ?? null;
    }
    const after = (await tx.findEnvironmentById(env.id)) ?? env;
    return { ...(await viewOf(tx, project, after, await tx.findLatestConfigVersion(env.id))), changed: true, set: plan.set, unset: plan.unset, release };
  });
}

/**
 * The vars a release runs with, for the agent `actor` speaks for: only a release of that
 * agent's own environment; any other is RELEASE_NOT_FOUND, as if it did not exist.
 */
export async function agentReleaseConfig(deps: ServiceDeps, actor: Actor, releaseId: string): Promise<{ version: number | null; vars: Record<string, string> }> {
  requireRole(actor, 'agent');
  const agent = actor.agentId === undefined ? undefined : await deps.store.findAgent(actor.agentId);
  if (!agent || agent.retiredAt !== null) throw new SlipwayError(ErrorCode.AGENT_NOT_FOUND, 'this credential speaks for no agent', { agent: actor.agentId ?? null });
  const release = await deps.store.findRelease(releaseId);
  if (!release || release.projectId !== agent.projectId || release.environmentId !== agent.environmentId) {
    throw new SlipwayError(ErrorCode.RELEASE_NOT_FOUND, `no release ${releaseId} in this agent's environment`, { release: releaseId });
  }
  if (release.configVersion === null) return { version: null, vars: {} };
  const row = await deps.store.findConfigVersion(release.environmentId, release.configVersion);
  if (!row) throw new Error(`config v${release.configVersion} of release ${release.id} is missing`);
  const vars: Record<string, string> = {};
  for (const [key, v] of Object.entries(row.vars)) Object.defineProperty(vars, key, { value: v.value, enumerable: true, writable: true, configurable: true });
  return { version: row.version, vars };
}
