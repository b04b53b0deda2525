import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activeFreezes, freezeGate } from './freeze.ts';
import { NOW, runRow, summary, type GateRow } from './gate-fixtures.ts';
import type { Freeze } from './types.ts';

/** NOW is 2026-03-01T12:00:00Z. */
const holidays: Freeze = { id: 'frz-1', from: '2026-03-01T00:00:00.000Z', until: '2026-03-04T00:00:00.000Z', reason: 'holidays', createdBy: 'alice' };
const later: Freeze = { id: 'frz-2', from: '2026-03-10T00:00:00.000Z', until: '2026-03-11T00:00:00.000Z', reason: 'launch', createdBy: 'bob' };
const chained: Freeze = { id: 'frz-3', from: '2026-03-04T00:00:00.000Z', until: '2026-03-05T00:00:00.000Z', reason: 'audit', createdBy: 'bob' };

const rows: GateRow[] = [
  { name: 'no freezes passes', expect: 'pass' },
  { name: 'a freeze to come passes now', facts: { freezes: [later] }, expect: 'pass' },
  {
    name: 'a freeze in force waits until its end, with its reason',
    facts: { freezes: [holidays, later] },
    expect: 'wait FROZEN',
    message: 'production is frozen until 2026-03-04 00:00 UTC by alice: holidays (frz-1)',
    recheckAt: '2026-03-04T00:00:00.000Z',
  },
  {
    name: 'freezes that follow each other end to end are waited out together',
    facts: { freezes: [holidays, chained] },
    expect: 'wait FROZEN',
    recheckAt: '2026-03-05T00:00:00.000Z',
  },
  { name: 'the start instant is frozen', facts: { freezes: [{ ...holidays, from: NOW.toISOString() }] }, expect: 'wait FROZEN', recheckAt: '2026-03-04T00:00:00.000Z' },
  { name: 'the end instant is not', facts: { freezes: [{ ...holidays, until: NOW.toISOString() }] }, expect: 'pass' },
  {
    name: 'a hotfix is held too, whatever expedite says',
    candidate: { expedited: true },
    policy: { expedite: 'allow' },
    facts: { freezes: [holidays] },
    expect: 'wait FROZEN',
    recheckAt: '2026-03-04T00:00:00.000Z',
  },
  { name: 'a person is held too', candidate: { trigger: 'user' }, facts: { freezes: [holidays] }, expect: 'wait FROZEN', recheckAt: '2026-03-04T00:00:00.000Z' },
  { name: "an admin's forced release passes", candidate: { trigger: 'user', forced: true }, facts: { freezes: [holidays] }, expect: 'pass' },
];

for (const row of rows) {
  test(`freeze: ${row.name}`, () => {
    const check = runRow(freezeGate, row);
    assert.equal(summary(check), row.expect);
    if (check.status === 'pass') return;
    assert.equal(check.reason.gate, 'freeze');
    if (row.message !== undefined) assert.equal(check.reason.message, row.message);
    assert.equal(check.status === 'wait' ? check.recheckAt : undefined, row.recheckAt);
  });
}

test('activeFreezes: only those in force, latest end first', () => {
  const long = { ...holidays, id: 'frz-9', until: '2026-03-20T00:00:00.000Z' };
  assert.deepEqual(
    activeFreezes([holidays, later, long], NOW).map((f) => f.id),
    ['frz-9', 'frz-1'],
  );
});
