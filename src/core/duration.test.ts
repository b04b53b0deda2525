import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from './duration.ts';

test('durations', () => {
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('2h'), 7_200_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  for (const bad of ['', '2', 'h', '2x', '-1h', '0m', '1h 30m']) assert.throws(() => parseDuration(bad), { code: 'INVALID_DURATION' }, bad);
});
