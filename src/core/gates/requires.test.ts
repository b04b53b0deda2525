import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runRow, summary, type GateRow } from './gate-fixtures.ts';
import { requiresGate } from './requires.ts';

const infra = { project: 'infra', environment: 'production', needs: 'infra dpl-9k2 (staging v4)' };
const dns = { project: 'dns', environment: 'production', needs: null };

const rows: GateRow[] = [
  { name: 'nothing required passes', expect: 'pass' },
  { name: 'every required project satisfied passes', facts: { requires: [{ ...infra, satisfied: true }] }, expect: 'pass' },
  {
    name: 'an unsatisfied project waits, naming the release it needs',
    facts: { requires: [{ ...infra, satisfied: false }] },
    expect: 'wait REQUIRES_PENDING',
    message: 'waiting for infra dpl-9k2 (staging v4) in production',
  },
  {
    name: 'each unsatisfied project is named; satisfied ones are not',
    facts: { requires: [{ ...infra, satisfied: false }, { ...dns, project: 'cdn', satisfied: true }, { ...dns, satisfied: false }] },
    expect: 'wait REQUIRES_PENDING',
    message: 'waiting for infra dpl-9k2 (staging v4) in production and dns in production',
  },
  { name: 'users wait for required projects too', candidate: { trigger: 'user', forced: true }, facts: { requires: [{ ...dns, satisfied: false }] }, expect: 'wait REQUIRES_PENDING' },
];

for (const row of rows) {
  test(`requires: ${row.name}`, () => {
    const check = runRow(requiresGate, row);
    assert.equal(summary(check), row.expect);
    if (check.status === 'pass') return;
    assert.equal(check.reason.gate, 'requires');
    if (row.message !== undefined) assert.equal(check.reason.message, row.message);
  });
}
