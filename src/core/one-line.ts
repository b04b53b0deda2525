/**
 * Someone's free text (a commit subject, an author, a check's description) made safe to store
 * and to print on one line of a terminal or a page: whitespace controls become spaces; other
 * control characters (escape sequences), format characters (bidi overrides, zero-width),
 * private-use and lone surrogate characters go; the ends are trimmed and the rest capped at
 * `max` code points (never half of a surrogate pair).
 */
export function toOneLine(text: string, max: number): string {
  const cleaned = text
    .replace(/[\t\n\r\v\f\u0085\u2028\u2029]/g, ' ')
    .replace(/[\p{Cc}\p{Cf}\p{Co}\p{Cs}]/gu, '')
    .trim();
  const chars = Array.from(cleaned);
  return chars.length <= max ? cleaned : chars.slice(0, max).join('').trimEnd();
}
