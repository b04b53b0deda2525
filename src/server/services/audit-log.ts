import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { EventRow, Page } from '../../store/store.ts';
import type { ServiceDeps } from './deps.ts';
import { getProject } from './projects.ts';
import { resolveRelease } from './release-ref.ts';

/**
 * The audit log, newest first, of one project (and environment) or of everything; with
 * `release`, what happened to one release of the project (made, looked at, approved, rolled
 * out, superseded). Writing it is events.ts's recordEvent.
 */
export async function listEvents(
  deps: ServiceDeps,
  filter: { project?: string | undefined; environment?: string | undefined; release?: string | undefined },
  page: Page,
): Promise<EventRow[]> {
  if (filter.release !== undefined && filter.project === undefined) {
    throw new SlipwayError(ErrorCode.INVALID_REQUEST, 'release names a release of a project: say which project (project=)', { release: filter.release });
  }
  const project = filter.project === undefined ? undefined : await getProject(deps, filter.project);
  const release = project === undefined || filter.release === undefined ? undefined : await resolveRelease(deps.store, project, filter.release, filter.environment);
  return deps.store.listEvents({ projectId: project?.id, environment: filter.environment, release: release?.id }, page);
}
