import type { EnvironmentStore, ProjectStore } from '../store/store.ts';

/** Why an environment host serves nothing. */
export type MissingEnvironment =
  | { kind: 'no-project' }
  | { kind: 'no-environment' }
  | { kind: 'no-deployment' }
  /** A preview whose branch was deleted (or whose project turned previews off): it serves nothing, even if it still points somewhere. */
  | { kind: 'retired'; at: string };

/**
 * Looks up why `<environment>--<project>` has nothing to serve. Only asked after the live
 * pointer read came back empty, so the request that serves a site never pays for it.
 */
export async function findMissingEnvironment(
  store: Pick<ProjectStore, 'findProjectByName'> & Pick<EnvironmentStore, 'findEnvironment'>,
  project: string,
  environment: string,
): Promise<MissingEnvironment> {
  const row = await store.findProjectByName(project);
  if (row === undefined) return { kind: 'no-project' };
  const env = await store.findEnvironment(row.id, environment);
  if (env === undefined) return { kind: 'no-environment' };
  if (env.retiredAt !== null) return { kind: 'retired', at: env.retiredAt };
  return { kind: 'no-deployment' };
}

/** The sentence of the edge's 404 page for an environment host. */
export function describeMissingEnvironment(project: string, environment: string, missing: MissingEnvironment): string {
  switch (missing.kind) {
    case 'no-project':
      return `There is no project "${project}".`;
    case 'no-environment':
      return `Project "${project}" has no environment "${environment}".`;
    case 'no-deployment':
      return `Environment "${environment}" of project "${project}" has no deployment yet.`;
    case 'retired':
      return `Environment "${environment}" of project "${project}" was retired on ${formatUtc(missing.at)} and serves nothing any more.`;
  }
}

/** A custom domain whose environment was retired serves nothing either. */
export function describeRetiredDomain(hostname: string, environment: string, retiredAt: string): string {
  return `${hostname} maps to environment "${environment}", which was retired on ${formatUtc(retiredAt)} and serves nothing any more.`;
}

/** `2026-05-01T12:34:56.789Z` → `2026-05-01 12:34:56 UTC`; anything else is shown as it is. */
function formatUtc(iso: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso);
  return match ? `${match[1]} ${match[2]} UTC` : iso;
}
