import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { ErrorCode, isSlipwayError, SlipwayError } from '../../core/errors.ts';
import { displayRepoUrl, normalizeRepoUrl, parseRepoUrl, resolveRepoHost, type ParsedRepoUrl } from '../../core/repo-url.ts';
import { assertName } from '../../core/names.ts';
import type { Actor } from '../../core/release-planner.ts';
import type { ProjectRow } from '../../store/store.ts';
import { requireRole } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { recordEvent } from './events.ts';
import { newId } from './ids.ts';

export async function createProject(
  deps: ServiceDeps,
  actor: Actor,
  input: { name: string; repo?: string | undefined; webhookSecret?: string | undefined },
): Promise<ProjectRow> {
  requireRole(actor, 'deployer');
  const { name } = input;
  assertName('project', name);
  const repo = input.repo === undefined ? undefined : await acceptRepoUrl(deps, input.repo);
  const now = deps.clock.now();
  const row: ProjectRow = {
    id: newId('prj'),
    name,
    createdAt: now.toISOString(),
    createdBy: actor.name,
    repoUrl: repo === undefined ? null : normalizeRepoUrl(repo.url),
    repoCredentials: repo?.credentials ?? null,
    webhookSecret: input.webhookSecret ?? null,
  };
  await deps.store.transaction(async (tx) => {
    await tx.insertProject(row);
    await recordEvent(tx, now, actor, 'project.create', { projectId: row.id, target: name, after: { name, repo: shownRepo(row) } });
  });
  return row;
}

/** What may change on a project: `null` removes, `undefined` keeps. */
export interface ProjectChanges {
  repo?: string | null | undefined;
  webhookSecret?: string | null | undefined;
}

/**
 * Changes a project's repository (checked like at create; credentials in the new URL replace
 * the stored ones, a URL without them removes them) and its webhook secret. The audit event
 * names the fields that changed and shows the repository redacted, never a secret.
 */
export async function updateProject(deps: ServiceDeps, actor: Actor, name: string, changes: ProjectChanges): Promise<ProjectRow> {
  requireRole(actor, 'deployer');
  if (changes.repo === undefined && changes.webhookSecret === undefined) {
    throw new SlipwayError(ErrorCode.INVALID_REQUEST, 'nothing to change: give a repository or a webhook secret', { project: name });
  }
  const repo = typeof changes.repo === 'string' ? await acceptRepoUrl(deps, changes.repo) : changes.repo;
  return deps.store.transaction(async (tx) => {
    const project = await tx.findProjectByName(name);
    if (!project) throw new SlipwayError(ErrorCode.PROJECT_NOT_FOUND, `no project named "${name}"`, { project: name });
    const next: ProjectRow = { ...project, repoCredentials: project.repoCredentials ?? null };
    if (repo !== undefined) {
      next.repoUrl = repo === null ? null : normalizeRepoUrl(repo.url);
      next.repoCredentials = repo === null ? null : repo.credentials;
    }
    if (changes.webhookSecret !== undefined) next.webhookSecret = changes.webhookSecret;
    const changed: string[] = [];
    if (next.repoUrl !== project.repoUrl) changed.push('repo');
    if (JSON.stringify(next.repoCredentials) !== JSON.stringify(project.repoCredentials ?? null)) changed.push('repoCredentials');
    if (next.webhookSecret !== project.webhookSecret) changed.push('webhookSecret');
    if (changed.length === 0) return project;
    await tx.updateProjectSource(project.id, { repoUrl: next.repoUrl, repoCredentials: next.repoCredentials ?? null, webhookSecret: next.webhookSecret });
    await recordEvent(tx, deps.clock.now(), actor, 'project.update', {
      projectId: project.id,
      target: name,
      before: { repo: shownRepo(project) },
      after: { repo: shownRepo(next), changed },
    });
    return next;
  });
}

/**
 * A new webhook secret, made here so no person or browser has to invent one:
 * `whsec_<base64 of 32 random bytes>`, the form GitLab's signing tokens require and any other
 * sender accepts as a plain shared secret (docs/webhooks.md).
 */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * Replaces a project's webhook secret with a new random one (or sets the first) and returns it:
 * the only time it is shown. From this moment deliveries signed with the old secret are refused.
 * Audited as `project.webhook_secret_rotate`, which says whether one was replaced, never either secret.
 */
export async function rotateWebhookSecret(deps: ServiceDeps, actor: Actor, name: string): Promise<{ project: ProjectRow; secret: string }> {
  requireRole(actor, 'deployer');
  const secret = newWebhookSecret();
  return deps.store.transaction(async (tx) => {
    const project = await tx.findProjectByName(name);
    if (!project) throw new SlipwayError(ErrorCode.PROJECT_NOT_FOUND, `no project named "${name}"`, { project: name });
    await tx.updateProjectSource(project.id, { repoUrl: project.repoUrl, repoCredentials: project.repoCredentials ?? null, webhookSecret: secret });
    await recordEvent(tx, deps.clock.now(), actor, 'project.webhook_secret_rotate', {
      projectId: project.id,
      target: name,
      before: { hadSecret: project.webhookSecret !== null },
      after: { hasSecret: true },
    });
    return { project: { ...project, webhookSecret: secret }, secret };
  });
}

/** A project's repository as anyone may see it: `https://***@host/…` when credentials are stored for it. */
export function shownRepo(project: Pick<ProjectRow, 'repoUrl' | 'repoCredentials'>): string | null {
  return project.repoUrl === null ? null : displayRepoUrl(project.repoUrl, project.repoCredentials != null);
}

/** How long saving a project waits for its repository's host to resolve. */
const LOOKUP_TIMEOUT_MS = 3000;

/**
 * Checks a repository URL before it is saved (core/repo-url.ts): REPO_URL_FORBIDDEN for other
 * schemes, local paths and hosts that are or resolve to private addresses. A name that does not
 * resolve now is accepted — the runner checks again before every fetch, and refuses it then.
 */
export async function acceptRepoUrl(deps: ServiceDeps, repo: string): Promise<ParsedRepoUrl> {
  const policy = { allowLocal: deps.allowLocalRepos === true };
  const parsed = parseRepoUrl(repo, policy);
  if (parsed.kind === 'remote' && !parsed.literal && !policy.allowLocal) {
    const timeout = AbortSignal.timeout(LOOKUP_TIMEOUT_MS);
    const withTimeout = (hostname: string) =>
      Promise.race([
        lookup(hostname, { all: true, verbatim: true }),
        new Promise<never>((_resolve, reject) => timeout.addEventListener('abort', () => reject(new Error('lookup timed out')), { once: true })),
      ]);
    try {
      await resolveRepoHost(parsed, policy, withTimeout);
    } catch (err) {
      if (isSlipwayError(err)) throw err;
    }
  }
  return parsed;
}

export { normalizeRepoUrl };

export async function getProject(deps: ServiceDeps, name: string): Promise<ProjectRow> {
  const project = await deps.store.findProjectByName(name);
  if (!project) throw new SlipwayError(ErrorCode.PROJECT_NOT_FOUND, `no project named "${name}"`, { project: name });
  return project;
}

export function listProjects(deps: ServiceDeps): Promise<ProjectRow[]> {
  return deps.store.listProjects();
}
