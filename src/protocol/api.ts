import { z } from 'zod';
import { DELIVERY_STATES, JOB_STATES, PERSON_ROLES, RELEASE_KINDS, RELEASE_STATES, ROLES } from '../core/glossary.ts';
import { EnvironmentActions, GlobalActions, ProjectActions, ReleaseActions } from './actions.ts';

/**
 * Wire schemas of the HTTP API. A schema and its type share a name. The server parses
 * requests with these; the typed client and the dashboard read responses as these types.
 */

export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

export const Name = z.string().min(1).max(64);
export const Digest = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256 digest');

export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

export const Project = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  url: z.string(),
  /** External repository that webhooks build from; null when only Slipway's own git is used. */
  repo: z.string().nullable(),
  hasWebhookSecret: z.boolean(),
  /** `git push <gitUrl> <branch>` builds and deploys (token as the password). */
  gitUrl: z.string(),
  /** The branch whose builds' slipway.yaml sets environment policy. */
  defaultBranch: z.string(),
  /** What the person asking may do to the project, and why not (protocol/actions.ts); absent for machines and older servers. */
  actions: ProjectActions.optional(),
});
export type Project = z.infer<typeof Project>;

export const CreateProjectRequest = z.object({
  name: Name,
  repo: z.string().min(1).max(2048).optional(),
  webhookSecret: z.string().min(8).max(256).optional(),
});
export type CreateProjectRequest = z.infer<typeof CreateProjectRequest>;

/** Changes to a project: a field left out stays, `null` removes it. */
export const UpdateProjectRequest = z
  .object({
    /** A new repository URL; credentials in it replace the stored ones (sealed, never shown back). */
    repo: z.string().min(1).max(2048).nullable().optional(),
    webhookSecret: z.string().min(8).max(256).nullable().optional(),
    /** The branch whose builds' slipway.yaml sets environment policy (admin only). */
    defaultBranch: z.string().min(1).max(200).optional(),
  })
  .strict();
export type UpdateProjectRequest = z.infer<typeof UpdateProjectRequest>;

/**
 * `POST /api/v1/projects/:project/webhook-secret/rotate`: the project with its new webhook
 * secret, shown this once, and the hook URLs to paste it next to in the git host's settings.
 */
export const RotatedWebhookSecret = z.object({
  project: Project,
  secret: z.string(),
  hooks: z.object({ github: z.string(), gitlab: z.string(), generic: z.string() }),
});
export type RotatedWebhookSecret = z.infer<typeof RotatedWebhookSecret>;

/** `DELETE /api/v1/projects/:project`: the project's name again, as a guard against deleting the wrong one. */
export const DeleteProjectRequest = z.object({ confirm: z.string().max(200).default('') });
export type DeleteProjectRequest = z.infer<typeof DeleteProjectRequest>;

export const ProjectDeleted = z.object({
  /** The name it had; free for a new project now. */
  project: z.string(),
  id: z.string(),
  deletedAt: z.string(),
  /** Builds canceled (queued) or asked to stop (running). */
  buildsCanceled: z.array(z.string()),
  /** Custom domains no longer served. */
  domainsRemoved: z.array(z.string()),
  /** Blobs no other project used, deleted; null when the clean-up failed (its `project.purge` job retries it, with backoff). */
  blobsCollected: z.number().nullable(),
  cleanupError: z.string().nullable(),
});
export type ProjectDeleted = z.infer<typeof ProjectDeleted>;

const Command = z.string().min(1).max(4096);

/** `meta.service`: how agents run a deployment (src/core/service-spec.ts). */
export const ServiceSpec = z
  .object({
    start: Command,
    port: z.number().int().min(1).max(65535).optional(),
    health: z
      .string()
      .max(200)
      .regex(/^\/[\x21-\x7e]*$/)
      .optional(),
    stop_timeout_ms: z.number().int().min(0).max(3_600_000).optional(),
    release: Command.optional(),
    hooks: z
      .object({ before_install: Command.optional(), after_install: Command.optional(), before_switch: Command.optional(), after_switch: Command.optional() })
      .strict()
      .optional(),
  })
  .strict();
export type ServiceSpec = z.infer<typeof ServiceSpec>;

export const DeploymentMeta = z
  .object({
    commit: z.string().max(64).optional(),
    branch: z.string().max(255).optional(),
    message: z.string().max(4096).optional(),
    author: z.string().max(255).optional(),
    source: z.string().max(64).optional(),
    /** Serve index.html for paths that match no file (single-page apps). */
    spa: z.boolean().optional(),
    build: z.string().max(64).optional(),
    /** Run by agents as a service (slipway.yaml's service:, release: and hooks:); absent for a static site. */
    service: ServiceSpec.optional(),
  })
  .strict();
export type DeploymentMeta = z.infer<typeof DeploymentMeta>;

export const Deployment = z.object({
  id: z.string(),
  project: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  fileCount: z.number(),
  totalBytes: z.number(),
  manifestDigest: z.string(),
  meta: DeploymentMeta,
  url: z.string(),
});
export type Deployment = z.infer<typeof Deployment>;

export const ManifestFile = z.object({
  path: z.string(),
  sha256: z.string(),
  size: z.number().int().nonnegative(),
  mode: z.number().int(),
});
export type ManifestFile = z.infer<typeof ManifestFile>;

export const DeploymentManifest = z.object({
  deployment: z.string(),
  /** sha256 of the canonical manifest (core/manifest.ts canonicalManifest of `files`). */
  manifestDigest: z.string(),
  files: z.array(ManifestFile),
});
export type DeploymentManifest = z.infer<typeof DeploymentManifest>;

/** Runner: what a build's upload may be sent against, the latest deployment of its project made from its branch (null: none). */
export const BuildBase = z.object({ base: DeploymentManifest.nullable() });
export type BuildBase = z.infer<typeof BuildBase>;

/**
 * The manifest as its differences from a base deployment of the same project (see
 * core/manifest-delta.ts). `manifestDigest` is the sha256 of the canonical manifest the client
 * means (core/manifest.ts canonicalManifest): the server refuses a delta that makes anything
 * else (MANIFEST_DELTA_MISMATCH), and a base it does not have in this project (BASE_NOT_FOUND);
 * the client then sends the full manifest.
 */
export const ManifestDeltaRequest = z.object({
  base: z.string().min(1).max(64),
  manifestDigest: z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256 digest'),
  added: z.array(ManifestFile).default([]),
  changed: z.array(ManifestFile).default([]),
  removed: z.array(z.string()).default([]),
});
export type ManifestDeltaRequest = z.infer<typeof ManifestDeltaRequest>;

/** Exactly one of `files` (the whole manifest) and `delta` (the manifest against a base deployment). */
export const CreateUploadRequest = z
  .object({
    files: z.array(ManifestFile).optional(),
    delta: ManifestDeltaRequest.optional(),
    meta: DeploymentMeta.optional(),
    /**
     * Finalize in the same request when no blob is missing (a redeploy of files the server has):
     * the answer then carries the deployment (`deployment`, `finalized`), exactly as finalize
     * would make it. Otherwise the upload waits for its blobs and its finalize, as without it.
     */
    finalize: z.boolean().optional(),
  })
  .refine((body) => (body.files === undefined) !== (body.delta === undefined), { message: 'send exactly one of files and delta' });
export type CreateUploadRequest = z.infer<typeof CreateUploadRequest>;

export const Upload = z.object({
  id: z.string(),
  project: z.string(),
  fileCount: z.number(),
  totalBytes: z.number(),
  /** Digests the server lacks; the client PUTs each to /api/v1/blobs/<digest>, then finalizes. */
  missing: z.array(z.string()),
  /** The deployment this upload became: set when it was finalized in this request (`finalize`), else null. */
  deployment: z.string().nullable(),
  /** That deployment, as finalize answers it (only with `finalize` and no blob missing). */
  finalized: Deployment.optional(),
});
export type Upload = z.infer<typeof Upload>;

/**
 * `base`: the deployment a delta upload was made against. Files of the upload with the same
 * digest and size as one of its files were checked when that deployment was finalized and need
 * no second look; every other file is checked as usual. A base that is not a deployment of the
 * same project vouches for nothing: every file is checked.
 */
export const FinalizeUploadRequest = z
  .object({
    base: z.string().min(1).max(64).optional(),
  })
  .strict();
export type FinalizeUploadRequest = z.infer<typeof FinalizeUploadRequest>;

export const BlobStored = z.object({ digest: z.string(), size: z.number(), created: z.boolean() });
export type BlobStored = z.infer<typeof BlobStored>;

export const Pin = z.object({ by: z.string(), at: z.string(), reason: z.string().nullable() });
export type Pin = z.infer<typeof Pin>;

export const Lock = z.object({
  by: z.string(),
  /** Id of the token holding the lock: unlocking without break-glass takes that token. Null for a lock older than ids. */
  byId: z.string().nullable(),
  at: z.string(),
  reason: z.string(),
  until: z.string().nullable(),
});
export type Lock = z.infer<typeof Lock>;

export const ReleaseState = z.enum(RELEASE_STATES);
export type ReleaseState = z.infer<typeof ReleaseState>;

export const ReleaseKind = z.enum(RELEASE_KINDS);
export type ReleaseKind = z.infer<typeof ReleaseKind>;

export const GateReason = z.object({
  gate: z.string(),
  /** Stable code (CHECKS_PENDING, LINEAGE_VIOLATION, MAX_COMMITS …); branch on it, never on the message. */
  code: z.string(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type GateReason = z.infer<typeof GateReason>;

/** What the gates said when the release was last looked at. */
export const Gates = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.literal('pass') }),
  z.object({ outcome: z.literal('wait'), reasons: z.array(GateReason), recheckAt: z.string().optional() }),
  z.object({ outcome: z.literal('fail'), reason: GateReason }),
]);
export type Gates = z.infer<typeof Gates>;

export const Release = z.object({
  id: z.string(),
  project: z.string(),
  environment: z.string(),
  number: z.number(),
  kind: ReleaseKind,
  state: ReleaseState,
  deployment: z.string(),
  previousDeployment: z.string().nullable(),
  replaces: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.string(),
  reason: z.string().nullable(),
  forced: z.boolean(),
  /** A hotfix's release (a build of a hotfix/* branch): no soak, no place in the queue, windows only where `expedite: allow`. Older servers omit it. */
  expedited: z.boolean().default(false),
  /** `user` for a person's or script's promotion, `automation` for Slipway's own (a branch built, upstream went live). */
  trigger: z.enum(['user', 'automation']),
  commit: z.string().nullable(),
  branch: z.string().nullable(),
  /** What the gates said when it was last looked at; null before the first look (and for rollbacks, which only a lock holds). */
  gates: Gates.nullable(),
  /** When its gates are looked at again by the clock (a lock's end); null when an event will wake it. */
  recheckAt: z.string().nullable(),
  /** Why it is in its state: what it waits for, why it failed, what superseded or rolled it back. */
  stateReason: z.string().nullable(),
  supersededBy: z.string().nullable(),
  liveAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  /** How many commits it carries over what the environment ran when it was made (null: not known). */
  batchSize: z.number().nullable(),
  /** The version of the environment's config vars it runs with (null: none). Older servers omit it. */
  configVersion: z.number().nullable().default(null),
  /** What the person asking may do with this release, and why not (protocol/actions.ts); absent where it is not shown to a person. */
  actions: ReleaseActions.optional(),
});
export type Release = z.infer<typeof Release>;

/** `GET /api/v1/projects/:project/releases`: how many of each environment's newest releases (1–100, default 20). */
export const RecentReleasesQuery = z.object({
  perEnvironment: z.coerce.number().int().min(1).max(100).default(20),
});
export type RecentReleasesQuery = z.infer<typeof RecentReleasesQuery>;

/**
 * The newest releases of every environment of a project that is not retired, environments by
 * name, releases newest first: one call instead of one release list per environment.
 */
export const RecentReleases = z.object({
  environments: z.array(z.object({ environment: z.string(), releases: z.array(Release) })),
});
export type RecentReleases = z.infer<typeof RecentReleases>;

/** The answer to a promote or rollback: the release made, and the pin a promote cleared (null when there was none). */
export const MovedRelease = Release.extend({ clearedPin: Pin.nullable() });
export type MovedRelease = z.infer<typeof MovedRelease>;

export const Environment = z.object({
  name: z.string(),
  project: z.string(),
  deployment: z.string().nullable(),
  release: z.object({ id: z.string(), number: z.number() }).nullable(),
  url: z.string(),
  pin: Pin.nullable(),
  lock: Lock.nullable(),
  /** The branch this environment follows (moves to each new successful build of it). */
  follows: z.string().nullable(),
  preview: z.boolean(),
  retiredAt: z.string().nullable(),
  createdAt: z.string(),
  /** What the person asking may do to the environment, and why not (protocol/actions.ts); absent where it is not shown to a person. */
  actions: EnvironmentActions.optional(),
});
export type Environment = z.infer<typeof Environment>;

/** An environment (not a preview) running a commit the project's default branch does not contain: the next deploy from there loses it. */
export const UnmergedWarning = z.object({
  environment: z.string(),
  commit: z.string(),
  branch: z.string().nullable(),
  /** "production runs feature/x @3f2a1c9, not in main: merge it or it will be lost on the next deploy" */
  message: z.string(),
});
export type UnmergedWarning = z.infer<typeof UnmergedWarning>;

export const ProjectStatus = z.object({
  project: Project,
  environments: z.array(Environment),
  domains: z.array(z.object({ hostname: z.string(), environment: z.string() })),
  warnings: z.array(UnmergedWarning),
});
export type ProjectStatus = z.infer<typeof ProjectStatus>;

const Reason = z.string().trim().min(1).max(1000);

export const PromoteRequest = z.object({
  /** The deployment to promote; or `commit`, for the deployment that commit built. */
  deployment: z.string().min(1).optional(),
  /** A commit sha (7–40 hex): the deployment of its successful build is promoted, never rebuilt. */
  commit: z.string().regex(/^[0-9a-f]{7,40}$/, 'a commit sha, 7 to 40 lowercase hex digits').optional(),
  /** Compare-and-set: fail with RELEASE_CONFLICT unless the environment's current release has this number (0 = none yet). */
  expectRelease: z.number().int().nonnegative().optional(),
  reason: Reason.optional(),
  /** Admin break-glass past a lock; needs a reason and is audited. */
  force: z.boolean().optional(),
  /**
   * Plan only: answers what the promotion would do (a MovePlan) and changes nothing. Refused
   * exactly as the promotion would be (same error codes), so a confirmation can show both.
   */
  dryRun: z.boolean().optional(),
});
export type PromoteRequest = z.infer<typeof PromoteRequest>;

export const RollbackRequest = z.object({
  /** A deployment id or a release number `vN`; default: the deployment live before the current one. */
  to: z.string().min(1).optional(),
  expectRelease: z.number().int().nonnegative().optional(),
  reason: Reason.optional(),
  force: z.boolean().optional(),
  /** Plan only: answers what the rollback would do (a MovePlan) and changes nothing; refused as the rollback would be. */
  dryRun: z.boolean().optional(),
});
export type RollbackRequest = z.infer<typeof RollbackRequest>;

export const LockRequest = z.object({
  reason: Reason,
  /** A duration (`2h`, `30m`) or an ISO timestamp; absent = until unlocked. */
  until: z.string().min(1).optional(),
  force: z.boolean().optional(),
});
export type LockRequest = z.infer<typeof LockRequest>;

export const UnlockRequest = z.object({ reason: Reason.optional(), force: z.boolean().optional() });
export type UnlockRequest = z.infer<typeof UnlockRequest>;

export const Event = z.object({
  id: z.number(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  project: z.string().nullable(),
  environment: z.string().nullable(),
  target: z.string().nullable(),
  reason: z.string().nullable(),
  before: z.unknown().nullable(),
  after: z.unknown().nullable(),
});
export type Event = z.infer<typeof Event>;

export const Token = z.object({
  id: z.string(),
  name: z.string(),
  /** A service token's role; a personal token's user's global role (it acts with the user's roles). */
  role: Role,
  /** The user a personal token acts as; null for a service token. */
  user: z.string().nullable(),
  /** The one project a scoped token reaches; null: every project its role reaches. */
  project: z.string().nullable(),
  expiresAt: z.string().nullable(),
  createdAt: z.string(),
  createdBy: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export type Token = z.infer<typeof Token>;

export const CreateTokenRequest = z.object({
  name: z.string().trim().min(1).max(100),
  /** A service token's role. Without it (and without user): a personal token of the caller. */
  role: Role.optional(),
  /** A personal token of this user (an admin's to make for others). */
  user: z.string().min(1).max(100).optional(),
  project: Name.optional(),
  /** How long it lives: 90s, 10m, 2h, 30d. */
  expires: z.string().min(1).max(20).optional(),
});
export type CreateTokenRequest = z.infer<typeof CreateTokenRequest>;

export const CreatedToken = z.object({ token: Token, secret: z.string() });
export type CreatedToken = z.infer<typeof CreatedToken>;

/** The roles a person can hold (runner is for build machines only, agent for host agents). */
export const PersonRole = z.enum(PERSON_ROLES);
export type PersonRole = z.infer<typeof PersonRole>;

export const Membership = z.object({
  project: z.string(),
  user: z.string(),
  role: PersonRole,
  createdAt: z.string(),
  createdBy: z.string(),
});
export type Membership = z.infer<typeof Membership>;

export const User = z.object({
  id: z.string(),
  name: z.string(),
  /** Held on every project; a membership may raise it on one. */
  role: PersonRole,
  emails: z.array(z.string()),
  hasPassword: z.boolean(),
  disabled: z.boolean(),
  createdAt: z.string(),
  createdBy: z.string(),
  /** Present when one user is shown. */
  memberships: z.array(Membership).optional(),
});
export type User = z.infer<typeof User>;

export const CreateUserRequest = z.object({
  name: z.string().min(1).max(40),
  emails: z.array(z.string().max(254)).max(20).default([]),
  role: PersonRole.default('viewer'),
  password: z.string().max(1024).optional(),
});
export type CreateUserRequest = z.input<typeof CreateUserRequest>;

export const UpdateUserRequest = z.object({
  role: PersonRole.optional(),
  addEmails: z.array(z.string().max(254)).max(20).optional(),
  removeEmails: z.array(z.string().max(254)).max(20).optional(),
  disabled: z.boolean().optional(),
});
export type UpdateUserRequest = z.infer<typeof UpdateUserRequest>;

export const SetPasswordRequest = z.object({ password: z.string().max(1024), current: z.string().max(1024).optional() });
export type SetPasswordRequest = z.infer<typeof SetPasswordRequest>;

export const SetMemberRequest = z.object({ role: PersonRole });
export type SetMemberRequest = z.infer<typeof SetMemberRequest>;

export const SignInRequest = z.object({ email: z.string().min(1).max(254), password: z.string().min(1).max(1024) });
export type SignInRequest = z.infer<typeof SignInRequest>;

/** A signed-in browser: who, until when, and the CSRF token its writes must carry (X-Slipway-CSRF). */
export const Session = z.object({ user: User, csrf: z.string(), expiresAt: z.string() });
export type Session = z.infer<typeof Session>;

export const Domain = z.object({
  hostname: z.string(),
  project: z.string(),
  environment: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  url: z.string(),
});
export type Domain = z.infer<typeof Domain>;

export const AddDomainRequest = z.object({ hostname: z.string().min(1).max(253), environment: Name });
export type AddDomainRequest = z.infer<typeof AddDomainRequest>;

export const Whoami = z.object({
  /** The token this request carries; null when it came with a dashboard session. */
  token: Token.nullable(),
  /** Who acts: the user for a personal token or a session, else the service token itself. */
  actor: z.object({ id: z.string().nullable(), name: z.string(), role: Role, via: z.enum(['token', 'session']) }),
  user: User.nullable(),
  /** The one project a scoped token reaches. */
  scope: z.string().nullable(),
  /** What this person may do beyond any one project, and why not (absent for machines). */
  actions: GlobalActions.optional(),
});
export type Whoami = z.infer<typeof Whoami>;

export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.coerce.number().int().positive().optional(),
});
export type ListQuery = z.infer<typeof ListQuery>;

/** A page of deployments: `before` names the last one of the page before; `q` searches branch, commit, author, message and id. */
export const DeploymentsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z.string().regex(/^[a-z0-9-]{1,64}$/, 'a deployment id').optional(),
  q: z.string().max(200).optional(),
});
export type DeploymentsQuery = z.infer<typeof DeploymentsQuery>;

export const EventsQuery = ListQuery.extend({
  project: z.string().optional(),
  environment: z.string().optional(),
  /** Events about one release of `project` (its id, or `vN` with `environment`): what happened to it, oldest last. */
  release: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'a release id or vN').optional(),
});
export type EventsQuery = z.infer<typeof EventsQuery>;

export const DeliveryState = z.enum(DELIVERY_STATES);
export type DeliveryState = z.infer<typeof DeliveryState>;

/**
 * One webhook delivery for one project, as the queue sees it: `pending` until its push is
 * recorded, then `done` with the builds it queued, `failed` with why, or `stale` when its push
 * named a `before` that was not the branch's recorded head (a replay, or overtaken by a newer
 * push): it moved nothing, and `error` says what the branch was at.
 */
export const Delivery = z.object({
  /** Queue order; pass it as `before` to page back. */
  seq: z.number().int(),
  provider: z.string(),
  /** The provider's delivery id (GitHub `X-GitHub-Delivery`, GitLab `Idempotency-Key` …). */
  id: z.string(),
  project: z.string(),
  state: DeliveryState,
  receivedAt: z.string(),
  processedAt: z.string().nullable(),
  /** Builds its push queued; an existing build of the same commit is listed, not repeated. */
  builds: z.array(z.string()),
  error: z.string().nullable(),
  /** The refs the push moved; `after` of forty zeros is a delete. */
  refs: z.array(z.object({ ref: z.string(), before: z.string(), after: z.string() })),
});
export type Delivery = z.infer<typeof Delivery>;

export const JobState = z.enum(JOB_STATES);
export type JobState = z.infer<typeof JobState>;

/**
 * A job of the background queue: `queued` (maybe for later: runAt), `running` under a lease
 * (lockedBy until lockedUntil), `done`, or `dead` after its last attempt, with the error of
 * that attempt in lastError. An admin queues a dead job again with POST /api/v1/jobs/:id/retry.
 */
export const Job = z.object({
  id: z.number().int(),
  kind: z.string(),
  /** Dedupe key: one queued job per key, and one running at a time. */
  key: z.string().nullable(),
  payload: z.unknown(),
  state: JobState,
  runAt: z.string(),
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  lockedBy: z.string().nullable(),
  lockedUntil: z.string().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  doneAt: z.string().nullable(),
});
export type Job = z.infer<typeof Job>;

export const JobsQuery = ListQuery.extend({
  state: JobState.optional(),
  kind: z.string().max(100).optional(),
});
export type JobsQuery = z.infer<typeof JobsQuery>;
