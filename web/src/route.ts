import { useSyncExternalStore } from 'react';

/**
 * Hash routing: the server only ever serves `/`, so no dashboard URL can collide with the
 * API, /healthz or /metrics, and a reload of any view needs no server-side fallback.
 */
export type Route =
  | { page: 'projects' }
  | { page: 'project'; project: string; /** The build whose log is open, if any. */ build: string | undefined }
  | { page: 'unknown'; hash: string };

export function parseRoute(hash: string): Route {
  if (hash === '' || hash === '#' || hash === '#/') return { page: 'projects' };
  const match = /^#\/projects\/([^/]+)(?:\/builds\/([^/]+))?\/?$/.exec(hash);
  const encoded = match?.[1];
  if (encoded === undefined) return { page: 'unknown', hash };
  const project = decodeSegment(encoded);
  const encodedBuild = match?.[2];
  const build = encodedBuild === undefined ? undefined : decodeSegment(encodedBuild);
  if (project === undefined || (encodedBuild !== undefined && build === undefined)) return { page: 'unknown', hash };
  return { page: 'project', project, build };
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch (err) {
    if (err instanceof URIError) return undefined;
    throw err;
  }
}

export const projectsHref = '#/';

export function projectHref(project: string): string {
  return `#/projects/${encodeURIComponent(project)}`;
}

/** A build's log on its project page: a link someone can paste while the build runs. */
export function buildHref(project: string, build: string): string {
  return `${projectHref(project)}/builds/${encodeURIComponent(build)}`;
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}

export function useRoute(): Route {
  return parseRoute(useSyncExternalStore(subscribe, () => window.location.hash));
}
