/**
 * Which hosts belong to whom. The control plane (API, dashboard, git, webhooks) answers only on
 * its own hostnames; the edge serves sites on every other name it knows. A custom domain may
 * therefore never be a name that reaches the control plane — its public hostnames, `localhost`
 * in any spelling, an IP address in any notation — nor a name under the base domain, whose
 * names Slipway gives out itself. Otherwise a deployer could serve JavaScript on the
 * dashboard's origin, where the admin's token is kept.
 */

/**
 * A Host header or hostname as compared everywhere: lowercase, without port, brackets or
 * trailing dots. `[::1]:7070` → `::1`, `LocalHost.:80` → `localhost`.
 */
export function normalizeHost(host: string): string {
  let name = host.trim().toLowerCase();
  if (name.startsWith('[')) {
    const end = name.indexOf(']');
    name = end === -1 ? name.slice(1) : name.slice(1, end);
  } else if (name.indexOf(':') === name.lastIndexOf(':')) {
    // One colon: a port. Several: a bare IPv6 address, kept whole.
    const colon = name.indexOf(':');
    if (colon !== -1) name = name.slice(0, colon);
  }
  return name.replace(/\.+$/, '');
}

/**
 * True for anything a URL parser or resolver would take as an IP address: IPv6 (it has a
 * colon), and every IPv4 spelling — dotted or not, decimal, octal or hex (`127.1`,
 * `2130706433`, `0x7f.1`, `0177.0.0.1`). As in the WHATWG URL standard, a name whose last
 * label is a number is an IPv4 address (or invalid), never a DNS name.
 */
export function isIpLiteral(host: string): boolean {
  const name = normalizeHost(host);
  if (name.includes(':')) return true;
  const last = name.slice(name.lastIndexOf('.') + 1);
  return /^(?:0x[0-9a-f]*|[0-9]+)$/.test(last);
}

/** `localhost` and every name under it, which resolvers answer with loopback. */
export function isLocalhostName(host: string): boolean {
  const name = normalizeHost(host);
  return name === 'localhost' || name.endsWith('.localhost');
}

/** The hostnames the control plane always answers on, whatever else is configured. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1'];

/**
 * The hostnames the control plane answers on: those of its public URLs, else the listen
 * address; loopback names always (the server's own runner and local CLIs use them).
 * Wildcard listen addresses (`0.0.0.0`, `::`) name no host.
 */
export function controlHostnames(publicUrls: readonly string[], listenHost: string): string[] {
  const names = new Set(LOOPBACK_HOSTS);
  for (const url of publicUrls) names.add(normalizeHost(new URL(url).host));
  const listen = normalizeHost(listenHost);
  if (listen !== '' && listen !== '0.0.0.0' && listen !== '::') names.add(listen);
  return [...names];
}

/**
 * Why `hostname` may not be a custom domain, or undefined when it may. `controlHosts` are the
 * control plane's hostnames (normalized), `baseDomain` the parent of Slipway's own edge names.
 */
export function reservedDomainReason(hostname: string, baseDomain: string, controlHosts: readonly string[]): string | undefined {
  const name = normalizeHost(hostname);
  const base = normalizeHost(baseDomain);
  if (isIpLiteral(name)) return `${hostname} is an IP address; custom domains are DNS names`;
  if (isLocalhostName(name)) return `${hostname} is localhost, where the control plane answers`;
  if (controlHosts.includes(name)) return `${hostname} is a hostname of the control plane`;
  if (name === base || name.endsWith(`.${base}`)) return `${hostname} is under ${base}, which Slipway's own URLs use`;
  return undefined;
}
