import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runRow, summary, type GateRow } from './gate-fixtures.ts';
import { windowGate } from './window.ts';

const BERLIN = ['Mon-Thu 09:00-16:00 Europe/Berlin'];
/** Monday 2026-11-30 17:00 CET: closed until Tuesday 09:00. */
const MONDAY_EVENING = new Date('2026-11-30T16:00:00Z');

const rows: GateRow[] = [
  { name: 'no windows: any time', now: MONDAY_EVENING, expect: 'pass' },
  { name: 'inside a window passes', policy: { windows: BERLIN }, now: new Date('2026-11-30T10:00:00Z'), expect: 'pass' },
  {
    name: 'outside every window waits until the next opens, and says which',
    policy: { windows: BERLIN },
    now: MONDAY_EVENING,
    expect: 'wait OUTSIDE_WINDOW',
    message: 'outside the deploy windows (Mon-Thu 09:00-16:00 Europe/Berlin): next opens Tue 09:00 CET',
    recheckAt: '2026-12-01T08:00:00.000Z',
  },
  {
    name: 'a person is held like automation',
    policy: { windows: BERLIN },
    candidate: { trigger: 'user' },
    now: MONDAY_EVENING,
    expect: 'wait OUTSIDE_WINDOW',
    recheckAt: '2026-12-01T08:00:00.000Z',
  },
  {
    name: 'a hotfix (expedited) is held by windows unless the policy says expedite: allow',
    policy: { windows: BERLIN },
    candidate: { expedited: true },
    now: MONDAY_EVENING,
    expect: 'wait OUTSIDE_WINDOW',
    recheckAt: '2026-12-01T08:00:00.000Z',
  },
  { name: 'with expedite: allow a hotfix goes through a closed window', policy: { windows: BERLIN, expedite: 'allow' }, candidate: { expedited: true }, now: MONDAY_EVENING, expect: 'pass' },
  { name: 'expedite: allow does not open the window for anything else', policy: { windows: BERLIN, expedite: 'allow' }, now: MONDAY_EVENING, expect: 'wait OUTSIDE_WINDOW', recheckAt: '2026-12-01T08:00:00.000Z' },
  { name: "an admin's forced release passes", policy: { windows: BERLIN }, candidate: { trigger: 'user', forced: true }, now: MONDAY_EVENING, expect: 'pass' },
  {
    name: 'several windows are listed, the earliest opening named',
    policy: { windows: [...BERLIN, 'Mon 18:00-19:00 UTC'] },
    now: MONDAY_EVENING,
    expect: 'wait OUTSIDE_WINDOW',
    message: 'outside the deploy windows (Mon-Thu 09:00-16:00 Europe/Berlin, Mon 18:00-19:00 UTC): next opens Mon 18:00 UTC',
    recheckAt: '2026-11-30T18:00:00.000Z',
  },
  { name: 'a window stored unreadable fails rather than opens', policy: { windows: ['whenever'] }, now: MONDAY_EVENING, expect: 'fail WINDOW_INVALID' },
];

for (const row of rows) {
  test(`window: ${row.name}`, () => {
    const check = runRow(windowGate, row);
    assert.equal(summary(check), row.expect);
    if (check.status === 'pass') return;
    assert.equal(check.reason.gate, 'window');
    if (row.message !== undefined) assert.equal(check.reason.message, row.message);
    assert.equal(check.status === 'wait' ? check.recheckAt : undefined, row.recheckAt);
  });
}
