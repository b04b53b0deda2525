import { ErrorCode, SlipwayError } from './errors.ts';

/**
 * Which repositories Slipway fetches from. A project's repository URL is chosen by a deployer,
 * and fetching it runs on the control plane's (or a runner's) network: without these rules a
 * deployer could make the server read its own disk (`file://`, a local path), reach services
 * bound to loopback (`http://127.0.0.1:5432`), the cloud metadata endpoint (169.254.169.254) or
 * the private network, or run a command (`ext::`). So only `http:` and `https:` URLs to public
 * addresses are fetched, unless the server or runner was started with `--allow-local-repos`.
 *
 * A host name is checked again by what it resolves to, at create time and at every fetch
 * (DNS answers change), and the fetch is pinned to the addresses that were checked.
 */

export interface RepoUrlPolicy {
  /** `--allow-local-repos`: local paths, `file://` and private or loopback hosts are fetched too. */
  allowLocal: boolean;
}

export interface RepoCredentials {
  username: string;
  password: string;
}

export type ParsedRepoUrl =
  | {
      kind: 'remote';
      /** The URL as git is given it: normalized, with no credentials. */
      url: string;
      /** What the URL carried before `@`, decoded; null when nothing. */
      credentials: RepoCredentials | null;
      /** Host name or address as resolved: without brackets, lowercase. */
      hostname: string;
      port: number;
      /** The host is an IP address (no lookup needed, nothing to pin). */
      literal: boolean;
    }
  | {
      /** A local path or `file://` URL, only with `allowLocal`. */
      kind: 'local';
      url: string;
      credentials: null;
    };

/**
 * Checks what can be checked without the network and splits credentials off. Throws
 * REPO_URL_FORBIDDEN for any other scheme, a loopback/private/link-local address literal in
 * any of its spellings (`127.1`, `2130706433`, `0x7f000001`, `[::ffff:127.0.0.1]` — the URL
 * parser normalizes them all to the dotted or compressed form first), `localhost`, or a URL
 * git and a URL parser could read differently.
 */
export function parseRepoUrl(input: string, policy: RepoUrlPolicy): ParsedRepoUrl {
  const text = input.trim();
  // Control characters and spaces: a URL parser drops some of them, git and curl may not.
  if (text === '' || hasUnsafeCharacter(text)) throw forbidden(text, 'it contains spaces, control characters or backslashes');
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme.length === 1 /* C:\… */) {
    if (policy.allowLocal && !text.startsWith('-') && !text.includes('::') && !/^[^/]*:/.test(text)) return { kind: 'local', url: text, credentials: null };
    throw forbidden(text, 'only http:// and https:// repository URLs are fetched');
  }
  if (scheme === 'file' && policy.allowLocal) return { kind: 'local', url: text, credentials: null };
  if (scheme !== 'http' && scheme !== 'https') throw forbidden(text, `${scheme}: repository URLs are not fetched; use http:// or https://`);
  if (!/^https?:\/\/[^/]/i.test(text)) throw forbidden(text, 'the URL has no host');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw forbidden(text, 'it is not a valid URL');
  }
  const bracketed = url.hostname.startsWith('[');
  const hostname = bracketed ? url.hostname.slice(1, -1) : url.hostname;
  if (!bracketed && !/^[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?$/.test(hostname)) throw forbidden(text, `"${hostname}" is not a host name`);
  const literal = bracketed || parseIpv4(hostname) !== undefined;
  if (!policy.allowLocal) {
    if (literal && isForbiddenAddress(hostname)) throw forbidden(text, `${hostname} is a loopback, private, link-local or reserved address`);
    if (isLocalName(hostname)) throw forbidden(text, `${hostname} names this machine`);
  }
  const credentials =
    url.username !== '' || url.password !== '' ? { username: safeDecode(url.username), password: safeDecode(url.password) } : null;
  url.username = '';
  url.password = '';
  url.hash = '';
  const port = url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port);
  return { kind: 'remote', url: url.href, credentials, hostname, port, literal };
}

/** The answer of a name lookup, every address of it (`dns.promises.lookup(name, { all: true })`). */
export type LookupAll = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

/**
 * Resolves a repository's host and checks every address it resolves to; returns them, for the
 * fetch to be pinned to. An address literal is its own answer. Throws REPO_URL_FORBIDDEN when
 * any address is not public (unless `allowLocal`); a failed lookup is thrown as it came.
 */
export async function resolveRepoHost(parsed: Extract<ParsedRepoUrl, { kind: 'remote' }>, policy: RepoUrlPolicy, lookup: LookupAll): Promise<string[]> {
  if (parsed.literal) return [parsed.hostname];
  const answers = await lookup(parsed.hostname);
  const addresses = [...new Set(answers.map((a) => a.address))];
  if (addresses.length === 0) throw new Error(`${parsed.hostname} resolved to no address`);
  if (!policy.allowLocal) {
    const bad = addresses.find(isForbiddenAddress);
    if (bad !== undefined) throw forbidden(parsed.url, `${parsed.hostname} resolves to ${bad}, a loopback, private, link-local or reserved address`);
  }
  return addresses;
}

/** `https://user:secret@host/x.git` → `https://***@host/x.git`, in a URL or any text quoting one. */
export function redactUrl(text: string): string {
  // Up to the last `@` before the path, as URL parsers read userinfo (`u:p@ss@host` is `u:p%40ss`).
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/?#\s]*@/gi, '$1***@');
}

/** A credential-free repository URL as it is shown: `https://***@host/path` when credentials are stored for it. */
export function displayRepoUrl(url: string, hasCredentials: boolean): string {
  if (!hasCredentials) return redactUrl(url);
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)/i, '$1***@');
}

/** The `Authorization` header value git sends for a repository's credentials (HTTP Basic). */
export function basicAuthorization(credentials: RepoCredentials): string {
  const bytes = new TextEncoder().encode(`${credentials.username}:${credentials.password}`);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

function forbidden(url: string, why: string): SlipwayError {
  return new SlipwayError(ErrorCode.REPO_URL_FORBIDDEN, `repository ${redactUrl(url)} is refused: ${why} (a server started with --allow-local-repos fetches it)`, {
    repo: redactUrl(url),
  });
}

function hasUnsafeCharacter(text: string): boolean {
  for (const char of text) {
    const code = char.charCodeAt(0);
    if (code <= 0x20 || (code >= 0x7f && code <= 0x9f) || char === '\\') return true;
  }
  return false;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function isLocalName(hostname: string): boolean {
  const name = hostname.replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || name === 'localhost.localdomain';
}

/**
 * True unless the address is a public unicast one. Unparsable text counts as forbidden, so a
 * resolver answer in an unexpected shape is refused rather than fetched.
 */
export function isForbiddenAddress(address: string): boolean {
  const v4 = parseIpv4(address);
  if (v4 !== undefined) return isForbiddenIpv4(v4);
  const v6 = parseIpv6(address);
  if (v6 === undefined) return true;
  return isForbiddenIpv6(v6);
}

/** Dotted-quad only (the URL parser and resolvers give that form); a number 0..2^32-1. */
function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

const V4_BLOCKS: Array<[string, number]> = [
  ['0.0.0.0', 8], // "this network", 0.0.0.0 reaches loopback
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];

function isForbiddenIpv4(value: number): boolean {
  return V4_BLOCKS.some(([base, bits]) => {
    const start = parseIpv4(base) ?? 0;
    const size = 2 ** (32 - bits);
    return value >= start && value < start + size;
  });
}

/** Eight 16-bit groups, or undefined. Accepts `::` and a trailing dotted IPv4; drops a `%zone`. */
function parseIpv6(text: string): number[] | undefined {
  let body = text.toLowerCase();
  const zone = body.indexOf('%');
  if (zone !== -1) body = body.slice(0, zone);
  if (!/^[0-9a-f:.]+$/.test(body) || !body.includes(':')) return undefined;
  const lastColon = body.lastIndexOf(':');
  if (body.slice(lastColon + 1).includes('.')) {
    // A trailing dotted IPv4 (`::ffff:127.0.0.1`) becomes its two groups.
    const v4 = parseIpv4(body.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    body = `${body.slice(0, lastColon + 1)}${Math.floor(v4 / 65536).toString(16)}:${(v4 % 65536).toString(16)}`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string | undefined): number[] | undefined => {
    if (part === undefined || part === '') return [];
    const out: number[] = [];
    for (const group of part.split(':')) {
      if (!/^[0-9a-f]{1,4}$/.test(group)) return undefined;
      out.push(parseInt(group, 16));
    }
    return out;
  };
  const head = groups(halves[0]);
  const rest = groups(halves[1]);
  if (head === undefined || rest === undefined) return undefined;
  const known = head.length + rest.length;
  if (halves.length === 2) {
    if (known > 7) return undefined;
    return [...head, ...new Array<number>(8 - known).fill(0), ...rest];
  }
  if (known !== 8) return undefined;
  return head;
}

function isForbiddenIpv6(g: number[]): boolean {
  const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, h6 = 0, h7 = 0] = g;
  const embeddedV4 = h6 * 65536 + h7;
  // ::/96 (unspecified, loopback, IPv4-compatible) and ::ffff:0:0/96 (IPv4-mapped): judge the IPv4 part,
  // and ::1 / :: themselves are loopback / unspecified.
  if (a === 0 && b === 0 && c === 0 && d === 0 && e === 0 && (f === 0 || f === 0xffff)) {
    return f === 0 ? true : isForbiddenIpv4(embeddedV4);
  }
  // 64:ff9b::/96 (NAT64) carries an IPv4 address too.
  if (a === 0x64 && b === 0xff9b && c === 0 && d === 0 && e === 0 && f === 0) return isForbiddenIpv4(embeddedV4);
  // 2002::/16 (6to4) embeds the IPv4 address in its second and third groups.
  if (a === 0x2002) return isForbiddenIpv4(b * 65536 + c);
  if ((a & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local
  if ((a & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
  if ((a & 0xffc0) === 0xfec0) return true; // fec0::/10 site-local (deprecated)
  if ((a & 0xff00) === 0xff00) return true; // multicast
  if (a === 0x2001 && b === 0x0db8) return true; // documentation
  if (a === 0x0100 && b === 0 && c === 0 && d === 0) return true; // discard-only
  if (a === 0x2001 && b < 0x0200) return true; // 2001::/23 special purpose (Teredo and others)
  return false;
}
