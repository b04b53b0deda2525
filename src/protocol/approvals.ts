import { z } from 'zod';
import { LADDER_ROLES } from '../core/gates/types.ts';
import { ROLES } from '../core/glossary.ts';
import { Release } from './api.ts';

/** Wire schemas of approvals: a person's decision on one release, and who still has to approve. */

export const Approval = z.object({
  id: z.string(),
  user: z.string(),
  /** The approver's effective role on the project when they decided. */
  role: z.enum(ROLES),
  /** The author email signed for (an author with no user); null for one's own decision. */
  forEmail: z.string().nullable(),
  decision: z.enum(['approve', 'reject']),
  reason: z.string().nullable(),
  at: z.string(),
});
export type Approval = z.infer<typeof Approval>;

const Author = z.object({ email: z.string(), name: z.string().nullable() });

/** Where a waiting release stands with its approvals. */
export const ApprovalState = z.object({
  /** `count` of the policy, and the lowest role that counts. */
  required: z.number().int(),
  role: z.enum(LADDER_ROLES),
  /** Names of the people who count toward `required`. */
  approvedBy: z.array(z.string()),
  missingCount: z.number().int(),
  /** `authors: all`: authors with a user who have not approved yet. */
  missingAuthors: z.array(Author.extend({ user: z.string().nullable() })),
  /** `authors: all`: authors with no user nobody has signed for. */
  unmapped: z.array(Author),
  unknownCommits: z.number().int(),
  satisfied: z.boolean(),
});
export type ApprovalState = z.infer<typeof ApprovalState>;


export const ApproveRequest = z.object({
  /** With a release named `vN`: the environment it numbers. */
  environment: z.string().min(1).max(64).optional(),
  reason: z.string().max(500).optional(),
  /** Sign for an author of the batch who has no user (needs a reason). */
  forEmail: z.string().trim().min(3).max(320).optional(),
});
export type ApproveRequest = z.infer<typeof ApproveRequest>;

export const RejectRequest = z.object({
  environment: z.string().min(1).max(64).optional(),
  /** Required: the release fails with it (REASON_REQUIRED without one). */
  reason: z.string().max(500).optional(),
});
export type RejectRequest = z.infer<typeof RejectRequest>;

/** The answer to approve or reject: the release as it stands now (live when that was the last approval missing). */
export const Decision = z.object({
  release: Release,
  approval: Approval,
  /** Who still has to approve; null when the release no longer waits or asks for no approvals. */
  approvals: ApprovalState.nullable(),
});
export type Decision = z.infer<typeof Decision>;
