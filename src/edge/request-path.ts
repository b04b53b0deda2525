/**
 * Request-target → manifest path, and manifest path → file, the way static hosts resolve
 * pretty URLs (Netlify, Vercel): `/` and `/a/` name an index.html; `/a` is the file `a`, else
 * `a/index.html`, else `a.html`.
 */

/** A request path, decoded, without its leading slash (`''` is the root); `undefined` when it is malformed or unsafe. */
export function parseRequestPath(url: string): string | undefined {
  if (url.charCodeAt(0) !== 47 /* / */) return undefined;
  let end = url.indexOf('?');
  if (end === -1) end = url.length;
  const hash = url.indexOf('#');
  if (hash !== -1 && hash < end) end = hash;
  let path = url.slice(1, end);
  if (path.includes('%')) {
    try {
      path = decodeURIComponent(path);
    } catch {
      // A malformed escape is a bad request, reported by the caller as 400.
      return undefined;
    }
  }
  if (path.includes('\0')) return undefined;
  if (path.includes('..') && hasDotDotSegment(path)) return undefined;
  return path;
}

function hasDotDotSegment(path: string): boolean {
  // Backslashes count as separators: some clients and file systems treat them as such.
  for (const segment of path.split(/[/\\]/)) if (segment === '..') return true;
  return false;
}

/** The manifest path a request path names in `files`, or undefined when none does. */
export function resolveFile<T>(files: ReadonlyMap<string, T>, path: string): T | undefined {
  if (path === '') return files.get('index.html');
  if (path.endsWith('/')) return files.get(`${path}index.html`);
  return files.get(path) ?? files.get(`${path}/index.html`) ?? files.get(`${path}.html`);
}
