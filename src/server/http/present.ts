import { displayRepoUrl, redactUrl } from '../../core/repo-url.ts';
import { deploymentUrl, domainUrl, environmentUrl, gitUrl, type UrlConfig } from '../../core/urls.ts';
import type { Deployment, Domain, Environment, Event, MovedRelease, Project, Release, Token, User } from '../../protocol/api.ts';
import type { MovedRelease as MovedReleaseRow } from '../services/environments.ts';
import type { Build, BuildLogLine } from '../../protocol/builds.ts';
import type { BuildLogRow, BuildRow, DeploymentRow, DomainRow, EnvironmentRow, EventRow, ProjectRow, MembershipRow, ReleaseRow, TokenRow, UserRow } from '../../store/store.ts';

/** Rows become wire shapes here, and nowhere else. */

/** A shape with what the person asking may do to it (allowed-actions.ts); unchanged when there is nobody to judge for (a machine). */
export function withActions<T extends object, A>(shape: T, actions: A | undefined): T & { actions?: A } {
  return actions === undefined ? shape : { ...shape, actions };
}

export function presentProject(urls: UrlConfig, row: ProjectRow): Project {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.createdAt,
    createdBy: row.createdBy,
    url: environmentUrl(urls, row.name, 'production'),
    repo: row.repoUrl === null ? null : displayRepoUrl(row.repoUrl, row.repoCredentials != null),
    hasWebhookSecret: row.webhookSecret !== null,
    gitUrl: gitUrl(urls, row.name),
    defaultBranch: row.defaultBranch ?? 'main',
  };
}

export function presentDeployment(urls: UrlConfig, project: string, row: DeploymentRow): Deployment {
  return {
    id: row.id,
    project,
    createdAt: row.createdAt,
    createdBy: row.createdBy,
    fileCount: row.fileCount,
    totalBytes: row.totalBytes,
    manifestDigest: row.manifestDigest,
    meta: row.meta,
    url: deploymentUrl(urls, project, row.id),
  };
}

export function presentEnvironment(urls: UrlConfig, project: string, row: EnvironmentRow, now: Date): Environment {
  const locked = row.lockedAt !== null && (row.lockedUntil === null || Date.parse(row.lockedUntil) > now.getTime());
  return {
    name: row.name,
    project,
    deployment: row.deploymentId,
    release: row.releaseId === null ? null : { id: row.releaseId, number: row.releaseNumber },
    url: environmentUrl(urls, project, row.name),
    pin: row.pinnedBy === null ? null : { by: row.pinnedBy, at: row.pinnedAt ?? '', reason: row.pinnedReason },
    lock: locked ? { by: row.lockedBy ?? '', byId: row.lockedById, at: row.lockedAt ?? '', reason: row.lockedReason ?? '', until: row.lockedUntil } : null,
    follows: row.follows,
    preview: row.preview,
    retiredAt: row.retiredAt,
    createdAt: row.createdAt,
  };
}

export function presentBuild(urls: UrlConfig, project: string, row: BuildRow): Build {
  return {
    id: row.id,
    project,
    commit: row.commitSha,
    ref: row.ref,
    branch: row.branch,
    state: row.state,
    sourceUrl: row.sourceUrl === null ? null : redactUrl(row.sourceUrl),
    trigger: row.trigger,
    createdAt: row.createdAt,
    createdBy: row.createdBy,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    attempt: row.attempt,
    runner: row.runner,
    deployment: row.deploymentId,
    deploymentUrl: row.deploymentId === null ? null : deploymentUrl(urls, project, row.deploymentId),
    error: row.error,
    author: row.author,
    message: row.message,
    cancelRequested: row.cancelRequestedAt !== null,
    retryNumber: row.retryNumber ?? 0,
    retryOf: row.retryOf ?? null,
  };
}

export function presentBuildLogLine(row: BuildLogRow): BuildLogLine {
  return { seq: row.seq, at: row.at, stream: row.stream, text: row.text };
}

export function presentRelease(project: string, environment: string, row: ReleaseRow): Release {
  return {
    id: row.id,
    project,
    environment,
    number: row.number,
    kind: row.kind,
    state: row.state,
    deployment: row.deploymentId,
    previousDeployment: row.previousDeploymentId,
    replaces: row.replacesReleaseId,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    reason: row.reason,
    forced: row.forced,
    expedited: row.expedited,
    trigger: row.trigger,
    commit: row.commitSha,
    branch: row.branch,
    gates: row.gates,
    recheckAt: row.recheckAt,
    stateReason: row.stateReason,
    supersededBy: row.supersededBy,
    liveAt: row.liveAt,
    endedAt: row.endedAt,
    batchSize: row.batch === null ? null : row.batch.commits.length,
    configVersion: row.configVersion,
  };
}

export function presentMovedRelease(project: string, environment: string, row: MovedReleaseRow): MovedRelease {
  return { ...presentRelease(project, environment, row), clearedPin: row.clearedPin };
}

/** Names of the users and projects tokens refer to by id. */
export interface TokenNames {
  users: ReadonlyMap<string, { name: string; role: Token['role'] }>;
  projects: ReadonlyMap<string, string>;
}

export function presentToken(row: TokenRow, names: TokenNames): Token {
  const user = row.userId === null ? undefined : names.users.get(row.userId);
  return {
    id: row.id,
    name: row.name,
    role: user?.role ?? row.role,
    user: row.userId === null ? null : (user?.name ?? row.userId),
    project: row.projectId === null ? null : (names.projects.get(row.projectId) ?? row.projectId),
    expiresAt: row.expiresAt,
    createdAt: row.createdAt,
    createdBy: row.createdBy,
    lastUsedAt: row.lastUsedAt,
    revokedAt: row.revokedAt,
  };
}

export function presentUser(user: UserRow, emails: string[], memberships?: (MembershipRow & { project: string })[]): User {
  return {
    id: user.id,
    name: user.name,
    role: user.role,
    emails,
    hasPassword: user.passwordHash !== null,
    disabled: user.disabledAt !== null,
    createdAt: user.createdAt,
    createdBy: user.createdBy,
    ...(memberships === undefined
      ? {}
      : { memberships: memberships.map((m) => ({ project: m.project, user: user.name, role: m.role, createdAt: m.createdAt, createdBy: m.createdBy })) }),
  };
}

export function presentDomain(urls: UrlConfig, project: string, row: DomainRow): Domain {
  return { hostname: row.hostname, project, environment: row.environment, createdAt: row.createdAt, createdBy: row.createdBy, url: domainUrl(urls, row.hostname) };
}

export function presentEvent(row: EventRow, projectNames: Map<string, string>): Event {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    project: row.projectId === null ? null : (projectNames.get(row.projectId) ?? row.projectId),
    environment: row.environment,
    target: row.target,
    reason: row.reason,
    before: row.before ?? null,
    after: row.after ?? null,
  };
}
