import { z } from 'zod';
import { LADDER_ROLES } from '../core/gates/types.ts';
import { CHECK_STATES, ENVIRONMENT_MODES } from '../core/glossary.ts';
import { EnvironmentActions } from './actions.ts';
import { Lock, Pin, Release } from './api.ts';
import { Approval, ApprovalState } from './approvals.ts';

export { GateReason, Gates } from './api.ts';

/** Wire schemas of pipelines: policies, gates, batches and the pipeline view. */

export const CommitCheck = z.object({ name: z.string(), state: z.enum(CHECK_STATES), url: z.string().nullable() });
export type CommitCheck = z.infer<typeof CommitCheck>;

export const BatchCommit = z.object({
  sha: z.string(),
  message: z.string().nullable(),
  author: z.string().nullable(),
  email: z.string().nullable(),
  checks: z.array(CommitCheck),
});
export type BatchCommit = z.infer<typeof BatchCommit>;

/** A release with everything that explains it: its gates, the batch of commits it carries and their checks. */
export const ReleaseDetail = Release.extend({
  batch: z.object({ base: z.string().nullable(), commits: z.array(BatchCommit), truncated: z.boolean() }).nullable(),
  /** Decisions people made on this release, oldest first. Older servers omit it. */
  approvals: z.array(Approval).default([]),
  /** While it waits on an environment that asks for approvals: who still has to approve. */
  approvalState: ApprovalState.nullable().default(null),
});
export type ReleaseDetail = z.infer<typeof ReleaseDetail>;

/**
 * The answer to a promote or rollback with `dryRun: true`: what it would do, nothing written.
 * "production v5 → v6, clears its pin, carries 3 commits by 2 authors".
 */
export const MovePlan = z.object({
  dryRun: z.literal(true),
  environment: z.string(),
  /** What the environment runs now (release 0 and deployment null: nothing yet). */
  from: z.object({ release: z.number(), deployment: z.string().nullable() }),
  /** The environment does not exist yet: the promotion would create it. */
  createsEnvironment: z.boolean(),
  /** The release it would make, as it would be right after: live, or waiting with the gates that hold it. */
  release: ReleaseDetail,
  /** The pin it would clear (a person's promotion that goes live unpins). */
  clearsPin: Pin.nullable(),
  /** A rollback pins the environment where it lands. */
  pins: z.boolean(),
  /** Whoever wrote the commits of the batch, once each (name, or email when the commit has no name). */
  authors: z.array(z.string()),
  /** It goes past a lock, lineage, a freeze, a window or approvals (an admin's break-glass, audited). */
  forced: z.boolean(),
});
export type MovePlan = z.infer<typeof MovePlan>;

export const Policy = z.object({
  follows: z.string().nullable(),
  from: z.string().nullable(),
  auto: z.boolean(),
  checks: z.array(z.string()),
  mode: z.enum(ENVIRONMENT_MODES),
  maxCommits: z.number().int(),
  requires: z.array(z.string()),
  /** Deploy windows (`Mon-Thu 09:00-16:00 Europe/Berlin`); empty: any time. Older servers omit it. */
  windows: z.array(z.string()).default([]),
  /** `allow`: hotfixes go live outside the deploy windows; `hold`: windows hold them too. Older servers omit it. */
  expedite: z.enum(['allow', 'hold']).default('hold'),
  /** With from: how long a deployment must have been live upstream, in milliseconds (0: no soak). */
  soakMs: z.number().int(),
  /** Who must sign off a release: `count` people of at least the lowest of `roles`, and/or every author (`authors: all`). Older servers omit it. */
  approvals: z
    .object({ count: z.number().int(), roles: z.array(z.enum(LADDER_ROLES)), authors: z.literal('all').nullable() })
    .default({ count: 0, roles: ['approver'], authors: null }),
  /** How a service's instances switch (slipway.yaml's rollout:); static sites ignore it. Older servers omit it. */
  rollout: z
    .object({
      maxUnavailable: z.union([z.number().int(), z.string()]),
      drainMs: z.number().int(),
      healthTimeoutMs: z.number().int(),
      prepareTimeoutMs: z.number().int().default(600_000),
      releaseTimeoutMs: z.number().int().default(1_800_000),
    })
    .default({ maxUnavailable: 1, drainMs: 10_000, healthTimeoutMs: 60_000, prepareTimeoutMs: 600_000, releaseTimeoutMs: 1_800_000 }),
  /** `commit <sha>` (from slipway.yaml on the default branch) or `user <name>`; null when never set. */
  source: z.string().nullable(),
  updatedAt: z.string().nullable(),
});
export type Policy = z.infer<typeof Policy>;

const CheckName = z.string().trim().min(1).max(100);

export const SetPolicyRequest = z.object({
  follows: z.string().min(1).max(200).nullable().optional(),
  from: z.string().min(1).max(64).nullable().optional(),
  auto: z.boolean().optional(),
  checks: z.array(CheckName).max(50).optional(),
  mode: z.enum(ENVIRONMENT_MODES).optional(),
  maxCommits: z.number().int().min(1).max(10_000).optional(),
  requires: z.array(z.string().min(1).max(64)).max(20).optional(),
  /** Deploy windows; each `Days HH:MM-HH:MM Zone`, checked by the server (POLICY_INVALID). Empty: any time. */
  windows: z.array(z.string().min(1).max(100)).max(20).optional(),
  /** `allow`: hotfixes (expedited releases) go live outside the deploy windows; `hold` (default): not. */
  expedite: z.enum(['allow', 'hold']).optional(),
  /** A duration like `10m` or `1h30m`; null (or `0`) clears it. */
  soak: z.string().min(1).max(32).nullable().optional(),
  /** Fields given replace the current ones (count 0 and authors null: no approvals); null clears them all. */
  approvals: z
    .object({
      count: z.number().int().min(0).max(50).optional(),
      roles: z.array(z.enum(LADDER_ROLES)).min(1).max(4).optional(),
      authors: z.literal('all').nullable().optional(),
    })
    .strict()
    .nullable()
    .optional(),
  /** How a service's instances switch; fields given replace the current ones. Durations like `10s`. */
  rollout: z
    .object({
      maxUnavailable: z.union([z.number().int().min(1).max(10_000), z.string().regex(/^(100|[1-9][0-9]?)%$/)]).optional(),
      drain: z.string().min(1).max(32).optional(),
      healthTimeout: z.string().min(1).max(32).optional(),
      prepareTimeout: z.string().min(1).max(32).optional(),
      releaseTimeout: z.string().min(1).max(32).optional(),
    })
    .strict()
    .optional(),
  /** Back to no policy at all (fields given with it are applied on top of the defaults). */
  reset: z.boolean().optional(),
});
export type SetPolicyRequest = z.infer<typeof SetPolicyRequest>;

export const PipelineStage = z.object({
  name: z.string(),
  url: z.string(),
  policy: Policy,
  /** What the environment runs now. */
  runs: z
    .object({
      deployment: z.string(),
      release: z.number(),
      commit: z.string().nullable(),
      branch: z.string().nullable(),
      /** Who wrote the commit, as the deployment says. Older servers omit it. */
      author: z.string().nullable().default(null),
      /** The live release's id (its page). Older servers omit it. */
      releaseId: z.string().nullable().default(null),
      since: z.string().nullable(),
    })
    .nullable(),
  pin: Pin.nullable(),
  lock: Lock.nullable(),
  /** Releases waiting to enter, oldest first, each with the gate that holds it. */
  waiting: z.array(Release),
  /** Things a person should know: e.g. it runs commits the default branch does not contain. */
  warnings: z.array(z.string()),
  /** What the person asking may do to the environment, and why not (protocol/actions.ts); older servers omit it. */
  actions: EnvironmentActions.optional(),
});
export type PipelineStage = z.infer<typeof PipelineStage>;

export const Pipeline = z.object({
  project: z.string(),
  defaultBranch: z.string(),
  /** Upstream first, in the order of `from:`; previews are not stages. */
  stages: z.array(PipelineStage),
});
export type Pipeline = z.infer<typeof Pipeline>;
