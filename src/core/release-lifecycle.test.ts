import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSlipwayError } from './errors.ts';
import { RELEASE_STATES, type ReleaseState } from './glossary.ts';
import { assertTransition, canTransition, isFinalRelease, isOpenRelease, OPEN_RELEASE_STATES } from './release-lifecycle.ts';

// Written out by hand, not derived from RELEASE_TRANSITIONS, so a change to the table fails here.
const ALLOWED = new Set([
  'pending→waiting',
  'pending→rolling_out',
  'pending→failed',
  'pending→canceled',
  'pending→superseded',
  'waiting→rolling_out',
  'waiting→failed',
  'waiting→canceled',
  'waiting→superseded',
  'rolling_out→live',
  'rolling_out→failed',
  'rolling_out→rolled_back',
  'live→superseded',
  'live→rolled_back',
]);

for (const from of RELEASE_STATES) {
  for (const to of RELEASE_STATES) {
    const allowed = ALLOWED.has(`${from}→${to}`);
    test(`${from} → ${to} is ${allowed ? 'allowed' : 'refused'}`, () => {
      assert.equal(canTransition(from, to), allowed);
      if (allowed) {
        assert.doesNotThrow(() => assertTransition(from, to));
        return;
      }
      assert.throws(
        () => assertTransition(from, to),
        (err: unknown) => isSlipwayError(err, 'RELEASE_TRANSITION_INVALID') && err.details?.from === from && err.details.to === to,
      );
    });
  }
}

test('only pending, waiting and rolling_out are open; only states with no way out are final', () => {
  const open: ReleaseState[] = RELEASE_STATES.filter((state) => isOpenRelease(state));
  assert.deepEqual(open, ['pending', 'waiting', 'rolling_out']);
  assert.deepEqual([...OPEN_RELEASE_STATES], open);
  const final: ReleaseState[] = RELEASE_STATES.filter((state) => isFinalRelease(state));
  assert.deepEqual(final, ['failed', 'rolled_back', 'canceled', 'superseded']);
});

test('a refusal says what the release may still become', () => {
  assert.throws(() => assertTransition('rolling_out', 'waiting'), /cannot become waiting \(only live, failed, rolled_back\)/);
  assert.throws(() => assertTransition('failed', 'live'), /failed release is final/);
});
