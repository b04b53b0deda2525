import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import { approvalEffect, lowestRole, roleAtLeast, type ApprovalFacts, type Freeze, type Lineage } from '../../core/gates/index.ts';
import { DEFAULT_BRANCH_ROLE, PERSON_ROLES, type PersonRole, type Role, type RolloutState } from '../../core/glossary.ts';
import { isHotfixBranch } from '../../core/hotfix.ts';
import { planLock, planPromotion, planRollback, planUnlock, type Actor } from '../../core/release-planner.ts';
import { isOpenRollout } from '../../core/rollout-planner.ts';
import type { EnvironmentActions, GlobalActions, ProjectActions, ReleaseActions, Verdict } from '../../protocol/actions.ts';
import type { ApprovalRow, EnvironmentRow, ReleaseRow } from '../../store/store.ts';
import { ruleOf } from '../../protocol/permissions.ts';
import { isPersonRole, roleOn, roleReaches, type Principal } from './access.ts';
import { deployTimeHolds, deployTimeRefusal, lineageRefusal, type RollbackTarget } from './environments.ts';
import { policyOf } from './pipeline.ts';

/**
 * What a person may do, and why not: the one place the dashboard's (and any client's) buttons
 * are decided. Every verdict is a pure function of who asks and of facts read beforehand
 * (action-facts.ts), and judges the plain call of the route behind the action:
 *
 * - the role comes from that route's row of the permission table (permissions.ts), judged as the
 *   guard judges it — on a route naming the project, the caller's role there (global or raised
 *   by a membership); elsewhere the global role, and a project-scoped token is refused unless the
 *   row says `scoped`. A change of the table changes the verdict; there is no second table;
 * - the state is judged by the very functions the services call: the planners of locks and
 *   pointer moves (release-planner.ts), lineage and deploy-time refusals (environments.ts),
 *   the rollback target the rollback itself would take, and the approvals gate's
 *   `approvalEffect` — so a verdict and the real call cannot disagree. test/allowed-actions.test.ts
 *   calls every route it judges and compares.
 *
 * Checks run in the order the service runs them, so the refusal named is the one the call
 * would answer with. Not judged: what depends on input the action has not got yet (a reason
 * that is required, a freeze's times, a domain's name) and, for a release's promote, its checks
 * (a red required check is found when the release is made: CHECK_FAILED).
 */

/** Who asks, as a verdict needs it. */
export interface Caller {
  /** The actor as it acts on the project: its role there (the higher of its global role and a membership). */
  actor: Actor & { role: PersonRole };
  /** Its global role: what a route whose URL names no project looks at. */
  globalRole: PersonRole;
  /** A project-scoped token: a route whose URL names no project refuses it unless its row says `scoped`. */
  scoped: boolean;
}

/** The caller a principal is on one project; null for machines (runner, agent) and where it does not reach. */
export function callerOf(principal: Principal | undefined, projectId: string): Caller | null {
  if (principal === undefined) return null;
  const role = roleOn(principal, projectId);
  const global = principal.actor.role;
  if (role === null || !isPersonRole(role) || !isPersonRole(global)) return null;
  return { actor: { ...principal.actor, role }, globalRole: global, scoped: principal.scope !== null };
}

const ALLOWED: Verdict = { allowed: true, reason: null, code: null };

/** What a person may do beyond any one project (GET /api/v1/whoami): make a project. Null for machines. */
export function globalActions(principal: Principal | undefined): GlobalActions | null {
  const global = principal?.actor.role;
  if (principal === undefined || global === undefined || !isPersonRole(global)) return null;
  const caller: Caller = { actor: { ...principal.actor, role: global }, globalRole: global, scoped: principal.scope !== null };
  return { createProject: roleVerdict(caller, 'POST /api/v1/projects', 'create projects') };
}

function refused(code: string, reason: string, breakGlass = false): Verdict {
  return breakGlass ? { allowed: false, reason, code, breakGlass } : { allowed: false, reason, code };
}

/** The first refusal of checks run in order (each only when those before it passed). */
function first(...checks: (() => Verdict)[]): Verdict {
  for (const check of checks) {
    const verdict = check();
    if (!verdict.allowed) return verdict;
  }
  return ALLOWED;
}

/** Refusals an admin may go past with force and a reason (break-glass). */
const FORCEABLE = new Set<string>([ErrorCode.ENVIRONMENT_LOCKED, ErrorCode.FROZEN, ErrorCode.WINDOW_CLOSED, ErrorCode.LINEAGE_VIOLATION]);

/** A refusal as a verdict: `environment is locked …` reads `production is locked …`. */
function fromError(err: SlipwayError, caller: Caller, env?: EnvironmentRow): Verdict {
  const reason = env === undefined ? err.message : err.message.replace(/^environment /, `${env.name} `);
  return refused(err.code, reason, caller.actor.role === 'admin' && FORCEABLE.has(err.code));
}

/** Runs a planner as the service would; what it throws becomes the verdict. */
function judge(caller: Caller, plan: () => unknown, env?: EnvironmentRow): Verdict {
  try {
    plan();
    return ALLOWED;
  } catch (err) {
    if (err instanceof SlipwayError) return fromError(err, caller, env);
    throw err;
  }
}

/** A `METHOD url` row of the permission table. */
type Route = `${'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'} /api/v1/${string}`;

function withArticle(word: string): string {
  return `${/^[aeiou]/.test(word) ? 'an' : 'a'} ${word}`;
}

/** "a deployer, approver or admin": who holds `minimum` or more of the ladder. */
function holders(minimum: Role): string {
  const ladder = [...PERSON_ROLES].reverse();
  const names = ladder.slice(Math.max(0, ladder.indexOf(minimum as PersonRole)));
  return withArticle(names.length === 1 ? minimum : `${names.slice(0, -1).join(', ')} or ${names.at(-1) ?? ''}`);
}

/** The role part of a verdict: the route's row, judged as guard.ts judges a request. */
export function roleVerdict(caller: Caller, route: Route, doing: string): Verdict {
  const space = route.indexOf(' ');
  const url = route.slice(space + 1);
  const rule = ruleOf(route.slice(0, space), url);
  if (rule === undefined) throw new Error(`${route} has no row in protocol/permissions.ts`);
  if (rule.role === 'public') return ALLOWED;
  const onProject = url.includes('/:project');
  if (!onProject && caller.scoped && !rule.scoped) {
    return refused(ErrorCode.FORBIDDEN, `A token scoped to one project cannot ${doing}: that needs a token without a project scope`);
  }
  const role = onProject ? caller.actor.role : caller.globalRole;
  if (roleReaches(role, rule.role)) return ALLOWED;
  return refused(ErrorCode.FORBIDDEN, `Only ${holders(rule.role)} can ${doing}; you are ${withArticle(role)}${onProject ? ' on this project' : ''}`);
}

/** Where a service asks more of the caller than its route's row (requireRole with a higher role): that service's own constant. */
function serviceRoleVerdict(caller: Caller, minimum: PersonRole, doing: string): Verdict {
  if (roleReaches(caller.actor.role, minimum)) return ALLOWED;
  return refused(ErrorCode.FORBIDDEN, `Only ${holders(minimum)} can ${doing}; you are ${withArticle(caller.actor.role)} on this project`);
}

const PROJECT = '/api/v1/projects/:project';
const ENV = `${PROJECT}/environments/:environment`;

export function projectActions(caller: Caller): ProjectActions {
  return {
    edit: roleVerdict(caller, `PATCH ${PROJECT}`, 'change the project'),
    setDefaultBranch: first(
      () => roleVerdict(caller, `PATCH ${PROJECT}`, 'change the default branch'),
      () => serviceRoleVerdict(caller, DEFAULT_BRANCH_ROLE, 'change the default branch'),
    ),
    rotateWebhookSecret: roleVerdict(caller, `POST ${PROJECT}/webhook-secret/rotate`, 'rotate the webhook secret'),
    manageMembers: roleVerdict(caller, `PUT ${PROJECT}/members/:user`, 'change members'),
    readNotifications: roleVerdict(caller, `GET ${PROJECT}/notifications/targets`, 'see notification targets'),
    manageNotifications: roleVerdict(caller, `POST ${PROJECT}/notifications/targets`, 'change notification targets'),
    delete: roleVerdict(caller, `DELETE ${PROJECT}`, 'delete the project'),
    enrollAgents: roleVerdict(caller, `POST ${ENV}/agents/enrollments`, 'enroll agents'),
    removeAgents: roleVerdict(caller, `DELETE ${PROJECT}/agents/:agent`, 'remove agents'),
    addDomain: roleVerdict(caller, `POST ${PROJECT}/domains`, 'add custom domains'),
    removeDomain: roleVerdict(caller, `DELETE ${PROJECT}/domains/:hostname`, 'remove custom domains'),
    retryBuilds: roleVerdict(caller, 'POST /api/v1/projects/:project/builds/:build/retry', 'retry builds'),
    cancelBuilds: roleVerdict(caller, `POST ${PROJECT}/builds/:build/cancel`, 'cancel builds'),
    promote: roleVerdict(caller, `POST ${ENV}/promote`, 'promote deployments'),
    // POST /api/v1/tokens is open to everyone signed in; services/tokens.ts decides, as here.
    createServiceToken: caller.scoped
      ? refused(ErrorCode.FORBIDDEN, 'A project-scoped token cannot make tokens')
      : caller.globalRole === 'admin'
        ? ALLOWED
        : refused(ErrorCode.FORBIDDEN, `Only an admin can make service tokens; you are ${withArticle(caller.globalRole)}`),
    createPersonalToken: caller.scoped
      ? refused(ErrorCode.FORBIDDEN, 'A project-scoped token cannot make tokens')
      : caller.actor.userId === undefined
        ? refused(ErrorCode.INVALID_REQUEST, 'Personal tokens belong to a user; sign in as one to make yours')
        : ALLOWED,
  };
}

/** What an environment's verdicts need to know of it (read by action-facts.ts). */
export interface EnvironmentFacts {
  env: EnvironmentRow;
  now: Date;
  /** Its freezes that have not ended (in force, or to come). */
  freezes: Freeze[];
  /** Where a rollback without `to` goes, or why it has nowhere to go (NO_PREVIOUS_RELEASE), as rollback() finds it. */
  rollback: RollbackTarget | SlipwayError;
}

/** Never a deployment id: an environment's promote judges everything but what depends on the deployment. */
const ANY_DEPLOYMENT = '';

function deployTimeVerdict(caller: Caller, facts: EnvironmentFacts, expedited: boolean): Verdict {
  const refusal = deployTimeRefusal(facts.env, deployTimeHolds(facts.env, facts.freezes, facts.now, expedited));
  return refusal === null ? ALLOWED : fromError(refusal, caller);
}

export function environmentActions(caller: Caller, facts: EnvironmentFacts): EnvironmentActions {
  const { env, now } = facts;
  const { actor } = caller;
  const target = facts.rollback;
  return {
    promote: first(
      () => roleVerdict(caller, `POST ${ENV}/promote`, 'promote'),
      () => judge(caller, () => planPromotion(env, ANY_DEPLOYMENT, actor, {}, now), env),
      () => deployTimeVerdict(caller, facts, false),
    ),
    rollback: first(
      () => roleVerdict(caller, `POST ${ENV}/rollback`, 'roll back'),
      () => (target instanceof SlipwayError ? fromError(target, caller, env) : judge(caller, () => planRollback(env, target.deploymentId, actor, {}, now, target.changes), env)),
    ),
    lock: first(
      () => roleVerdict(caller, `POST ${ENV}/lock`, 'lock environments'),
      () => judge(caller, () => planLock(env, actor, { reason: 'judged', until: null }, now), env),
    ),
    unlock: first(
      () => roleVerdict(caller, `POST ${ENV}/unlock`, 'unlock environments'),
      () => judge(caller, () => planUnlock(env, actor, {}, now), env),
    ),
    freeze: roleVerdict(caller, `POST ${ENV}/freezes`, 'freeze environments'),
    unfreeze: first(
      () => roleVerdict(caller, `DELETE ${ENV}/freezes/:id`, 'lift freezes'),
      () => (facts.freezes.length === 0 ? refused(ErrorCode.FREEZE_NOT_FOUND, `${env.name} is not frozen`) : ALLOWED),
    ),
    setConfig: roleVerdict(caller, `PATCH ${ENV}/config`, 'change config vars'),
    setPolicy: roleVerdict(caller, `PUT ${ENV}/policy`, 'set the policy'),
  };
}

/** What a release's verdicts need to know of it (read by action-facts.ts). */
export interface ReleaseFacts {
  release: ReleaseRow;
  environment: EnvironmentFacts;
  /** The decisions people made on it (read while it waits; empty otherwise). */
  decisions: ApprovalRow[];
  /** What the approvals gate knows of it: its batch's authors, the approvals given (while it waits). */
  approval: ApprovalFacts;
  /** Its deployment's lineage in the environment's `from`; null without `from`. */
  lineage: Lineage | null;
  /** The state of its rollout (a service's release onto agents); null or absent when it has none. */
  rollout?: RolloutState | null | undefined;
}

/** Approving and rejecting: a person's, on a release that waits (approveRelease, rejectRelease). */
function decisionPrecondition(caller: Caller, facts: ReleaseFacts, route: Route, doing: string): Verdict {
  const { release, environment } = facts;
  return first(
    () => roleVerdict(caller, route, doing),
    () =>
      caller.actor.userId === undefined
        ? refused(ErrorCode.APPROVAL_NOT_ALLOWED, `Only a person approves or rejects; ${caller.actor.name} is a service token`)
        : ALLOWED,
    () =>
      release.state !== 'waiting'
        ? refused(ErrorCode.RELEASE_NOT_WAITING, `v${release.number} of ${environment.env.name} is ${release.state}, not waiting: there is nothing to decide`)
        : ALLOWED,
  );
}

function approveVerdict(caller: Caller, facts: ReleaseFacts): Verdict {
  const userId = caller.actor.userId ?? '';
  const { release, environment } = facts;
  const label = `v${release.number} of ${environment.env.name}`;
  return first(
    () => decisionPrecondition(caller, facts, `POST ${PROJECT}/releases/:release/approve`, 'approve'),
    () =>
      facts.decisions.some((a) => a.userId === userId && a.forEmail === null)
        ? refused(ErrorCode.ALREADY_APPROVED, `You have already approved ${label}`)
        : ALLOWED,
    () => {
      const effect = approvalEffect(policyOf(environment.env).approvals, facts.approval, { userId, role: caller.actor.role, forEmail: null });
      return effect.ok ? ALLOWED : refused(ErrorCode[effect.code], `${label}: ${effect.message}`);
    },
  );
}

function rejectVerdict(caller: Caller, facts: ReleaseFacts): Verdict {
  const { release, environment } = facts;
  const policy = policyOf(environment.env).approvals;
  const role = lowestRole(policy);
  return first(
    () => decisionPrecondition(caller, facts, `POST ${PROJECT}/releases/:release/reject`, 'reject'),
    () => {
      if (roleAtLeast(caller.actor.role, role)) return ALLOWED;
      if (policy.authors === 'all' && facts.approval.authors.some((a) => a.userId === caller.actor.userId)) return ALLOWED;
      return refused(
        ErrorCode.APPROVAL_NOT_ALLOWED,
        `Rejecting v${release.number} of ${environment.env.name} needs the ${role} role (or above)${policy.authors === 'all' ? ', or a commit in its batch' : ''}`,
      );
    },
  );
}

export function releaseActions(caller: Caller, facts: ReleaseFacts): ReleaseActions {
  const { release, environment } = facts;
  const { env, now } = environment;
  return {
    approve: approveVerdict(caller, facts),
    reject: rejectVerdict(caller, facts),
    promote: first(
      () => roleVerdict(caller, `POST ${ENV}/promote`, 'promote'),
      () => judge(caller, () => planPromotion(env, release.deploymentId, caller.actor, {}, now), env),
      () => {
        const refusal = facts.lineage === null ? null : lineageRefusal(env, { id: release.deploymentId, commit: release.commitSha }, facts.lineage);
        return refusal === null ? ALLOWED : fromError(refusal, caller);
      },
      () => deployTimeVerdict(caller, environment, isHotfixBranch(release.branch)),
    ),
    abortRollout: first(
      () => roleVerdict(caller, `POST ${PROJECT}/releases/:release/rollout/abort`, 'abort a rollout'),
      () => {
        const state = facts.rollout ?? null;
        // Only a release rolling out is read for its rollout: one in another state runs none.
        if (state === null && release.state !== 'rolling_out') {
          return refused(ErrorCode.ROLLOUT_NOT_RUNNING, `v${release.number} of ${env.name} is ${release.state.replace('_', ' ')}: no rollout of it runs`);
        }
        if (state === null) return refused(ErrorCode.ROLLOUT_NOT_FOUND, `v${release.number} of ${env.name} has no rollout`);
        if (state === 'rolling_back') return refused(ErrorCode.ROLLOUT_NOT_RUNNING, `The rollout of v${release.number} is already going back`);
        if (!isOpenRollout(state)) return refused(ErrorCode.ROLLOUT_NOT_RUNNING, `The rollout of v${release.number} is not running: it ended ${state.replace('_', ' ')}`);
        return ALLOWED;
      },
    ),
  };
}
