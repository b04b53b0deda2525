/**
 * `/docs` → `/docs/` when the deployment has no file `docs` but has `docs/index.html`, as every
 * static host does: served without the slash, the page's relative links (`style.css`) would
 * resolve against `/` instead of `/docs/`.
 *
 * The Location is rebuilt from the manifest path, never copied from the request target, so it
 * always starts with `/` and a non-empty, percent-encoded segment: `//evil.com`, `/\evil.com`
 * or `/%2F%2Fevil.com` can never become an off-site redirect. The query string is kept (with
 * anything outside printable ASCII percent-encoded), the fragment is the client's own.
 */
export function directoryRedirect(files: ReadonlyMap<string, unknown>, path: string, url: string): string | undefined {
  if (path === '' || path.endsWith('/') || files.has(path) || !files.has(`${path}/index.html`)) return undefined;
  const segments = path.split('/');
  // Manifest paths have no empty segments; a request path with one names no manifest entry.
  if (segments.some((segment) => segment === '')) return undefined;
  const hash = url.indexOf('#');
  const target = hash === -1 ? url : url.slice(0, hash);
  const question = target.indexOf('?');
  const query = question === -1 ? '' : encodeQuery(target.slice(question));
  return `/${segments.map(encodeSegment).join('/')}/${query}`;
}

/** Percent-encodes a path segment, leaving the characters RFC 3986 allows in one as they are. */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/%(21|24|26|27|28|29|2A|2B|2C|3B|3D|3A|40)/g, (escape) => decodeURIComponent(escape));
}

function encodeQuery(query: string): string {
  // Node hands the request target over as latin1, one character per byte: encode the byte.
  return query.replace(/[^\x21-\x7e]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `%${code.toString(16).toUpperCase().padStart(2, '0')}` : encodeURIComponent(c);
  });
}
