import type { EventRow, Page } from '../../store/store.ts';
import type { ServiceDeps } from './deps.ts';
import { getProject } from './projects.ts';

/** The audit log, newest first, of one project (and environment) or of everything. Writing it is events.ts's recordEvent. */
export async function listEvents(
  deps: ServiceDeps,
  filter: { project?: string | undefined; environment?: string | undefined },
  page: Page,
): Promise<EventRow[]> {
  const projectId = filter.project === undefined ? undefined : (await getProject(deps, filter.project)).id;
  return deps.store.listEvents({ projectId, environment: filter.environment }, page);
}
