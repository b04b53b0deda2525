import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runRow, summary, type GateRow } from './gate-fixtures.ts';
import { queueGate } from './queue.ts';

const rows: GateRow[] = [
  { name: 'nothing ahead passes', expect: 'pass' },
  { name: 'an older open release holds automation', facts: { queueAhead: { number: 12 } }, expect: 'wait QUEUED', message: 'queued behind v12' },
  { name: 'a user jumps the queue', candidate: { trigger: 'user' }, facts: { queueAhead: { number: 12 } }, expect: 'pass' },
  { name: 'a hotfix (expedited) jumps the queue', candidate: { branch: 'hotfix/login', expedited: true }, facts: { queueAhead: { number: 12 } }, expect: 'pass' },
];

for (const row of rows) {
  test(`queue: ${row.name}`, () => {
    const check = runRow(queueGate, row);
    assert.equal(summary(check), row.expect);
    if (check.status === 'pass') return;
    assert.equal(check.reason.gate, 'queue');
    if (row.message !== undefined) assert.equal(check.reason.message, row.message);
  });
}
