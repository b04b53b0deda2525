import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runRow, summary, type GateRow } from './gate-fixtures.ts';
import { maxCommitsGate } from './max-commits.ts';

const rows: GateRow[] = [
  { name: 'a batch within the default of 8 passes automation', candidate: { batch: { count: 8, truncated: false } }, expect: 'pass' },
  { name: 'an empty batch passes', candidate: { batch: { count: 0, truncated: false } }, expect: 'pass' },
  {
    name: 'one more than max_commits holds automation',
    candidate: { batch: { count: 9, truncated: false } },
    expect: 'wait MAX_COMMITS',
    message: '9 commits is more than max_commits 8: promote it yourself',
  },
  {
    name: 'the limit comes from the policy',
    policy: { maxCommits: 1 },
    candidate: { batch: { count: 12, truncated: false } },
    expect: 'wait MAX_COMMITS',
    message: '12 commits is more than max_commits 1: promote it yourself',
  },
  {
    name: 'a batch whose history was cut short holds automation even when small',
    candidate: { batch: { count: 3, truncated: true } },
    expect: 'wait MAX_COMMITS',
    message: 'Slipway cannot count the commits this release brings (its history is incomplete; 3 found, max_commits 8): promote it yourself',
  },
  { name: 'a user promotes a large batch', candidate: { trigger: 'user', batch: { count: 500, truncated: false } }, expect: 'pass' },
  { name: 'a user promotes a cut-short batch', candidate: { trigger: 'user', batch: { count: 1000, truncated: true } }, expect: 'pass' },
];

for (const row of rows) {
  test(`max_commits: ${row.name}`, () => {
    const check = runRow(maxCommitsGate, row);
    assert.equal(summary(check), row.expect);
    if (check.status === 'pass') return;
    assert.equal(check.reason.gate, 'max_commits');
    if (row.message !== undefined) assert.equal(check.reason.message, row.message);
  });
}
