import type { EnvironmentRow, ProjectRow, ReleaseRow } from '../../store/store.ts';
import type { ServiceDeps } from './deps.ts';

/**
 * Called by the pipeline as a release enters `rolling_out`: true when a rollout holds it there
 * (a service's release, instance by instance), false when it goes live at once. Until agents
 * serve environments, every release goes live at once.
 */
export function holdsForRollout(_deps: ServiceDeps, _project: ProjectRow, _env: EnvironmentRow, _release: ReleaseRow): Promise<boolean> {
  return Promise.resolve(false);
}
