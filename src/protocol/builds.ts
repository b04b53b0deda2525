import { z } from 'zod';
import { BUILD_STATES } from '../core/glossary.ts';
import { toOneLine } from '../core/one-line.ts';
import { COMMIT_TEXT_LIMITS, MAX_PARENTS, MAX_REPORTED_COMMITS } from '../core/git-log.ts';

/**
 * Wire schemas of builds: what users see (Build, BuildLogLine) and what runners and the
 * server say to each other (Claim…, Heartbeat…, Complete…). One file so both ends agree by
 * construction, whether the runner runs inside the server or on its own machine.
 */

export const BuildState = z.enum(BUILD_STATES);
export type BuildState = z.infer<typeof BuildState>;

export const Build = z.object({
  id: z.string(),
  project: z.string(),
  commit: z.string(),
  /** The ref whose push queued the build first (`refs/heads/main`, `refs/tags/v1`). */
  ref: z.string(),
  branch: z.string().nullable(),
  state: BuildState,
  /** Where the commit is fetched from: null = Slipway's own repository of the project. */
  sourceUrl: z.string().nullable(),
  trigger: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  attempt: z.number(),
  runner: z.string().nullable(),
  deployment: z.string().nullable(),
  deploymentUrl: z.string().nullable(),
  error: z.string().nullable(),
  author: z.string().nullable(),
  message: z.string().nullable(),
  cancelRequested: z.boolean(),
  /** 0 for the first build of its commit; n for the n-th retry. */
  retryNumber: z.number(),
  /** The build this one retries (`slipway builds retry`). */
  retryOf: z.string().nullable(),
});
export type Build = z.infer<typeof Build>;

export const BuildLogLine = z.object({
  seq: z.number(),
  at: z.string(),
  stream: z.enum(['stdout', 'stderr', 'system']),
  text: z.string(),
});
export type BuildLogLine = z.infer<typeof BuildLogLine>;

export const BuildLogsQuery = z.object({
  after: z.coerce.number().int().min(0).default(0),
  follow: z
    .enum(['0', '1', 'true', 'false'])
    .optional()
    .transform((v) => v === '1' || v === 'true'),
});
export type BuildLogsQuery = z.infer<typeof BuildLogsQuery>;

export const BuildLogs = z.object({ build: Build, lines: z.array(BuildLogLine) });
export type BuildLogs = z.infer<typeof BuildLogs>;

// Runner protocol

/**
 * The lease a claim hands out travels in this header on every request about the build
 * (heartbeat, logs, upload, blobs, finalize, complete, git fetch); only the runner holding the
 * current lease is heard, anyone else gets LEASE_LOST.
 */
export const LEASE_HEADER = 'slipway-lease';

export const ClaimRequest = z.object({
  runner: z.string().min(1).max(200),
  /** How long the claim holds without a heartbeat. */
  leaseSeconds: z.number().int().min(5).max(3600).default(60),
  /** Long poll: with the queue empty, wait up to this long for a build before answering 204 (default 0). */
  waitSeconds: z.number().int().min(0).max(60).optional(),
});
export type ClaimRequest = z.infer<typeof ClaimRequest>;

export const ClaimedBuild = z.object({
  build: Build,
  /**
   * Where to fetch the commit: the project's external repository, or null for Slipway's own
   * (`<server>/git/<project>.git`, fetched with the runner's bearer token and the lease).
   */
  gitUrl: z.string().nullable(),
  /**
   * `Authorization` header value for fetching `gitUrl`, from the credentials stored (sealed) with
   * the project's repository; null or absent when there are none. Only the claiming runner sees it.
   */
  gitAuthorization: z.string().nullable().optional(),
  /** Kill the build command after this long. */
  timeoutSeconds: z.number(),
  /** The lease token: sent back in the `Slipway-Lease` header; a re-claim after expiry issues another. */
  lease: z.string(),
});
export type ClaimedBuild = z.infer<typeof ClaimedBuild>;

export const HeartbeatRequest = z.object({ runner: z.string(), leaseSeconds: z.number().int().min(5).max(3600).default(60) });
export type HeartbeatRequest = z.infer<typeof HeartbeatRequest>;

export const HeartbeatResponse = z.object({
  /** The build was canceled: stop it (kill its process group) and complete it as canceled. */
  cancel: z.boolean(),
});
export type HeartbeatResponse = z.infer<typeof HeartbeatResponse>;

export const AppendLogsRequest = z.object({
  runner: z.string(),
  lines: z
    .array(z.object({ at: z.string(), stream: z.enum(['stdout', 'stderr', 'system']), text: z.string().max(16_384) }))
    .max(5000),
});
export type AppendLogsRequest = z.infer<typeof AppendLogsRequest>;

/** What a build's `slipway.yaml` says about environments, reported by the runner. */
export const EnvironmentPolicy = z.object({
  follows: z.string().optional(),
  auto: z.boolean().optional(),
});
export type EnvironmentPolicy = z.infer<typeof EnvironmentPolicy>;

const Sha = z.string().regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/, 'a full lowercase commit id');

/** Free text of a commit: someone's, so bounded here and cleaned again whatever the runner did. */
const CommitText = (max: number) =>
  z
    .string()
    .max(max * 4)
    .transform((text) => toOneLine(text, max));

/** One commit of the built commit's recent history (core/git-log.ts reads them on the runner). */
export const ReportedCommit = z.object({
  sha: Sha,
  parents: z.array(Sha).max(MAX_PARENTS),
  authorName: CommitText(COMMIT_TEXT_LIMITS.authorName),
  authorEmail: CommitText(COMMIT_TEXT_LIMITS.authorEmail),
  message: CommitText(COMMIT_TEXT_LIMITS.message),
  committedAt: z.iso.datetime(),
});
export type ReportedCommit = z.infer<typeof ReportedCommit>;

export const BuildReport = z.object({
  author: z.string().max(255).optional(),
  message: z.string().max(4096).optional(),
  environments: z.record(z.string(), EnvironmentPolicy).optional(),
  previews: z.object({ branches: z.boolean() }).optional(),
  /** The commit's slipway.yaml as it is: the server takes environment policy from it (default branch only). */
  config: z.string().max(256 * 1024).optional(),
  /** The built commit and its ancestors, newest first (recorded with the build's success). */
  commits: z.array(ReportedCommit).max(MAX_REPORTED_COMMITS).optional(),
});
export type BuildReport = z.infer<typeof BuildReport>;

export const CompleteRequest = z.discriminatedUnion('state', [
  z.object({ runner: z.string(), state: z.literal('succeeded'), deployment: z.string(), report: BuildReport.default({}) }),
  z.object({ runner: z.string(), state: z.literal('failed'), error: z.string().max(4096), report: BuildReport.default({}) }),
  z.object({ runner: z.string(), state: z.literal('canceled'), report: BuildReport.default({}) }),
]);
export type CompleteRequest = z.infer<typeof CompleteRequest>;
