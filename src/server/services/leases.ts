import { createHash, randomBytes } from 'node:crypto';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { Actor } from '../../core/release-planner.ts';
import type { BuildRow } from '../../store/store.ts';
import { requireRole } from './access.ts';
import type { ServiceDeps } from './deps.ts';

/**
 * Build leases. The runner that claims a build gets a lease token (32 random bytes, shown once);
 * the store keeps only its sha256, on the build row. Everything a runner does for the build —
 * heartbeat, log lines, uploads, blobs, finalize, completion, fetching the source from Slipway's
 * own git — names the lease, and only the current, unexpired lease of a running build is heard:
 * a stale one (it ran out, the build was claimed again, or finished) and a forged one are LEASE_LOST.
 */
export function newLease(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashLease(token) };
}

export function hashLease(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function leaseLost(message: string, details: Record<string, unknown> = {}): SlipwayError {
  return new SlipwayError(ErrorCode.LEASE_LOST, message, details);
}

/** The lease header's value, if it looks like a lease at all. */
function leaseHashOf(lease: string | undefined): string | undefined {
  if (lease === undefined || lease.length === 0 || lease.length > 256) return undefined;
  return hashLease(lease);
}

/**
 * The running build `lease` is the current lease of, checked to be `buildId` when given:
 * LEASE_LOST otherwise. Only runner tokens hold leases (FORBIDDEN for anyone else).
 */
export async function requireLease(deps: ServiceDeps, actor: Actor, lease: string | undefined, buildId?: string): Promise<BuildRow> {
  requireRole(actor, 'runner');
  const hash = leaseHashOf(lease);
  if (hash === undefined) throw leaseLost('send the lease of the build\'s claim in the "Slipway-Lease" header', buildId === undefined ? {} : { build: buildId });
  const build = await deps.store.findBuildByLease(hash);
  // A lease that ran out is lost even before the reaper re-queues its build.
  const expired = build?.leaseExpiresAt != null && Date.parse(build.leaseExpiresAt) < deps.clock.now().getTime();
  if (build === undefined || expired || (buildId !== undefined && build.id !== buildId)) {
    throw leaseLost(
      buildId === undefined
        ? 'the lease is not the current lease of any running build'
        : `the lease is not the current lease of build ${buildId}: it ran out and the build went back to the queue, or it finished`,
      buildId === undefined ? {} : { build: buildId },
    );
  }
  return build;
}
