import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configKeyProblem, MAX_CONFIG_VALUE_BYTES, MAX_CONFIG_VARS, planConfigChange, type ConfigEntry } from './config-vars.ts';
import { isSlipwayError } from './errors.ts';

const stamp = { version: 2, at: '2026-12-01T10:00:00.000Z', by: 'alice' };
const current = new Map<string, ConfigEntry>([['A', { value: 'one', version: 1, at: '2026-11-30T10:00:00.000Z', by: 'bob' }]]);

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isSlipwayError(err));
    return err.code;
  }
  assert.fail('expected a refusal');
}

test('keys: letters, digits and _, not a digit first, not PORT or SLIPWAY_* in any case', () => {
  for (const good of ['A', '_X', 'database_url', 'K9', 'PORTS', 'MY_SLIPWAY_X']) assert.equal(configKeyProblem(good), null, good);
  for (const bad of ['', '9A', 'A-B', 'A B', 'A=B', 'É', 'PORT', 'Port', 'SLIPWAY_X', 'slipway_', '__proto__', 'K'.repeat(257)]) assert.notEqual(configKeyProblem(bad), null, bad);
});

test('a change keeps what it does not touch, stamps what it sets, and names keys sorted', () => {
  const plan = planConfigChange(current, { set: new Map([['C', '3'], ['B', '2'], ['A', 'one']]), unset: ['GONE'] }, stamp);
  assert.deepEqual(plan.set, ['B', 'C']);
  assert.deepEqual(plan.unset, []);
  assert.equal(plan.vars.get('A')?.version, 1, 'the same value is no change');
  assert.equal(plan.vars.get('B')?.by, 'alice');
  assert.equal(plan.changed, true);
  assert.equal(planConfigChange(current, { set: new Map([['A', 'one']]), unset: [] }, stamp).changed, false);
  assert.deepEqual(planConfigChange(current, { set: new Map(), unset: ['A'] }, stamp).unset, ['A']);
});

test('refusals carry stable codes and never the value', () => {
  const secret = 'x'.repeat(MAX_CONFIG_VALUE_BYTES + 1);
  try {
    planConfigChange(current, { set: new Map([['BIG', secret]]), unset: [] }, stamp);
    assert.fail('expected CONFIG_TOO_LARGE');
  } catch (err) {
    assert.ok(isSlipwayError(err, 'CONFIG_TOO_LARGE'));
    assert.ok(!err.message.includes('xxxx') && !JSON.stringify(err.details).includes('xxxx'));
  }
  // Bytes, not characters: 'é' is two.
  assert.equal(refusal(() => planConfigChange(current, { set: new Map([['E', 'é'.repeat(MAX_CONFIG_VALUE_BYTES / 2 + 1)]]), unset: [] }, stamp)), 'CONFIG_TOO_LARGE');
  const many = new Map(Array.from({ length: MAX_CONFIG_VARS }, (_, i) => [`K${i}`, 'v'] as const));
  assert.equal(refusal(() => planConfigChange(current, { set: many, unset: [] }, stamp)), 'CONFIG_TOO_LARGE');
  assert.equal(planConfigChange(current, { set: many, unset: ['A'] }, stamp).vars.size, MAX_CONFIG_VARS);
  assert.equal(refusal(() => planConfigChange(current, { set: new Map([['PORT', '1']]), unset: [] }, stamp)), 'CONFIG_INVALID_KEY');
  assert.equal(refusal(() => planConfigChange(current, { set: new Map(), unset: ['SLIPWAY_X'] }, stamp)), 'CONFIG_INVALID_KEY');
  assert.equal(refusal(() => planConfigChange(current, { set: new Map([['A', 'x\0y']]), unset: [] }, stamp)), 'INVALID_REQUEST');
  assert.equal(refusal(() => planConfigChange(current, { set: new Map([['A', 'x']]), unset: ['A'] }, stamp)), 'INVALID_REQUEST');
  assert.equal(refusal(() => planConfigChange(current, { set: new Map(), unset: [] }, stamp)), 'INVALID_REQUEST');
});
