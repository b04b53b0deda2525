import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';

/** Random DNS-safe ids: `dpl-k3x9…` (12 characters of a 32-letter alphabet, 60 bits). */
export function newId(prefix: 'dpl' | 'rel' | 'env' | 'prj' | 'upl' | 'tok' | 'bld' | 'frz' | 'usr' | 'ses' | 'ntf' | 'ndl' | 'apr' | 'enr' | 'agt' | 'rol'): string {
  const bytes = randomBytes(12);
  let out = `${prefix}-`;
  for (const byte of bytes) out += ALPHABET[byte & 31];
  return out;
}
