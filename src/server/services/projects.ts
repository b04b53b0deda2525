import { ErrorCode, SlipwayError } from '../../core/errors.ts';
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
