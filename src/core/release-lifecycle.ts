import { ErrorCode, SlipwayError } from './errors.ts';
import type { ReleaseState } from './glossary.ts';

/**
 * A release's lifecycle, the one table of allowed moves. The store moves a release only by
 * compare-and-set from the state it read, after asking this table.
 *
 *   pending ──► waiting ──► rolling_out ──► live ──► superseded | rolled_back
 *      │           │             │
 *      │           │             └──► failed | rolled_back
 *      └───────────┴──► rolling_out | failed | canceled | superseded
 *
 * `pending` was just proposed and has not been evaluated; `waiting` is held by a gate;
 * `rolling_out` passed its gates and is being switched to: at once for a static site, instance
 * by instance for a service (its rollout). A rollout that fails before any instance switched
 * (its release phase) leaves the release `failed`; one whose switched instances had to go back
 * leaves it `rolled_back`. Only `rolling_out → live` moves the environment's pointer. The last
 * four states are final.
 */
export const RELEASE_TRANSITIONS: Readonly<Record<ReleaseState, readonly ReleaseState[]>> = {
  pending: ['waiting', 'rolling_out', 'failed', 'canceled', 'superseded'],
  waiting: ['rolling_out', 'failed', 'canceled', 'superseded'],
  rolling_out: ['live', 'failed', 'rolled_back'],
  live: ['superseded', 'rolled_back'],
  failed: [],
  canceled: [],
  superseded: [],
  rolled_back: [],
};

export function canTransition(from: ReleaseState, to: ReleaseState): boolean {
  return RELEASE_TRANSITIONS[from].includes(to);
}

export function assertTransition(from: ReleaseState, to: ReleaseState): void {
  if (canTransition(from, to)) return;
  const allowed = RELEASE_TRANSITIONS[from];
  throw new SlipwayError(
    ErrorCode.RELEASE_TRANSITION_INVALID,
    allowed.length === 0 ? `a ${from} release is final and cannot become ${to}` : `a ${from} release cannot become ${to} (only ${allowed.join(', ')})`,
    { from, to },
  );
}

/** States that still have a job that will look at the release again. */
export const OPEN_RELEASE_STATES = ['pending', 'waiting', 'rolling_out'] as const satisfies readonly ReleaseState[];
export type OpenReleaseState = (typeof OPEN_RELEASE_STATES)[number];

export function isOpenRelease(state: ReleaseState): state is OpenReleaseState {
  return (OPEN_RELEASE_STATES as readonly ReleaseState[]).includes(state);
}

/** Final states: nothing moves the release any more. */
export function isFinalRelease(state: ReleaseState): boolean {
  return RELEASE_TRANSITIONS[state].length === 0;
}
