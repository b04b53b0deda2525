import { ErrorCode, SlipwayError } from './errors.ts';
import { isForbiddenAddress, redactUrl, type LookupAll } from './repo-url.ts';

/**
 * Where a notification may be sent. A notification target is a URL someone typed, and the
 * server POSTs to it from its own network: without these rules a project admin could aim it
 * at a service bound to loopback, the cloud metadata endpoint (169.254.169.254) or the private
 * network. So only `http:`/`https:` URLs whose host is, or resolves to, public addresses only
 * are accepted — unless an admin added the target with `allowPrivate`.
 *
 * The URL is checked when the target is added and again before every send (DNS answers
 * change); the send connects to an address that was checked, never to a fresh lookup of the
 * name (no DNS rebinding), and follows no redirect.
 */

export interface NotifyUrlPolicy {
  /** `--allow-private`: loopback, private and link-local hosts are reached too (an admin's choice). */
  allowPrivate: boolean;
}

export interface ParsedNotifyUrl {
  /** Normalized by the URL parser (address literals in their canonical form), without a fragment. */
  url: string;
  scheme: 'http' | 'https';
  /** Host name or address: lowercase, without brackets. */
  hostname: string;
  port: number;
  /** The host is an IP address: it is its own lookup. */
  literal: boolean;
}

/** Longer URLs are refused: nothing legitimate needs more, and they end up in logs and lists. */
export const MAX_NOTIFY_URL_LENGTH = 2048;

const DOTTED_QUAD = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/**
 * Checks what can be checked without the network. URL_FORBIDDEN for another scheme,
 * credentials in the URL, a host that is not a name, `localhost` and its kin, and an address
 * literal that is not public in any spelling (`127.1`, `2130706433`, `0x7f.1`, `0177.0.0.1`,
 * `[::ffff:127.0.0.1]`, `[::ffff:7f00:1]`: the WHATWG URL parser turns them all into the
 * dotted or compressed form before the check).
 */
export function parseNotifyUrl(input: string, policy: NotifyUrlPolicy): ParsedNotifyUrl {
  const text = input.trim();
  if (text === '') throw forbidden(input, 'it is empty');
  if (text.length > MAX_NOTIFY_URL_LENGTH) throw forbidden(text.slice(0, 80), `it is longer than ${MAX_NOTIFY_URL_LENGTH} characters`);
  // Control characters, spaces and backslashes: parsers disagree about them.
  for (const char of text) {
    const code = char.charCodeAt(0);
    if (code <= 0x20 || (code >= 0x7f && code <= 0x9f) || char === '\\') throw forbidden(text, 'it contains spaces, control characters or backslashes');
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(text)?.[1]?.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') throw forbidden(text, 'only http:// and https:// URLs are notified');
  if (!/^https?:\/\/[^/?#]/i.test(text)) throw forbidden(text, 'the URL has no host');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw forbidden(text, 'it is not a valid URL');
  }
  if (url.username !== '' || url.password !== '') throw forbidden(text, 'it carries credentials before the host; put a token in the path or query instead');
  const bracketed = url.hostname.startsWith('[');
  const hostname = (bracketed ? url.hostname.slice(1, -1) : url.hostname).toLowerCase();
  if (!bracketed && !/^[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?\.?$/.test(hostname)) throw forbidden(text, `"${hostname}" is not a host name`);
  const literal = bracketed || DOTTED_QUAD.test(hostname);
  if (!policy.allowPrivate) {
    if (literal && isForbiddenAddress(hostname)) throw forbidden(text, `${hostname} is a loopback, private, link-local or reserved address`);
    if (isLocalName(hostname)) throw forbidden(text, `${hostname} names this machine`);
  }
  url.hash = '';
  const port = url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port);
  return { url: url.href, scheme, hostname, port, literal };
}

/**
 * Every address the target's host resolves to, checked; the send connects to one of them.
 * An address literal is its own answer. URL_FORBIDDEN when any address is not public (unless
 * `allowPrivate`): one bad answer among good ones could be the one a resolver hands out next.
 * A failed lookup is thrown as it came.
 */
export async function resolveNotifyHost(parsed: ParsedNotifyUrl, policy: NotifyUrlPolicy, lookup: LookupAll): Promise<string[]> {
  if (parsed.literal) return [parsed.hostname];
  const answers = await lookup(parsed.hostname.replace(/\.$/, ''));
  const addresses = [...new Set(answers.map((a) => a.address))];
  if (addresses.length === 0) throw new Error(`${parsed.hostname} resolved to no address`);
  if (!policy.allowPrivate) {
    const bad = addresses.find(isForbiddenAddress);
    if (bad !== undefined) throw forbidden(parsed.url, `${parsed.hostname} resolves to ${bad}, a loopback, private, link-local or reserved address`);
  }
  return addresses;
}

/**
 * How a target's URL is shown to those who may not see all of it: scheme, host and port. A
 * webhook URL often is a credential itself (Slack's carry their token in the path).
 */
export function notifyUrlOrigin(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}/…`;
  } catch {
    return '…';
  }
}

function isLocalName(hostname: string): boolean {
  const name = hostname.replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || name === 'localhost.localdomain';
}

function forbidden(url: string, why: string): SlipwayError {
  return new SlipwayError(ErrorCode.URL_FORBIDDEN, `notification URL ${redactUrl(url)} is refused: ${why} (an admin may add a target on a private network with --allow-private)`, {
    url: redactUrl(url),
  });
}
