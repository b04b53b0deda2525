import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runRow, summary, type GateRow } from './gate-fixtures.ts';
import { lineageGate } from './lineage.ts';

const fromStaging = { from: 'staging' };
const upstream = (lineage: 'live' | 'was_live' | 'rolled_back' | 'never') => ({ upstream: { name: 'staging', lineage } });

const rows: GateRow[] = [
  { name: 'without from: there is no lineage to check', facts: upstream('never'), expect: 'pass' },
  { name: 'live upstream passes', policy: fromStaging, facts: upstream('live'), expect: 'pass' },
  { name: 'was live upstream (since replaced) passes', policy: fromStaging, facts: upstream('was_live'), expect: 'pass' },
  {
    name: 'rolled back upstream fails',
    policy: fromStaging,
    facts: upstream('rolled_back'),
    expect: 'fail LINEAGE_VIOLATION',
    message: '3f2a1c9 was rolled back in staging',
  },
  {
    name: 'never run upstream waits for it',
    policy: fromStaging,
    facts: upstream('never'),
    expect: 'wait LINEAGE_VIOLATION',
    message: 'staging has not run 3f2a1c9',
  },
  {
    name: 'a deployment without a commit is named by its id',
    policy: fromStaging,
    candidate: { commit: null },
    facts: upstream('never'),
    expect: 'wait LINEAGE_VIOLATION',
    message: 'staging has not run dpl-b',
  },
  {
    name: 'no upstream facts at all counts as never run, named after policy.from',
    policy: fromStaging,
    expect: 'wait LINEAGE_VIOLATION',
    message: 'staging has not run 3f2a1c9',
  },
  { name: 'a forced release passes a missing lineage', policy: fromStaging, candidate: { forced: true }, facts: upstream('never'), expect: 'pass' },
  {
    name: 'a forced release passes even a rollback upstream',
    policy: fromStaging,
    candidate: { forced: true },
    facts: upstream('rolled_back'),
    expect: 'pass',
  },
  {
    name: 'a user is held like automation (the service turns it into a refusal)',
    policy: fromStaging,
    candidate: { trigger: 'user' },
    facts: upstream('never'),
    expect: 'wait LINEAGE_VIOLATION',
  },
];

for (const row of rows) {
  test(`lineage: ${row.name}`, () => {
    const check = runRow(lineageGate, row);
    assert.equal(summary(check), row.expect);
    if (check.status === 'pass') return;
    assert.equal(check.reason.gate, 'lineage');
    assert.equal(check.reason.details?.upstream, 'staging');
    if (row.message !== undefined) assert.equal(check.reason.message, row.message);
  });
}
