/**
 * The headers the edge passes between a client and a service instance. Hop-by-hop headers
 * (RFC 9110 §7.6.1, plus the ones older proxies still send) describe one connection and never
 * cross the edge, nor does any header the `Connection` header names. The edge frames both
 * sides itself: Content-Length is passed on as Node's parser validated it, Transfer-Encoding
 * never is (a chunked body is re-chunked on the other side).
 */

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Request headers the edge sets itself: a client's own values would let it pose as another
 * address or origin to the service. `expect` is answered by the edge (Node sends the 100
 * Continue), so the instance must not answer it again.
 */
const SET_BY_EDGE = new Set(['host', 'content-length', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip', 'forwarded', 'expect']);

/** Header names a `Connection` header lists: they are hop-by-hop for this message only. */
function connectionListed(values: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const value of values) {
    for (const token of value.split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '') names.add(name);
    }
  }
  return names;
}

function valuesOf(raw: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === name) values.push(raw[i + 1] as string);
  }
  return values;
}

export interface ForwardedRequest {
  /** `req.rawHeaders`: every header line as sent, so repeated headers stay repeated. */
  rawHeaders: readonly string[];
  /** The Host the edge routed by (Node's first Host line). */
  host: string | undefined;
  /** As Node's parser validated it; undefined when the body is chunked or absent. */
  contentLength: string | undefined;
  /** The client's address as the socket saw it. */
  remoteAddress: string | undefined;
  /** The scheme the edge is reached at (`UrlConfig.scheme`). */
  scheme: 'http' | 'https';
  /**
   * The client is a proxy in front of the edge (`--trusted-proxy`, e.g. the one terminating
   * TLS): its X-Forwarded-For chain is extended, its X-Forwarded-Proto and -Host are kept.
   */
  trusted: boolean;
}

/**
 * The headers of the request sent to an instance: the client's end-to-end headers (a repeated
 * one as an array, so each line is sent again), the original Host, and X-Forwarded-For, -Proto
 * and -Host naming the client as the edge saw it, never as the client claims — unless the
 * client is a trusted proxy, whose claims about its own client are kept.
 */
export function upstreamRequestHeaders(req: ForwardedRequest): Record<string, string | string[]> {
  const raw = req.rawHeaders;
  const listed = connectionListed(valuesOf(raw, 'connection'));
  const headers: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (HOP_BY_HOP.has(name) || SET_BY_EDGE.has(name) || listed.has(name)) continue;
    const value = raw[i + 1] as string;
    const seen = headers[name];
    if (seen === undefined) headers[name] = value;
    else if (typeof seen === 'string') headers[name] = [seen, value];
    else seen.push(value);
  }
  if (req.host !== undefined) headers.host = req.host;
  if (req.contentLength !== undefined) headers['content-length'] = req.contentLength;
  const client = clientAddress(req.remoteAddress);
  const chain = req.trusted ? valuesOf(raw, 'x-forwarded-for').join(', ') : '';
  if (client !== undefined) headers['x-forwarded-for'] = chain === '' ? client : `${chain}, ${client}`;
  const proto = req.trusted ? valuesOf(raw, 'x-forwarded-proto')[0]?.trim().toLowerCase() : undefined;
  headers['x-forwarded-proto'] = proto === 'http' || proto === 'https' ? proto : req.scheme;
  const host = req.trusted ? valuesOf(raw, 'x-forwarded-host')[0] : undefined;
  if (host !== undefined && host !== '') headers['x-forwarded-host'] = host;
  else if (req.host !== undefined) headers['x-forwarded-host'] = req.host;
  return headers;
}

/** An instance's response headers as `res.writeHead` takes them (flat name/value list), hop-by-hop ones removed. */
export function downstreamResponseHeaders(rawHeaders: readonly string[]): string[] {
  const listed = connectionListed(valuesOf(rawHeaders, 'connection'));
  const headers: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed.has(lower)) continue;
    headers.push(name, rawHeaders[i + 1] as string);
  }
  return headers;
}

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) → `10.0.0.1`. */
function clientAddress(address: string | undefined): string | undefined {
  if (address === undefined || address === '') return undefined;
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
