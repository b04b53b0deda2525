import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { ProjectRow, ReleaseRow, Store } from '../../store/store.ts';

/**
 * A release as people name it: its id, or `vN` with the environment it numbers. One of another
 * project is not found, whatever its id.
 */
export async function resolveRelease(store: Store, project: ProjectRow, ref: string, environmentName?: string): Promise<ReleaseRow> {
  let release: ReleaseRow | undefined;
  const number = /^v(\d{1,9})$/.exec(ref);
  if (number && environmentName !== undefined) {
    const environment = await store.findEnvironment(project.id, environmentName);
    if (!environment) throw new SlipwayError(ErrorCode.ENVIRONMENT_NOT_FOUND, `no environment "${environmentName}" in ${project.name}`, { environment: environmentName });
    release = await store.findReleaseByNumber(environment.id, Number(number[1]));
  } else {
    release = await store.findRelease(ref);
  }
  if (!release || release.projectId !== project.id) throw new SlipwayError(ErrorCode.RELEASE_NOT_FOUND, `no release ${ref} in ${project.name}`, { release: ref });
  return release;
}
