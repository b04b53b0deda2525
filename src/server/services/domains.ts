import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import { LOOPBACK_HOSTS, reservedDomainReason } from '../../core/hosts.ts';
import { assertHostname, assertName } from '../../core/names.ts';
import type { Actor } from '../../core/release-planner.ts';
import type { DomainRow } from '../../store/store.ts';
import { requireRole } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { recordEvent } from './events.ts';
import { getProject } from './projects.ts';

/** Maps a custom hostname to an environment of a project; the edge serves whatever it points at. */
export async function addDomain(deps: ServiceDeps, actor: Actor, projectName: string, input: { hostname: string; environment: string }): Promise<DomainRow> {
  requireRole(actor, 'deployer');
  const project = await getProject(deps, projectName);
  // Checked on the raw input first: `LOCALHOST.`, `[::1]` and `127.1` are reserved, not merely malformed.
  const reserved = reservedDomainReason(input.hostname, deps.urls.baseDomain, deps.urls.controlHosts ?? LOOPBACK_HOSTS);
  if (reserved !== undefined) throw new SlipwayError(ErrorCode.DOMAIN_RESERVED, reserved, { hostname: input.hostname });
  const hostname = assertHostname(input.hostname);
  assertName('environment', input.environment);
  const now = deps.clock.now();
  const row: DomainRow = { hostname, projectId: project.id, environment: input.environment, createdAt: now.toISOString(), createdBy: actor.name };
  await deps.store.transaction(async (tx) => {
    await tx.insertDomain(row);
    await recordEvent(tx, now, actor, 'domain.add', { projectId: project.id, environment: row.environment, target: hostname });
  });
  return row;
}

export async function removeDomain(deps: ServiceDeps, actor: Actor, projectName: string, hostname: string): Promise<void> {
  requireRole(actor, 'deployer');
  const project = await getProject(deps, projectName);
  const domain = await deps.store.findDomain(hostname.toLowerCase());
  if (!domain || domain.projectId !== project.id) {
    throw new SlipwayError(ErrorCode.DOMAIN_NOT_FOUND, `${hostname} is not a domain of ${projectName}`, { hostname });
  }
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    await tx.deleteDomain(domain.hostname);
    await recordEvent(tx, now, actor, 'domain.remove', { projectId: project.id, environment: domain.environment, target: domain.hostname });
  });
}

export async function listDomains(deps: ServiceDeps, projectName: string): Promise<DomainRow[]> {
  const project = await getProject(deps, projectName);
  return deps.store.listDomains(project.id);
}
