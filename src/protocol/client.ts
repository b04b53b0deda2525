import type {
  AppendLogsRequest,
  Build,
  BuildLogs,
  ClaimedBuild,
  ClaimRequest,
  CompleteRequest,
  HeartbeatRequest,
  HeartbeatResponse,
} from './builds.ts';
import type {
  AgentDeployment,
  AgentList,
  AgentReport,
  AgentView,
  Assignment,
  CreateEnrollmentRequest,
  Enrollment,
  EnrollRequest,
  EnrollResponse,
  InstanceList,
  ReportResponse,
} from './agents.ts';
import type { ApproveRequest, Decision, RejectRequest } from './approvals.ts';
import type { AgentReleaseConfig, ChangeConfigRequest, ChangedConfig, ConfigList } from './config.ts';
import type { CreateFreezeRequest, Freeze, FreezeList } from './freezes.ts';
import type { Hotfix, StartHotfixRequest } from './hotfixes.ts';
import type { CreatedNotifyTarget, CreateNotifyTargetRequest, NotifyDelivery, NotifyDeliveryList, NotifyDeliveryQuery, NotifyTarget, NotifyTargetList } from './notifications.ts';
import type { MovePlan, Pipeline, Policy, ReleaseDetail, SetPolicyRequest } from './pipelines.ts';
import type { AbortRolloutRequest, Rollout } from './rollouts.ts';
import type {
  AddDomainRequest,
  BlobStored,
  BuildBase,
  CreatedToken,
  CreateTokenRequest,
  CreateUploadRequest,
  DeploymentManifest,
  Delivery,
  FinalizeUploadRequest,
  Deployment,
  Domain,
  Environment,
  ErrorBody,
  Event,
  Job,
  JobState,
  LockRequest,
  MovedRelease,
  Project,
  ProjectDeleted,
  ProjectStatus,
  PromoteRequest,
  RecentReleases,
  Release,
  RollbackRequest,
  CreateUserRequest,
  Membership,
  Session,
  SetMemberRequest,
  SetPasswordRequest,
  SignInRequest,
  Token,
  UnlockRequest,
  UpdateUserRequest,
  User,
  UpdateProjectRequest,
  RotatedWebhookSecret,
  Upload,
  Whoami,
} from './api.ts';
import type { CheckHistory, Commit, CommitChecks, ReportCheckRequest, ReportedCheck, RunnerCheckRequest } from './checks.ts';

/** An error answer from the API (or a transport failure, with code NETWORK_ERROR). */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: string, message: string, status: number, details?: Record<string, unknown>) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

export interface ClientOptions {
  url: string;
  token?: string | undefined;
  fetch?: typeof fetch;
  /** How requests go out (default: `fetch`); the CLI's is node:http (protocol/node-transport.ts). */
  transport?: HttpTransport;
  /** Sent with every request (a runner's `Slipway-Lease`). */
  headers?: Record<string, string>;
}

/** One request as the client makes it; a transport sends it and reads the whole answer. */
export interface HttpRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /** A JSON text or raw bytes, with its content type among `headers`. */
  body?: string | Uint8Array | undefined;
  /** A body of unknown length, sent chunked (a large file). */
  stream?: AsyncIterable<Uint8Array> | undefined;
  /** A multipart/form-data body: one file part per entry, named (and with the file name) `name`. */
  parts?: readonly { name: string; bytes: Uint8Array }[] | undefined;
  signal?: AbortSignal | undefined;
}

export interface HttpResponse {
  status: number;
  text: string;
}

/** Sends a request; throws (with the reason as `cause`) when there is no answer at all. */
export type HttpTransport = (request: HttpRequest) => Promise<HttpResponse>;

/** The transport over `fetch` (the dashboard's, and the default). */
export function fetchTransport(fetchImpl: typeof fetch): HttpTransport {
  return async (request) => {
    let body: BodyInit | undefined;
    if (request.parts) {
      // fetch writes the multipart boundary into the content type
      const form = new FormData();
      for (const part of request.parts) form.append(part.name, new Blob([part.bytes as Uint8Array<ArrayBuffer>]), part.name);
      body = form;
    } else if (request.stream) {
      // Node's fetch sends an async iterable as a chunked body (duplex 'half': request first).
      body = request.stream as unknown as BodyInit;
    } else if (request.body !== undefined) {
      body = request.body as string | Uint8Array<ArrayBuffer>;
    }
    const response = await fetchImpl(request.url, {
      method: request.method,
      headers: request.headers,
      body,
      ...(request.stream ? { duplex: 'half' } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    });
    return { status: response.status, text: await response.text() };
  };
}

type Query = Record<string, string | number | undefined>;

const enc = encodeURIComponent;

/** Typed client of `/api/v1`, shared by the CLI and the dashboard. */
export class SlipwayClient {
  readonly url: string;
  readonly #token: string | undefined;
  readonly #transport: HttpTransport;
  readonly #headers: Record<string, string>;

  constructor(options: ClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.#token = options.token;
    // Read lazily: in Node, the first touch of the global fetch loads undici (tens of milliseconds).
    this.#transport = options.transport ?? fetchTransport(options.fetch ?? ((input, init) => globalThis.fetch(input, init)));
    this.#headers = { ...options.headers };
  }

  /** The same client, sending `headers` too on every request. */
  withHeaders(headers: Record<string, string>): SlipwayClient {
    return new SlipwayClient({ url: this.url, token: this.#token, transport: this.#transport, headers: { ...this.#headers, ...headers } });
  }

  async request<T>(
    method: string,
    path: string,
    options: { body?: unknown; query?: Query; raw?: Uint8Array; stream?: AsyncIterable<Uint8Array>; parts?: HttpRequest['parts']; signal?: AbortSignal | undefined } = {},
  ): Promise<T> {
    const url = new URL(this.url + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { ...this.#headers };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    const request: HttpRequest = { method, url, headers, signal: options.signal };
    if (options.parts) {
      request.parts = options.parts;
    } else if (options.raw) {
      headers['content-type'] = 'application/octet-stream';
      request.body = options.raw;
    } else if (options.stream) {
      headers['content-type'] = 'application/octet-stream';
      request.stream = options.stream;
    } else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      request.body = JSON.stringify(options.body);
    }
    let response: HttpResponse;
    try {
      response = await this.#transport(request);
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
      throw new ApiError('NETWORK_ERROR', `cannot reach ${this.url}${cause}`, 0);
    }
    const { status, text } = response;
    const parsed: unknown = text ? safeJson(text) : undefined;
    if (status < 200 || status > 299) {
      const error = (parsed as ErrorBody | undefined)?.error;
      throw new ApiError(error?.code ?? 'HTTP_ERROR', error?.message ?? `HTTP ${status}`, status, error?.details);
    }
    return parsed as T;
  }

  whoami(): Promise<Whoami> {
    return this.request('GET', '/api/v1/whoami');
  }

  /**
   * Where the change stream of `project` (or of every project the caller sees) is, and the
   * headers to open it with. The transport reads whole answers, so the caller fetches it and
   * reads the body as it comes: Server-Sent Events (protocol/changes.ts).
   */
  changeStreamRequest(project?: string): { url: string; headers: Record<string, string> } {
    const url = new URL(`${this.url}/api/v1/stream`);
    if (project !== undefined) url.searchParams.set('project', project);
    const headers: Record<string, string> = { ...this.#headers, accept: 'text/event-stream' };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    return { url: url.toString(), headers };
  }

  listProjects(): Promise<{ projects: Project[] }> {
    return this.request('GET', '/api/v1/projects');
  }
  createProject(name: string, options: { repo?: string | undefined; webhookSecret?: string | undefined } = {}): Promise<Project> {
    return this.request('POST', '/api/v1/projects', { body: { name, ...options } });
  }
  updateProject(project: string, changes: UpdateProjectRequest): Promise<Project> {
    return this.request('PATCH', `/api/v1/projects/${enc(project)}`, { body: changes });
  }
  /** A new random webhook secret, made by the server and answered this once. */
  rotateWebhookSecret(project: string): Promise<RotatedWebhookSecret> {
    return this.request('POST', `/api/v1/projects/${enc(project)}/webhook-secret/rotate`);
  }
  getProjectStatus(project: string): Promise<ProjectStatus> {
    return this.request('GET', `/api/v1/projects/${enc(project)}`);
  }
  deleteProject(project: string, confirm: string): Promise<ProjectDeleted> {
    return this.request('DELETE', `/api/v1/projects/${enc(project)}`, { body: { confirm } });
  }

  /** Newest first; `before`: the last deployment id of the page above; `q`: words in branch, commit, author, message or id. */
  listDeployments(project: string, query: { limit?: number; before?: string; q?: string } = {}): Promise<{ deployments: Deployment[] }> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/deployments`, { query });
  }
  getDeployment(project: string, id: string): Promise<Deployment> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/deployments/${enc(id)}`);
  }
  getDeploymentManifest(project: string, id: string): Promise<DeploymentManifest> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/deployments/${enc(id)}/manifest`);
  }
  createUpload(project: string, body: CreateUploadRequest): Promise<Upload> {
    return this.request('POST', `/api/v1/projects/${enc(project)}/uploads`, { body });
  }
  putBlob(digest: string, bytes: Uint8Array): Promise<BlobStored> {
    return this.request('PUT', `/api/v1/blobs/${digest}`, { raw: bytes });
  }
  /**
   * One body streamed from `source` (a large file), never held in memory whole. The server
   * hashes it on the way and refuses it with DIGEST_MISMATCH if it is not what `digest` names.
   */
  putBlobStream(digest: string, source: AsyncIterable<Uint8Array>): Promise<BlobStored> {
    return this.request('PUT', `/api/v1/blobs/${digest}`, { stream: source });
  }
  /** Many small bodies in one multipart/form-data request, each part named by its digest. */
  putBlobs(blobs: readonly { digest: string; bytes: Uint8Array }[]): Promise<{ blobs: BlobStored[] }> {
    return this.request('POST', '/api/v1/blobs', { parts: blobs.map((blob) => ({ name: blob.digest, bytes: blob.bytes })) });
  }
  /** `body.base`: the deployment a delta upload was made against, whose files need no second look. */
  finalizeUpload(project: string, uploadId: string, body: FinalizeUploadRequest = {}): Promise<Deployment> {
    return this.request('POST', `/api/v1/projects/${enc(project)}/uploads/${enc(uploadId)}/finalize`, { body });
  }

  listEnvironments(project: string): Promise<{ environments: Environment[] }> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/environments`);
  }
  getEnvironment(project: string, env: string): Promise<Environment> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/environments/${enc(env)}`);
  }
  promote(project: string, env: string, body: PromoteRequest): Promise<MovedRelease> {
    return this.request('POST', `/api/v1/projects/${enc(project)}/environments/${enc(env)}/promote`, { body });
  }
  rollback(project: string, env: string, body: RollbackRequest): Promise<MovedRelease> {
    return this.request('POST', `/api/v1/projects/${enc(project)}/environments/${enc(env)}/rollback`, { body });
  }
  /** What a promotion would do (from, to, the pin it clears, its batch and the gates that would hold it); changes nothing. */
  planPromote(project: string, env: string, body: Omit<PromoteRequest, 'dryRun'>): Promise<MovePlan> {
    return this.request('POST', `/api/v1/projects/${enc(project)}/environments/${enc(env)}/promote`, { body: { ...body, dryRun: true } });
  }
  /** What a rollback would do; changes nothing. */
  planRollback(project: string, env: string, body: Omit<RollbackRequest, 'dryRun'>): Promise<MovePlan> {
    return this.request('POST', `/api/v1/projects/${enc(project)}/environments/${enc(env)}/rollback`, { body: { ...body, dryRun: true } });
  }
  lock(project: string, env: string, body: LockRequest): Promise<Environment> {
    return this.request('POST', `/api/v1/projects/${enc(project)}/environments/${enc(env)}/lock`, { body });
  }
  unlock(project: string, env: string, body: UnlockRequest): Promise<Environment> {
    return this.request('POST', `/api/v1/projects/${enc(project)}/environments/${enc(env)}/unlock`, { body });
  }
  getPipeline(project: string): Promise<Pipeline> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/pipeline`);
  }

  /** Starts hotfix/<name> at what production runs (or answers the git commands that do). */
  startHotfix(project: string, body: StartHotfixRequest = {}): Promise<Hotfix> {
    return this.request('POST', `/api/v1/projects/${enc(project)}/hotfixes`, { body });
  }

  /** An environment's config vars: keys, fingerprints, who set each when — never values. */
  getConfig(project: string, env: string): Promise<ConfigList> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/environments/${enc(env)}/config`);
  }

  /** Sets and unsets config vars (admin). */
  changeConfig(project: string, env: string, body: ChangeConfigRequest): Promise<ChangedConfig> {
    return this.request('PATCH', `/api/v1/projects/${enc(project)}/environments/${enc(env)}/config`, { body });
  }

  freeze(project: string, env: string, body: CreateFreezeRequest): Promise<Freeze> {
    return this.request('POST', `/api/v1/projects/${enc(project)}/environments/${enc(env)}/freezes`, { body });
  }

  /** Lifts the freeze named, or the environment's only one. */
  unfreeze(project: string, env: string, id?: string): Promise<Freeze> {
    const path = `/api/v1/projects/${enc(project)}/environments/${enc(env)}/freezes`;
    return this.request('DELETE', id === undefined ? path : `${path}/${enc(id)}`);
  }

  /** Approves a waiting release (an id, or `vN` with `environment`); `forEmail` signs for an author with no user. */
  approve(project: string, release: string, body: ApproveRequest = {}): Promise<Decision> {
    return this.request('POST', `/api/v1/projects/${enc(project)}/releases/${enc(release)}/approve`, { body });
  }

  /** Rejects a waiting release: it fails with the reason. */
  reject(project: string, release: string, body: RejectRequest): Promise<Decision> {
    return this.request('POST', `/api/v1/projects/${enc(project)}/releases/${enc(release)}/reject`, { body });
  }

  listFreezes(project: string, env?: string): Promise<FreezeList> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/freezes${env === undefined ? '' : `?environment=${enc(env)}`}`);
  }

  addNotifyTarget(project: string, body: CreateNotifyTargetRequest): Promise<CreatedNotifyTarget> {
    return this.request('POST', `/api/v1/projects/${enc(project)}/notifications/targets`, { body });
  }

  listNotifyTargets(project: string): Promise<NotifyTargetList> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/notifications/targets`);
  }

  removeNotifyTarget(project: string, id: string): Promise<NotifyTarget> {
    return this.request('DELETE', `/api/v1/projects/${enc(project)}/notifications/targets/${enc(id)}`);
  }

  testNotifyTarget(project: string, id: string): Promise<NotifyDelivery> {
    return this.request('POST', `/api/v1/projects/${enc(project)}/notifications/targets/${enc(id)}/test`);
  }

  listNotifyDeliveries(project: string, query: NotifyDeliveryQuery = {}): Promise<NotifyDeliveryList> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/notifications/deliveries`, { query });
  }

  setPolicy(project: string, env: string, body: SetPolicyRequest): Promise<Policy> {
    return this.request('PUT', `/api/v1/projects/${enc(project)}/environments/${enc(env)}/policy`, { body });
  }

  /** A release by id, or by `vN` with its environment. */
  getRelease(project: string, release: string, env?: string): Promise<ReleaseDetail> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/releases/${enc(release)}`, { query: env === undefined ? {} : { environment: env } });
  }

  /** A service release's rollout, by release id or by `vN` with its environment. */
  getRollout(project: string, release: string, env?: string): Promise<Rollout> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/releases/${enc(release)}/rollout`, { query: env === undefined ? {} : { environment: env } });
  }

  /** Stops a running rollout (release id, or vN with `environment`): switched instances go back. */
  abortRollout(project: string, release: string, body: AbortRolloutRequest): Promise<Rollout> {
    return this.request('POST', `/api/v1/projects/${enc(project)}/releases/${enc(release)}/rollout/abort`, { body });
  }

  listReleases(project: string, env: string, query: { limit?: number } = {}): Promise<{ releases: Release[] }> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/environments/${enc(env)}/releases`, { query });
  }

  /** The newest releases of every environment of the project that is not retired, in one call (`perEnvironment`: 1–100, default 20). */
  listRecentReleases(project: string, query: { perEnvironment?: number } = {}): Promise<RecentReleases> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/releases`, { query });
  }

  /** The audit log, newest first; with `release` (and `project`), the events about that release. */
  listEvents(query: { project?: string; environment?: string; release?: string; limit?: number; before?: number } = {}): Promise<{ events: Event[] }> {
    return this.request('GET', '/api/v1/events', { query });
  }

  listJobs(query: { state?: JobState; kind?: string; limit?: number; before?: number } = {}): Promise<{ jobs: Job[] }> {
    return this.request('GET', '/api/v1/jobs', { query });
  }
  retryJob(id: number | string): Promise<Job> {
    return this.request('POST', `/api/v1/jobs/${enc(String(id))}/retry`, { body: {} });
  }

  listDomains(project: string): Promise<{ domains: Domain[] }> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/domains`);
  }
  addDomain(project: string, body: AddDomainRequest): Promise<Domain> {
    return this.request('POST', `/api/v1/projects/${enc(project)}/domains`, { body });
  }
  removeDomain(project: string, hostname: string): Promise<{ removed: string }> {
    return this.request('DELETE', `/api/v1/projects/${enc(project)}/domains/${enc(hostname)}`);
  }

  listBuilds(project: string, query: { limit?: number } = {}): Promise<{ builds: Build[] }> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/builds`, { query });
  }
  getBuild(project: string, id: string): Promise<Build> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/builds/${enc(id)}`);
  }
  /** With the build's project, the caller's role on that project decides (a membership, a project-scoped token). */
  retryBuild(id: string, project?: string): Promise<Build> {
    if (project !== undefined) return this.request('POST', `/api/v1/projects/${enc(project)}/builds/${enc(id)}/retry`, { body: {} });
    return this.request('POST', `/api/v1/builds/${enc(id)}/retry`, { body: {} });
  }
  cancelBuild(project: string, id: string): Promise<Build> {
    return this.request('POST', `/api/v1/projects/${enc(project)}/builds/${enc(id)}/cancel`, { body: {} });
  }
  /** Log lines after `after` (a line's seq); without follow, answers at once. For a live stream use the SSE form of this URL. */
  getBuildLogs(project: string, id: string, query: { after?: number } = {}): Promise<BuildLogs> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/builds/${enc(id)}/logs`, { query });
  }
  /** URL of the Server-Sent Events stream of a build's log (events `log` and `end`). */
  buildLogStreamUrl(project: string, id: string, after = 0): string {
    return `${this.url}/api/v1/projects/${enc(project)}/builds/${enc(id)}/logs?follow=1&after=${after}`;
  }

  // Runner protocol (a runner's token needs the deployer role).
  /** `signal` abandons a long-polling claim (the runner is stopping). */
  claimBuild(body: ClaimRequest, signal?: AbortSignal): Promise<ClaimedBuild | undefined> {
    return this.request<ClaimedBuild | undefined>('POST', '/api/v1/runner/claim', { body, signal });
  }
  heartbeat(buildId: string, body: HeartbeatRequest): Promise<HeartbeatResponse> {
    return this.request('POST', `/api/v1/runner/builds/${enc(buildId)}/heartbeat`, { body });
  }
  appendBuildLogs(buildId: string, body: AppendLogsRequest): Promise<{ appended: number }> {
    return this.request('POST', `/api/v1/runner/builds/${enc(buildId)}/logs`, { body });
  }
  /** The deployment a build's upload may go against as a delta: the latest of its project from its branch, with its manifest. */
  getBuildBase(buildId: string): Promise<BuildBase> {
    return this.request('GET', `/api/v1/runner/builds/${enc(buildId)}/base`);
  }
  completeBuild(buildId: string, body: CompleteRequest): Promise<Build> {
    return this.request('POST', `/api/v1/runner/builds/${enc(buildId)}/complete`, { body });
  }

  // Agents and instances (management).
  createEnrollment(project: string, environment: string, body: CreateEnrollmentRequest = {}): Promise<Enrollment> {
    return this.request('POST', `/api/v1/projects/${enc(project)}/environments/${enc(environment)}/agents/enrollments`, { body });
  }
  listAgents(project: string): Promise<AgentList> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/agents`);
  }
  removeAgent(project: string, agent: string): Promise<AgentView> {
    return this.request('DELETE', `/api/v1/projects/${enc(project)}/agents/${enc(agent)}`);
  }
  listInstances(project: string, query: { environment?: string | undefined } = {}): Promise<InstanceList> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/instances`, { query });
  }

  // Agent protocol (the agent's credential; enroll needs none).
  enrollAgent(body: EnrollRequest): Promise<EnrollResponse> {
    return this.request('POST', '/api/v1/agent/enroll', { body });
  }
  /** Long-polls up to `wait` seconds for a rev above `after`; `signal` abandons it. */
  agentAssignment(query: { after?: number; wait?: number } = {}, signal?: AbortSignal): Promise<Assignment> {
    return this.request('GET', '/api/v1/agent/assignment', { query, signal });
  }
  agentReport(body: AgentReport): Promise<ReportResponse> {
    return this.request('POST', '/api/v1/agent/report', { body });
  }
  /** The config vars a release of the agent's own environment runs with. */
  agentReleaseConfig(release: string): Promise<AgentReleaseConfig> {
    return this.request('GET', `/api/v1/agent/releases/${enc(release)}/config`);
  }
  agentDeployment(deployment: string): Promise<AgentDeployment> {
    return this.request('GET', `/api/v1/agent/deployments/${enc(deployment)}`);
  }

  /** Reports a check of a commit; the answer is the check as it is now (a later report may have won). */
  reportCheck(project: string, body: ReportCheckRequest): Promise<ReportedCheck> {
    return this.request('POST', `/api/v1/projects/${enc(project)}/checks`, { body });
  }
  /** A commit's current checks; `commit` may be an abbreviation the project knows. */
  listChecks(project: string, commit: string): Promise<CommitChecks> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/commits/${enc(commit)}/checks`);
  }
  checkHistory(project: string, commit: string, query: { name?: string; limit?: number; before?: number } = {}): Promise<CheckHistory> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/commits/${enc(commit)}/checks/history`, { query });
  }
  getCommit(project: string, commit: string): Promise<Commit> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/commits/${enc(commit)}`);
  }
  /** Runner (Slipway-Lease): the state of the build's test step. */
  reportBuildCheck(buildId: string, body: RunnerCheckRequest): Promise<ReportedCheck> {
    return this.request('POST', `/api/v1/runner/builds/${enc(buildId)}/checks`, { body });
  }

  /** Webhook deliveries of a project, newest first; `before` is a delivery's seq. */
  listDeliveries(project: string, query: { limit?: number; before?: number } = {}): Promise<{ deliveries: Delivery[] }> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/deliveries`, { query });
  }

  listTokens(): Promise<{ tokens: Token[] }> {
    return this.request('GET', '/api/v1/tokens');
  }
  createToken(body: CreateTokenRequest): Promise<CreatedToken> {
    return this.request('POST', '/api/v1/tokens', { body });
  }
  revokeToken(id: string): Promise<Token> {
    return this.request('DELETE', `/api/v1/tokens/${enc(id)}`);
  }

  listUsers(): Promise<{ users: User[] }> {
    return this.request('GET', '/api/v1/users');
  }
  getUser(user: string): Promise<User> {
    return this.request('GET', `/api/v1/users/${enc(user)}`);
  }
  createUser(body: CreateUserRequest): Promise<User> {
    return this.request('POST', '/api/v1/users', { body });
  }
  updateUser(user: string, body: UpdateUserRequest): Promise<User> {
    return this.request('PATCH', `/api/v1/users/${enc(user)}`, { body });
  }
  setPassword(user: string, body: SetPasswordRequest): Promise<void> {
    return this.request('PUT', `/api/v1/users/${enc(user)}/password`, { body });
  }
  listMembers(project: string): Promise<{ members: Membership[] }> {
    return this.request('GET', `/api/v1/projects/${enc(project)}/members`);
  }
  setMember(project: string, user: string, body: SetMemberRequest): Promise<Membership> {
    return this.request('PUT', `/api/v1/projects/${enc(project)}/members/${enc(user)}`, { body });
  }
  removeMember(project: string, user: string): Promise<void> {
    return this.request('DELETE', `/api/v1/projects/${enc(project)}/members/${enc(user)}`);
  }

  /** Browser sign-in: the server sets the session cookie; the answer carries the CSRF token. */
  signIn(body: SignInRequest): Promise<Session> {
    return this.request('POST', '/api/v1/session', { body });
  }
  getSession(): Promise<Session> {
    return this.request('GET', '/api/v1/session');
  }
  signOut(): Promise<void> {
    return this.request('DELETE', '/api/v1/session');
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { error: { code: 'HTTP_ERROR', message: text.slice(0, 200) } };
  }
}
