import type { Role } from '../glossary.ts';
import {
  GateCode,
  LADDER_ROLES,
  PASS,
  type ApprovalFacts,
  type ApprovalPolicy,
  type BatchAuthor,
  type Gate,
  type LadderRole,
} from './types.ts';

/**
 * Approvals: people sign off one release (never a run, never another release).
 *
 * - `count: N, roles: [approver]` — N different people whose effective role on the project is at
 *   least the lowest role listed. Four eyes: nobody whose user owns an author email of a commit
 *   in the batch counts toward N, nor the person who proposed the release.
 * - `authors: all` — every distinct author email of the batch's commits is covered: by the
 *   approval of the user that email belongs to, or, for an email no user has, by someone with
 *   the role signing for it with a reason.
 *
 * Both may be combined. A release waits (no time to look again: an approval wakes the
 * pipeline) until both are met; an admin's forced release passes, as for lineage.
 */

const RANK: Record<LadderRole, number> = { viewer: 0, deployer: 1, approver: 2, admin: 3 };

/** Whether `role` is on the ladder at or above `minimum` (a runner never is). */
export function roleAtLeast(role: Role, minimum: LadderRole): boolean {
  return role !== 'runner' && role !== 'agent' && RANK[role] >= RANK[minimum];
}

/** The lowest role a policy lists: holding it (or more) is what counts. */
export function lowestRole(policy: ApprovalPolicy): LadderRole {
  const listed = policy.roles.length === 0 ? ['approver' as const] : policy.roles;
  return LADDER_ROLES.find((role) => listed.includes(role)) ?? 'approver';
}

export function hasApprovals(policy: ApprovalPolicy): boolean {
  return policy.count > 0 || policy.authors === 'all';
}

/** Where a release stands with its approvals: who counted, and who still has to approve. */
export interface ApprovalStatus {
  required: number;
  /** Names of the people who count toward `required`. */
  counted: string[];
  missingCount: number;
  role: LadderRole;
  /** `authors: all`: authors with a user who have not approved. */
  missingAuthors: BatchAuthor[];
  /** `authors: all`: authors with no user nobody has signed for yet. */
  unmapped: BatchAuthor[];
  /** `authors: all`: commits whose author is not known. */
  unknownCommits: number;
  satisfied: boolean;
}

/** Users (by id) who authored a commit of the batch: four eyes keeps them out of the count. */
function authorUserIds(facts: ApprovalFacts): Set<string> {
  return new Set(facts.authors.flatMap((a) => (a.userId === null ? [] : [a.userId])));
}

export function approvalStatus(policy: ApprovalPolicy, facts: ApprovalFacts): ApprovalStatus {
  const role = lowestRole(policy);
  const authors = authorUserIds(facts);
  const counted = new Map<string, string>();
  for (const given of facts.given) {
    if (given.forEmail !== null || !roleAtLeast(given.role, role)) continue;
    if (authors.has(given.userId) || given.userId === facts.createdById) continue;
    counted.set(given.userId, given.userName);
  }
  const missingCount = Math.max(0, policy.count - counted.size);
  const all = policy.authors === 'all';
  const approvedBy = new Set(facts.given.filter((g) => g.forEmail === null).map((g) => g.userId));
  const signedFor = new Set(facts.given.filter((g) => g.forEmail !== null && roleAtLeast(g.role, role)).map((g) => g.forEmail));
  const missingAuthors = all ? facts.authors.filter((a) => a.userId !== null && !approvedBy.has(a.userId)) : [];
  const unmapped = all ? facts.authors.filter((a) => a.userId === null && !signedFor.has(a.email)) : [];
  const unknownCommits = all ? facts.unknownCommits : 0;
  return {
    required: policy.count,
    counted: [...counted.values()],
    missingCount,
    role,
    missingAuthors: dedupeUsers(missingAuthors),
    unmapped,
    unknownCommits,
    satisfied: missingCount === 0 && missingAuthors.length === 0 && unmapped.length === 0 && unknownCommits === 0,
  };
}

/** One user may own several author emails: they are asked once. */
function dedupeUsers(authors: BatchAuthor[]): BatchAuthor[] {
  const seen = new Set<string>();
  return authors.filter((a) => {
    if (a.userId === null) return true;
    if (seen.has(a.userId)) return false;
    seen.add(a.userId);
    return true;
  });
}

/** Who still has to approve, for a person: "1 more approval (approver, not an author); dev2; carol@x.example (no user: …)". */
export function describeMissing(status: ApprovalStatus): string[] {
  const parts: string[] = [];
  if (status.missingCount > 0) {
    const more = status.missingCount === 1 ? '1 more approval' : `${status.missingCount} more approvals`;
    parts.push(`${more} of ${status.required} (${status.role} or above, not an author or who promoted it)`);
  }
  for (const author of status.missingAuthors) parts.push(`author ${author.userName ?? author.email}`);
  for (const author of status.unmapped) parts.push(`author ${author.email} (no user: someone with ${status.role} may sign for it)`);
  if (status.unknownCommits > 0) {
    parts.push(`authors of ${status.unknownCommits} commit${status.unknownCommits === 1 ? '' : 's'} Slipway does not know (an admin may force)`);
  }
  return parts;
}

export const approvalsGate: Gate = (candidate, policy, facts) => {
  if (!hasApprovals(policy.approvals) || candidate.forced) return PASS;
  const status = approvalStatus(policy.approvals, facts.approvals);
  if (status.satisfied) return PASS;
  return {
    status: 'wait',
    reason: {
      gate: 'approvals',
      code: GateCode.APPROVALS_PENDING,
      message: `waiting for approval: ${describeMissing(status).join('; ')}`,
      details: approvalSummary(status),
    },
  };
};

/** Who approved and who is still missing, as the gate's details and the API show it. */
export function approvalSummary(status: ApprovalStatus) {
  return {
    required: status.required,
    role: status.role,
    approvedBy: status.counted,
    missingCount: status.missingCount,
    missingAuthors: status.missingAuthors.map((a) => ({ email: a.email, name: a.name, user: a.userName })),
    unmapped: status.unmapped.map((a) => ({ email: a.email, name: a.name })),
    unknownCommits: status.unknownCommits,
  };
}

/** Who asks to approve: a person (user id), their effective role on the project, and whom they sign for. */
export interface Approver {
  userId: string;
  role: Role;
  /** Signing for an unmapped author (lowercased email); null for one's own approval. */
  forEmail: string | null;
}

/** What one more approval would do: count toward `count`, cover authors — or nothing, and why. */
export type ApprovalEffect =
  | { ok: true; counts: boolean; covers: string[] }
  | { ok: false; code: 'APPROVAL_NOT_ALLOWED' | 'AUTHOR_NOT_IN_BATCH'; message: string };

/**
 * Decides whether an approval is recorded. It is refused when it could satisfy nothing — say
 * an author approving a release that needs `count` only (four eyes) — with the reason, so a
 * person learns why instead of seeing an approval that changes nothing.
 */
export function approvalEffect(policy: ApprovalPolicy, facts: ApprovalFacts, approver: Approver): ApprovalEffect {
  if (!hasApprovals(policy)) return { ok: false, code: 'APPROVAL_NOT_ALLOWED', message: 'this environment needs no approvals' };
  const role = lowestRole(policy);
  const isAuthor = authorUserIds(facts).has(approver.userId);
  if (approver.forEmail !== null) {
    const author = facts.authors.find((a) => a.email === approver.forEmail);
    if (!author) return { ok: false, code: 'AUTHOR_NOT_IN_BATCH', message: `${approver.forEmail} authored no commit of this release` };
    if (policy.authors !== 'all') return { ok: false, code: 'APPROVAL_NOT_ALLOWED', message: 'signing for an author needs authors: all' };
    if (author.userId !== null) {
      return { ok: false, code: 'APPROVAL_NOT_ALLOWED', message: `${approver.forEmail} belongs to ${author.userName ?? 'a user'}, who approves for themselves` };
    }
    if (!roleAtLeast(approver.role, role)) return { ok: false, code: 'APPROVAL_NOT_ALLOWED', message: `signing for an author needs the ${role} role (or above)` };
    return { ok: true, counts: false, covers: [author.email] };
  }
  const covers = policy.authors === 'all' ? facts.authors.filter((a) => a.userId === approver.userId).map((a) => a.email) : [];
  const counts = policy.count > 0 && roleAtLeast(approver.role, role) && !isAuthor && approver.userId !== facts.createdById;
  if (counts || covers.length > 0) return { ok: true, counts, covers };
  let why: string;
  if (policy.count === 0) why = 'only the authors of its commits approve it, and you authored none';
  else if (isAuthor) why = 'you authored a commit of it, so your approval does not count (four eyes)';
  else if (approver.userId === facts.createdById) why = 'you promoted it, so your approval does not count (four eyes)';
  else why = `approvals count from the ${role} role (or above)`;
  return { ok: false, code: 'APPROVAL_NOT_ALLOWED', message: `your approval would satisfy nothing: ${why}` };
}
