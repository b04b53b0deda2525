import mime from 'mime';

const TEXTUAL = /^(text\/|application\/(javascript|json|xml|ecmascript|manifest\+json|ld\+json)$|.*\+(json|xml)$)/;

/** The Content-Type header for a manifest path: from its extension, with a charset for textual types. */
export function contentTypeOf(path: string): string {
  const type = mime.getType(path);
  if (type === null) return 'application/octet-stream';
  return TEXTUAL.test(type) ? `${type}; charset=utf-8` : type;
}
