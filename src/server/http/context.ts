import type { FastifyRequest } from 'fastify';
import { LEASE_HEADER } from '../../protocol/builds.ts';
import type { ServiceDeps } from '../services/deps.ts';

/** What route modules close over. */
export interface HttpContext {
  deps: ServiceDeps;
}

export type Params = Record<string, string>;

/** The build lease a runner names (`Slipway-Lease`), if any. */
export function leaseOf(request: FastifyRequest): string | undefined {
  const value = request.headers[LEASE_HEADER];
  return typeof value === 'string' ? value : undefined;
}
