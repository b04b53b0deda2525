import { parseWindows } from '../../core/deploy-windows.ts';
import { DEFAULT_BRANCH_ROLE } from '../../core/glossary.ts';
import { parseDuration } from '../../core/duration.ts';
import { MAX_DEADLINE_MS } from '../../core/rollout-planner.ts';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import { DEFAULT_APPROVALS, DEFAULT_POLICY, DEFAULT_ROLLOUT, type ApprovalPolicy, type EnvironmentPolicy, type RolloutPolicy } from '../../core/gates/index.ts';
import { assertName } from '../../core/names.ts';
import { findCycle } from '../../core/pipeline-topology.ts';
import type { Actor } from '../../core/release-planner.ts';
import { formatConfigError, locateConfigPath, parseSlipwayConfig, policyFromConfig, type ConfigError } from '../../core/slipway-config.ts';
import { newEnvironmentRow, type BuildRow, type EnvironmentRow, type ProjectRow } from '../../store/store.ts';
import { requireRole } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { recordEvent } from './events.ts';
import { newId } from './ids.ts';
import { policyOf } from './pipeline.ts';
import { wakePipeline } from './pipeline-wake.ts';
import { getProject } from './projects.ts';

/**
 * Where an environment's policy comes from. A candidate never relaxes its own gates: the
 * policy in force is the one of the latest successful build of the project's default branch
 * (its `slipway.yaml`), or the one an admin set by CLI/API, whichever came last. Every change
 * is an audited `environment.policy` event naming the commit or the person.
 */

/** A pipeline is a handful of stages; a slipway.yaml declaring thousands is a mistake or an attack on the completion of its build. */
const MAX_DECLARED_ENVIRONMENTS = 100;

/** The policy as stored: everything but `follows`, which lives in its own column (previews use it). */
export type StoredPolicy = Omit<EnvironmentPolicy, 'follows'>;

function stored(policy: EnvironmentPolicy): StoredPolicy {
  const { follows: _follows, ...rest } = policy;
  return rest;
}

function samePolicy(a: EnvironmentPolicy, b: EnvironmentPolicy): boolean {
  return JSON.stringify({ ...a, checks: [...a.checks].sort(), requires: [...a.requires].sort() }) === JSON.stringify({ ...b, checks: [...b.checks].sort(), requires: [...b.requires].sort() });
}

async function requiredProjectIds(deps: ServiceDeps, project: ProjectRow, policy: EnvironmentPolicy, where: (index: number) => string): Promise<string[]> {
  const ids: string[] = [];
  for (const [index, name] of policy.requires.entries()) {
    if (name === project.name) throw new SlipwayError(ErrorCode.POLICY_INVALID, `${where(index)}: a project cannot require itself`, { project: name });
    const other = await deps.store.findProjectByName(name);
    if (!other) throw new SlipwayError(ErrorCode.POLICY_INVALID, `${where(index)}: no project "${name}"`, { project: name });
    ids.push(other.id);
  }
  return ids;
}

async function writePolicy(
  deps: ServiceDeps,
  actor: Actor,
  project: ProjectRow,
  env: EnvironmentRow,
  policy: EnvironmentPolicy | null,
  source: string,
  requiredIds: string[],
): Promise<boolean> {
  const before = env.policy === null ? null : policyOf(env);
  const after = policy;
  if (before !== null && after !== null && samePolicy(before, after)) return false;
  if (before === null && after === null) return false;
  const now = deps.clock.now();
  await deps.store.setEnvironmentPolicy(env.id, after === null ? null : stored(after), source, now.toISOString(), requiredIds);
  const follows = after?.follows ?? null;
  if (!env.preview && env.follows !== follows) await deps.store.setEnvironmentFollow(env.id, follows, false);
  await recordEvent(deps.store, now, actor, 'environment.policy', {
    projectId: project.id,
    environment: env.name,
    target: source,
    before,
    after,
  });
  await wakePipeline(deps.store, deps.clock, project.id, `policy of ${env.name} changed (${source})`);
  return true;
}

/**
 * A successful build of the default branch's head sets the policy of every environment its
 * `slipway.yaml` declares, and clears the policy of environments an earlier `slipway.yaml`
 * declared but this one does not. Returns the environments whose policy changed. Throws
 * POLICY_INVALID, naming the yaml line, for what only the server can check (a `requires:`
 * naming a project that does not exist).
 */
export async function applyConfigPolicy(deps: ServiceDeps, project: ProjectRow, build: BuildRow, configText: string): Promise<string[]> {
  const parsed = parseSlipwayConfig(configText);
  if (!parsed.ok) {
    throw new SlipwayError(ErrorCode.POLICY_INVALID, parsed.errors.map((e) => formatConfigError(e)).join('\n'), { errors: parsed.errors });
  }
  const declared = parsed.config.environments ?? {};
  if (Object.keys(declared).length > MAX_DECLARED_ENVIRONMENTS) {
    throw new SlipwayError(ErrorCode.POLICY_INVALID, `slipway.yaml declares ${Object.keys(declared).length} environments; at most ${MAX_DECLARED_ENVIRONMENTS} are allowed`, {});
  }
  const source = `commit ${build.commitSha}`;
  const actor: Actor = { name: 'slipway.yaml', role: 'admin', trigger: 'automation' };
  const plans: { env: EnvironmentRow; policy: EnvironmentPolicy; ids: string[] }[] = [];
  for (const [name, config] of Object.entries(declared)) {
    const policy = policyFromConfig(config);
    const ids = await requiredProjectIds(deps, project, policy, (index) => {
      const at: ConfigError | undefined = locateConfigPath(configText, ['environments', name, 'requires', index]);
      return at ? `slipway.yaml:${at.line}:${at.col} environments.${name}.requires` : `environments.${name}.requires`;
    });
    const env = await deps.store.ensureEnvironment(newEnvironmentRow({ id: newId('env'), projectId: project.id, name, createdAt: deps.clock.now().toISOString() }));
    plans.push({ env, policy, ids });
  }
  const changed: string[] = [];
  for (const { env, policy, ids } of plans) {
    if (await writePolicy(deps, actor, project, env, policy, source, ids)) changed.push(env.name);
  }
  for (const env of await deps.store.listEnvironments(project.id)) {
    if (env.name in declared || env.policy === null || !(env.policySource ?? '').startsWith('commit ')) continue;
    if (await writePolicy(deps, actor, project, env, null, source, [])) changed.push(env.name);
  }
  return changed;
}

export interface PolicyInput {
  follows?: string | null | undefined;
  from?: string | null | undefined;
  auto?: boolean | undefined;
  checks?: string[] | undefined;
  mode?: EnvironmentPolicy['mode'] | undefined;
  maxCommits?: number | undefined;
  requires?: string[] | undefined;
  windows?: string[] | undefined;
  expedite?: EnvironmentPolicy['expedite'] | undefined;
  /** A duration (`10m`); null or `0` clears it. */
  soak?: string | null | undefined;
  /** Fields given replace the current ones; null clears the approvals. */
  approvals?: Partial<ApprovalPolicy> | null | undefined;
  /** Fields given replace the current ones; durations like `10s`. */
  rollout?:
    | {
        maxUnavailable?: number | string | undefined;
        drain?: string | undefined;
        healthTimeout?: string | undefined;
        prepareTimeout?: string | undefined;
        releaseTimeout?: string | undefined;
      }
    | undefined;
}

/**
 * `slipway env set production --from staging --checks ci/test …`: an admin sets (or with
 * `reset` clears) one environment's policy; fields not given keep their value. Refused with
 * POLICY_INVALID for a `from` that names no environment (or forms a cycle), a `requires`
 * naming no project or used without `from`.
 */
export async function setEnvironmentPolicy(
  deps: ServiceDeps,
  actor: Actor,
  projectName: string,
  envName: string,
  input: PolicyInput & { reset?: boolean | undefined },
): Promise<EnvironmentRow> {
  requireRole(actor, 'admin');
  assertName('environment', envName);
  const project = await getProject(deps, projectName);
  return deps.store.transaction(async (tx) => {
    const scoped: ServiceDeps = { ...deps, store: tx };
    const env = await tx.ensureEnvironment(newEnvironmentRow({ id: newId('env'), projectId: project.id, name: envName, createdAt: deps.clock.now().toISOString() }));
    // An environment without a policy starts from the declared defaults, not from policyOf's
    // stand-in for undeclared environments (which lifts max_commits for previews).
    const base = input.reset ? { ...DEFAULT_POLICY, follows: null } : env.policy === null ? { ...DEFAULT_POLICY, follows: env.follows } : policyOf(env);
    const policy: EnvironmentPolicy = {
      follows: input.follows === undefined ? base.follows : input.follows,
      from: input.from === undefined ? base.from : input.from,
      auto: input.auto ?? base.auto,
      checks: input.checks ?? base.checks,
      mode: input.mode ?? base.mode,
      maxCommits: input.maxCommits ?? base.maxCommits,
      requires: input.requires ?? base.requires,
      windows: input.windows ?? base.windows,
      expedite: input.expedite ?? base.expedite,
      soakMs: input.soak === undefined ? base.soakMs : input.soak === null || input.soak === '0' ? 0 : parseDuration(input.soak),
      approvals: approvalsOf(base.approvals, input.approvals),
      rollout: rolloutOf(base.rollout ?? DEFAULT_ROLLOUT, input.rollout),
    };
    const windows = parseWindows(policy.windows);
    if (!windows.ok) throw new SlipwayError(ErrorCode.POLICY_INVALID, `windows: ${windows.error}`, { window: policy.windows[windows.index] });
    if (policy.from !== null) {
      if (policy.from === envName) throw new SlipwayError(ErrorCode.POLICY_INVALID, `${envName} cannot come from itself`, { from: policy.from });
      if (!(await tx.findEnvironment(project.id, policy.from))) {
        throw new SlipwayError(ErrorCode.POLICY_INVALID, `from: no environment "${policy.from}" in ${projectName}`, { from: policy.from });
      }
      const envs = await tx.listEnvironments(project.id);
      const graph = envs.map((e) => ({ name: e.name, from: e.id === env.id ? policy.from : policyOf(e).from }));
      const cycle = findCycle(graph);
      if (cycle) throw new SlipwayError(ErrorCode.POLICY_INVALID, `from: ${cycle.join(' → ')} is a cycle`, { cycle });
    }
    if (policy.soakMs > 0 && policy.from === null) {
      throw new SlipwayError(ErrorCode.POLICY_INVALID, 'soak needs from: it is how long a deployment must have been live there', {});
    }
    if (policy.requires.length > 0 && policy.from === null) {
      throw new SlipwayError(ErrorCode.POLICY_INVALID, 'requires needs from: what was tested together upstream is what goes out in order', {});
    }
    if (policy.auto && policy.from === null && policy.follows === null) {
      throw new SlipwayError(ErrorCode.POLICY_INVALID, 'auto needs follows or from: there is nothing to take releases from', {});
    }
    if (policy.maxCommits < 1) throw new SlipwayError(ErrorCode.POLICY_INVALID, 'max commits must be at least 1', { maxCommits: policy.maxCommits });
    const ids = await requiredProjectIds(scoped, project, policy, () => 'requires');
    const cleared = input.reset && Object.keys(input).length === 1;
    await writePolicy(scoped, actor, project, env, cleared ? null : policy, `user ${actor.name}`, ids);
    return (await tx.findEnvironmentById(env.id)) ?? env;
  });
}

function rolloutOf(base: RolloutPolicy, input: PolicyInput['rollout']): RolloutPolicy {
  if (input === undefined) return base;
  const duration = (field: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    try {
      const ms = parseDuration(text);
      if (ms > MAX_DEADLINE_MS) throw new Error(`at most 7d, not "${text}"`);
      return ms;
    } catch (err) {
      throw new SlipwayError(ErrorCode.POLICY_INVALID, `rollout ${field}: ${err instanceof Error ? err.message : String(err)}`, { [field]: text });
    }
  };
  return {
    maxUnavailable: (input.maxUnavailable ?? base.maxUnavailable) as RolloutPolicy['maxUnavailable'],
    drainMs: duration('drain', input.drain, base.drainMs),
    healthTimeoutMs: duration('health timeout', input.healthTimeout, base.healthTimeoutMs),
    prepareTimeoutMs: duration('prepare timeout', input.prepareTimeout, base.prepareTimeoutMs),
    releaseTimeoutMs: duration('release timeout', input.releaseTimeout, base.releaseTimeoutMs),
  };
}

function approvalsOf(base: ApprovalPolicy, input: Partial<ApprovalPolicy> | null | undefined): ApprovalPolicy {
  if (input === undefined) return base;
  if (input === null) return DEFAULT_APPROVALS;
  const roles = input.roles === undefined ? base.roles : [...new Set(input.roles)];
  if (roles.length === 0) throw new SlipwayError(ErrorCode.POLICY_INVALID, 'approval roles: name at least one role (viewer, deployer, approver, admin)', {});
  const count = input.count ?? base.count;
  if (!Number.isInteger(count) || count < 0 || count > 50) throw new SlipwayError(ErrorCode.POLICY_INVALID, 'approvals: count is a whole number from 0 to 50', { count });
  return { count, roles, authors: input.authors === undefined ? base.authors : input.authors };
}

/** The project's default branch: its builds' `slipway.yaml` sets the policy. */
export async function setDefaultBranch(deps: ServiceDeps, actor: Actor, projectName: string, branch: string): Promise<ProjectRow> {
  requireRole(actor, DEFAULT_BRANCH_ROLE);
  const project = await getProject(deps, projectName);
  if (!/^[A-Za-z0-9._/-]{1,200}$/.test(branch) || branch.includes('..')) {
    throw new SlipwayError(ErrorCode.INVALID_NAME, `invalid branch name "${branch}"`, { branch });
  }
  await deps.store.transaction(async (tx) => {
    await tx.setProjectDefaultBranch(project.id, branch);
    await recordEvent(tx, deps.clock.now(), actor, 'project.default_branch', { projectId: project.id, target: branch, before: project.defaultBranch ?? 'main', after: branch });
  });
  return { ...project, defaultBranch: branch };
}

