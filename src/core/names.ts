import { ErrorCode, SlipwayError } from './errors.ts';

/**
 * Project and environment names appear in hostnames as `<environment>--<project>`, so they are
 * DNS labels that may not contain `--` themselves (the separator must be unambiguous).
 */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

export function isValidName(name: string): boolean {
  return LABEL.test(name) && !name.includes('--');
}

export function assertName(kind: 'project' | 'environment', name: string): string {
  // Deployment ids share the left label of `<x>--<project>` hosts, so their prefix is reserved.
  if (!isValidName(name) || (kind === 'environment' && name.startsWith('dpl-'))) {
    throw new SlipwayError(
      ErrorCode.INVALID_NAME,
      `invalid ${kind} name "${name}": use 1-40 lowercase letters, digits and single dashes, starting and ending with a letter or digit`,
      { kind, name },
    );
  }
  return name;
}

/** Hostnames for custom domains: lowercase labels separated by dots, at least two labels. */
const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function assertHostname(hostname: string): string {
  const lower = hostname.toLowerCase();
  if (!HOSTNAME.test(lower)) {
    throw new SlipwayError(ErrorCode.INVALID_NAME, `invalid hostname "${hostname}"`, { hostname });
  }
  return lower;
}
