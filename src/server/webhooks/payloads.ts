import { z } from 'zod';

/**
 * The parts of each provider's payload that Slipway reads. Objects strip what they do not
 * name, so a provider adding fields never breaks a delivery; what is named is checked.
 */

/** A full commit id, lower-cased. */
export const CommitSha = z
  .string()
  .regex(/^[0-9a-fA-F]{40}$/, 'must be a 40-digit hex commit id')
  .transform((s) => s.toLowerCase());

/** A fully qualified ref (`refs/heads/main`, `refs/tags/v1`). */
export const Ref = z
  .string()
  .max(1024)
  .regex(/^refs\/\S+$/, 'must be a full ref such as refs/heads/main');

const Url = z.string().max(2048);

// GitHub: https://docs.github.com/en/webhooks/webhook-events-and-payloads#push

export const GithubRepository = z.object({
  full_name: z.string().optional(),
  clone_url: Url.nullish(),
  html_url: Url.nullish(),
  ssh_url: Url.nullish(),
  git_url: Url.nullish(),
});
export type GithubRepository = z.infer<typeof GithubRepository>;

/** Read before the signature is checked, only to find the project; nothing else is trusted from it. */
export const GithubRepositoryOf = z.object({ repository: GithubRepository.nullish() });

const GithubCommitAuthor = z.object({ name: z.string().nullish(), email: z.string().nullish(), username: z.string().nullish() });

export const GithubPushPayload = z.object({
  ref: Ref,
  before: CommitSha,
  after: CommitSha,
  created: z.boolean().optional(),
  deleted: z.boolean().optional(),
  forced: z.boolean().optional(),
  repository: GithubRepository,
  pusher: z.object({ name: z.string().nullish(), email: z.string().nullish() }).nullish(),
  head_commit: z
    .object({ id: CommitSha, message: z.string().nullish(), author: GithubCommitAuthor.nullish() })
    .nullish(),
  commits: z.array(z.object({ id: CommitSha })).optional(),
});
export type GithubPushPayload = z.infer<typeof GithubPushPayload>;

export const GithubPingPayload = z.object({
  zen: z.string().optional(),
  hook_id: z.number().optional(),
});
export type GithubPingPayload = z.infer<typeof GithubPingPayload>;

// GitHub commit statuses: https://docs.github.com/en/webhooks/webhook-events-and-payloads#status

/** Bounded before anything is read: a check's name, URL and description are checked again when recorded. */
const Text = (max: number) => z.string().max(max);

export const GithubStatusPayload = z.object({
  id: z.number().optional(),
  sha: CommitSha,
  context: Text(1000),
  /** `error` is a failure for Slipway: the check did not pass. */
  state: z.enum(['pending', 'success', 'failure', 'error']),
  target_url: Text(8192).nullish(),
  description: Text(8192).nullish(),
  updated_at: z.string().nullish(),
  repository: GithubRepository,
});
export type GithubStatusPayload = z.infer<typeof GithubStatusPayload>;

// GitHub check runs: https://docs.github.com/en/webhooks/webhook-events-and-payloads#check_run

export const GithubCheckRunPayload = z.object({
  /** created, completed, rerequested, requested_action. */
  action: Text(100),
  check_run: z.object({
    id: z.number().optional(),
    name: Text(1000),
    head_sha: CommitSha,
    /** queued, in_progress, completed; waiting, requested and pending for GitHub Actions. */
    status: Text(100),
    /** Null until completed. */
    conclusion: Text(100).nullish(),
    details_url: Text(8192).nullish(),
    html_url: Text(8192).nullish(),
    output: z.object({ title: Text(65_536).nullish(), summary: Text(262_144).nullish() }).nullish(),
  }),
  repository: GithubRepository,
});
export type GithubCheckRunPayload = z.infer<typeof GithubCheckRunPayload>;

// GitLab: https://docs.gitlab.com/user/project/integrations/webhook_events/#push-events

export const GitlabProject = z.object({
  path_with_namespace: z.string().optional(),
  git_http_url: Url.nullish(),
  git_ssh_url: Url.nullish(),
  web_url: Url.nullish(),
});
export type GitlabProject = z.infer<typeof GitlabProject>;

/** Read before the token or signature is checked, only to find the project. */
export const GitlabProjectOf = z.object({ project: GitlabProject.nullish() });

export const GitlabPushPayload = z.object({
  object_kind: z.enum(['push', 'tag_push']),
  ref: Ref,
  before: CommitSha,
  after: CommitSha,
  /** The commit a push leaves checked out (for an annotated tag: the tagged commit); null on delete. */
  checkout_sha: CommitSha.nullish(),
  user_name: z.string().nullish(),
  user_username: z.string().nullish(),
  project: GitlabProject,
  commits: z
    .array(z.object({ id: CommitSha, message: z.string().nullish(), author: z.object({ name: z.string().nullish() }).nullish() }))
    .optional(),
});
export type GitlabPushPayload = z.infer<typeof GitlabPushPayload>;

// GitLab pipelines: https://docs.gitlab.com/user/project/integrations/webhook_events/#pipeline-events

export const GitlabPipelinePayload = z.object({
  object_kind: z.literal('pipeline'),
  object_attributes: z.object({
    id: z.number().optional(),
    sha: CommitSha,
    /** created, waiting_for_resource, preparing, pending, running, success, failed, canceled, skipped, manual, scheduled. */
    status: Text(100),
    url: Text(8192).nullish(),
  }),
  project: GitlabProject,
});
export type GitlabPipelinePayload = z.infer<typeof GitlabPipelinePayload>;

// Slipway's own generic hook.

export const GenericPushPayload = z.object({
  /** `refs/heads/main`; a bare branch name means that branch. */
  ref: z
    .string()
    .min(1)
    .max(1024)
    .transform((ref) => (ref.startsWith('refs/') ? ref : `refs/heads/${ref}`))
    .pipe(Ref),
  after: CommitSha,
  /**
   * The commit the branch was at before this push (forty zeros: it did not exist). Required: a
   * branch moves only from the head Slipway recorded, so a replayed body moves nothing.
   */
  before: CommitSha,
  /** Idempotency key; the `X-Slipway-Delivery` header may carry it instead. */
  delivery: z.string().min(1).max(200).optional(),
  author: z.string().max(200).optional(),
  message: z.string().max(10_000).optional(),
});
export type GenericPushPayload = z.infer<typeof GenericPushPayload>;
