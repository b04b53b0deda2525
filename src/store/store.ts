/**
 * The Store: every read and write of Slipway's state. One implementation over Kysely serves
 * both dialects (store/sqlite, store/postgres); services see only this interface.
 *
 * Times are ISO-8601 strings in UTC on both backends; JSON columns are parsed here.
 */

import type { RepoCredentials } from '../core/repo-url.ts';
import type { ActorRole } from '../core/release-planner.ts';

export type Role = ActorRole;

export interface ProjectRow {
  id: string;
  name: string;
  createdAt: string;
  createdBy: string;
  /** External repository webhooks build from; never with credentials in it. */
  repoUrl: string | null;
  /** Credentials for `repoUrl` (given in the URL when it was saved); sealed in the database. Rows read always have it. */
  repoCredentials?: RepoCredentials | null;
  /** Shared secret of webhook signatures (HMACs need it as it is); sealed in the database. */
  webhookSecret: string | null;
  /** Set when the project was deleted; its `name` is then `~<id>` and its old name is `deletedName`. */
  deletedAt?: string | null | undefined;
  deletedName?: string | null | undefined;
  /** Set once a deleted project's git repository and unshared blobs are gone. */
  purgedAt?: string | null | undefined;
}

export interface TokenRow {
  id: string;
  name: string;
  role: Role;
  hash: string;
  createdAt: string;
  createdBy: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface DeploymentMetaRow {
  commit?: string | undefined;
  branch?: string | undefined;
  message?: string | undefined;
  author?: string | undefined;
  source?: string | undefined;
  spa?: boolean | undefined;
  build?: string | undefined;
}

export interface DeploymentRow {
  id: string;
  projectId: string;
  manifestDigest: string;
  fileCount: number;
  totalBytes: number;
  meta: DeploymentMetaRow;
  createdAt: string;
  createdBy: string;
}

export interface UploadRow {
  id: string;
  projectId: string;
  manifestDigest: string;
  fileCount: number;
  totalBytes: number;
  meta: DeploymentMetaRow;
  createdAt: string;
  createdBy: string;
  deploymentId: string | null;
}

export interface EnvironmentRow {
  id: string;
  projectId: string;
  name: string;
  deploymentId: string | null;
  releaseId: string | null;
  /** Number of the current release; 0 before the first. Compare-and-set pointer moves check it. */
  releaseNumber: number;
  pinnedBy: string | null;
  pinnedAt: string | null;
  pinnedReason: string | null;
  lockedBy: string | null;
  /** Id of the actor holding the lock (a token's id); unlocking compares it, never the name. */
  lockedById: string | null;
  lockedAt: string | null;
  lockedReason: string | null;
  lockedUntil: string | null;
  /** Branch whose successful builds this environment moves to (a preview, or `follows:` in slipway.yaml). */
  follows: string | null;
  preview: boolean;
  retiredAt: string | null;
  createdAt: string;
}

/** An environment that points nowhere yet, unpinned and unlocked. */
export function newEnvironmentRow(
  fields: Pick<EnvironmentRow, 'id' | 'projectId' | 'name' | 'createdAt'> & Partial<Pick<EnvironmentRow, 'follows' | 'preview'>>,
): EnvironmentRow {
  return {
    follows: null,
    preview: false,
    retiredAt: null,
    ...fields,
    deploymentId: null,
    releaseId: null,
    releaseNumber: 0,
    pinnedBy: null,
    pinnedAt: null,
    pinnedReason: null,
    lockedBy: null,
    lockedById: null,
    lockedAt: null,
    lockedReason: null,
    lockedUntil: null,
  };
}

export type ReleaseKind = 'promote' | 'rollback';
export type ReleaseState = 'pending' | 'waiting' | 'rolling_out' | 'live' | 'failed' | 'rolled_back' | 'canceled' | 'superseded';

export interface ReleaseRow {
  id: string;
  projectId: string;
  environmentId: string;
  number: number;
  kind: ReleaseKind;
  state: ReleaseState;
  deploymentId: string;
  previousDeploymentId: string | null;
  replacesReleaseId: string | null;
  reason: string | null;
  forced: boolean;
  createdAt: string;
  createdBy: string;
}

export interface EventRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  projectId: string | null;
  environment: string | null;
  target: string | null;
  reason: string | null;
  before: unknown;
  after: unknown;
}

export type NewEvent = Omit<EventRow, 'id'>;

export interface BranchRow {
  projectId: string;
  name: string;
  head: string;
  updatedAt: string;
}

export type BuildState = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';

export interface BuildRow {
  id: string;
  projectId: string;
  commitSha: string;
  ref: string;
  branch: string | null;
  state: BuildState;
  sourceUrl: string | null;
  trigger: string;
  createdAt: string;
  createdBy: string;
  startedAt: string | null;
  finishedAt: string | null;
  attempt: number;
  runner: string | null;
  leaseExpiresAt: string | null;
  cancelRequestedAt: string | null;
  deploymentId: string | null;
  error: string | null;
  author: string | null;
  message: string | null;
  /** 0 for the first build of a commit; a retry has the number of the build it retries + 1. */
  retryNumber?: number | undefined;
  /** The build this one retries. */
  retryOf?: string | null | undefined;
}

/** A build row as queued: the commit and who asked for it given, nothing started yet. */
export function newQueuedBuildRow(
  fields: Pick<BuildRow, 'id' | 'projectId' | 'commitSha' | 'ref' | 'branch' | 'sourceUrl' | 'trigger' | 'createdAt' | 'createdBy' | 'author' | 'message'> &
    Partial<Pick<BuildRow, 'retryNumber' | 'retryOf'>>,
): BuildRow {
  return {
    ...fields,
    state: 'queued',
    startedAt: null,
    finishedAt: null,
    attempt: 0,
    runner: null,
    leaseExpiresAt: null,
    cancelRequestedAt: null,
    deploymentId: null,
    error: null,
  };
}

export interface BuildLogRow {
  buildId: string;
  seq: number;
  at: string;
  stream: 'stdout' | 'stderr' | 'system';
  text: string;
}

/** `stale`: its push named a `before` that was not the branch's recorded head, so it moved nothing. */
export type DeliveryState = 'pending' | 'done' | 'failed' | 'stale';

/**
 * What a webhook push asks for, kept with its delivery until the queue records it: the input of
 * a push record, by value, and the name of whom it acts as.
 */
export interface DeliveryPush {
  updates: { ref: string; before: string; after: string }[];
  trigger: string;
  /** `github`, `gitlab` or `webhook`. */
  actor: string;
  /** Repository the runner fetches from, as the project had it when the delivery arrived; null = Slipway's own. */
  sourceUrl: string | null;
  author: string | null;
  message: string | null;
}

/** One webhook delivery for one project: an entry of the delivery queue, kept afterwards as its history. */
export interface WebhookDeliveryRow {
  /** Queue order, across all projects. */
  seq: number;
  provider: string;
  projectId: string;
  /** The provider's own delivery id: the idempotency key, per provider and project. */
  deliveryId: string;
  /** Null only on deliveries recorded before the queue existed (they were done in their request). */
  push: DeliveryPush | null;
  state: DeliveryState;
  receivedAt: string;
  processedAt: string | null;
  /** Builds its push queued (an existing build of the same commit included). */
  builds: string[];
  error: string | null;
}

export type NewWebhookDelivery = Pick<WebhookDeliveryRow, 'provider' | 'projectId' | 'deliveryId' | 'receivedAt'> & { push: DeliveryPush };

export interface DomainRow {
  hostname: string;
  projectId: string;
  environment: string;
  createdAt: string;
  createdBy: string;
}

/** What a pointer move writes: the new release, and the environment fields it changes. */
export interface PointerMove {
  release: ReleaseRow;
  /** The release number the move was planned against; the write fails with RELEASE_CONFLICT otherwise. */
  expectedReleaseNumber: number;
  /** State the replaced release takes (superseded on promote, rolled_back on rollback). */
  replacedState: ReleaseState;
  pin: { by: string; at: string; reason: string | null } | null;
}

export interface LockFields {
  lockedBy: string | null;
  lockedById: string | null;
  lockedAt: string | null;
  lockedReason: string | null;
  lockedUntil: string | null;
}

export interface Page {
  limit: number;
  before?: number | undefined;
}

/** What a backend can do, so callers branch on capabilities rather than on dialect names. */
export interface StoreCapabilities {
  dialect: 'sqlite' | 'postgres';
  /** Writers run truly in parallel (PostgreSQL); SQLite serializes them. */
  concurrentWriters: boolean;
  /**
   * `SELECT … FOR UPDATE SKIP LOCKED` exists (PostgreSQL): claimers of a queue pass over rows
   * another transaction holds instead of waiting for it. Without it (SQLite, one writer) a claim
   * is a single compare-and-set UPDATE.
   */
  skipLocked: boolean;
}

export interface Store {
  readonly capabilities: StoreCapabilities;

  /** Runs `fn` in one transaction; everything it writes lands together or not at all. */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T>;
  close(): Promise<void>;

  // projects
  insertProject(row: ProjectRow): Promise<void>;
  /** A live project by name; a deleted one is never found by name. */
  findProjectByName(name: string): Promise<ProjectRow | undefined>;
  /** A project by id, deleted or not (`deletedAt` tells). */
  findProjectById(id: string): Promise<ProjectRow | undefined>;
  /** Live projects, by name. */
  listProjects(): Promise<ProjectRow[]>;
  /** Replaces a project's repository, its credentials and its webhook secret. */
  updateProjectSource(id: string, fields: { repoUrl: string | null; repoCredentials: RepoCredentials | null; webhookSecret: string | null }): Promise<void>;
  /**
   * Soft-deletes a live project: renames it `~<id>`, keeps its name in deleted_name, sets
   * deleted_at; false when it was deleted meanwhile.
   */
  markProjectDeleted(id: string, at: string): Promise<boolean>;
  /** Deleted projects whose repository and blobs are not collected yet. */
  listUnpurgedProjects(): Promise<ProjectRow[]>;
  markProjectPurged(id: string, at: string): Promise<void>;
  /** Manifest digests of every deployment and upload of one project, distinct. */
  listProjectManifests(projectId: string): Promise<string[]>;
  /** Manifest digests of every deployment and upload of the live projects, distinct. */
  listLiveManifests(): Promise<string[]>;
  /** Cancels the project's queued builds at once and asks its running ones to stop; returns their ids. */
  cancelProjectBuilds(projectId: string, at: string): Promise<string[]>;

  // tokens
  insertToken(row: TokenRow): Promise<void>;
  findTokenByHash(hash: string): Promise<TokenRow | undefined>;
  findTokenById(id: string): Promise<TokenRow | undefined>;
  listTokens(): Promise<TokenRow[]>;
  countTokens(): Promise<number>;
  touchToken(id: string, at: string): Promise<void>;
  revokeToken(id: string, at: string): Promise<void>;

  // uploads and deployments
  insertUpload(row: UploadRow): Promise<void>;
  findUpload(id: string): Promise<UploadRow | undefined>;
  /** Removes uploads never finalized that began before `createdBefore`; returns how many. */
  deleteStaleUploads(createdBefore: string): Promise<number>;
  /** Marks the upload finalized and inserts the deployment, in the caller's transaction. */
  insertDeployment(row: DeploymentRow, fromUploadId?: string): Promise<void>;
  findDeployment(id: string): Promise<DeploymentRow | undefined>;
  listDeployments(projectId: string, page: Page): Promise<DeploymentRow[]>;

  // environments and releases
  /** Returns the environment, creating it (idempotently, race-safe) when absent. */
  ensureEnvironment(row: EnvironmentRow): Promise<EnvironmentRow>;
  findEnvironment(projectId: string, name: string): Promise<EnvironmentRow | undefined>;
  listEnvironments(projectId: string): Promise<EnvironmentRow[]>;
  /** Compare-and-set pointer move; throws RELEASE_CONFLICT when the environment moved meanwhile. */
  moveEnvironmentPointer(environmentId: string, move: PointerMove): Promise<void>;
  /** Compare-and-set on the lock columns; returns false when the lock changed meanwhile. */
  updateLock(environmentId: string, expectedLockedAt: string | null, fields: LockFields): Promise<boolean>;
  findRelease(id: string): Promise<ReleaseRow | undefined>;
  findReleaseByNumber(environmentId: string, number: number): Promise<ReleaseRow | undefined>;
  listReleases(environmentId: string, page: Page): Promise<ReleaseRow[]>;
  /** The newest release of this environment that put `deploymentId` live, if any. */
  findLatestReleaseOfDeployment(environmentId: string, deploymentId: string): Promise<ReleaseRow | undefined>;
  /** The newest release of this environment whose deployment is not the current one (the default rollback target). */
  findPreviousDeploymentRelease(environmentId: string, currentDeploymentId: string | null): Promise<ReleaseRow | undefined>;
  /**
   * The edge's per-request lookup, in one query: the deployment an environment of a project
   * (by names) points at; null when the environment exists but points nowhere, undefined when
   * the project or environment does not exist.
   */
  findLiveDeploymentId(projectName: string, environment: string): Promise<string | null | undefined>;
  /** Environments currently pointing at a deployment. */
  listEnvironmentsOfDeployment(deploymentId: string): Promise<EnvironmentRow[]>;

  // domains
  insertDomain(row: DomainRow): Promise<void>;
  findDomain(hostname: string): Promise<DomainRow | undefined>;
  listDomains(projectId: string): Promise<DomainRow[]>;
  deleteDomain(hostname: string): Promise<boolean>;

  // git: branches, builds, logs, webhook deliveries
  /**
   * Compare-and-set of a branch's head: moves it from `before` to `after` only while its recorded
   * head is `before`; returns false (and writes nothing) otherwise. The zero sha as `after`
   * deletes the branch (its row stays as a tombstone, so old pushes of it stay stale); as
   * `before` it creates one, or revives a deleted one. A branch never recorded at all takes
   * whatever the first push seen of it says.
   */
  moveBranch(projectId: string, name: string, before: string, after: string, at: string): Promise<boolean>;
  /** A live branch (a deleted one is undefined). */
  findBranch(projectId: string, name: string): Promise<BranchRow | undefined>;
  /** The recorded head, the zero sha for a deleted branch, undefined for one never recorded. */
  findBranchHead(projectId: string, name: string): Promise<string | undefined>;
  /** Branches of a project whose head is `commit`. */
  listBranchesAt(projectId: string, commit: string): Promise<BranchRow[]>;
  /** Every branch of a project, by name. */
  listBranches(projectId: string): Promise<BranchRow[]>;
  /** Inserts a build unless the project already has one for that commit; returns the newest one that exists now. */
  insertBuildOnce(row: BuildRow): Promise<{ build: BuildRow; created: boolean }>;
  /** Inserts a retry (retryOf and retryNumber set); throws BUILD_ALREADY_RETRIED when that build has one already. */
  insertBuildRetry(row: BuildRow): Promise<void>;
  findBuild(id: string): Promise<BuildRow | undefined>;
  /** The newest build (highest retry number) of a commit. */
  findBuildByCommit(projectId: string, commit: string): Promise<BuildRow | undefined>;
  /** The build that retries `buildId`, if any. */
  findBuildRetry(buildId: string): Promise<BuildRow | undefined>;
  listBuilds(projectId: string, page: Page): Promise<BuildRow[]>;
  /**
   * Leases the oldest queued build to `runner` (running, attempt + 1) under the lease token whose
   * sha256 is `leaseHash`; undefined when none is queued.
   */
  claimBuild(runner: string, now: string, leaseExpiresAt: string, leaseHash: string): Promise<BuildRow | undefined>;
  /** Extends the lease of a running build held under `leaseHash`; undefined when that lease is not current. */
  renewBuildLease(id: string, leaseHash: string, leaseExpiresAt: string): Promise<BuildRow | undefined>;
  /** The running build whose current lease is `leaseHash`. */
  findBuildByLease(leaseHash: string): Promise<BuildRow | undefined>;
  /** A queued build is canceled at once; a running one is marked for its runner to stop. */
  requestBuildCancel(id: string, at: string): Promise<BuildRow | undefined>;
  /** Ends a running build held under `leaseHash`; false when that lease is not current. */
  finishBuild(
    id: string,
    leaseHash: string,
    fields: Pick<BuildRow, 'state' | 'finishedAt' | 'error' | 'deploymentId'> & Partial<Pick<BuildRow, 'author' | 'message'>>,
  ): Promise<boolean>;
  /** Running builds whose lease ran out go back to the queue (their lease token dead), or fail after `maxAttempts`. */
  reapExpiredBuilds(now: string, maxAttempts: number): Promise<BuildRow[]>;
  appendBuildLogs(buildId: string, lines: Omit<BuildLogRow, 'buildId' | 'seq'>[]): Promise<number>;
  listBuildLogs(buildId: string, after: number, limit: number): Promise<BuildLogRow[]>;
  /**
   * Records deliveries, pending, in one statement; one whose (provider, project, delivery id) is
   * known already is left as it is. Returns the rows that are new: a repeat gets none.
   */
  insertWebhookDeliveries(rows: NewWebhookDelivery[]): Promise<WebhookDeliveryRow[]>;
  /** The oldest pending delivery: the head of the queue. */
  findNextPendingDelivery(): Promise<WebhookDeliveryRow | undefined>;
  /**
   * Marks a pending delivery done and returns it; undefined when it is not pending anymore
   * (another replica took it). Call it in the transaction that records its push: a rollback
   * leaves it pending, and a second claimer on PostgreSQL waits for the first one's outcome.
   */
  claimWebhookDelivery(seq: number, processedAt: string): Promise<WebhookDeliveryRow | undefined>;
  setWebhookDeliveryBuilds(seq: number, builds: string[]): Promise<void>;
  /** Marks a delivery its queue recorded (done) as stale: its push moved nothing; `reason` says why. */
  markWebhookDeliveryStale(seq: number, reason: string): Promise<void>;
  /** Marks a pending delivery failed; false when it was not pending anymore. */
  failWebhookDelivery(seq: number, error: string, processedAt: string): Promise<boolean>;
  /** A project's deliveries, newest first; `page.before` is a seq. */
  listWebhookDeliveries(projectId: string, page: Page): Promise<WebhookDeliveryRow[]>;
  setEnvironmentFollow(environmentId: string, follows: string | null, preview: boolean): Promise<void>;
  retireEnvironment(environmentId: string, at: string | null): Promise<void>;
  listEnvironmentsFollowing(projectId: string, branch: string): Promise<EnvironmentRow[]>;
  /** Projects whose (normalized) repository URL is any of `urls`, by name, in one query. */
  findProjectsByRepoUrls(urls: string[]): Promise<ProjectRow[]>;

  // events (append-only)
  appendEvent(event: NewEvent): Promise<number>;
  listEvents(filter: { projectId?: string | undefined; environment?: string | undefined }, page: Page): Promise<EventRow[]>;
}
