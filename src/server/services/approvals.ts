import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import { approvalEffect, approvalStatus, hasApprovals, lowestRole, roleAtLeast, type ApprovalStatus } from '../../core/gates/index.ts';
import type { Actor } from '../../core/release-planner.ts';
import type { ApprovalRow, EnvironmentRow, ProjectRow, ReleaseRow, Store } from '../../store/store.ts';
import { requireRole } from './access.ts';
import { approvalFactsOf } from './approval-facts.ts';
import type { ServiceDeps } from './deps.ts';
import { recordEvent } from './events.ts';
import { newId } from './ids.ts';
import { advanceEnvironment, failWaitingRelease, policyOf } from './pipeline.ts';
import { getProject } from './projects.ts';
import { resolveRelease } from './release-ref.ts';

/**
 * Approvals and rejections of a waiting release. Each decision takes the project's pipeline
 * lock in one transaction, reads the release again under it and acts only while it still
 * waits, so an approval and a rejection racing on one release leave one outcome: whichever
 * comes second finds it live or failed and is refused with RELEASE_NOT_WAITING. An approval
 * binds to the release it names; a newer release of the same environment starts with none.
 *
 * Who may decide:
 * - only a person (a user; service tokens are refused with APPROVAL_NOT_ALLOWED);
 * - approving: any role on the project, but the approval must satisfy something — count it
 *   toward `count` (role at least the lowest listed, not an author of the batch, not who
 *   promoted it) or cover the approver's own commits under `authors: all` — else
 *   APPROVAL_NOT_ALLOWED saying why;
 * - signing for an author with no user (`forEmail`, with a reason): the lowest listed role;
 * - rejecting (with a reason): the lowest listed role (approver by default), or under
 *   `authors: all` an author of the batch.
 */

export interface ApproveInput {
  /** `vN` needs the environment; a release id does not. */
  environment?: string | undefined;
  reason?: string | undefined;
  /** Sign for this author email (an author with no user). */
  forEmail?: string | undefined;
}

export interface Decided {
  project: ProjectRow;
  environment: EnvironmentRow;
  /** The release as it stands after the decision (live when the approval was the last one missing). */
  release: ReleaseRow;
  approval: ApprovalRow;
  /** Who still has to approve; null when the environment asks for no approvals. */
  status: ApprovalStatus | null;
}

const MAX_REASON = 500;

function personOf(actor: Actor): string {
  if (actor.userId === undefined) {
    throw new SlipwayError(ErrorCode.APPROVAL_NOT_ALLOWED, `only a person approves or rejects; ${actor.name} is a service token`, { actor: actor.name });
  }
  return actor.userId;
}

function cleanReason(reason: string | undefined): string | null {
  const text = reason?.trim() ?? '';
  if (text.length > MAX_REASON) throw new SlipwayError(ErrorCode.INVALID_REQUEST, `a reason is at most ${MAX_REASON} characters`, { length: text.length });
  return text === '' ? null : text;
}

/** Reads the release under the project's pipeline lock; only a waiting release takes decisions. */
async function waitingRelease(tx: Store, project: ProjectRow, ref: string, environment: string | undefined): Promise<{ release: ReleaseRow; env: EnvironmentRow }> {
  await tx.lockPipeline(project.id);
  const release = await resolveRelease(tx, project, ref, environment);
  const env = await tx.findEnvironmentById(release.environmentId);
  if (!env) throw new SlipwayError(ErrorCode.RELEASE_NOT_FOUND, `no release ${ref} in ${project.name}`, { release: ref });
  if (release.state !== 'waiting') {
    throw new SlipwayError(ErrorCode.RELEASE_NOT_WAITING, `v${release.number} of ${env.name} is ${release.state}, not waiting: there is nothing to decide`, {
      release: release.id,
      state: release.state,
    });
  }
  return { release, env };
}

export async function approveRelease(deps: ServiceDeps, actor: Actor, projectName: string, ref: string, input: ApproveInput): Promise<Decided> {
  requireRole(actor, 'viewer');
  const userId = personOf(actor);
  const reason = cleanReason(input.reason);
  const forEmail = input.forEmail === undefined ? null : input.forEmail.trim().toLowerCase();
  if (forEmail !== null && (forEmail === '' || forEmail.length > 320 || !forEmail.includes('@'))) {
    throw new SlipwayError(ErrorCode.INVALID_REQUEST, `"${input.forEmail}" is not an email address`, { forEmail: input.forEmail });
  }
  if (forEmail !== null && reason === null) throw new SlipwayError(ErrorCode.REASON_REQUIRED, 'signing for an author needs a reason (--reason)');
  const project = await getProject(deps, projectName);
  return deps.store.transaction(async (tx) => {
    const scoped: ServiceDeps = { ...deps, store: tx };
    const { release, env } = await waitingRelease(tx, project, ref, input.environment);
    const policy = policyOf(env).approvals;
    const given = await tx.listApprovals(release.id);
    if (given.some((a) => a.userId === userId && a.forEmail === forEmail)) {
      throw new SlipwayError(ErrorCode.ALREADY_APPROVED, `${actor.name} has already approved v${release.number} of ${env.name}${forEmail ? ` for ${forEmail}` : ''}`, {
        release: release.id,
        forEmail,
      });
    }
    const facts = await approvalFactsOf(tx, release, policy, given);
    const effect = approvalEffect(policy, facts, { userId, role: actor.role, forEmail });
    if (!effect.ok) throw new SlipwayError(ErrorCode[effect.code], `v${release.number} of ${env.name}: ${effect.message}`, { release: release.id, forEmail });
    const now = deps.clock.now();
    const approval = decisionRow(actor, userId, project.id, release.id, { decision: 'approve', forEmail, reason }, now);
    await tx.insertApproval(approval);
    await recordEvent(tx, now, actor, forEmail === null ? 'release.approve' : 'release.sign_for', {
      projectId: project.id,
      environment: env.name,
      target: release.id,
      reason,
      after: { release: `v${release.number}`, deployment: release.deploymentId, role: actor.role, forEmail, counts: effect.counts, covers: effect.covers },
    });
    // The approval may be the last one missing: the environment is looked at now, in this
    // transaction, so the release is live when the approval is acknowledged.
    await advanceEnvironment(scoped, project, env.id);
    const after = (await tx.findRelease(release.id)) ?? release;
    const status = hasApprovals(policy) ? approvalStatus(policy, await approvalFactsOf(tx, after, policy)) : null;
    return { project, environment: env, release: after, approval, status };
  });
}

/** One person's decision on one release, as it is stored. */
function decisionRow(
  actor: Actor,
  userId: string,
  projectId: string,
  releaseId: string,
  decision: Pick<ApprovalRow, 'decision' | 'forEmail' | 'reason'>,
  now: Date,
): ApprovalRow {
  return { id: newId('apr'), projectId, releaseId, userId, userName: actor.name, role: actor.role, ...decision, createdAt: now.toISOString() };
}

export async function rejectRelease(deps: ServiceDeps, actor: Actor, projectName: string, ref: string, input: { environment?: string | undefined; reason?: string | undefined }): Promise<Decided> {
  requireRole(actor, 'viewer');
  const userId = personOf(actor);
  const reason = cleanReason(input.reason);
  if (reason === null) throw new SlipwayError(ErrorCode.REASON_REQUIRED, 'a rejection needs a reason (--reason)');
  const project = await getProject(deps, projectName);
  return deps.store.transaction(async (tx) => {
    const scoped: ServiceDeps = { ...deps, store: tx };
    const { release, env } = await waitingRelease(tx, project, ref, input.environment);
    const policy = policyOf(env).approvals;
    const role = lowestRole(policy);
    if (!roleAtLeast(actor.role, role)) {
      const facts = policy.authors === 'all' ? await approvalFactsOf(tx, release, policy) : undefined;
      if (!facts?.authors.some((a) => a.userId === userId)) {
        throw new SlipwayError(ErrorCode.APPROVAL_NOT_ALLOWED, `rejecting v${release.number} of ${env.name} needs the ${role} role (or above)${policy.authors === 'all' ? ', or a commit in its batch' : ''}`, {
          release: release.id,
          required: role,
          role: actor.role,
        });
      }
    }
    const now = deps.clock.now();
    const approval = decisionRow(actor, userId, project.id, release.id, { decision: 'reject', forEmail: null, reason }, now);
    await tx.insertApproval(approval);
    await recordEvent(tx, now, actor, 'release.reject', {
      projectId: project.id,
      environment: env.name,
      target: release.id,
      reason,
      after: { release: `v${release.number}`, deployment: release.deploymentId, role: actor.role },
    });
    const failed = await failWaitingRelease(scoped, actor, project, env, release, `rejected by ${actor.name}: ${reason}`);
    return { project, environment: env, release: failed, approval, status: null };
  });
}

/** The decisions on a release and, while it waits for approvals, who still has to approve. */
export async function approvalsOfRelease(store: Store, env: EnvironmentRow | undefined, release: ReleaseRow): Promise<{ decisions: ApprovalRow[]; status: ApprovalStatus | null }> {
  const decisions = await store.listApprovals(release.id);
  if (!env || release.state !== 'waiting') return { decisions, status: null };
  const policy = policyOf(env).approvals;
  if (!hasApprovals(policy)) return { decisions, status: null };
  return { decisions, status: approvalStatus(policy, await approvalFactsOf(store, release, policy, decisions)) };
}
