import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runRow, summary, type GateRow } from './gate-fixtures.ts';
import { pinGate } from './pin.ts';

const rows: GateRow[] = [
  { name: 'an unpinned environment passes automation', expect: 'pass' },
  {
    name: 'a pin holds automation',
    facts: { environment: { pinnedBy: 'carol' } },
    expect: 'wait ENVIRONMENT_PINNED',
    message: 'production was pinned by carol: automation waits until someone promotes explicitly',
  },
  { name: "a user's promotion passes a pin (it unpins)", candidate: { trigger: 'user' }, facts: { environment: { pinnedBy: 'carol' } }, expect: 'pass' },
  {
    name: 'forcing does not matter to a pin: automation is never forced',
    candidate: { forced: true },
    facts: { environment: { pinnedBy: 'carol' } },
    expect: 'wait ENVIRONMENT_PINNED',
  },
];

for (const row of rows) {
  test(`pin: ${row.name}`, () => {
    const check = runRow(pinGate, row);
    assert.equal(summary(check), row.expect);
    if (check.status === 'pass') return;
    assert.equal(check.reason.gate, 'pin');
    if (check.status === 'wait') assert.equal(check.recheckAt, undefined);
    if (row.message !== undefined) assert.equal(check.reason.message, row.message);
  });
}
