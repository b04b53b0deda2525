/**
 * Whether an `If-None-Match` header matches `etag` (a strong, quoted entity tag), with the weak
 * comparison RFC 9110 §13.1.2 prescribes: `W/` prefixes are ignored, `*` matches any body.
 */
export function matchesIfNoneMatch(header: string, etag: string): boolean {
  if (header === etag) return true;
  if (header.trim() === '*') return true;
  for (const raw of header.split(',')) {
    let tag = raw.trim();
    if (tag.startsWith('W/')) tag = tag.slice(2);
    if (tag === etag) return true;
  }
  return false;
}

/** Whether an `If-Range` header lets a Range apply: only an exact, strong entity-tag match does (dates never: the edge sends no Last-Modified). */
export function matchesIfRange(header: string | string[] | undefined, etag: string): boolean {
  return header === undefined || (typeof header === 'string' && header.trim() === etag);
}
