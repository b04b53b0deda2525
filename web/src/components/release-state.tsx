import type { Release, ReleaseState } from '../../../src/protocol/api.ts';

const STATE_CLASS: Record<ReleaseState, string> = {
  pending: 'state-pending',
  waiting: 'state-waiting',
  rolling_out: 'state-pending',
  live: 'state-live',
  failed: 'state-failed',
  rolled_back: 'state-rolled-back',
  canceled: 'state-muted',
  superseded: 'state-muted',
};

const STATE_WORDS: Record<ReleaseState, string> = {
  pending: 'pending',
  waiting: 'waiting',
  rolling_out: 'rolling out',
  live: 'live',
  failed: 'failed',
  rolled_back: 'rolled back',
  canceled: 'canceled',
  superseded: 'superseded',
};

/** A release's state in words, with a colour and a dot shape that only repeat what the words say. */
export function ReleaseStateBadge({ state }: { state: ReleaseState }) {
  return (
    <span className={`state ${STATE_CLASS[state]}`} data-state={state}>
      {STATE_WORDS[state]}
    </span>
  );
}

/** "v7" for a release of the list, else the start of its id (a release of another environment, or older than the list). */
export function releaseLabel(id: string, known: readonly Release[]): string {
  const release = known.find((r) => r.id === id);
  return release ? `v${release.number}` : id;
}
