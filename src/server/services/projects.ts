import { lookup } from 'node:dns/promises';
import { ErrorCode, isSlipwayError, SlipwayError } from '../../core/errors.ts';
import { parseRepoUrl, resolveRepoHost, type ParsedRepoUrl } from '../../core/repo-url.ts';
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
  if (input.repo !== undefined) await acceptRepoUrl(deps, input.repo);
  const now = deps.clock.now();
  const row: ProjectRow = {
    id: newId('prj'),
    name,
    createdAt: now.toISOString(),
    createdBy: actor.name,
    repoUrl: input.repo === undefined ? null : normalizeRepoUrl(input.repo),
    webhookSecret: input.webhookSecret ?? null,
  };
  await deps.store.transaction(async (tx) => {
    await tx.insertProject(row);
    await recordEvent(tx, now, actor, 'project.create', { projectId: row.id, target: name, after: { name, repo: row.repoUrl } });
  });
  return row;
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

/** Repository URLs compare without a trailing `/` or `.git`, so webhook payloads match however they spell them. */
export function normalizeRepoUrl(url: string): string {
  return url.trim().replace(/\/+$/, '').replace(/\.git$/, '');
}

export async function getProject(deps: ServiceDeps, name: string): Promise<ProjectRow> {
  const project = await deps.store.findProjectByName(name);
  if (!project) throw new SlipwayError(ErrorCode.PROJECT_NOT_FOUND, `no project named "${name}"`, { project: name });
  return project;
}

export function listProjects(deps: ServiceDeps): Promise<ProjectRow[]> {
  return deps.store.listProjects();
}
