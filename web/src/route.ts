import { useSyncExternalStore } from 'react';

/**
 * Hash routing: the server only ever serves `/`, so no dashboard URL can collide with the
 * API, /healthz or /metrics, and a reload of any view needs no server-side fallback.
 *
 * A project has one page per concern, each with its own address:
 * - `#/projects/shop` — the pipeline (environments left to right, what waits, previews);
 * - `#/projects/shop/releases/<id>` — one release: its batch, approvals, timeline, rollout;
 * - `#/projects/shop/deployments?q=…` — deployments, searchable;
 * - `#/projects/shop/builds`, `…/builds/<id>` — builds, one's log open;
 * - `#/projects/shop/agents` — agents and instances;
 * - `#/projects/shop/settings` — repository, webhook secret, members, notifications, tokens;
 * - `#/projects/shop/activity` — the audit log and webhook deliveries.
 */
export const PROJECT_TABS = ['pipeline', 'deployments', 'builds', 'agents', 'settings', 'activity'] as const;
export type ProjectTab = (typeof PROJECT_TABS)[number];

export type Route =
  | { page: 'projects' }
  | {
      page: 'project';
      project: string;
      tab: ProjectTab;
      /** The build whose log is open (builds tab). */
      build: string | undefined;
      /** The search (deployments tab). */
      query: string;
    }
  | { page: 'release'; project: string; release: string }
  | { page: 'unknown'; hash: string };

export function parseRoute(hash: string): Route {
  if (hash === '' || hash === '#' || hash === '#/') return { page: 'projects' };
  const [path = '', search = ''] = hash.split('?', 2);
  const match = /^#\/projects\/([^/]+)(?:\/([a-z]+)(?:\/([^/]+))?)?\/?$/.exec(path);
  const encoded = match?.[1];
  if (match === null || encoded === undefined) return { page: 'unknown', hash };
  const project = decodeSegment(encoded);
  const section = match[2];
  const encodedId = match[3];
  const id = encodedId === undefined ? undefined : decodeSegment(encodedId);
  if (project === undefined || (encodedId !== undefined && id === undefined)) return { page: 'unknown', hash };
  if (section === 'releases') return id === undefined ? { page: 'unknown', hash } : { page: 'release', project, release: id };
  const tab = section === undefined ? 'pipeline' : PROJECT_TABS.find((t) => t === section && t !== 'pipeline');
  if (tab === undefined || (id !== undefined && tab !== 'builds')) return { page: 'unknown', hash };
  return { page: 'project', project, tab, build: id, query: new URLSearchParams(search).get('q') ?? '' };
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

export function projectHref(project: string, tab: ProjectTab = 'pipeline'): string {
  const base = `#/projects/${encodeURIComponent(project)}`;
  return tab === 'pipeline' ? base : `${base}/${tab}`;
}

/** A build's log: a link someone can paste while the build runs. */
export function buildHref(project: string, build: string): string {
  return `${projectHref(project, 'builds')}/${encodeURIComponent(build)}`;
}

export function releaseHref(project: string, release: string): string {
  return `${projectHref(project)}/releases/${encodeURIComponent(release)}`;
}

export function deploymentsHref(project: string, query = ''): string {
  const base = projectHref(project, 'deployments');
  return query === '' ? base : `${base}?${new URLSearchParams({ q: query }).toString()}`;
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}

export function useRoute(): Route {
  return parseRoute(useSyncExternalStore(subscribe, () => window.location.hash));
}
