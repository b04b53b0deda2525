import { batchBetween, isAncestor, type CommitLookup } from '../../core/commit-graph.ts';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import { DEFAULT_POLICY, evaluate, GateCode, redRequiredCheck, type Candidate, type EnvironmentPolicy, type Freeze, type GateFacts, type GateVerdict, type Lineage } from '../../core/gates/index.ts';
import type { ReleaseKind, ReleaseState } from '../../core/glossary.ts';
import { isHotfixBranch, productionEnvironment } from '../../core/hotfix.ts';
import { orderEnvironments } from '../../core/pipeline-topology.ts';
import { assertTransition } from '../../core/release-lifecycle.ts';
import type { Actor } from '../../core/release-planner.ts';
import type { BuildRow, EnvironmentRow, ProjectRow, ReleaseBatch, ReleaseRow, Store } from '../../store/store.ts';
import type { ServiceDeps } from './deps.ts';
import { approvalFactsOf } from './approval-facts.ts';
import { holdsForRollout } from './rollouts.ts';
import { recordEvent } from './events.ts';
import { newId } from './ids.ts';
import { queueReleaseNotifications } from './notifications.ts';
import { wakePipeline } from './pipeline-wake.ts';

/**
 * The pipeline engine: releases are proposed (by a person, a branch that built, or an
 * upstream environment that went live), looked at by the one gate evaluator, and moved through
 * the lifecycle of core/release-lifecycle.ts. Only the move to `live` moves an environment's
 * pointer. Everything here runs inside the caller's transaction; what waits is looked at again
 * by a `pipeline.evaluate` job when something that gates it changes (wakePipeline) or at the
 * time its gates named (recheckAt).
 */

/** Slipway's own moves act with this identity: they respect pins, locks and every gate. */
export const AUTOMATION: Actor = { name: 'slipway', role: 'deployer', trigger: 'automation' };

/** Commits walked at most when a batch or an ancestry is worked out. */
const GRAPH_LIMIT = 1000;

/**
 * The policy in force. Previews and environments nobody declared follow their branch as they
 * always did: no batch limit holds them (max_commits is a promise of `auto:` environments).
 */
export function policyOf(env: EnvironmentRow): EnvironmentPolicy {
  if (env.policy === null || env.preview) return { ...DEFAULT_POLICY, maxCommits: Number.MAX_SAFE_INTEGER, follows: env.follows };
  // A policy stored before a rollout field existed has the field's default.
  return { ...DEFAULT_POLICY, ...env.policy, rollout: { ...DEFAULT_POLICY.rollout, ...env.policy.rollout }, follows: env.follows };
}

// ---------------------------------------------------------------------------------------------
// the commit graph, loaded on demand

/**
 * Loads the commits reachable from `heads` (at most `limit` from each) into a lookup the pure
 * graph code walks. The store reads the project's recent history in one query and walks it in
 * memory (`listAncestry`): a walk of one query per commit cost a round trip per commit of a
 * linear history. A head already reached from an earlier one is not walked again.
 */
export async function loadCommitGraph(store: Store, projectId: string, heads: (string | null)[], limit = GRAPH_LIMIT): Promise<CommitLookup> {
  const known = new Map<string, { parents: string[] }>();
  for (const head of new Set(heads)) {
    if (head === null || known.has(head)) continue;
    for (const row of await store.listAncestry(projectId, head, limit)) known.set(row.sha, { parents: row.parents });
  }
  return (sha) => known.get(sha);
}

async function commitOfDeployment(store: Store, deploymentId: string | null): Promise<string | null> {
  if (deploymentId === null) return null;
  return (await store.findDeployment(deploymentId))?.meta.commit ?? null;
}

async function batchOf(store: Store, projectId: string, base: string | null, head: string | null): Promise<ReleaseBatch | null> {
  if (head === null) return null;
  // The first release of an environment carries its commit; all of history would say nothing.
  if (base === null) return { base, commits: [head], truncated: false };
  const lookup = await loadCommitGraph(store, projectId, [head, base]);
  const batch = batchBetween(lookup, base, head, GRAPH_LIMIT);
  return { base, commits: batch.commits, truncated: batch.truncated };
}

// ---------------------------------------------------------------------------------------------
// facts

/** The last release that put `deploymentId` live upstream, and what became of it there: live now, once live, rolled back, or never there. */
async function upstreamRun(store: Store, upstream: EnvironmentRow | undefined, deploymentId: string): Promise<{ lineage: Lineage; last: ReleaseRow | undefined }> {
  if (!upstream) return { lineage: 'never', last: undefined };
  const last = await store.findLatestReleaseOfDeployment(upstream.id, deploymentId);
  return { lineage: lineageFrom(upstream, deploymentId, last), last };
}

/** What became of `deploymentId` upstream, given the last release that put it live there. */
function lineageFrom(upstream: EnvironmentRow, deploymentId: string, last: ReleaseRow | undefined): Lineage {
  if (upstream.deploymentId === deploymentId) return 'live';
  if (!last) return 'never';
  return last.state === 'rolled_back' ? 'rolled_back' : 'was_live';
}

async function lineageIn(store: Store, upstream: EnvironmentRow | undefined, deploymentId: string): Promise<Lineage> {
  return (await upstreamRun(store, upstream, deploymentId)).lineage;
}

/** What the gates need of the upstream environment: the lineage, and how long the candidate was live there (soak). */
async function upstreamFacts(store: Store, name: string, upstream: EnvironmentRow | undefined, deploymentId: string): Promise<NonNullable<GateFacts['upstream']>> {
  const { lineage, last } = await upstreamRun(store, upstream, deploymentId);
  if (lineage === 'never') return { name, lineage };
  return { name, lineage, liveAt: last?.liveAt ?? null, endedAt: lineage === 'live' ? null : (last?.endedAt ?? null) };
}

/** Lineage of a deployment in the environment `from` of a project. */
export async function lineageOf(store: Store, project: ProjectRow, from: string, deploymentId: string): Promise<Lineage> {
  return lineageIn(store, await store.findEnvironment(project.id, from), deploymentId);
}

/** lineageOf for many deployments (a page of releases), in two queries: by deployment id. */
export async function lineagesOf(store: Store, project: ProjectRow, from: string, deploymentIds: readonly string[]): Promise<Map<string, Lineage>> {
  const upstream = await store.findEnvironment(project.id, from);
  const last = upstream ? await store.findLatestReleasesOfDeployments(upstream.id, deploymentIds) : new Map<string, ReleaseRow>();
  return new Map(deploymentIds.map((id) => [id, upstream ? lineageFrom(upstream, id, last.get(id)) : 'never']));
}

/**
 * `requires: [infra]` on environment X (upstream U): the release of infra that was live in
 * infra's U when the candidate was live in this project's U must be what infra's X runs, or
 * older than it.
 */
async function requirementsOf(store: Store, project: ProjectRow, env: EnvironmentRow, policy: EnvironmentPolicy, deploymentId: string): Promise<GateFacts['requires']> {
  const out: GateFacts['requires'] = [];
  if (policy.requires.length === 0 || policy.from === null) return out;
  const ownUpstream = await store.findEnvironment(project.id, policy.from);
  const candidateUpstream = ownUpstream ? await store.findLatestReleaseOfDeployment(ownUpstream.id, deploymentId) : undefined;
  for (const name of policy.requires) {
    const other = await store.findProjectByName(name);
    if (!other) {
      out.push({ project: name, environment: env.name, satisfied: false, needs: `project ${name}, which does not exist` });
      continue;
    }
    const otherUpstream = await store.findEnvironment(other.id, policy.from);
    const otherTarget = await store.findEnvironment(other.id, env.name);
    const at = candidateUpstream?.liveAt ?? null;
    const needed = otherUpstream && at !== null ? await store.findReleaseLiveAt(otherUpstream.id, at) : undefined;
    if (!needed) {
      // Nothing of `other` was live upstream alongside the candidate: nothing to wait for.
      out.push({ project: name, environment: env.name, satisfied: true, needs: null });
      continue;
    }
    const label = `${name} ${needed.deploymentId} (${policy.from} v${needed.number})`;
    let satisfied = false;
    if (otherTarget?.deploymentId) {
      if (otherTarget.deploymentId === needed.deploymentId) satisfied = true;
      else if (otherUpstream) {
        const runs = await store.findLatestReleaseOfDeployment(otherUpstream.id, otherTarget.deploymentId);
        satisfied = runs?.liveAt != null && needed.liveAt != null && runs.liveAt >= needed.liveAt;
      }
    }
    out.push({ project: name, environment: env.name, satisfied, needs: label });
  }
  return out;
}

/** Freezes of `env` that have not ended by `now`. */
export async function freezesOf(store: Store, env: EnvironmentRow, now: Date): Promise<Freeze[]> {
  const rows = await store.listFreezes(env.id, now.toISOString());
  return rows.map((r) => ({ id: r.id, from: r.from, until: r.until, reason: r.reason, createdBy: r.createdBy }));
}

async function gateFacts(
  store: Store,
  project: ProjectRow,
  env: EnvironmentRow,
  policy: EnvironmentPolicy,
  release: ReleaseRow,
  queueAhead: { number: number } | null,
  now: Date,
): Promise<GateFacts> {
  const upstreamEnv = policy.from === null ? undefined : await store.findEnvironment(project.id, policy.from);
  const checks: GateFacts['checks'] = {};
  if (release.commitSha !== null) {
    for (const check of await store.listChecks(project.id, release.commitSha)) checks[check.name] = { state: check.state, url: check.url };
  }
  return {
    environment: {
      name: env.name,
      deploymentId: env.deploymentId,
      pinnedBy: env.pinnedBy,
      lockedBy: env.lockedBy,
      lockedReason: env.lockedReason,
      lockedAt: env.lockedAt,
      lockedUntil: env.lockedUntil,
    },
    upstream: policy.from === null ? null : await upstreamFacts(store, policy.from, upstreamEnv, release.deploymentId),
    checks,
    requires: await requirementsOf(store, project, env, policy, release.deploymentId),
    queueAhead,
    freezes: await freezesOf(store, env, now),
    approvals: await approvalFactsOf(store, release, policy.approvals),
  };
}

function candidateOf(release: ReleaseRow): Candidate {
  return {
    kind: release.kind,
    deploymentId: release.deploymentId,
    commit: release.commitSha,
    branch: release.branch,
    trigger: release.trigger,
    forced: release.forced,
    expedited: release.expedited,
    batch: { count: release.batch?.commits.length ?? 0, truncated: release.batch?.truncated ?? false },
  };
}

// ---------------------------------------------------------------------------------------------
// transitions

/** Moves a release by compare-and-set from the state it was read in, with its audit event. */
async function transition(
  deps: ServiceDeps,
  project: ProjectRow,
  env: EnvironmentRow,
  release: ReleaseRow,
  to: ReleaseState,
  fields: { reason?: string | null; supersededBy?: string | null; gates?: GateVerdict | null; recheckAt?: string | null; actor?: Actor } = {},
): Promise<ReleaseRow> {
  assertTransition(release.state, to);
  const now = deps.clock.now().toISOString();
  const changes: Partial<ReleaseRow> = { state: to };
  if (fields.reason !== undefined) changes.stateReason = fields.reason;
  if (fields.supersededBy !== undefined) changes.supersededBy = fields.supersededBy;
  if (fields.gates !== undefined) changes.gates = fields.gates;
  if (fields.recheckAt !== undefined) changes.recheckAt = fields.recheckAt;
  if (fields.gates !== undefined) changes.evaluatedAt = now;
  if (to === 'live') changes.liveAt = now;
  if (['failed', 'canceled', 'superseded', 'rolled_back'].includes(to)) changes.endedAt = now;
  if (!(await deps.store.transitionRelease(release.id, release.state, changes))) {
    throw new SlipwayError(ErrorCode.RELEASE_CONFLICT, `release v${release.number} of ${env.name} changed while it was being moved; look again`, {
      release: release.id,
    });
  }
  await recordEvent(deps.store, deps.clock.now(), fields.actor ?? AUTOMATION, `release.${to}`, {
    projectId: project.id,
    environment: env.name,
    target: release.id,
    reason: fields.reason ?? null,
    before: { state: release.state },
    after: { state: to, release: `v${release.number}`, deployment: release.deploymentId, ...(fields.supersededBy ? { supersededBy: fields.supersededBy } : {}) },
  });
  const moved = { ...release, ...changes };
  // Announced exactly when the move commits: the deliveries are written in its transaction.
  await queueReleaseNotifications(deps.store, deps.clock, deps.urls, project, env, moved, release.state);
  return moved;
}

/** What a release that is not live says about itself: its gates while open, how it ended otherwise; undefined while it is still to be looked at. */
export function releaseWaitReason(release: ReleaseRow): string | undefined {
  if (release.state === 'live' || release.state === 'rolling_out') return undefined;
  if (release.state === 'superseded') return `v${release.number} superseded${release.stateReason ? `: ${release.stateReason}` : ''}`;
  if (release.state === 'pending') return undefined;
  return release.stateReason ?? (release.gates ? verdictSummary(release.gates) : undefined);
}

/** One line for a verdict: what holds the release, or why it failed. */
export function verdictSummary(verdict: GateVerdict): string {
  if (verdict.outcome === 'pass') return 'gates passed';
  if (verdict.outcome === 'fail') return verdict.reason.message;
  return verdict.reasons.map((r) => r.message).join('; ');
}

/**
 * Sends a release out: → rolling_out, then live at once for a static site (or a service
 * environment no agent serves), or held `rolling_out` by its rollout (services/rollouts.ts),
 * which completes it (`completeGoLive`) once its instances run it. Returns the release as it
 * is now: live, or still rolling_out.
 */
async function goLive(deps: ServiceDeps, project: ProjectRow, env: EnvironmentRow, release: ReleaseRow, actor: Actor, verdict: GateVerdict | null): Promise<ReleaseRow> {
  let current = release;
  if (current.state !== 'rolling_out') current = await transition(deps, project, env, current, 'rolling_out', { gates: verdict, recheckAt: null, actor });
  if (await holdsForRollout(deps, project, env, current)) return current;
  return completeGoLive(deps, project, env, current, actor);
}

/**
 * Completes a release that is rolling out: rolling_out → live, the pointer moved by
 * compare-and-set from the release number read, the release it replaces ended (superseded, or
 * rolled_back by a rollback), the pin set (a rollback) or cleared (a person's promotion), and
 * open releases the new one contains superseded. A static site's release comes here at once;
 * a service's when its rollout is done.
 */
export async function completeGoLive(deps: ServiceDeps, project: ProjectRow, env: EnvironmentRow, release: ReleaseRow, actor: Actor): Promise<ReleaseRow> {
  let current = release;
  const now = deps.clock.now().toISOString();
  const pin = release.kind === 'rollback' ? { by: release.createdBy, at: now, reason: release.reason } : null;
  const clearsPin = release.kind === 'promote' && release.trigger === 'user';
  const replaced = env.releaseId === null ? undefined : await deps.store.findRelease(env.releaseId);
  const moved = await deps.store.moveEnvironmentTo(env.id, env.releaseNumber, {
    deploymentId: release.deploymentId,
    releaseId: release.id,
    releaseNumber: release.number,
    pin: pin ?? (clearsPin ? null : env.pinnedBy === null ? null : { by: env.pinnedBy, at: env.pinnedAt ?? now, reason: env.pinnedReason }),
  });
  if (!moved) {
    throw new SlipwayError(ErrorCode.RELEASE_CONFLICT, `${env.name} moved while v${release.number} was going live; look again and retry`, {
      expected: env.releaseNumber,
    });
  }
  await deps.store.setReleaseReplacement(release.id, env.deploymentId, env.releaseId);
  current = await transition(deps, project, env, { ...current, previousDeploymentId: env.deploymentId, replacesReleaseId: env.releaseId }, 'live', { actor });
  const common = { projectId: project.id, environment: env.name };
  if (replaced && replaced.state === 'live') {
    await transition(deps, project, env, replaced, release.kind === 'rollback' ? 'rolled_back' : 'superseded', {
      supersededBy: release.kind === 'rollback' ? null : release.id,
      reason: release.kind === 'rollback' ? `rolled back by v${release.number}${release.reason ? `: ${release.reason}` : ''}` : `replaced by v${release.number}`,
      actor,
    });
  }
  if (pin) {
    await recordEvent(deps.store, deps.clock.now(), actor, 'environment.pin', { ...common, target: release.deploymentId, before: { pinnedBy: env.pinnedBy }, after: pin });
  } else if (clearsPin && env.pinnedBy !== null) {
    await recordEvent(deps.store, deps.clock.now(), actor, 'environment.unpin', {
      ...common,
      target: release.deploymentId,
      before: { pinnedBy: env.pinnedBy, reason: env.pinnedReason },
    });
  }
  const liveEnv: EnvironmentRow = {
    ...env,
    deploymentId: release.deploymentId,
    releaseId: release.id,
    releaseNumber: release.number,
    pinnedBy: pin?.by ?? (clearsPin ? null : env.pinnedBy),
    pinnedAt: pin?.at ?? (clearsPin ? null : env.pinnedAt),
    pinnedReason: pin ? pin.reason : clearsPin ? null : env.pinnedReason,
  };
  await supersedeContained(deps, project, liveEnv, current);
  await proposeDownstream(deps, project, liveEnv, current);
  for (const requirer of await deps.store.listProjectsRequiring(project.id)) {
    await wakePipeline(deps.store, deps.clock, requirer, `${project.name} ${env.name} went live with v${release.number}`);
  }
  return current;
}

/**
 * Ends a release whose rollout stopped before it went live: `failed` (its release phase
 * failed; nobody switched) or `rolled_back` (switched instances went back). The pointer never
 * moved; with `pin`, the environment is pinned where it is, so automation does not send the
 * same thing out again before a person looked. Then what queued behind it may go.
 */
export async function endRollingOut(
  deps: ServiceDeps,
  project: ProjectRow,
  env: EnvironmentRow,
  release: ReleaseRow,
  to: 'failed' | 'rolled_back',
  reason: string,
  pin: { by: string; at: string; reason: string } | null,
): Promise<ReleaseRow> {
  const ended = await transition(deps, project, env, release, to, { reason, recheckAt: null });
  if (pin) {
    if (!(await deps.store.pinEnvironment(env.id, env.releaseNumber, pin))) {
      throw new SlipwayError(ErrorCode.RELEASE_CONFLICT, `${env.name} moved while the rollout of v${release.number} ended; look again`, { release: release.id });
    }
    await recordEvent(deps.store, deps.clock.now(), AUTOMATION, 'environment.pin', {
      projectId: project.id,
      environment: env.name,
      target: env.deploymentId ?? release.deploymentId,
      reason: pin.reason,
      before: { pinnedBy: env.pinnedBy },
      after: pin,
    });
  }
  await advanceEnvironment(deps, project, env.id);
  return ended;
}

/**
 * Open releases of `env` that `live` contains (same deployment, or a commit it descends from) are superseded by it.
 * An open `config` release of another deployment would put that one back: it is superseded too,
 * and when `live` is a promotion with an older config version than the environment's latest (the
 * vars changed while it rolled out), a config release of `live`'s deployment takes its place.
 */
async function supersedeContained(deps: ServiceDeps, project: ProjectRow, env: EnvironmentRow, live: ReleaseRow): Promise<void> {
  const open = (await deps.store.listOpenReleases(env.id)).filter((r) => r.id !== live.id);
  if (open.length === 0) return;
  const lookup = live.commitSha === null ? undefined : await loadCommitGraph(deps.store, project.id, [live.commitSha]);
  const staleConfig = open.filter((r) => r.kind === 'config' && r.deploymentId !== live.deploymentId);
  for (const other of staleConfig) {
    await transition(deps, project, env, other, 'superseded', { supersededBy: live.id, reason: `${env.name} moved to v${live.number} (${live.deploymentId}) first` });
  }
  const latest = await deps.store.latestConfigVersionNumber(env.id);
  const last = staleConfig.at(-1);
  if (last && live.kind === 'promote' && latest > (live.configVersion ?? 0)) {
    await proposeRelease(deps, actorOf(last), project, env, {
      deploymentId: live.deploymentId,
      kind: 'config',
      reason: last.reason,
      force: false,
      configVersion: latest,
    });
  }
  for (const other of open) {
    if (staleConfig.includes(other)) continue;
    const contained =
      other.deploymentId === live.deploymentId ||
      (lookup !== undefined && other.commitSha !== null && live.commitSha !== null && isAncestor(lookup, other.commitSha, live.commitSha, GRAPH_LIMIT));
    // A person chose what runs here after automation queued these, or a hotfix went live past
    // them: automation must not undo it later (the default branch brings both, once merged).
    const overruled = !contained && ((live.trigger === 'user' && live.kind !== 'config') || live.expedited) && other.trigger === 'automation' && other.number < live.number;
    if (!contained && !overruled) continue;
    const reason = contained
      ? `contained in v${live.number}, which went live`
      : live.trigger === 'user'
        ? `${live.createdBy} put v${live.number} live after it was queued`
        : `hotfix v${live.number} (${live.branch ?? live.deploymentId}) went live after it was queued; it does not contain the fix`;
    await transition(deps, project, env, other, 'superseded', { supersededBy: live.id, reason });
  }
}

/**
 * Environments that take what `env` ran (`from:` it, `auto: true`) get it proposed. Every
 * environment `from:` it is looked at again: a release already open there (one that follows a
 * branch) may have waited for exactly this, its lineage.
 */
async function proposeDownstream(deps: ServiceDeps, project: ProjectRow, env: EnvironmentRow, live: ReleaseRow): Promise<void> {
  for (const next of await deps.store.listEnvironments(project.id)) {
    if (next.retiredAt !== null || next.id === env.id) continue;
    const policy = policyOf(next);
    if (policy.from !== env.name) continue;
    const proposed = policy.auto
      ? await proposeRelease(deps, AUTOMATION, project, next, {
          deploymentId: live.deploymentId,
          kind: 'promote',
          reason: `live in ${env.name} (v${live.number})`,
          force: false,
        })
      : undefined;
    if (proposed === undefined) await advanceEnvironment(deps, project, next.id);
  }
}

// ---------------------------------------------------------------------------------------------
// proposing and advancing

/**
 * A branch's head built: every environment that follows the branch (its preview, `follows:`)
 * gets the deployment proposed — but only while the branch's head is still that commit, so an
 * older build finishing late never proposes anything. This is the one place the rule lives;
 * a build finishing, a push of an already built commit and git's hooks all come here.
 *
 * A hotfix branch's build (core/hotfix.ts) also enters the pipeline where the default branch
 * does — the environments following it — expedited from there on, unless such an environment
 * already runs a commit that contains it (a hotfix just started sits at production's commit).
 */
export async function proposeForBranch(deps: ServiceDeps, project: ProjectRow, branch: string, build: BuildRow): Promise<void> {
  const deploymentId = build.deploymentId;
  if (deploymentId === null || build.state !== 'succeeded') return;
  const head = await deps.store.findBranch(project.id, branch);
  if (head?.head !== build.commitSha) return;
  const following = await deps.store.listEnvironmentsFollowing(project.id, branch);
  if (isHotfixBranch(branch)) following.push(...(await hotfixEntries(deps.store, project, build.commitSha)).entries);
  for (const env of following) {
    if (env.retiredAt !== null || env.deploymentId === deploymentId) continue;
    if (!env.preview && !policyOf(env).auto && env.policy !== null) continue;
    await proposeRelease(deps, AUTOMATION, project, env, {
      deploymentId,
      kind: 'promote',
      reason: `${branch} at ${build.commitSha.slice(0, 7)} built (${build.id})`,
      force: false,
      branch,
    });
  }
}

/**
 * The environments a hotfix at `commit` enters the pipeline by: those following the default
 * branch, but not one running a commit that contains it. None at all while the hotfix does not
 * contain what production runs (`heldBack` says so): production moved on since it started, or
 * another hotfix went live there, and going live it would undo that.
 */
export async function hotfixEntries(store: Store, project: ProjectRow, commit: string): Promise<{ entries: EnvironmentRow[]; heldBack: string | null }> {
  const envs = (await store.listEnvironments(project.id)).filter((e) => !e.preview && e.retiredAt === null);
  const name = productionEnvironment(envs.map((e) => ({ name: e.name, from: policyOf(e).from })));
  const production = envs.find((e) => e.name === name);
  const live = await commitOfDeployment(store, production?.deploymentId ?? null);
  if (production && live !== null && live !== commit && !isAncestor(await loadCommitGraph(store, project.id, [commit]), live, commit, GRAPH_LIMIT)) {
    return { entries: [], heldBack: `the hotfix does not contain what ${production.name} runs (${live.slice(0, 7)}): merge that into it, or start a new hotfix` };
  }
  const defaultBranch = project.defaultBranch ?? 'main';
  const entries: EnvironmentRow[] = [];
  for (const env of envs.filter((e) => e.follows === defaultBranch)) {
    const runs = await commitOfDeployment(store, env.deploymentId);
    if (runs !== null && (runs === commit || isAncestor(await loadCommitGraph(store, project.id, [runs]), commit, runs, GRAPH_LIMIT))) continue;
    entries.push(env);
  }
  return { entries, heldBack: null };
}

export interface ProposeInput {
  deploymentId: string;
  kind: ReleaseKind;
  /**
   * The config version it runs with: a rollback's target's, a config release's new one;
   * absent: the environment's latest (none: null).
   */
  configVersion?: number | null;
  reason: string | null;
  /** Admin break-glass (checked by the caller): passes locks and lineage, never checks. */
  force: boolean;
  branch?: string | null;
}

/**
 * Creates a release of `deploymentId` into `env` (pending) and looks at the environment at
 * once, so a release whose gates pass is live when this returns. An automated proposal of a
 * deployment the environment runs, or already has open, is not repeated. Open automated
 * releases this one contains (their commit is an ancestor of its commit) are superseded by it:
 * a queued release is never dropped silently.
 */
export async function proposeRelease(deps: ServiceDeps, actor: Actor, project: ProjectRow, seen: EnvironmentRow, input: ProposeInput): Promise<ReleaseRow | undefined> {
  await deps.store.lockPipeline(project.id);
  const env = (await deps.store.findEnvironmentById(seen.id)) ?? seen;
  const open = await deps.store.listOpenReleases(env.id);
  if (actor.trigger === 'automation') {
    if (env.deploymentId === input.deploymentId && input.kind === 'promote') return undefined;
    if (open.some((r) => r.deploymentId === input.deploymentId)) return undefined;
  }
  const deployment = await deps.store.findDeployment(input.deploymentId);
  const commit = deployment?.meta.commit ?? null;
  const configVersion = input.configVersion !== undefined ? input.configVersion : (await deps.store.latestConfigVersionNumber(env.id)) || null;
  const baseCommit = await commitOfDeployment(deps.store, env.deploymentId);
  const now = deps.clock.now().toISOString();
  const branch = input.branch ?? deployment?.meta.branch ?? null;
  const release: ReleaseRow = {
    id: newId('rel'),
    projectId: project.id,
    environmentId: env.id,
    number: await deps.store.nextReleaseNumber(env.id),
    kind: input.kind,
    state: 'pending',
    deploymentId: input.deploymentId,
    previousDeploymentId: env.deploymentId,
    replacesReleaseId: null,
    reason: input.reason,
    forced: input.force,
    createdAt: now,
    createdBy: actor.name,
    createdById: actor.id ?? null,
    trigger: actor.trigger,
    commitSha: commit,
    branch,
    gates: null,
    evaluatedAt: null,
    recheckAt: null,
    supersededBy: null,
    stateReason: null,
    liveAt: null,
    endedAt: null,
    // A rollback and a config release run what ran before: no new commits.
    batch: input.kind === 'promote' ? await batchOf(deps.store, project.id, baseCommit, commit) : null,
    // A hotfix's build is expedited wherever it goes (a rollback only ever repoints).
    expedited: input.kind === 'promote' && isHotfixBranch(branch),
    configVersion,
  };
  await deps.store.insertRelease(release);
  await recordEvent(deps.store, deps.clock.now(), actor, `release.${input.kind}`, {
    projectId: project.id,
    environment: env.name,
    target: release.id,
    reason: input.reason,
    before: { deployment: env.deploymentId, release: env.releaseNumber === 0 ? null : `v${env.releaseNumber}` },
    after: {
      deployment: input.deploymentId,
      release: `v${release.number}`,
      state: 'pending',
      forced: input.force,
      ...(release.expedited ? { expedited: true } : {}),
      ...(configVersion !== null ? { configVersion } : {}),
    },
  });
  // A person's promotion takes over what automation queued of the same deployment, and what it contains.
  const lookup = commit === null ? undefined : await loadCommitGraph(deps.store, project.id, [commit]);
  for (const other of open) {
    if (other.trigger !== 'automation' && actor.trigger === 'automation') continue;
    // A config release is replaced by a newer one, or ends when something else goes live (supersedeContained).
    if ((input.kind === 'config') !== (other.kind === 'config')) continue;
    const contained =
      other.deploymentId === input.deploymentId ||
      (lookup !== undefined && other.commitSha !== null && commit !== null && isAncestor(lookup, other.commitSha, commit, GRAPH_LIMIT));
    if (contained) await transition(deps, project, env, other, 'superseded', { supersededBy: release.id, reason: `contained in v${release.number}`, actor });
  }
  if (input.kind === 'rollback') {
    const fresh = (await deps.store.findEnvironment(project.id, env.name)) ?? env;
    return goLive(deps, project, fresh, release, actor, null);
  }
  await advanceEnvironment(deps, project, env.id);
  return deps.store.findRelease(release.id);
}

/**
 * Looks at the open releases of one environment, oldest first. A person's release is judged
 * on its own; an automated one also waits behind any older release still open (FIFO), so
 * automation ships candidates in order. Passing → live; waiting → gates and recheck time
 * recorded (a timed job when a gate names a time); failing → failed with the reason.
 */
export async function advanceEnvironment(deps: ServiceDeps, project: ProjectRow, environmentId: string): Promise<void> {
  let ahead: { number: number } | null = null;
  for (;;) {
    const env = await deps.store.findEnvironmentById(environmentId);
    if (!env || env.retiredAt !== null) return;
    const open = await deps.store.listOpenReleases(env.id);
    // A release rolling out is finished first: a crash between rolling_out and live left a
    // static site's move half done; a service's rollout holds it, and the environment with it.
    const rolling = open.find((r) => r.state === 'rolling_out');
    let held: ReleaseRow | undefined;
    if (rolling) {
      const moved = await goLive(deps, project, env, rolling, AUTOMATION, rolling.gates);
      if (moved.state !== 'rolling_out') continue;
      held = moved;
    }
    let progressed = false;
    ahead = null;
    for (const release of open) {
      if (release.state === 'rolling_out') continue;
      const policy = policyOf(env);
      const facts = await gateFacts(deps.store, project, env, policy, release, release.trigger === 'automation' ? ahead : null, deps.clock.now());
      const verdict = heldBy(held, evaluate(candidateOf(release), policy, facts, deps.clock.now()));
      if (verdict.outcome === 'pass') {
        await goLive(deps, project, env, release, release.trigger === 'user' ? actorOf(release) : AUTOMATION, verdict);
        progressed = true;
        break;
      }
      if (verdict.outcome === 'fail') {
        await transition(deps, project, env, release, 'failed', { gates: verdict, reason: verdict.reason.message, recheckAt: null });
        progressed = true;
        break;
      }
      await recordWait(deps, project, env, release, verdict);
      ahead ??= { number: release.number };
    }
    // Something moved: the environment changed, so what is still open is looked at again.
    if (!progressed) return;
  }
}

/** While a rollout holds the environment, nothing else goes out: a release that would waits behind it (the rollout looks again when it ends). */
function heldBy(held: ReleaseRow | undefined, verdict: GateVerdict): GateVerdict {
  if (held === undefined || verdict.outcome === 'fail') return verdict;
  const reason = { gate: 'queue' as const, code: GateCode.QUEUED, message: `waiting for the rollout of v${held.number}`, details: { behind: held.number } };
  if (verdict.outcome === 'pass') return { outcome: 'wait', reasons: [reason] };
  return { ...verdict, reasons: [...verdict.reasons.filter((r) => r.code !== GateCode.QUEUED), reason] };
}

/**
 * Ends a waiting release as failed with `reason` (a person rejected it), then looks at the
 * environment again: what queued behind it may go now. Runs in the caller's transaction, which
 * holds the project's pipeline lock.
 */
export async function failWaitingRelease(deps: ServiceDeps, actor: Actor, project: ProjectRow, env: EnvironmentRow, release: ReleaseRow, reason: string): Promise<ReleaseRow> {
  const failed = await transition(deps, project, env, release, 'failed', { reason, recheckAt: null, actor });
  await advanceEnvironment(deps, project, env.id);
  return failed;
}

function actorOf(release: ReleaseRow): Actor {
  return { name: release.createdBy, role: 'deployer', trigger: release.trigger };
}

async function recordWait(deps: ServiceDeps, project: ProjectRow, env: EnvironmentRow, release: ReleaseRow, verdict: GateVerdict & { outcome: 'wait' }): Promise<void> {
  const recheckAt = verdict.recheckAt ?? null;
  const summary = verdictSummary(verdict);
  if (release.state === 'pending') {
    await transition(deps, project, env, release, 'waiting', { gates: verdict, recheckAt, reason: summary });
  } else if (JSON.stringify(release.gates) === JSON.stringify(verdict) && release.recheckAt === recheckAt && (recheckAt === null || Date.parse(recheckAt) > deps.clock.now().getTime())) {
    // Nothing changed since the last look: the release is not written again. Its timer is
    // queued all the same: the job running this look may have been that timer, pulled
    // forward by another wake-up of the project (wake-ups of a project share one queued job).
  } else if (!(await deps.store.updateReleaseGates(release.id, release.state, verdict, deps.clock.now().toISOString(), recheckAt, summary))) {
    throw new SlipwayError(ErrorCode.RELEASE_CONFLICT, `release v${release.number} of ${env.name} changed while it was looked at`, { release: release.id });
  }
  if (recheckAt !== null) await wakePipeline(deps.store, deps.clock, project.id, `recheck ${env.name} v${release.number}`, recheckAt);
}

/**
 * `mode: parallel`: the release is live already; a required check of its commit that turns
 * red rolls the environment back to the deployment before it and pins it there, naming the
 * check and its URL.
 */
async function rollBackOnRedCheck(deps: ServiceDeps, project: ProjectRow, env: EnvironmentRow): Promise<ReleaseRow | undefined> {
  const policy = policyOf(env);
  if (policy.mode !== 'parallel' || policy.checks.length === 0 || env.releaseId === null) return undefined;
  const live = await deps.store.findRelease(env.releaseId);
  if (!live || live.state !== 'live' || live.kind !== 'promote' || live.commitSha === null || live.previousDeploymentId === null) return undefined;
  const checks: GateFacts['checks'] = {};
  for (const check of await deps.store.listChecks(project.id, live.commitSha)) checks[check.name] = { state: check.state, url: check.url };
  const red = redRequiredCheck(policy, checks);
  if (!red) return undefined;
  const reason = `required check ${red.name} failed on ${live.commitSha.slice(0, 7)}${red.url ? ` (${red.url})` : ''}`;
  return proposeRelease(deps, { ...AUTOMATION, name: 'slipway' }, project, env, {
    deploymentId: live.previousDeploymentId,
    kind: 'rollback',
    reason,
    force: false,
  });
}

/**
 * The `pipeline.evaluate` job: every environment of the project, upstream first, each in its
 * own transaction. Idempotent: running it twice changes nothing the first did not.
 */
export async function evaluateProjectPipeline(deps: ServiceDeps, projectId: string): Promise<void> {
  const project = await deps.store.findProjectById(projectId);
  if (!project || project.deletedAt) return;
  const envs = await deps.store.listEnvironments(project.id);
  for (const env of orderByFrom(envs)) {
    // Most environments (previews above all) have nothing open and watch no checks: one read
    // instead of a transaction and the project's lock each. A release opened after this read
    // was evaluated by whoever opened it, in its own transaction.
    const policy = policyOf(env);
    const watchesChecks = policy.mode === 'parallel' && policy.checks.length > 0;
    if (env.retiredAt !== null || (!watchesChecks && (await deps.store.listOpenReleases(env.id)).length === 0)) continue;
    await deps.store.transaction(async (tx) => {
      const scoped: ServiceDeps = { ...deps, store: tx };
      await tx.lockPipeline(project.id);
      const fresh = await tx.findEnvironmentById(env.id);
      if (!fresh || fresh.retiredAt !== null) return;
      await rollBackOnRedCheck(scoped, project, fresh);
      await advanceEnvironment(scoped, project, env.id);
    });
  }
}

function orderByFrom(envs: EnvironmentRow[]): EnvironmentRow[] {
  const byName = new Map(envs.map((e) => [e.name, e]));
  return orderEnvironments(envs.map((e) => ({ name: e.name, from: policyOf(e).from }))).flatMap((name) => byName.get(name) ?? []);
}

/** At start: a look at every project with an open release, whatever a crash left behind. */
export async function resumePipelines(deps: ServiceDeps): Promise<number> {
  const projects = await deps.store.listProjectsWithOpenReleases();
  for (const projectId of projects) await wakePipeline(deps.store, deps.clock, projectId, 'the server started with releases open');
  return projects.length;
}
