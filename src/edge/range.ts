/** What a `Range` header asks of a body of `size` bytes (RFC 9110 §14). */
export type RangeRequest =
  /** Serve the whole body with 200: no header, a syntax the edge ignores, or several ranges. */
  | { kind: 'full' }
  /** Serve bytes start..end (inclusive) with 206. */
  | { kind: 'partial'; start: number; end: number }
  /** Answer 416 with `Content-Range: bytes *\/size`. */
  | { kind: 'unsatisfiable' };

const FULL: RangeRequest = { kind: 'full' };
const UNSATISFIABLE: RangeRequest = { kind: 'unsatisfiable' };
const SINGLE = /^bytes=[ \t]*(\d*)-(\d*)[ \t]*$/i;

export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return FULL;
  // Several ranges would need multipart/byteranges; a full 200 is a valid answer to them.
  if (header.includes(',')) return FULL;
  const match = SINGLE.exec(header);
  if (!match) return FULL;
  const [, first = '', last = ''] = match;
  if (first === '') {
    if (last === '') return FULL;
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return UNSATISFIABLE;
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? Infinity : Number(last);
  // "bytes=5-2" is not a valid range-spec; an invalid Range header is ignored.
  if (end < start) return FULL;
  if (start >= size) return UNSATISFIABLE;
  return { kind: 'partial', start, end: Math.min(end, size - 1) };
}
