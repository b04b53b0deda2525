import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSlipwayError } from './errors.ts';
import { defaultHotfixName, hotfixBranch, isHotfixBranch, productionEnvironment } from './hotfix.ts';

test('hotfix branches are hotfix/<something>', () => {
  assert.equal(isHotfixBranch('hotfix/login'), true);
  assert.equal(isHotfixBranch('hotfix/'), false);
  assert.equal(isHotfixBranch('hotfixes/login'), false);
  assert.equal(isHotfixBranch('main'), false);
  assert.equal(isHotfixBranch(null), false);
});

test('a hotfix name becomes its branch; hotfix/ given with it is not doubled', () => {
  assert.equal(hotfixBranch('login-fix'), 'hotfix/login-fix');
  assert.equal(hotfixBranch('hotfix/login-fix'), 'hotfix/login-fix');
  assert.equal(hotfixBranch('v1.2.3_a'), 'hotfix/v1.2.3_a');
});

test('names git or a shell would trip over are refused with INVALID_NAME', () => {
  const hostile = ['', 'x-', 'x_', 'a/b', '..', 'a..b', '-rf', '.hidden', 'x.lock', 'x.', 'a b', 'a;rm -rf /', '$(id)', '`id`', 'a\nb', 'ä', 'x'.repeat(65), 'hotfix/', '@{-1}', 'a~1', 'a^', 'a:b', 'a\\b', "a'b"];
  for (const name of hostile) {
    assert.throws(
      () => hotfixBranch(name),
      (err: unknown) => isSlipwayError(err) && err.code === 'INVALID_NAME',
      JSON.stringify(name),
    );
  }
});

test('the default name is the day and the short commit, numbered when taken', () => {
  const now = new Date('2026-12-01T10:00:00Z');
  assert.equal(defaultHotfixName(now, '3f2a1c9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39'), '2026-12-01-3f2a1c9');
  assert.equal(defaultHotfixName(now, '3f2a1c9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39', 3), '2026-12-01-3f2a1c9-3');
  assert.doesNotThrow(() => hotfixBranch(defaultHotfixName(now, '3f2a1c9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39', 12)));
});

test('production: the one named so, else the single end of the longest from: chain, else the only one', () => {
  assert.equal(productionEnvironment([{ name: 'dev', from: null }, { name: 'production', from: null }]), 'production');
  assert.equal(productionEnvironment([{ name: 'dev', from: null }, { name: 'staging', from: 'dev' }, { name: 'live', from: 'staging' }]), 'live');
  assert.equal(productionEnvironment([{ name: 'web', from: null }]), 'web');
  // Two ends equally far: which one is production cannot be told.
  assert.equal(productionEnvironment([{ name: 'dev', from: null }, { name: 'eu', from: 'dev' }, { name: 'us', from: 'dev' }]), undefined);
  assert.equal(productionEnvironment([{ name: 'a', from: null }, { name: 'b', from: null }]), undefined);
  assert.equal(productionEnvironment([]), undefined);
  // A cycle ends nowhere; it never loops.
  assert.equal(productionEnvironment([{ name: 'a', from: 'b' }, { name: 'b', from: 'a' }]), undefined);
});
