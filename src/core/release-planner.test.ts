import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSlipwayError } from './errors.ts';
import { planLock, planPromotion, planRollback, planUnlock, type Actor, type EnvironmentState } from './release-planner.ts';

const now = new Date('2026-03-01T12:00:00Z');
const alice: Actor = { name: 'alice', role: 'deployer', trigger: 'user' };
const root: Actor = { name: 'root', role: 'admin', trigger: 'user' };
const bot: Actor = { name: 'auto', role: 'deployer', trigger: 'automation' };
const env: EnvironmentState = {
  deploymentId: 'dpl-a',
  releaseId: 'rel-1',
  releaseNumber: 1,
  pinnedBy: null,
  lockedBy: null,
  lockedById: null,
  lockedAt: null,
  lockedReason: null,
  lockedUntil: null,
};
const locked = { ...env, lockedBy: 'bob', lockedById: 'tok-bob', lockedAt: '2026-03-01T11:00:00Z', lockedReason: 'hold', lockedUntil: null };

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'OK';
  } catch (err) {
    assert.ok(isSlipwayError(err));
    return err.code;
  }
}

test('a promotion plans the next release against the one it saw', () => {
  assert.deepEqual(planPromotion(env, 'dpl-b', alice, {}, now), {
    number: 2,
    expectedReleaseNumber: 1,
    previousDeploymentId: 'dpl-a',
    replacesReleaseId: 'rel-1',
    forced: false,
  });
  assert.equal(codeOf(() => planPromotion(env, 'dpl-b', alice, { expectRelease: 0 }, now)), 'RELEASE_CONFLICT');
  assert.equal(codeOf(() => planPromotion(env, 'dpl-a', alice, {}, now)), 'ALREADY_LIVE');
});

test('locks block every writer; an expired lock does not', () => {
  assert.equal(codeOf(() => planPromotion(locked, 'dpl-b', alice, {}, now)), 'ENVIRONMENT_LOCKED');
  assert.equal(codeOf(() => planRollback(locked, 'dpl-z', alice, {}, now)), 'ENVIRONMENT_LOCKED');
  assert.equal(codeOf(() => planPromotion(locked, 'dpl-b', alice, { force: true, reason: 'x' }, now)), 'FORBIDDEN');
  assert.equal(codeOf(() => planPromotion(locked, 'dpl-b', root, { force: true }, now)), 'REASON_REQUIRED');
  assert.equal(planPromotion(locked, 'dpl-b', root, { force: true, reason: 'fix' }, now).forced, true);
  const expired = { ...locked, lockedUntil: '2026-03-01T11:59:59Z' };
  assert.equal(planPromotion(expired, 'dpl-b', alice, {}, now).forced, false);
});

test('a pin stops automation but not an explicit promotion, which may re-promote the pinned deployment', () => {
  const pinned = { ...env, pinnedBy: 'carol' };
  assert.equal(codeOf(() => planPromotion(pinned, 'dpl-b', bot, {}, now)), 'ENVIRONMENT_PINNED');
  assert.equal(planPromotion(pinned, 'dpl-b', alice, {}, now).number, 2);
  assert.equal(planPromotion(pinned, 'dpl-a', alice, {}, now).number, 2);
});

test('lock and unlock rules', () => {
  assert.equal(planLock(env, alice, { reason: 'r', until: null }, now).lockedBy, 'alice');
  assert.equal(codeOf(() => planLock(locked, alice, { reason: 'r', until: null }, now)), 'ENVIRONMENT_LOCKED');
  assert.deepEqual(planLock(locked, root, { reason: 'r', until: null, force: true }, now).replaces, { by: 'bob', reason: 'hold' });
  assert.equal(codeOf(() => planLock(env, alice, { reason: 'r', until: new Date('2026-03-01T11:00:00Z') }, now)), 'INVALID_DURATION');
  assert.equal(codeOf(() => planUnlock(env, alice, {}, now)), 'ENVIRONMENT_NOT_LOCKED');
  assert.equal(codeOf(() => planUnlock(locked, alice, {}, now)), 'ENVIRONMENT_LOCKED');
  assert.deepEqual(planUnlock(locked, { ...alice, id: 'tok-bob', name: 'bob' }, {}, now), { forced: false });
  assert.deepEqual(planUnlock(locked, root, { force: true, reason: 'gone home' }, now), { forced: true });
});

test('a lock belongs to an id: the same name is not the same actor', () => {
  const admin: Actor = { id: 'tok-admin', name: 'admin', role: 'admin', trigger: 'user' };
  const lockedByAdmin = planLock(env, admin, { reason: 'freeze', until: null }, now);
  assert.equal(lockedByAdmin.lockedById, 'tok-admin');
  const held = { ...env, ...lockedByAdmin };
  const impostor: Actor = { id: 'tok-other', name: 'admin', role: 'deployer', trigger: 'user' };
  assert.equal(codeOf(() => planUnlock(held, impostor, {}, now)), 'ENVIRONMENT_LOCKED');
  assert.equal(codeOf(() => planUnlock(held, impostor, { force: true, reason: 'mine' }, now)), 'FORBIDDEN');
  // Without an id (automation) a name never matches a lock that has one.
  assert.equal(codeOf(() => planUnlock(held, { name: 'admin', role: 'admin', trigger: 'automation' }, {}, now)), 'ENVIRONMENT_LOCKED');
  assert.deepEqual(planUnlock(held, admin, {}, now), { forced: false });
  // A lock from before ids (locked_by_id NULL) is nobody's by name alone.
  const legacy = { ...held, lockedById: null };
  assert.equal(codeOf(() => planUnlock(legacy, admin, {}, now)), 'ENVIRONMENT_LOCKED');
});
