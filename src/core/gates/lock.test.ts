import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runRow, summary, type GateRow } from './gate-fixtures.ts';
import { formatUntil, lockGate } from './lock.ts';

const lock = { lockedBy: 'alice', lockedAt: '2026-03-01T09:00:00Z', lockedReason: 'release freeze' };

const rows: GateRow[] = [
  { name: 'an unlocked environment passes', expect: 'pass' },
  {
    name: 'a lock with an end waits until then, and says so',
    facts: { environment: { ...lock, lockedUntil: '2026-03-01T14:00:00Z' } },
    expect: 'wait ENVIRONMENT_LOCKED',
    message: 'production is locked by alice until 14:00 UTC: release freeze',
    recheckAt: '2026-03-01T14:00:00Z',
  },
  {
    name: 'a lock ending another day names the day',
    facts: { environment: { ...lock, lockedUntil: '2026-03-03T08:30:00.000Z' } },
    expect: 'wait ENVIRONMENT_LOCKED',
    message: 'production is locked by alice until 2026-03-03 08:30 UTC: release freeze',
    recheckAt: '2026-03-03T08:30:00.000Z',
  },
  {
    name: 'a lock without an end waits with no time to look again (the unlock wakes it)',
    facts: { environment: { ...lock, lockedUntil: null } },
    expect: 'wait ENVIRONMENT_LOCKED',
    message: 'production is locked by alice: release freeze',
  },
  {
    name: 'a lock without a reason or holder still reads as a sentence',
    facts: { environment: { lockedAt: '2026-03-01T09:00:00Z' } },
    expect: 'wait ENVIRONMENT_LOCKED',
    message: 'production is locked',
  },
  {
    name: 'a lock that expired (lockedUntil in the past) passes',
    facts: { environment: { ...lock, lockedUntil: '2026-03-01T11:59:59Z' } },
    expect: 'pass',
  },
  {
    name: 'a lock ending exactly now has ended',
    facts: { environment: { ...lock, lockedUntil: '2026-03-01T12:00:00Z' } },
    expect: 'pass',
  },
  { name: 'a forced release passes a lock', candidate: { forced: true, trigger: 'user' }, facts: { environment: lock }, expect: 'pass' },
  { name: 'a user is held by a lock like automation', candidate: { trigger: 'user' }, facts: { environment: lock }, expect: 'wait ENVIRONMENT_LOCKED' },
];

for (const row of rows) {
  test(`lock: ${row.name}`, () => {
    const check = runRow(lockGate, row);
    assert.equal(summary(check), row.expect);
    if (check.status === 'pass') return;
    assert.equal(check.reason.gate, 'lock');
    if (typeof row.message === 'string') assert.equal(check.reason.message, row.message);
    assert.equal(check.status === 'wait' ? check.recheckAt : undefined, row.recheckAt);
  });
}

test('lock: an unreadable end time is shown as given rather than as "Invalid Date"', () => {
  assert.equal(formatUntil('soon', new Date('2026-03-01T12:00:00Z')), 'soon');
});
