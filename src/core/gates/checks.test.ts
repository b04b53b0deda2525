import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checksGate, redRequiredCheck } from './checks.ts';
import { aPolicy, runRow, summary, type GateRow } from './gate-fixtures.ts';
import type { GateFacts } from './types.ts';

const required = { checks: ['ci/test', 'e2e'] };
const ok = { state: 'success', url: null } as const;
const pending = { state: 'pending', url: null } as const;
const red = (url: string | null = 'https://ci.example/runs/7') => ({ state: 'failure', url }) as const;

const rows: GateRow[] = [
  { name: 'no required checks passes, whatever the checks say', facts: { checks: { 'ci/test': red() } }, expect: 'pass' },
  {
    name: 'no required checks passes a deployment without a commit',
    candidate: { commit: null },
    expect: 'pass',
  },
  { name: 'every required check green passes', policy: required, facts: { checks: { 'ci/test': ok, e2e: ok } }, expect: 'pass' },
  {
    name: 'checks nobody requires do not matter',
    policy: required,
    facts: { checks: { 'ci/test': ok, e2e: ok, lint: red() } },
    expect: 'pass',
  },
  {
    name: 'a pending and a missing check wait, listing each with its state',
    policy: required,
    facts: { checks: { 'ci/test': pending } },
    expect: 'wait CHECKS_PENDING',
    message: 'waiting for checks: ci/test pending, e2e missing',
  },
  {
    name: 'a missing required check waits (it may be reported later)',
    policy: required,
    facts: { checks: { 'ci/test': ok } },
    expect: 'wait CHECKS_PENDING',
    message: 'waiting for checks: e2e missing',
  },
  {
    name: 'a red required check fails, naming it and its url',
    policy: required,
    facts: { checks: { 'ci/test': red(), e2e: ok } },
    expect: 'fail CHECK_FAILED',
    message: 'check ci/test failed: https://ci.example/runs/7',
  },
  {
    name: 'a red check wins over a pending one',
    policy: required,
    facts: { checks: { 'ci/test': pending, e2e: red(null) } },
    expect: 'fail CHECK_FAILED',
    message: 'check e2e failed',
  },
  {
    name: 'several red checks are all named',
    policy: required,
    facts: { checks: { 'ci/test': red(), e2e: red(null) } },
    expect: 'fail CHECK_FAILED',
    message: 'checks failed: ci/test (https://ci.example/runs/7), e2e',
  },
  {
    name: 'gate mode with no commit fails: its checks can never pass',
    policy: required,
    candidate: { commit: null },
    expect: 'fail CHECKS_UNAVAILABLE',
    message: 'deployment has no commit, so its checks can never pass',
  },
  {
    name: 'parallel mode does not publish what is red already',
    policy: { ...required, mode: 'parallel' },
    facts: { checks: { 'ci/test': red() } },
    expect: 'fail CHECK_FAILED',
  },
  { name: 'parallel mode passes with checks pending', policy: { ...required, mode: 'parallel' }, facts: { checks: { 'ci/test': { state: 'pending', url: null } } }, expect: 'pass' },
  { name: 'parallel mode passes with checks missing', policy: { ...required, mode: 'parallel' }, expect: 'pass' },
  {
    name: 'forcing never skips a pending check',
    policy: required,
    candidate: { forced: true, trigger: 'user' },
    facts: { checks: { 'ci/test': ok } },
    expect: 'wait CHECKS_PENDING',
  },
  {
    name: 'forcing never skips a red check',
    policy: required,
    candidate: { forced: true, trigger: 'user' },
    facts: { checks: { 'ci/test': ok, e2e: red() } },
    expect: 'fail CHECK_FAILED',
  },
  {
    name: 'a check required twice is listed once',
    policy: { checks: ['e2e', 'e2e'] },
    expect: 'wait CHECKS_PENDING',
    message: 'waiting for checks: e2e missing',
  },
];

for (const row of rows) {
  test(`checks: ${row.name}`, () => {
    const check = runRow(checksGate, row);
    assert.equal(summary(check), row.expect);
    if (check.status === 'pass') return;
    assert.equal(check.reason.gate, 'checks');
    if (check.status === 'wait') assert.equal(check.recheckAt, undefined);
    if (row.message !== undefined) assert.equal(check.reason.message, row.message);
  });
}

test('checks: a wait lists the waiting checks in details, a fail lists the failed ones with their urls', () => {
  const waiting = runRow(checksGate, { name: '', policy: required, facts: { checks: { e2e: pending } }, expect: 'pass' });
  assert.equal(waiting.status, 'wait');
  assert.deepEqual(waiting.status === 'wait' && waiting.reason.details?.waiting, [
    { name: 'ci/test', state: 'missing' },
    { name: 'e2e', state: 'pending' },
  ]);
  const failed = runRow(checksGate, { name: '', policy: required, facts: { checks: { e2e: red() } }, expect: 'pass' });
  assert.deepEqual(failed.status === 'fail' && failed.reason.details?.failed, [{ name: 'e2e', url: 'https://ci.example/runs/7' }]);
});

const redRows: { name: string; checks: string[]; facts: GateFacts['checks']; expect: { name: string; url: string | null } | null }[] = [
  { name: 'nothing required: nothing is red', checks: [], facts: { 'ci/test': red() }, expect: null },
  { name: 'all green', checks: ['ci/test'], facts: { 'ci/test': ok }, expect: null },
  { name: 'pending and missing are not red', checks: ['ci/test', 'e2e'], facts: { 'ci/test': pending }, expect: null },
  { name: 'a red check nobody requires', checks: ['ci/test'], facts: { 'ci/test': ok, lint: red() }, expect: null },
  { name: 'the red required check, with its url', checks: ['ci/test'], facts: { 'ci/test': red() }, expect: { name: 'ci/test', url: 'https://ci.example/runs/7' } },
  { name: 'the first red one in policy order', checks: ['e2e', 'ci/test'], facts: { 'ci/test': red(), e2e: red(null) }, expect: { name: 'e2e', url: null } },
];

for (const row of redRows) {
  test(`redRequiredCheck: ${row.name}`, () => {
    assert.deepEqual(redRequiredCheck(aPolicy({ checks: row.checks, mode: 'parallel' }), row.facts), row.expect);
  });
}
